/** Let's Encrypt certificates: the DNS and EAB credentials, certbot issuance and PEM assembly per site, then one reload. */

import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { EdgeProxyConfig, Site } from "./config/types";
import { pemPath } from "./haproxy/render";
import { formerParent, type HostStepArgs, hostCommand, repairTokenOf } from "./hostCommand";
import { installDnsCredentialsScript, installEabScript, installPemScript, reloadScript } from "./hostScripts";
import { STEP } from "./hostSteps";
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

/** Arguments of Certificates. */
export interface CertificatesArgs extends HostStepArgs {
    /** The EdgeProxy's name, which the steps' names start with. */
    proxyName: string;
    /** The validated configuration (directories, group of the PEM files), once every setting is known. */
    config: pulumi.Output<EdgeProxyConfig>;
    /** The host directory of the PEM files, known at declaration (a PEM step's delete names the file). */
    certsDir: string;
    /** The sites, one certificate each, in the configuration's order. */
    sites: Pick<Site, "name">[];
    /** Each site's rendered certbot script (hostScripts.issueCertificateScript), by site name. */
    issueScripts: pulumi.Output<Record<string, string>>;
    /**
     * With dnsProvider set: the credentials file on the host (hostScripts.dnsCredentialsPaths), removed on
     * destroy, and the provider's secret (rfc2136KeySecret), a Pulumi secret.
     */
    dnsCredentials?: { path: string; secret: pulumi.Input<string> };
    /**
     * With acmeEabKid set: the external account binding's file on the host (hostScripts.eabPaths), removed on
     * destroy, and its HMAC key (acmeEabHmacKey), a Pulumi secret.
     */
    eab?: { path: string; hmacKey: pulumi.Input<string> };
    /** The host's preparation (DockerHost), which the credentials file's directory needs. */
    preparation: pulumi.Resource;
    /** What must run before certbot: the HAProxy container (it forwards HTTP-01 challenges to certbot). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/**
 * The sites' certificates. Each site's: certbot's `certonly` (kept while valid; re-issued when the site's
 * names, the ACME server or the key type change: the script compares with what it last asked for), then the
 * PEM HAProxy serves. The PEM step's script carries the serial certbot's step printed, so it runs again
 * exactly when certbot produced a new certificate, and always in place: its delete (which removes the served
 * PEM) runs only when the site leaves the stack. certbot's account and lineage stay on the host. Then one
 * checked, graceful reload after any certificate changed, however many changed.
 */
export class Certificates extends pulumi.ComponentResource {
    /**
     * With dnsProvider set, the step that writes the credentials file certbot's DNS plugin reads (mode 0600,
     * root's; `<proxy>-dns-credentials-file`). Its script carries the secret, so it is a secret Output: the
     * state keeps it encrypted, previews show `[secret]`. A new secret runs this step only; the certificate
     * steps name the file, not its content.
     */
    readonly dnsCredentials?: command.remote.Command;
    /**
     * With acmeEabKid set, the step that writes the external account binding's file certbot reads when it
     * creates the ACME account (mode 0600, root's; `<proxy>-acme-eab-file`): a secret Output, as the DNS
     * credentials' step. The HMAC key is on no command line, in no log and in no other file.
     */
    readonly eab?: command.remote.Command;
    /**
     * certbot's run for each site (`<proxy>-cert-<site>-certbot`), by site name; its stdout is the lineage's
     * certificate line (see parseCertificateLine).
     */
    readonly certbot: Record<string, command.remote.Command>;
    /**
     * The PEM assembly for each site (`<proxy>-cert-<site>-pem`), by site name; its stdout is the served
     * certificate's line, which changes only with a new certificate.
     */
    readonly pem: Record<string, command.remote.Command>;
    /** The reload after any certificate changed (`<name>-reload`). */
    readonly reload: command.remote.Command;
    /** Each site's served certificate (serial, notAfter, issuer), as its PEM step reported it, by site name. */
    readonly served: pulumi.Output<Record<string, CertificateReport>>;

