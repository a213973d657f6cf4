/** The whole proxy on one host, composed in the order a first `pulumi up` on an empty host needs. */
import * as os from "node:os";
import * as path from "node:path";
import type * as command from "@pulumi/command";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type CertificateReport, Certificates, type CertificatesArgs } from "./certificates";
import type { EdgeProxyConfigArgs } from "./config/args";
import { checkSettings, type DeclaredConfig, flattenArgs } from "./config/settings";
import type { EdgeProxyConfig } from "./config/types";
import type { ConfigError } from "./config/validate";
import { DockerHost } from "./dockerHost";
import { fleetPaths } from "./fleet/roles";
import { fleetKeyScript, installReceiverScript, parsePublicKey, removeReceiverScript } from "./fleet/scripts";
import { haproxyFeatures } from "./haproxy/features";
import { metricsPasswordHash } from "./haproxy/passwordHash";
import { httpsPortSuffix, METRICS_PATHS, pemPath, renderHaproxyConfig } from "./haproxy/render";
import { HaproxyService } from "./haproxyService";
import { hostCommand, repairTokenOf } from "./hostCommand";
import { trustedHostKey } from "./hostKey";
import { hostStatePath } from "./hostPaths";
import {
    deliverConfigScript,
    dnsCredentialsPaths,
    eabPaths,
    installRenewalScript,
    removeCommand,
    renderHostScripts,
    renewalPaths,
    ticketKeysPaths,
} from "./hostScripts";
import { driftMessages, type HostObservation, type HostRole, observeHost, repairTokens, takeFleetRole } from "./hostState";
import { STEP } from "./hostSteps";
import { shellCommand } from "./quote";
import { RenewalJob } from "./renewalJob";

/**
 * Arguments of EdgeProxy: the configuration (the stack file's keys, nested as the configuration's model is:
 * docs/configuration.md), and where the component keeps what it writes on the machine running Pulumi.
 * The host's address and key, the secrets, and each site's domains and backends may be Outputs of other
 * resources; every other value must be known when the program declares its resources.
 */
export interface EdgeProxyArgs extends EdgeProxyConfigArgs {
    /**
     * The docker provider for the host's engine, instead of the one EdgeProxy makes (over SSH to
     * `host.address`, logging in with `host.sshPrivateKey` and pinning `host.sshHostKey`). Its endpoint and
     * how it authenticates the host are then the caller's: `host.dockerHost` is not used.
     */
    provider?: docker.Provider;
    /**
     * Where the docker provider's pinned known_hosts file, its copy of the SSH private key and a host key
     * trusted on first use (each 0600, in a 0700 directory) go on the machine running Pulumi.
     * @default "~/.edge-proxy"
     */
    knownHostsDir?: string;
    /** How this proxy's host takes part in a fleet; set by EdgeProxyFleet, which declares one EdgeProxy per host. */
    fleetMember?: FleetMemberArgs;
}

/** How one host's proxy takes part in a fleet (EdgeProxyFleet). */
export interface FleetMemberArgs {
    /** The host's name among the fleet's hosts. */
    host: string;
    /**
     * The issuer's public certificate key, on every other host: authorized there to hand certificates to
     * the receiver and nothing else. Absent on the issuer.
     */
    issuerKey?: pulumi.Input<string>;
    /** What this host waits for before anything on it changes: the previous host's configuration and container. */
    after: pulumi.Resource[];
    /**
     * On the issuer: what certbot waits for besides its own container, once the fleet has declared it: every
     * host serving, so that the CA's request reaches certbot whichever host it comes to.
     */
    certificatesAfter?: Promise<pulumi.Resource>;
}

/** What a stack reports about one site. */
export interface SiteOutput {
    /** The names its certificate covers: the site's domains. */
    names: string[];
    /** The site's URL, one per domain (a wildcard has none). */
    urls: string[];
    /** The PEM file on the host. */
    certificate: string;
    /**
     * The served certificate's serial (hex), notAfter (UTC, ISO 8601) and issuer (RFC 2253), as the site's
     * PEM step reported them; absent while that step's output has another form (certificates.parseCertificateLine).
     */
    serial?: string;
    notAfter?: string;
    issuer?: string;
    /** Whether the certificate comes from Let's Encrypt's staging environment (browsers do not trust it). */
    staging: boolean;
}

