/**
 * Several proxy hosts serving the same sites (`hosts` in the configuration): one EdgeProxy per host, the
 * certificates issued once and sent to every host, changes rolled out one host at a time.
 */
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { type CertificateReport, parseCertificateLine } from "../certificates";
import { configKey, issuerOf } from "../config/schema";
import { checkSettings, flattenArgs } from "../config/settings";
import type { ConfigError } from "../config/validate";
import { EdgeProxy, type EdgeProxyArgs } from "../edgeProxy";
import { hostCommand } from "../hostCommand";
import { STEP } from "../hostSteps";
import { Keepalived } from "./keepalived";
import { followersOf } from "./roles";
import { distributeScript, parseDistribution, waitForFleetScript } from "./scripts";

/**
 * Arguments of EdgeProxyFleet: EdgeProxy's, with `fleet.hosts` listing the hosts (each with its SSH
 * address, port, user, pinned host key and address on the shared network). `host` holds what the hosts
 * share (the SSH private key, the default port and user, detectDrift); its address and key are each
 * host's own. Every other setting applies to every host alike.
 */
export type EdgeProxyFleetArgs = Omit<EdgeProxyArgs, "provider" | "fleetMember">;

/** What one host of the fleet serves, by site name: the certificate as the host reported it. */
export type HostCertificates = Record<string, CertificateReport>;

/**
 * A fleet of proxy hosts. The issuer is declared first, named as the fleet (`<name>`: a one-host stack's
 * EdgeProxy of that name becomes it), and runs certbot and the renewal job; every other host's proxy
 * (`<name>-<host>`), in the order of `hosts`, starts only after the previous host checked its configuration
 * and runs its container, so a configuration HAProxy rejects fails on the first host and changes no
 * other. The issuer's certificates then go to every other host over SSH, with a key the issuer made and
 * keeps (fleet/scripts.ts): in `up` by the distribution step, after each renewal by the job.
 */
export class EdgeProxyFleet extends pulumi.ComponentResource {
    /** Each host's proxy, by host name, the issuer first. */
    readonly hosts: Record<string, EdgeProxy>;
    /** The issuer's proxy. */
    readonly issuer: EdgeProxy;
    /**
     * The distribution of the issuer's certificates to the other hosts (`<name>-certificate-distribution`),
     * absent with one host; it runs again whenever a certificate changed, or drifted on another host.
     */
    readonly distribution?: command.remote.Command;
    /** keepalived on each host, by host name, when virtualAddresses is set. */
    readonly keepalived: Record<string, Keepalived>;
    /**
     * The issuer's wait for the fleet to serve (`<name>-fleet-serving`): every host's HTTP port, and the
     * virtual addresses, answer; certbot runs after it.
     */
    readonly serving: command.remote.Command;
    /** Each host's served certificates (serial, notAfter, issuer), by host and site name. */
    readonly served: pulumi.Output<Record<string, HostCertificates>>;
    /** Each host's installed configuration digest, by host name (a secret when haproxy.cfg carries the metrics password's hash). */
    readonly configurationDigests: pulumi.Output<Record<string, string | undefined>>;