    constructor(name: string, args: CertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
        // Up to 5e141f8 this component held the reload only, as CertificateReload; the reload, whose name
        // starts with this component's, follows the alias by itself.
        super("edge-proxy:index:Certificates", name, {}, { ...opts, aliases: [...(opts?.aliases ?? []), { type: "edge-proxy:index:CertificateReload" }] });
        const { proxyName, connection, repairTokens } = args;
        const proxy = opts?.parent;
        // A credentials file certbot reads: its script carries the secret, so it is a secret Output.
        const credentialsFile = (
            stepName: string,
            file: { path: string; secret: pulumi.Input<string> },
            install: (config: EdgeProxyConfig, secret: string) => string,
            step: string,
            aliases: pulumi.Alias[] = [],
        ) =>
            hostCommand(stepName, {
                connection,
                script: pulumi.secret(pulumi.all([args.config, file.secret])).apply(([config, plain]) => install(config, plain)),
                repairToken: repairTokenOf(repairTokens, step),
                delete: shellCommand("rm", "-f", file.path),
                parent: this,
                dependsOn: [args.preparation],
                aliases,
            });
        if (args.dnsCredentials) {
            this.dnsCredentials = credentialsFile(`${proxyName}-dns-credentials-file`, args.dnsCredentials, installDnsCredentialsScript, STEP.dnsCredentials, [
                formerParent(`${proxyName}-dns-credentials`, "edge-proxy:index:DnsCredentials", proxy),
            ]);
        }
        if (args.eab) {
            this.eab = credentialsFile(`${proxyName}-acme-eab-file`, { path: args.eab.path, secret: args.eab.hmacKey }, installEabScript, STEP.eab);
        }
        const certbotDependencies = [...args.dependsOn, ...(this.dnsCredentials ? [this.dnsCredentials] : []), ...(this.eab ? [this.eab] : [])];
        this.certbot = {};
        this.pem = {};
        for (const site of args.sites) {
            // Up to 5e141f8 each site's two steps had a component of their own, a SiteCertificate.
            const former = formerParent(`${proxyName}-cert-${site.name}`, "edge-proxy:index:SiteCertificate", proxy);
            const certbot = hostCommand(`${proxyName}-cert-${site.name}-certbot`, {
                connection,
                script: args.issueScripts.apply((scripts) => scripts[site.name]),
                repairToken: repairTokenOf(repairTokens, STEP.certbot(site.name)),
                parent: this,
                dependsOn: certbotDependencies,
                aliases: [former],
            });
            this.certbot[site.name] = certbot;
            this.pem[site.name] = hostCommand(`${proxyName}-cert-${site.name}-pem`, {
                connection,
                script: pulumi.all([args.config, certbot.stdout]).apply(([config, issued]) => installPemScript(config, site, issued)),
                repairToken: repairTokenOf(repairTokens, STEP.pem(site.name)),
                delete: shellCommand("rm", "-f", pemPath(args.certsDir, site)),
                parent: this,
                dependsOn: [certbot],
                aliases: [former],
            });
        }
        const pems = args.sites.map((site) => this.pem[site.name]);
        const servedLines = pulumi.all(pems.map((pem) => pem.stdout));
        this.reload = hostCommand(`${name}-reload`, {
            connection,
            script: pulumi.all([args.config, servedLines]).apply(([config, lines]) => reloadScript(config, lines)),
            // A PEM repaired on the host is served only after a reload: the PEM steps' tokens run this step too.
            repairToken: pulumi.output(repairTokens).apply((tokens) => args.sites.map((site) => tokens[STEP.pem(site.name)] ?? "").join(",")),
            parent: this,
            dependsOn: pems,
        });
        this.served = servedLines.apply((lines) => Object.fromEntries(args.sites.map((site, i) => [site.name, parseCertificateLine(lines[i])])));
        this.registerOutputs({ served: this.served });
    }
}