/** What a stack reports about its HAProxy. */
export interface HaproxyOutput {
    /** The configured image reference. */
    image: string;
    /** The HAProxy version (major.minor) the configuration is rendered for. */
    version: string;
    /** The image's repository digest (`haproxy@sha256:...`), as the docker provider reports it. */
    repoDigest: string;
    /** The image's id (`sha256:...`), which the container runs. */
    imageId: string;
}

/** What a stack reports about its renewal job. */
export interface RenewalOutput {
    /** The cron schedule. */
    schedule: string;
    /** The renewal script on the host (run it by hand to renew now). */
    script: string;
    /** Its log on the host. */
    log: string;
    /** The certificates' status on the host (status.json), written by the certificate steps and the job. */
    status: string;
    /** The Prometheus text file, when certificateMetricsFile is set. */
    metricsFile?: string;
    /** Whether an alert command is installed. */
    alert: boolean;
}

/** Where HAProxy's metrics are served, when metricsAddress is set. */
export interface MetricsOutput {
    address: string;
    port: number;
    /** The stats page. */
    stats: string;
    /** The Prometheus exporter (HAProxy 2.0+). */
    prometheus?: string;
}

/** The delivery step's stdout names the installed configuration: `configuration <digest>` (deliver-config.sh.hbs). */
function configurationDigest(stdout: string): string | undefined {
    return /^configuration ([0-9a-f]+)$/m.exec(stdout)?.[1];
}

/**
 * HAProxy with Let's Encrypt certificates on a Debian Docker host. The settings known at declaration are
 * validated and everything that depends on them alone is rendered first, so a configuration that cannot be
 * rendered declares nothing; settings that are Outputs are validated when they resolve, failing the steps
 * that need them. The resource graph then fixes the order: the docker endpoint reached, directories and
 * placeholders, image, checked configuration, container (and the DNS credentials), certificates, PEMs,
 * one reload, renewal job.
 * (The image comes before the configuration because its own haproxy checks the files.)
 */
export class EdgeProxy extends pulumi.ComponentResource {
    /** The host: the docker provider, the SSH connection every step uses, and the host's preparation. */
    readonly host: DockerHost;
    /** HAProxy: the pinned image, the checked delivery of its configuration, the container. */
    readonly haproxyService: HaproxyService;
    /**
     * The certificates: the DNS credentials (with dnsProvider), each site's certbot and PEM steps, the one
     * reload. Absent on a fleet's host that receives the issuer's certificates.
     */
    readonly certificates?: Certificates;
    /** The renewal job's installation (script and cron entry); absent on a fleet's host that receives certificates. */
    readonly renewalJob?: RenewalJob;
    /** A fleet's issuer: the step that makes its certificate key (`<name>-fleet-key`); its stdout is the public key. */
    readonly fleetKey?: command.remote.Command;
    /** A fleet's other host: the step that installs the receiver and authorizes the issuer's key (`<name>-certificate-receiver`). */
    readonly receiver?: command.remote.Command;
    /** Each step's repair token, as read on the host before any step (hostState.ts). */
    readonly repairTokens: pulumi.Output<Record<string, string>>;
    /** The HAProxy container's name. */
    readonly containerName: pulumi.Output<string>;
    /** Each site's names, URLs, PEM path and served certificate, by site name. */
    readonly sites: pulumi.Output<Record<string, SiteOutput>>;
    /** The image and HAProxy version. */
    readonly haproxy: pulumi.Output<HaproxyOutput>;
    /**
     * The digest of the installed configuration (its release directory's name), as the delivery step
     * printed it. A secret when haproxy.cfg carries the metrics password's hash: its salt derives from
     * settings that are no secret, so the digest would let anyone check password guesses offline.
     */
    readonly configurationDigest: pulumi.Output<string | undefined>;
    /**
     * The renewal job's cron schedule, script and log (undefined on a fleet's host that receives
     * certificates). An Output: the default schedule derives from the host's address, which may itself be an Output.
     */
    readonly renewal: pulumi.Output<RenewalOutput | undefined>;
    /** Where the metrics are served; undefined when metricsAddress is not set. */
    readonly metrics: pulumi.Output<MetricsOutput | undefined>;

