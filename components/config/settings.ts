/**
 * What a Pulumi program passes to EdgeProxy: the stack file's keys, without the `edge-proxy:` namespace
 * and without the private key (EdgeProxy takes that as a secret of its own). The values a program would
 * take from another resource may be `pulumi.Input`s: the host's address and key (a VM's outputs), each
 * site's domains and backends (another stack's outputs). Everything else fixes the resource graph (one
 * certificate resource per site name, the container's ports and mounts) and must be known when the
 * program declares its resources.
 *
 * Values known at declaration are validated at once, before any resource exists, with parseConfig's
 * messages; the others when they resolve, so that a bad one fails the steps that need it with the same
 * key-path message.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigKeyName } from "./schema";
import { EdgeProxyConfig } from "./types";
import { ConfigError, RawConfig, parseConfig } from "./validate";

/** One entry of `sites` (see the README's configuration reference). */
export interface SiteSettings {
    /** Required when `domains` is not known at declaration: it names the site's resources. */
    name?: string;
    domains: pulumi.Input<pulumi.Input<string>[]>;
    /** `host:port` each. */
    backends: pulumi.Input<pulumi.Input<string>[]>;
    healthCheck?: { path: string; interval?: string };
    /** `http-01` (default) or `dns-01`. */
    challenge?: "http-01" | "dns-01";
    hsts?: boolean;
    securityHeaders?: boolean;
}

/** One entry of `tcpServices`. */
export interface TcpServiceSettings {
    name: string;
    port: number;
    backends: string[];
}

/**
 * The configuration of one proxy: the keys of the README's configuration reference, minus the secrets
 * (sshPrivateKey, metricsPassword, alertCommand, rfc2136KeySecret), which EdgeProxy takes as arguments of their own.
 */
export interface EdgeProxySettings {
    hostAddress: pulumi.Input<string>;
    sshPort?: number;
    sshUser?: string;
    sshHostKey?: pulumi.Input<string>;
    /** Without sshHostKey: pin the key the first connection sees (README: Host keys). @default false */
    sshTrustOnFirstUse?: boolean;
    dockerHost?: string;
    /**
     * Whether `preview` and `up` read the host over SSH before declaring the steps, so that what changed on
     * it since the last `up` shows as a change of the step that owns it, which `up` runs again.
     * @default true
     */
    detectDrift?: boolean;
    haproxyImage?: string;
    haproxyVersion?: string;
    containerName?: string;
    httpPort?: number;
    httpsPort?: number;
    configDir?: string;
    certsDir?: string;
    maxconn?: number;
    timeoutConnect?: string;
    timeoutClient?: string;
    timeoutServer?: string;
    timeoutHttpRequest?: string;
    timeoutHttpKeepAlive?: string;
    timeoutTunnel?: string;
    acmeEmail: string;
    acmeServer?: string;
    acmeCaBundle?: string;
    certbotImage?: string;
    acmeChallengePort?: number;
    acmeChallengeAddress?: string;
    certbotDataDir?: string;
    acmeKeyType?: "ecdsa" | "rsa";
    acmePreflight?: boolean;
    acmePreflightResolver?: string;
    acmeValidationPort?: number;
    renewSchedule?: string;
    alertDaysBeforeExpiry?: number;
    certificateMetricsFile?: string;
    dnsProvider?: string;
    dnsCertbotImage?: string;
    dnsPropagationSeconds?: number;
    rfc2136Server?: string;
    rfc2136Port?: number;
    rfc2136KeyName?: string;
    rfc2136KeyAlgorithm?: string;
    metricsAddress?: string;
    metricsPort?: number;
    metricsPublic?: boolean;
    metricsUser?: string;
    sites: SiteSettings[];
    tcpServices?: TcpServiceSettings[];
}

// The settings name exactly the schema's keys but the secrets: a key added to the schema must be added here.
type SameKeys<A, B> = [Exclude<A, B>, Exclude<B, A>] extends [never, never] ? true : never;
const settingsFollowSchema: SameKeys<keyof EdgeProxySettings, Exclude<ConfigKeyName, "sshPrivateKey" | "metricsPassword" | "alertCommand" | "rfc2136KeySecret">> = true;
void settingsFollowSchema;

/**
 * What the resource graph may be built from: the configuration with the values that may be Outputs left
 * out (the host, and the sites' domains and backends), so that no stand-in can reach a resource.
 */
export type DeclaredConfig = Omit<EdgeProxyConfig, "host" | "sites"> & { sites: { name: string }[] };

