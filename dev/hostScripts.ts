/** Everything a validated configuration renders: the HAProxy files and every host script. */
import * as path from "node:path";
import type { EdgeProxyConfig } from "../components/config/types";
import { installKeepalivedScript } from "../components/fleet/keepalived";
import { distributeScript, fleetKeyScript, installReceiverScript, receiverScript, removeReceiverScript, waitForFleetScript } from "../components/fleet/scripts";
import { type HaproxyConfigFiles, renderHaproxyConfig } from "../components/haproxy/render";
import {
    deliverConfigScript,
    installDnsCredentialsScript,
    installEabScript,
    installPemScript,
    installRenewalScript,
    issueCertificateScript,
    prepareHostScript,
    reloadScript,
    removeScript,
    renewCron,
    renewScript,
    statusProbeScript,
} from "../components/hostScripts";
import { observeHostScript } from "../components/hostState";
import { loadStackFile } from "../components/plan";
import { PROJECT_DIR } from "./paths";

/** The dev stack with its configuration, certificates and certbot directories under `scratch` (not created). */
export function devConfigIn(scratch: string): EdgeProxyConfig {
    const config = loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
    config.haproxy.configDir = `${scratch}/cfg`;
    config.haproxy.certsDir = `${scratch}/certs`;
    config.acme.dataDir = `${scratch}/letsencrypt`;
    return config;
}

/** The host scripts by name; the per-site ones for the first site. `cron` is the cron file, not a script. */
export function hostScriptsOf(config: EdgeProxyConfig, files: HaproxyConfigFiles = renderHaproxyConfig(config)): Record<string, string> {
    return {
        prepare: prepareHostScript(config),
        deliver: deliverConfigScript(config, files),
        issue: issueCertificateScript(config, config.sites[0]),
        // What certbot's and the PEM steps print, as the steps would receive it.
        pem: installPemScript(config, config.sites[0], `${config.sites[0].name} serial=0A1B`),
        reload: reloadScript(
            config,
            config.sites.map((site) => `${site.name} serial=0A1B`),
        ),
        renew: renewScript(config),
        installRenewal: installRenewalScript(config),
        status: statusProbeScript(config),
        observe: observeHostScript(config),
        remove: removeScript({ configDir: config.haproxy.configDir, certsDir: config.haproxy.certsDir, dataDir: config.acme.dataDir }),
        // The external account binding's step, with a key of the HMAC key's form (the secret is no setting).
        ...(config.acme.eab ? { eab: installEabScript(config, "c2VjcmV0LWhtYWMta2V5LWZvci10ZXN0cw") } : {}),
        // With a DNS provider: its credentials file, and a DNS-01 site's certbot run.
        ...(config.acme.dns
            ? {
                  dnsCredentials: installDnsCredentialsScript(config, "c2VjcmV0IHRoYXQgaXMgYmFzZTY0Kw=="),
                  issueDns: issueCertificateScript(config, config.sites.find((site) => site.challenge === "dns-01") ?? config.sites[0]),
              }
            : {}),
        // A fleet: the issuer's key and distribution, a follower's receiver and its installation and removal.
        ...(config.fleet
            ? {
                  fleetKey: fleetKeyScript(config),
                  distribute: distributeScript(
                      config,
                      config.sites.map((site) => `${site.name} serial=0A1B`),
                  ),
                  receiver: receiverScript(config),
                  installReceiver: installReceiverScript(config, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFleetKeyOfTheIssuer"),
                  removeReceiver: removeReceiverScript(config),
                  waitForFleet: waitForFleetScript(config),
                  ...(config.fleet.vip ? { installKeepalived: installKeepalivedScript(config, config.fleet.hosts[0].name, "Xq7rT2pa") } : {}),
              }
            : {}),
        // The alert command is the user's own shell code: it lands in a file of its own, never in this script's code.
        installRenewalWithAlert: installRenewalScript(config, 'curl -fsS --data-binary @- "https://hooks.example/$TOKEN" # it\'s "ours"'),
    };
}

/** Renders the HAProxy files, every host script and the cron file; throws where a quoting gate refuses a value. */
export function renderEverything(config: EdgeProxyConfig): { files: HaproxyConfigFiles; scripts: Record<string, string>; cron: string } {
    const files = renderHaproxyConfig(config);
    return { files, scripts: hostScriptsOf(config, files), cron: renewCron(config) };
}