    constructor(name: string, args: EdgeProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:EdgeProxy", name, {}, opts);
        const { settings, secrets } = flattenArgs(args);
        // A bad value fails with every problem, named after this component: at once for what is known now,
        // when they resolve for the values that are Outputs.
        const { declared, known, resolved } = checkSettings(
            settings,
            (error: ConfigError) => new pulumi.ResourceError(`EdgeProxy ${name}: ${error.message}`, this),
        );
        const member = args.fleetMember;
        if (declared.fleet && !member) {
            throw new pulumi.ResourceError(`EdgeProxy ${name}: hosts lists several hosts: declare an EdgeProxyFleet for them (docs/fleet.md)`, this);
        }
        const role: HostRole = member && declared.fleet && member.host !== declared.fleet.issuer ? "receiver" : "issuer";
        // Rendered now when every setting is known, so that a configuration that cannot be rendered
        // declares nothing; otherwise once the Outputs resolve.
        const render = (config: EdgeProxyConfig) => renderHostScripts(config, renderHaproxyConfig(config), role);
        const scripts = known ? pulumi.output(render(known)) : resolved.apply(render);
        const paths = renewalPaths(declared);
        const deliver = declared.haproxy.metrics?.user ? deliverWithPasswordHash(resolved, secrets.metricsPassword, role) : scripts.deliver;

        const knownHostsDir = args.knownHostsDir ?? path.join(os.homedir(), ".edge-proxy");
        // Where the host's key is known, the configuration with it: every connection to the host pins it.
        const pinned = this.pinHostKey(resolved, secrets.sshPrivateKey, knownHostsDir, `${pulumi.getProject()}/${pulumi.getStack()}/${name}`);
        const tokens = this.observeDrift(pinned, secrets.sshPrivateKey, role);
        this.repairTokens = tokens;
        this.host = new DockerHost(
            `${name}-host`,
            {
                host: pinned.host,
                privateKey: secrets.sshPrivateKey,
                knownHostsDir,
                provider: args.provider,
                proxyName: name,
                prepareScript: scripts.prepare,
                repairTokens: tokens,
                prepareDelete: removeCommand({
                    certsDir: declared.haproxy.certsDir,
                    dataDir: declared.acme.dataDir,
                    stateDir: hostStatePath(declared.haproxy.containerName),
                }),
                dependsOn: member?.after,
            },
            { parent: this },
        );
        const { connection, provider, preparation } = this.host;
        this.haproxyService = new HaproxyService(
            `${name}-haproxy`,
            {
                proxyName: name,
                config: declared,
                provider,
                connection,
                deliverScript: deliver,
                repairTokens: tokens,
                // The configuration's step also made the TLS session ticket keys and installed their job.
                deliverDelete: removeCommand({ configDir: declared.haproxy.configDir, ticketKeys: ticketKeysPaths(declared) }),
                dependsOn: [preparation],
            },
            { parent: this },
        );
        const { image, configuration, container } = this.haproxyService;
        this.containerName = container.name;
        const { version } = declared.haproxy;
        this.haproxy = pulumi.all([image.repoDigest, image.imageId]).apply(([repoDigest, imageId]) => ({
            image: declared.haproxy.image,
            version: `${version.major}.${version.minor}`,
            repoDigest,
            imageId,
        }));
        const digest = configuration.stdout.apply(configurationDigest);
        this.configurationDigest = declared.haproxy.metrics?.user ? pulumi.secret(digest) : digest;
        this.metrics = pulumi.output(metricsOutput(declared));
        if (role === "receiver") {
            // The issuer's certificates arrive through the receiver (fleet/scripts.ts): no certbot, no renewal job here.
            if (member?.issuerKey === undefined) {
                throw new Error(`EdgeProxy ${name}: a fleet's host other than the issuer needs the issuer's certificate key`);
            }
            this.receiver = hostCommand(`${name}-certificate-receiver`, {
                connection,
                script: pulumi.all([resolved, member.issuerKey]).apply(([config, key]) => installReceiverScript(config, parsePublicKey(key))),
                repairToken: repairTokenOf(tokens, STEP.receiver),
                delete: shellCommand("sh", "-c", removeReceiverScript(declared)),
                parent: this,
                dependsOn: [preparation],
            });
            this.sites = resolved.apply((config) =>
                Object.fromEntries(config.sites.map((site): [string, SiteOutput] => [site.name, siteOutput(config, site, {})])),
            );
            this.renewal = pulumi.output(undefined);
        } else {
            if (member) {
                const { key, stateDir } = fleetPaths(declared);
                this.fleetKey = hostCommand(`${name}-fleet-key`, {
                    connection,
                    script: resolved.apply(fleetKeyScript),
                    repairToken: repairTokenOf(tokens, STEP.fleetKey),
                    // Back to one host: the key, the other hosts' pinned keys and their records go.
                    delete: shellCommand("rm", "-rf", path.posix.dirname(key), stateDir),
                    parent: this,
                    dependsOn: [preparation],
                });
            }
            const dnsPaths = dnsCredentialsPaths(declared);
            let dnsCredentials: CertificatesArgs["dnsCredentials"];
            if (dnsPaths) {
                if (secrets.rfc2136KeySecret === undefined) {
                    throw new Error("dnsProvider is set but no rfc2136KeySecret was given to EdgeProxy");
                }
                dnsCredentials = { path: dnsPaths.path, secret: secrets.rfc2136KeySecret };
            }
            const eab = eabPaths(declared);
            if (eab && secrets.acmeEabHmacKey === undefined) {
                throw new Error("acmeEabKid is set but no acmeEabHmacKey was given to EdgeProxy");
            }
            this.certificates = new Certificates(
                `${name}-certificates`,
                {
                    proxyName: name,
                    config: resolved,
                    certsDir: declared.haproxy.certsDir,
                    sites: declared.sites,
                    issueScripts: scripts.issue,
                    dnsCredentials,
                    eab: eab && { path: eab.path, hmacKey: secrets.acmeEabHmacKey! },
                    preparation,
                    dependsOn: member?.certificatesAfter ? [container, member.certificatesAfter] : [container],
                    connection,
                    repairTokens: tokens,
                },
                { parent: this },
            );
            const renewalJob = new RenewalJob(
                `${name}-renewal`,
                {
                    connection,
                    script: secrets.alertCommand === undefined ? scripts.installRenewal : installWithAlert(resolved, secrets.alertCommand),
                    paths,
                    dependsOn: [this.certificates.reload],
                    repairTokens: tokens,
                },
                { parent: this },
            );
            this.renewalJob = renewalJob;
            const { served } = this.certificates;
            this.sites = pulumi
                .all([resolved, served])
                .apply(([config, reports]) =>
                    Object.fromEntries(config.sites.map((site): [string, SiteOutput] => [site.name, siteOutput(config, site, reports[site.name])])),
                );
            this.renewal = resolved.apply((config) => ({
                schedule: config.acme.renewSchedule,
                script: renewalJob.scriptPath,
                log: paths.logPath,
                status: paths.statusPath,
                metricsFile: config.acme.metricsFile,
                alert: secrets.alertCommand !== undefined,
            }));
        }
        this.registerOutputs({
            containerName: this.containerName,
            sites: this.sites,
            haproxy: this.haproxy,
            configurationDigest: this.configurationDigest,
            renewal: this.renewal,
            metrics: this.metrics,
        });
    }