/** The settings, checked. */
export interface CheckedSettings {
    /** What is known at declaration, validated. */
    declared: DeclaredConfig;
    /** The whole configuration when every value was known at declaration. */
    known?: EdgeProxyConfig;
    /** The whole configuration, validated once every value has resolved (fails with ConfigError otherwise). */
    resolved: pulumi.Output<EdgeProxyConfig>;
}

/**
 * Stand-ins for the values that are not known yet while the rest is validated: each passes its own
 * check and collides with nothing (`.invalid` is reserved, RFC 2606).
 */
const PENDING_HOST = "pending.edge-proxy.invalid";
/** A stand-in for a host key given as an Output: set, so that the key's requirement holds until it resolves. */
const PENDING_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPendingEdgeProxyHostKey";
const pendingDomain = (site: number) => `site${site}.pending.edge-proxy.invalid`;
const PENDING_BACKEND = "127.0.0.1:1";

/** Whether a value holds no Output or Promise (at any depth of a list). */
function isKnown(value: unknown): boolean {
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {
        return false;
    }
    return Array.isArray(value) ? value.every(isKnown) : true;
}

/** A value that resolves later: where it goes in the raw configuration, and what stands for it until then. */
interface Deferred {
    input: pulumi.Input<unknown>;
    place(raw: RawConfig, value: unknown): void;
}

/** The raw configuration with its sites copied, so that placing a value never changes the caller's objects. */
function copyRaw(raw: RawConfig): RawConfig {
    const sites = Array.isArray(raw.sites) ? raw.sites.map((site) => (typeof site === "object" && site !== null ? { ...site } : site)) : raw.sites;
    return { ...raw, sites };
}

/**
 * Validates the settings: what is known now at once (throwing ConfigError with every problem, before any
 * resource is declared), the rest when it resolves.
 */
export function checkSettings(settings: EdgeProxySettings): CheckedSettings {
    const raw = copyRaw({ ...settings } as RawConfig);
    const deferred: Deferred[] = [];
    const problems: string[] = [];
    const defer = (input: unknown, standIn: unknown, place: (raw: RawConfig, value: unknown) => void) => {
        deferred.push({ input: input as pulumi.Input<unknown>, place });
        place(raw, standIn);
    };

    if (!isKnown(raw.hostAddress)) {
        defer(raw.hostAddress, PENDING_HOST, (r, value) => { r.hostAddress = value; });
    }
    if (!isKnown(raw.sshHostKey)) {
        defer(raw.sshHostKey, PENDING_HOST_KEY, (r, value) => { r.sshHostKey = value; });
    }
    const sites = Array.isArray(raw.sites) ? raw.sites as Record<string, unknown>[] : [];
    sites.forEach((site, i) => {
        if (typeof site !== "object" || site === null) {
            return; // parseConfig reports it
        }
        const entry = (r: RawConfig) => (r.sites as Record<string, unknown>[])[i];
        if (!isKnown(site.domains)) {
            if (site.name === undefined) {
                problems.push(`sites[${i}].name: is required when the site's domains are not known at declaration (its resources are named after it)`);
            }
            defer(site.domains, [pendingDomain(i)], (r, value) => { entry(r).domains = value; });
        }
        if (!isKnown(site.backends)) {
            defer(site.backends, [PENDING_BACKEND], (r, value) => { entry(r).backends = value; });
        }
        for (const [key, value] of Object.entries(site).filter(([key]) => key !== "domains" && key !== "backends")) {
            if (!isKnown(value)) {
                problems.push(`sites[${i}].${key}: must be known at declaration, not an Output`);
            }
        }
    });
    for (const [key, value] of Object.entries(raw)) {
        if (!isKnown(value) && !["hostAddress", "sshHostKey", "sites"].includes(key)) {
            problems.push(`${key}: must be known at declaration, not an Output (only hostAddress, sshHostKey and the sites' domains and backends may be)`);
        }
    }
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }

    // The private key is no setting here (EdgeProxy takes it as a secret of its own), hence requireSecrets.
    const validated = parseConfig(raw, { requireSecrets: false });
    const declared: DeclaredConfig = {
        haproxy: validated.haproxy,
        acme: validated.acme,
        tcpServices: validated.tcpServices,
        sites: validated.sites.map((site) => ({ name: site.name })),
    };
    if (deferred.length === 0) {
        return { declared, known: validated, resolved: pulumi.output(deferred).apply(() => validated) };
    }
    const resolved = pulumi.all(deferred.map((d) => d.input)).apply((values) => {
        const filled = copyRaw(raw);
        deferred.forEach((d, i) => d.place(filled, values[i]));
        return parseConfig(filled, { requireSecrets: false });
    });
    return { declared, resolved };
}
