/** Everything a validated configuration renders: the HAProxy files and every host script. */
import { EdgeProxyConfig } from "../../components/config/types";
import { HaproxyConfigFiles, renderHaproxyConfig } from "../../components/haproxy/render";
import {
    deliverConfigScript, installPemScript, installRenewalScript, issueCertificateScript, prepareHostScript, reloadScript,
    renewCron, renewScript,
} from "../../components/hostScripts";

/** The host scripts by name; the per-site ones for the first site. `cron` is the cron file, not a script. */
export function hostScriptsOf(config: EdgeProxyConfig, files: HaproxyConfigFiles = renderHaproxyConfig(config)): Record<string, string> {
    return {
        prepare: prepareHostScript(config),
        deliver: deliverConfigScript(config, files),
        issue: issueCertificateScript(config, config.sites[0]),
        // What certbot's and the PEM steps print, as the steps would receive it.
        pem: installPemScript(config, config.sites[0], `${config.sites[0].name} serial=0A1B`),
        reload: reloadScript(config, config.sites.map((site) => `${site.name} serial=0A1B`)),
        renew: renewScript(config),
        installRenewal: installRenewalScript(config),
    };
}

/** Renders the HAProxy files, every host script and the cron file; throws where a quoting gate refuses a value. */
export function renderEverything(config: EdgeProxyConfig): { files: HaproxyConfigFiles; scripts: Record<string, string>; cron: string } {
    const files = renderHaproxyConfig(config);
    return { files, scripts: hostScriptsOf(config, files), cron: renewCron(config) };
}