    /**
     * The configuration with the host key every connection pins: sshHostKey, or with sshTrustOnFirstUse the
     * key the first connection saw (hostKey.ts), which a warning tells the operator to pin in the stack.
     */
    private pinHostKey(config: pulumi.Output<EdgeProxyConfig>, privateKey: pulumi.Input<string>, dir: string, owner: string): pulumi.Output<EdgeProxyConfig> {
        // The configuration holds no secret; only the key that may have read the host's key is one.
        return pulumi.unsecret(
            pulumi.all([config, privateKey]).apply(async ([settings, key]) => {
                if (settings.host.sshHostKey || !settings.host.trustOnFirstUse) {
                    return settings;
                }
                const trusted = await trustedHostKey(settings, key, dir, owner);
                if (trusted.learned) {
                    pulumi.log.warn(
                        `sshTrustOnFirstUse: pinned the key ${settings.host.address}:${settings.host.sshPort} presented on this first connection, ` +
                            `${trusted.key} (kept in ${trusted.file}; any other key is refused from now on). Pin it in the stack: pulumi config set sshHostKey '${trusted.key}'`,
                        this,
                    );
                }
                return { ...settings, host: { ...settings.host, sshHostKey: trusted.key } };
            }),
        );
    }

    /**
     * Reads the host once, before any step, and gives each step its repair token (hostState.ts); none
     * when detectDrift is off. What drifted is reported as a warning on this component, naming the step
     * that `up` runs again. The tokens are no secret (random hex), though the key that read them is.
     */
    private observeDrift(config: pulumi.Output<EdgeProxyConfig>, privateKey: pulumi.Input<string>, role: HostRole): pulumi.Output<Record<string, string>> {
        const observation: pulumi.Output<HostObservation> = pulumi
            .all([config, privateKey])
            .apply(([settings, key]) => (settings.host.detectDrift ? observeHost(settings, key, role) : Promise.resolve<HostObservation>({})));
        return pulumi.unsecret(
            observation.apply((observed) => {
                const { role: was, steps } = takeFleetRole(observed);
                // The issuer's resources would move to another host, and the PEM steps' deletes would then
                // remove the certificates the old issuer serves: refused before anything changes.
                if (was !== undefined && was !== role) {
                    throw new pulumi.ResourceError(
                        `this host is its fleet's ${was} and would become its ${role}: the issuer cannot move to another host in place (docs/fleet.md#limits)`,
                        this,
                    );
                }
                for (const message of driftMessages(steps)) {
                    pulumi.log.warn(`drift on the host: ${message}`, this);
                }
                return repairTokens(steps);
            }),
        );
    }
}

