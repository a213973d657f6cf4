/** Let's Encrypt certificates: certbot issuance and PEM assembly per site, then one reload. */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Site } from "./config/types";
import { HostStepArgs, hostCommand } from "./hostCommand";
import { installPemScript, issueCertificateScript, reloadScript } from "./hostScripts";
import { pemPath } from "./haproxy/render";
import { shellCommand } from "./quote";

/** Arguments of SiteCertificate. */
export interface SiteCertificateArgs extends HostStepArgs {
    /** The site whose domains the certificate covers. */
    site: Site;
}

/**
 * One site's certificate: certbot's `certonly` (kept while valid; re-issued when the site's names, the
 * ACME server or the key type change: the script compares with what it last asked for), then the PEM
 * HAProxy serves. Deleting the site removes the PEM;
 * certbot's account and lineage stay on the host.
 */
export class SiteCertificate extends pulumi.ComponentResource {
    /** certbot's run; its stdout ends with the lineage's serial. */
    readonly issued: command.remote.Command;
    /** The PEM assembly; its stdout is `<name> serial=<hex>`, which changes only with a new certificate. */
    readonly pem: command.remote.Command;

    constructor(name: string, args: SiteCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:SiteCertificate", name, {}, opts);
        const { config, site } = args;
        this.issued = hostCommand(`${name}-certbot`, {
            connection: args.connection,
            script: issueCertificateScript(config, site),
            parent: this,
            dependsOn: args.dependsOn,
        });
        this.pem = hostCommand(`${name}-pem`, {
            connection: args.connection,
            script: installPemScript(config, site),
            triggers: [this.issued.stdout],
            delete: shellCommand("rm", "-f", pemPath(config.haproxy.certsDir, site)),
            parent: this,
            dependsOn: [this.issued],
        });
        this.registerOutputs({ pem: this.pem.stdout });
    }
}

/** Arguments of CertificateReload. */
export interface CertificateReloadArgs extends HostStepArgs {
    /** Every site's certificate; any new serial among them triggers the reload. */
    certificates: SiteCertificate[];
}

/** One checked, graceful reload after any certificate changed, however many changed. */
export class CertificateReload extends pulumi.ComponentResource {
    /** The reload command. */
    readonly reloaded: command.remote.Command;

    constructor(name: string, args: CertificateReloadArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:CertificateReload", name, {}, opts);
        this.reloaded = hostCommand(`${name}-reload`, {
            connection: args.connection,
            script: reloadScript(args.config),
            triggers: args.certificates.map((certificate) => certificate.pem.stdout),
            parent: this,
            dependsOn: args.certificates.map((certificate) => certificate.pem),
        });
        this.registerOutputs({});
    }
}
