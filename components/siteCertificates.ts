/** Let's Encrypt certificates: certbot issuance and PEM assembly per site, then one reload. */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { EdgeProxyConfig, Site } from "./config/types";
import { HostStepArgs, hostCommand } from "./hostCommand";
import { installPemScript, reloadScript } from "./hostScripts";
import { pemPath } from "./haproxy/render";
import { shellCommand } from "./quote";

/** Arguments of SiteCertificate. */
export interface SiteCertificateArgs extends HostStepArgs {
    /** The validated configuration (directories, group of the PEM files), once every setting is known. */
    config: pulumi.Output<EdgeProxyConfig>;
    /** The host directory of the PEM files, known at declaration (the PEM step's delete names the file). */
    certsDir: string;
    /** The site whose domains the certificate covers. */
    site: Pick<Site, "name">;
    /** The rendered certbot script of the site (hostScripts.issueCertificateScript). */
    issueScript: pulumi.Input<string>;
}

/**
 * One site's certificate: certbot's `certonly` (kept while valid; re-issued when the site's names, the
 * ACME server or the key type change: the script compares with what it last asked for), then the PEM
 * HAProxy serves. The PEM step's script carries the serial certbot's step printed, so it runs again
 * exactly when certbot produced a new certificate, and always in place: its delete (which removes the
 * served PEM) runs only when the site leaves the stack. certbot's account and lineage stay on the host.
 */
export class SiteCertificate extends pulumi.ComponentResource {
    /** certbot's run; its stdout is the lineage's serial line, `<name> serial=<hex>`. */
    readonly issued: command.remote.Command;
    /** The PEM assembly; its stdout is `<name> serial=<hex>`, which changes only with a new certificate. */
    readonly pem: command.remote.Command;

    constructor(name: string, args: SiteCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:SiteCertificate", name, {}, opts);
        const { site } = args;
        this.issued = hostCommand(`${name}-certbot`, {
            connection: args.connection,
            script: args.issueScript,
            parent: this,
            dependsOn: args.dependsOn,
        });
        this.pem = hostCommand(`${name}-pem`, {
            connection: args.connection,
            script: pulumi.all([args.config, this.issued.stdout]).apply(([config, issued]) => installPemScript(config, site, issued)),
            delete: shellCommand("rm", "-f", pemPath(args.certsDir, site)),
            parent: this,
            dependsOn: [this.issued],
        });
        this.registerOutputs({ pem: this.pem.stdout });
    }
}

/** Arguments of CertificateReload. */
export interface CertificateReloadArgs extends HostStepArgs {
    /** The validated configuration (container, directories), once every setting is known. */
    config: pulumi.Output<EdgeProxyConfig>;
    /** Every site's certificate; any new serial among them runs the reload again. */
    certificates: SiteCertificate[];
}

/** One checked, graceful reload after any certificate changed, however many changed. */
export class CertificateReload extends pulumi.ComponentResource {
    /** The reload command. */
    readonly reloaded: command.remote.Command;

    constructor(name: string, args: CertificateReloadArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:CertificateReload", name, {}, opts);
        const served = pulumi.all(args.certificates.map((certificate) => certificate.pem.stdout));
        this.reloaded = hostCommand(`${name}-reload`, {
            connection: args.connection,
            script: pulumi.all([args.config, served]).apply(([config, lines]) => reloadScript(config, lines)),
            parent: this,
            dependsOn: args.certificates.map((certificate) => certificate.pem),
        });
        this.registerOutputs({});
    }
}