    constructor(name: string, args: EdgeProxyFleetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:EdgeProxyFleet", name, {}, opts);
        const { settings, secrets } = flattenArgs(args);
        const { declared, resolved } = checkSettings(
            settings,
            (error: ConfigError) => new pulumi.ResourceError(`EdgeProxyFleet ${name}: ${error.message}`, this),
        );
        const fleet = declared.fleet;
        if (!fleet) {
            throw new pulumi.ResourceError(`EdgeProxyFleet ${name}: hosts is empty: list the hosts (or declare an EdgeProxy for one host)`, this);
        }
        const ignored = ignoredWithHosts(settings as unknown as Record<string, unknown>);
        if (ignored.length > 0) {
            throw new pulumi.ResourceError(
                `EdgeProxyFleet ${name}: invalid edge-proxy configuration (${ignored.length} problem${ignored.length > 1 ? "s" : ""}):\n${ignored.map((problem) => `  - ${problem}`).join("\n")}`,
                this,
            );
        }
        this.hosts = {};
        // certbot on the issuer waits for the whole fleet to serve (below), which is declared after the issuer.
        let resolveServing!: (gate: pulumi.Resource) => void;
        const certificatesAfter = new Promise<pulumi.Resource>((resolve) => {
            resolveServing = resolve;
        });
        let after: pulumi.Resource[] = [];
        let issuerKey: pulumi.Output<string> | undefined;
        for (const host of [issuerOf(fleet), ...followersOf(fleet)]) {
            const isIssuer = issuerKey === undefined;
            const proxy = new EdgeProxy(
                // The issuer's proxy carries the fleet's own name: a one-host stack's EdgeProxy had it, and
                // with the alias below its resources (each named after it) become the issuer's, in place.
                isIssuer ? name : `${name}-${host.name}`,
                {
                    ...args,
                    // This host's own address and key; the docker endpoint derives from them.
                    host: {
                        ...args.host,
                        address: host.address,
                        sshPort: host.sshPort,
                        sshUser: host.sshUser,
                        sshHostKey: host.sshHostKey,
                        dockerHost: undefined,
                    },
                    fleetMember: { host: host.name, issuerKey, after, certificatesAfter: isIssuer ? certificatesAfter : undefined },
                },
                { parent: this, aliases: isIssuer ? [{ parent: opts?.parent ?? pulumi.rootStackResource }] : [] },
            );
            this.hosts[host.name] = proxy;
            issuerKey ??= proxy.fleetKey!.stdout;
            after = [proxy.haproxyService.configuration, proxy.haproxyService.container];
        }
        this.keepalived = {};
        let previous: pulumi.Resource | undefined;
        for (const host of fleet.vip ? fleet.hosts : []) {
            const proxy = this.hosts[host.name];
            this.keepalived[host.name] = new Keepalived(
                `${name}-${host.name}-keepalived`,
                {
                    config: resolved,
                    host: host.name,
                    containerName: declared.haproxy.containerName,
                    password: secrets.vrrpPassword,
                    provider: proxy.host.provider,
                    connection: proxy.host.connection,
                    // The address moves only to a host that serves: after its container. One host after the
                    // other, so that a new image never takes keepalived down on every host at once.
                    dependsOn: previous ? [proxy.haproxyService.container, previous] : [proxy.haproxyService.container],
                },
                { parent: this },
            );
            previous = this.keepalived[host.name].container;
        }
        // Every host's HAProxy answers, and the virtual addresses do, before certbot runs: the CA's request
        // may come to any of them (on the first `up` the address exists only once keepalived runs).
        const issuerHost = this.hosts[fleet.issuer].host;
        this.serving = hostCommand(`${name}-fleet-serving`, {
            connection: issuerHost.connection,
            script: resolved.apply(waitForFleetScript),
            repairToken: pulumi.output(""),
            parent: this,
            dependsOn: [
                ...Object.values(this.hosts).map((proxy) => proxy.haproxyService.container),
                ...Object.values(this.keepalived).map((keepalived) => keepalived.container),
            ],
        });
        resolveServing(this.serving);
        this.issuer = this.hosts[fleet.issuer];
        const followers = followersOf(fleet).map((host) => this.hosts[host.name]);
        const issuerCertificates = this.issuer.certificates!;
        const servedLines = pulumi.all(declared.sites.map((site) => issuerCertificates.pem[site.name].stdout));
        const issuerServes = servedLines.apply((lines) => Object.fromEntries(declared.sites.map((site, i) => [site.name, parseCertificateLine(lines[i])])));
        let othersServe = pulumi.output<Record<string, HostCertificates>>({});
        if (followers.length > 0) {
            // A PEM changed on another host by hand gets a new token there (its drift), and so is sent again.
            const tokens = pulumi
                .all(followersOf(fleet).map((host) => this.hosts[host.name].repairTokens.apply((all): [string, Record<string, string>] => [host.name, all])))
                .apply((hosts) =>
                    Object.fromEntries(
                        hosts.map(([host, all]) => [host, Object.fromEntries(declared.sites.map((site) => [site.name, all[STEP.pem(site.name)] ?? ""]))]),
                    ),
                );
            this.distribution = hostCommand(`${name}-certificate-distribution`, {
                connection: this.issuer.host.connection,
                script: pulumi.all([resolved, servedLines, tokens]).apply(([config, lines, byHost]) => distributeScript(config, lines, byHost)),
                repairToken: pulumi.output(""),
                parent: this,
                dependsOn: [issuerCertificates.reload, ...followers.flatMap((proxy) => [proxy.receiver!, proxy.haproxyService.container])],
            });
            othersServe = this.distribution.stdout.apply((stdout) =>
                Object.fromEntries(
                    Object.entries(parseDistribution(stdout)).map(([host, lines]) => [
                        host,
                        Object.fromEntries(lines.map((line) => [line.split(" ")[0], parseCertificateLine(line)])),
                    ]),
                ),
            );
        }
        this.served = pulumi.all([issuerServes, othersServe]).apply(([issuer, others]) => ({ [fleet.issuer]: issuer, ...others }));
        this.configurationDigests = pulumi
            .all(Object.entries(this.hosts).map(([host, proxy]) => proxy.configurationDigest.apply((digest): [string, string | undefined] => [host, digest])))
            .apply((entries) => Object.fromEntries(entries));
        this.registerOutputs({ served: this.served, configurationDigests: this.configurationDigests });
    }
}

/** The one-host keys a fleet takes from each host's entry, or derives (acmeChallengeAddress: the issuer's privateAddress). */
const ONE_HOST_KEYS = ["hostAddress", "sshHostKey", "sshTrustOnFirstUse", "dockerHost", "acmeChallengeAddress"];

/**
 * The one-host keys set (to other than their default: the Pulumi CLI passes Pulumi.yaml's defaults as set
 * values) beside `hosts`, where they would be silently ignored: one problem each.
 */
export function ignoredWithHosts(settings: Record<string, unknown>): string[] {
    return ONE_HOST_KEYS.filter((key) => {
        const value = settings[key];
        return value !== undefined && value !== "" && value !== configKey(key)?.default;
    }).map((key) => `${key}: has no effect with hosts: each host's address and key are in its entry (acmeChallengeAddress: the issuer's privateAddress)`);
}
