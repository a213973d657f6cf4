/** Let's Encrypt certificates: certbot issuance and PEM assembly per site, then one reload. */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { EdgeProxyConfig, Site } from "./config/types";
import { HostStepArgs, hostCommand, repairTokenOf } from "./hostCommand";
import { STEP } from "./hostState";
import { installPemScript, reloadScript } from "./hostScripts";
import { pemPath } from "./haproxy/render";
import { shellCommand } from "./quote";

/** What a certificate step reports about the certificate it acted on (its stdout, see parseCertificateLine). */
export interface CertificateReport {
    /** The serial number, in hex as openssl prints it. */
    serial?: string;
    /** The end of its validity, UTC, ISO 8601 (`2027-02-27T12:00:00Z`). */
    notAfter?: string;
    /** The issuer's name, RFC 2253 (`CN=R11,O=Let's Encrypt,C=US`). */
    issuer?: string;
}

/** The line certificate_line (templates/partials/sh-certificate-line.hbs) prints, the issuer the rest of it. */
const CERTIFICATE_LINE = /^\S+ serial=([0-9A-F]+) notAfter=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) issuer=(.+)$/;

/**
 * The fields of a certificate step's stdout. A line of any other form (a stack converged by an older
 * edge-proxy until its PEM steps run again, a test's stand-in) gives no fields rather than an error: the
 * outputs describe a host that is already converged, and must not fail the `up` that converged it.
 */
export function parseCertificateLine(stdout: string): CertificateReport {
    const match = CERTIFICATE_LINE.exec(stdout.trim());
    return match ? { serial: match[1], notAfter: match[2], issuer: match[3] } : {};
}

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
    /** certbot's run; its stdout is the lineage's certificate line (see parseCertificateLine). */
    readonly issued: command.remote.Command;
    /** The PEM assembly; its stdout is the served certificate's line, which changes only with a new certificate. */
    readonly pem: command.remote.Command;
    /** The served certificate's serial, notAfter and issuer, as the PEM step reported them. */
    readonly served: pulumi.Output<CertificateReport>;

    constructor(name: string, args: SiteCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:SiteCertificate", name, {}, opts);
        const { site } = args;
        this.issued = hostCommand(`${name}-certbot`, {
            connection: args.connection,
            script: args.issueScript,
            repairToken: repairTokenOf(args.repairTokens, STEP.certbot(site.name)),
            parent: this,
            dependsOn: args.dependsOn,
        });
        this.pem = hostCommand(`${name}-pem`, {
            connection: args.connection,
            script: pulumi.all([args.config, this.issued.stdout]).apply(([config, issued]) => installPemScript(config, site, issued)),
            repairToken: repairTokenOf(args.repairTokens, STEP.pem(site.name)),
            delete: shellCommand("rm", "-f", pemPath(args.certsDir, site)),
            parent: this,
            dependsOn: [this.issued],
        });
        this.served = this.pem.stdout.apply(parseCertificateLine);
        this.registerOutputs({ pem: this.pem.stdout, served: this.served });
    }
}

/** Arguments of CertificateReload. */
export interface CertificateReloadArgs extends HostStepArgs {
    /** The validated configuration (container, directories), once every setting is known. */
    config: pulumi.Output<EdgeProxyConfig>;
    /** Every site's certificate; any new serial among them runs the reload again. */
    certificates: SiteCertificate[];
    /** The sites' names, in the order of `certificates`. */
    sites: string[];
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
            // A PEM repaired on the host is served only after a reload: the PEM steps' tokens run this step too.
            repairToken: pulumi.output(args.repairTokens).apply((tokens) => args.sites.map((site) => tokens[STEP.pem(site)] ?? "").join(",")),
            parent: this,
            dependsOn: args.certificates.map((certificate) => certificate.pem),
        });
        this.registerOutputs({});
    }
}