/** What a stack reports about one site, with what its served certificate's step reported. */
function siteOutput(config: EdgeProxyConfig, site: EdgeProxyConfig["sites"][number], served: CertificateReport): SiteOutput {
    return {
        names: site.domains,
        urls: site.domains.filter((domain) => !domain.startsWith("*.")).map((domain) => `https://${domain}${httpsPortSuffix(config)}/`),
        certificate: pemPath(config.haproxy.certsDir, site),
        ...served,
        staging: config.acme.staging,
    };
}

/** The metrics' address, port and URLs, when metricsAddress is set. */
function metricsOutput(config: Pick<DeclaredConfig, "haproxy">): MetricsOutput | undefined {
    const { metrics, version } = config.haproxy;
    if (!metrics) {
        return undefined;
    }
    const base = `http://${metrics.address.includes(":") ? `[${metrics.address}]` : metrics.address}:${metrics.port}`;
    return {
        address: metrics.address,
        port: metrics.port,
        stats: `${base}${METRICS_PATHS.stats}`,
        prometheus: haproxyFeatures(version).prometheusExporter ? `${base}${METRICS_PATHS.prometheus}` : undefined,
    };
}

/**
 * The delivery script with the metrics password's crypt hash in haproxy.cfg: a secret Output, so that the
 * state keeps even the hash encrypted (the plain password never reaches the host). Everything else was
 * already rendered (and checked) before any resource was declared; only the hash differs.
 */
function deliverWithPasswordHash(resolved: pulumi.Output<EdgeProxyConfig>, password: pulumi.Input<string> | undefined, role: HostRole): pulumi.Output<string> {
    if (password === undefined) {
        throw new Error("metricsUser is set but no metricsPassword was given to EdgeProxy");
    }
    return pulumi.secret(pulumi.all([resolved, password])).apply(([config, plain]) => {
        if (plain === "") {
            throw new Error("metricsPassword is empty: set it with pulumi config set --secret metricsPassword");
        }
        return deliverConfigScript(config, renderHaproxyConfig(config, { metricsPasswordHash: metricsPasswordHash(config, plain) }), role);
    });
}

/**
 * The renewal job's installing script with the alert command: a secret Output, as the command may carry a
 * webhook's token. Rendered without it before any resource was declared; only the alert file differs.
 */
function installWithAlert(resolved: pulumi.Output<EdgeProxyConfig>, alertCommand: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.secret(pulumi.all([resolved, alertCommand])).apply(([config, alert]) => installRenewalScript(config, alert));
}
