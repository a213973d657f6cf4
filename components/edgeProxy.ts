/** The whole proxy on one host, composed in the order a first `pulumi up` on an empty host needs. */
import * as pulumi from "@pulumi/pulumi";
import { EdgeProxyConfig } from "./config/types";
import { DockerHost } from "./dockerHost";
import { HaproxyConfiguration } from "./haproxyConfiguration";
import { HaproxyContainer, haproxyImage } from "./haproxyContainer";
import { CertificateReload, SiteCertificate } from "./siteCertificates";
import { HostPreparation } from "./hostPreparation";
import { RenewalJob } from "./renewalJob";
import { httpsPortSuffix, pemPath, renderHaproxyConfig } from "./haproxy/render";
import { metricsPasswordHash } from "./haproxy/passwordHash";
import { deliverConfigScript, renderHostScripts, renewalPaths } from "./hostScripts";

/** Arguments of EdgeProxy. */
export interface EdgeProxyArgs {
    /** The validated stack configuration. */
    config: EdgeProxyConfig;
    /** The SSH private key for the host (a Pulumi secret). */
    sshPrivateKey: pulumi.Input<string>;
    /** The metrics password (a Pulumi secret), needed when the configuration sets metricsUser. */
    metricsPassword?: pulumi.Input<string>;
    /** Where the docker provider's pinned known_hosts file goes on the machine running Pulumi; default `~/.edge-proxy`. */
    knownHostsDir?: string;
}

/** What a stack reports about one site. */
export interface SiteOutput {
    /** The site's URL, one per domain. */
    urls: string[];
    /** The PEM file on the host. */
    certificate: string;
}

/**
 * HAProxy with Let's Encrypt certificates on a Debian Docker host. Everything that depends on the
 * configuration alone is rendered first, so a configuration that cannot be rendered declares nothing.
 * The resource graph then fixes the order: the docker endpoint reached, directories and placeholders,
 * image, checked configuration, container, certificates, PEMs, one reload, renewal job. (The image comes
 * before the configuration because its own haproxy checks the files.)
 */
export class EdgeProxy extends pulumi.ComponentResource {
    /** The HAProxy container's name. */
    readonly containerName: pulumi.Output<string>;
    /** Each site's URLs and PEM path, by site name. */
    readonly sites: Record<string, SiteOutput>;
    /** The renewal job's cron schedule and script. */
    readonly renewal: { schedule: string; script: string };

    constructor(name: string, args: EdgeProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:EdgeProxy", name, {}, opts);
        const { config } = args;
        const scripts = renderHostScripts(config, renderHaproxyConfig(config));
        const paths = renewalPaths(config);
        const deliver = config.haproxy.metrics?.user ? deliverWithPasswordHash(config, args.metricsPassword) : scripts.deliver;

        const host = new DockerHost(`${name}-host`, {
            host: config.host, privateKey: args.sshPrivateKey, knownHostsDir: args.knownHostsDir,
        }, { parent: this });
        const { connection, provider } = host;
        const preparation = new HostPreparation(`${name}-prepare`, {
            connection, script: scripts.prepare, dependsOn: [host.reachable],
        }, { parent: this });
        const image = haproxyImage(`${name}-image`, { config, provider }, { parent: this, dependsOn: [preparation.prepared] });
        const configuration = new HaproxyConfiguration(`${name}-config`, {
            connection, script: deliver, dependsOn: [preparation.prepared, image],
        }, { parent: this });
        const haproxy = new HaproxyContainer(`${name}-haproxy`, {
            config, provider, image, dependsOn: [configuration.delivered],
        }, { parent: this });
        const certificates = config.sites.map((site) => new SiteCertificate(`${name}-cert-${site.name}`, {
            config, site, connection, issueScript: scripts.issue[site.name], dependsOn: [haproxy.container],
        }, { parent: this }));
        const reload = new CertificateReload(`${name}-certificates`, { config, certificates, connection }, { parent: this });
        const renewal = new RenewalJob(`${name}-renewal`, {
            connection, script: scripts.installRenewal, paths, dependsOn: [reload.reloaded],
        }, { parent: this });

        this.containerName = haproxy.container.name;
        this.sites = Object.fromEntries(config.sites.map((site) => [site.name, {
            urls: site.domains.map((domain) => `https://${domain}${httpsPortSuffix(config)}/`),
            certificate: pemPath(config.haproxy.certsDir, site),
        }]));
        this.renewal = { schedule: config.acme.renewSchedule, script: renewal.scriptPath };
        this.registerOutputs({ containerName: this.containerName, sites: this.sites, renewal: this.renewal });
    }
}

/**
 * The delivery script with the metrics password's crypt hash in haproxy.cfg: a secret Output, so that the
 * state keeps even the hash encrypted (the plain password never reaches the host). Everything else was
 * already rendered (and checked) before any resource was declared; only the hash differs.
 */
function deliverWithPasswordHash(config: EdgeProxyConfig, password: pulumi.Input<string> | undefined): pulumi.Output<string> {
    if (password === undefined) {
        throw new Error("metricsUser is set but no metricsPassword was given to EdgeProxy");
    }
    return pulumi.secret(password).apply((plain) => {
        if (plain === "") {
            throw new Error("metricsPassword is empty: set it with pulumi config set --secret metricsPassword");
        }
        return deliverConfigScript(config, renderHaproxyConfig(config, { metricsPasswordHash: metricsPasswordHash(config, plain) }));
    });
}
