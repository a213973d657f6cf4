/** The whole proxy on one host, composed in the order a first `pulumi up` on an empty host needs. */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import { EdgeProxySettings, checkSettings } from "./config/settings";
import { EdgeProxyConfig } from "./config/types";
import { DockerHost } from "./dockerHost";
import { HaproxyConfiguration } from "./haproxyConfiguration";
import { HaproxyContainer, haproxyImage } from "./haproxyContainer";
import { CertificateReload, SiteCertificate } from "./siteCertificates";
import { HostPreparation } from "./hostPreparation";
import { RenewalJob } from "./renewalJob";
import { httpsPortSuffix, pemPath, renderHaproxyConfig } from "./haproxy/render";
import { metricsPasswordHash } from "./haproxy/passwordHash";
import { HostScripts, deliverConfigScript, renderHostScripts, renewalPaths } from "./hostScripts";

/** Arguments of EdgeProxy. */
export interface EdgeProxyArgs {
    /**
     * The configuration: the stack file's keys without the `edge-proxy:` namespace (see the README's
     * configuration reference). The host address and key, and each site's domains and backends, may be
     * Outputs of other resources.
     */
    config: EdgeProxySettings;
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

/** Every configuration-only host script, from the validated configuration. */
function renderScripts(config: EdgeProxyConfig): HostScripts {
    return renderHostScripts(config, renderHaproxyConfig(config));
}

/**
 * HAProxy with Let's Encrypt certificates on a Debian Docker host. The settings known at declaration are
 * validated and everything that depends on them alone is rendered first, so a configuration that cannot be
 * rendered declares nothing; settings that are Outputs are validated when they resolve, failing the steps
 * that need them. The resource graph then fixes the order: the docker endpoint reached, directories and
 * placeholders, image, checked configuration, container, certificates, PEMs, one reload, renewal job.
 * (The image comes before the configuration because its own haproxy checks the files.)
 */
export class EdgeProxy extends pulumi.ComponentResource {
    /** The docker provider and the SSH connection every host step uses. */
    readonly host: DockerHost;
    /** The host's directories and placeholder certificates. */
    readonly preparation: command.remote.Command;
    /** The pinned HAProxy image on the host. */
    readonly image: docker.RemoteImage;
    /** The checked delivery of haproxy.cfg and its map files. */
    readonly configurationDelivery: command.remote.Command;
    /** The HAProxy container. */
    readonly container: docker.Container;
    /** Each site's certificate steps (certbot's run, the PEM assembly), by site name. */
    readonly certificates: Record<string, SiteCertificate>;
    /** The reload after any certificate changed. */
    readonly reload: command.remote.Command;
    /** The renewal job's installation (script and cron entry). */
    readonly renewalJob: command.remote.Command;
    /** The HAProxy container's name. */
    readonly containerName: pulumi.Output<string>;
    /** Each site's URLs and PEM path, by site name. */
    readonly sites: pulumi.Output<Record<string, SiteOutput>>;
    /**
     * The renewal job's cron schedule and script. An Output: the default schedule derives from the host's
     * address, which may itself be an Output.
     */
    readonly renewal: pulumi.Output<{ schedule: string; script: string }>;

    constructor(name: string, args: EdgeProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:EdgeProxy", name, {}, opts);
        const { declared, known, resolved } = checkSettings(args.config);
        // Rendered now when every setting is known, so that a configuration that cannot be rendered
        // declares nothing; otherwise once the Outputs resolve.
        const scripts = known ? pulumi.output(renderScripts(known)) : resolved.apply(renderScripts);
        const paths = renewalPaths(declared);
        const deliver = declared.haproxy.metrics?.user ? deliverWithPasswordHash(resolved, args.metricsPassword) : scripts.deliver;

        this.host = new DockerHost(`${name}-host`, {
            host: resolved.host, privateKey: args.sshPrivateKey, knownHostsDir: args.knownHostsDir,
        }, { parent: this });
        const { connection, provider } = this.host;
        const preparation = new HostPreparation(`${name}-prepare`, {
            connection, script: scripts.prepare, dependsOn: [this.host.reachable],
        }, { parent: this });
        this.preparation = preparation.prepared;
        this.image = haproxyImage(`${name}-image`, { config: declared, provider }, { parent: this, dependsOn: [preparation.prepared] });
        const configuration = new HaproxyConfiguration(`${name}-config`, {
            connection, script: deliver, dependsOn: [preparation.prepared, this.image],
        }, { parent: this });
        this.configurationDelivery = configuration.delivered;
        const haproxy = new HaproxyContainer(`${name}-haproxy`, {
            config: declared, provider, image: this.image, dependsOn: [configuration.delivered],
        }, { parent: this });
        this.container = haproxy.container;
        const certificates = declared.sites.map((site) => new SiteCertificate(`${name}-cert-${site.name}`, {
            config: resolved, certsDir: declared.haproxy.certsDir, site, connection,
            issueScript: scripts.issue.apply((issue) => issue[site.name]), dependsOn: [haproxy.container],
        }, { parent: this }));
        this.certificates = Object.fromEntries(certificates.map((certificate, i) => [declared.sites[i].name, certificate]));
        const reload = new CertificateReload(`${name}-certificates`, { config: resolved, certificates, connection }, { parent: this });
        this.reload = reload.reloaded;
        const renewal = new RenewalJob(`${name}-renewal`, {
            connection, script: scripts.installRenewal, paths, dependsOn: [reload.reloaded],
        }, { parent: this });
        this.renewalJob = renewal.installed;

        this.containerName = haproxy.container.name;
        this.sites = resolved.apply((config) => Object.fromEntries(config.sites.map((site) => [site.name, {
            urls: site.domains.map((domain) => `https://${domain}${httpsPortSuffix(config)}/`),
            certificate: pemPath(config.haproxy.certsDir, site),
        }])));
        this.renewal = resolved.apply((config) => ({ schedule: config.acme.renewSchedule, script: renewal.scriptPath }));
        this.registerOutputs({ containerName: this.containerName, sites: this.sites, renewal: this.renewal });
    }
}

/**
 * The delivery script with the metrics password's crypt hash in haproxy.cfg: a secret Output, so that the
 * state keeps even the hash encrypted (the plain password never reaches the host). Everything else was
 * already rendered (and checked) before any resource was declared; only the hash differs.
 */
function deliverWithPasswordHash(resolved: pulumi.Output<EdgeProxyConfig>, password: pulumi.Input<string> | undefined): pulumi.Output<string> {
    if (password === undefined) {
        throw new Error("metricsUser is set but no metricsPassword was given to EdgeProxy");
    }
    return pulumi.secret(pulumi.all([resolved, password])).apply(([config, plain]) => {
        if (plain === "") {
            throw new Error("metricsPassword is empty: set it with pulumi config set --secret metricsPassword");
        }
        return deliverConfigScript(config, renderHaproxyConfig(config, { metricsPasswordHash: metricsPasswordHash(config, plain) }));
    });
}
