/**
 * What a Pulumi program passes to EdgeProxy: the stack file's keys, without the `edge-proxy:` namespace
 * and without the secrets (EdgeProxy takes those as arguments of their own). The values a program would
 * take from another resource may be `pulumi.Input`s: the host's address and key (a VM's outputs), each
 * site's domains and backends (another stack's outputs). Everything else fixes the resource graph (one
 * certificate resource per site name, the container's ports and mounts) and must be known when the
 * program declares its resources.
 *
 * Values known at declaration are validated at once, before any resource exists, with parseConfig's
 * messages; the Outputs when they resolve, with the whole configuration, so that a bad one fails the
 * steps that need it with the same key-path message.
 */
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { EdgeProxyConfigArgs } from "./args";
import type { RawConfig } from "./checks";
import { CONFIG_KEYS, configModel, defaultSiteName, deriveDeclared, modelInput, type SecretKey, type SiteInput, type StackSettings } from "./schema";
import type { EdgeProxyConfig } from "./types";
import { ConfigError, inspectConfig, parseConfig } from "./validate";

/** One entry of `sites` (see the configuration reference); its domains and backends may be Outputs. */
export type SiteSettings = Omit<SiteInput, "domains" | "backends"> & {
    /** Required, as `name` then is, when known only once an Output resolves. */
    domains: pulumi.Input<pulumi.Input<string>[]>;
    /** `host:port` each. */
    backends: pulumi.Input<pulumi.Input<string>[]>;
};

/** One entry of `tcpServices`. */
export type TcpServiceSettings = NonNullable<StackSettings["tcpServices"]>[number];

/**
 * The configuration of one proxy: the stack's keys but its secrets (sshPrivateKey, metricsPassword,
 * alertCommand, rfc2136KeySecret), typed from the schema; the host's address and key may be Outputs.
 */
export type EdgeProxySettings = Omit<StackSettings, SecretKey | "hostAddress" | "sshHostKey" | "sites"> & {
    hostAddress: pulumi.Input<string>;
    sshHostKey?: pulumi.Input<string>;
    sites: SiteSettings[];
};

/** The secrets of one proxy, by stack key: they stay Pulumi secrets, outside the configuration. */
export type ProxySecrets = { sshPrivateKey: pulumi.Input<string> } & Partial<Record<Exclude<SecretKey, "sshPrivateKey">, pulumi.Input<string>>>;

/** The value at `path` in nested arguments, or undefined where a group on the way is not given. */
function valueAt(args: unknown, path: readonly string[]): unknown {
    return path.reduce<unknown>((group, name) => (typeof group === "object" && group !== null ? (group as Record<string, unknown>)[name] : undefined), args);
}

/**
 * EdgeProxy's nested arguments as the stack keys they correspond to (the settings, without the secrets),
 * and the secrets apart; a key whose value is not given is left out, so that its default applies.
 */
export function flattenArgs(args: EdgeProxyConfigArgs): { settings: EdgeProxySettings; secrets: ProxySecrets } {
    const settings: Record<string, unknown> = {};
    const secrets: Record<string, unknown> = {};
    for (const spec of CONFIG_KEYS) {
        const value = valueAt(args, spec.path);
        if (value !== undefined) {
            (spec.secret ? secrets : settings)[spec.key] = value;
        }
    }
    return { settings: settings as EdgeProxySettings, secrets: secrets as ProxySecrets };
}

/**
 * EdgeProxy's nested arguments from a stack's flat keys (the stack program's, and a test's): each value where
 * the model has it, the secrets among them.
 */
export function argsFromStackSettings(settings: Partial<EdgeProxySettings> & Partial<ProxySecrets>): EdgeProxyConfigArgs {
    return modelInput(settings as Record<string, unknown>).input as unknown as EdgeProxyConfigArgs;
}

/** The schema of what the resource graph is built from, of the parts of the model no Output can change. */
const declaredSchema = configModel.pick({ host: true, haproxy: true, acme: true, tcpServices: true, fleet: true }).transform(deriveDeclared);

/**
 * What the resource graph may be built from: the configuration but the values that may be Outputs (the
 * host, and the sites' domains and backends), and each site's name.
 */
export type DeclaredConfig = z.output<typeof declaredSchema> & { sites: { name: string }[] };

/** The settings, checked. */
export interface CheckedSettings {
    /** What is known at declaration, validated. */
    declared: DeclaredConfig;
    /** The whole configuration when every value was known at declaration. */
    known?: EdgeProxyConfig;
    /** The whole configuration, validated once every value has resolved (fails with ConfigError otherwise). */
    resolved: pulumi.Output<EdgeProxyConfig>;
}

/** Whether a value holds no Output or Promise (at any depth of a list). */
function isKnown(value: unknown): boolean {
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {
        return false;
    }
    return Array.isArray(value) ? value.every(isKnown) : true;
}

/** A value that resolves later: its key path, the Input, and where it goes in the raw configuration. */
interface Deferred {
    path: string;
    input: pulumi.Input<unknown>;
    place(raw: RawConfig, value: unknown): void;
}

/** The raw configuration with its sites copied, so that placing a value never changes the caller's objects. */
function copyRaw(raw: RawConfig): RawConfig {
    const sites = Array.isArray(raw.sites) ? raw.sites.map((site) => (typeof site === "object" && site !== null ? { ...site } : site)) : raw.sites;
    return { ...raw, sites };
}

/** The values that are Outputs (left out of the returned copy) and the problems of Outputs where none may be. */
function deferOutputs(settings: EdgeProxySettings): { known: RawConfig; deferred: Deferred[]; problems: string[] } {
    const known = copyRaw({ ...settings });
    const deferred: Deferred[] = [];
    const problems: string[] = [];
    const defer = (path: string, input: unknown, place: (raw: RawConfig, value: unknown) => void) => {
        deferred.push({ path, input: input as pulumi.Input<unknown>, place });
        place(known, undefined);
    };
    for (const key of ["hostAddress", "sshHostKey"]) {
        if (!isKnown(known[key])) {
            defer(key, known[key], (raw, value) => {
                raw[key] = value;
            });
        }
    }
    const sites = Array.isArray(known.sites) ? (known.sites as Record<string, unknown>[]) : [];
    sites.forEach((site, i) => {
        if (typeof site !== "object" || site === null) {
            return; // the validator reports it
        }
        const entry = (raw: RawConfig) => (raw.sites as Record<string, unknown>[])[i];
        if (!isKnown(site.domains) && site.name === undefined) {
            problems.push(`sites[${i}].name: is required when the site's domains are not known at declaration (its resources are named after it)`);
        }
        for (const key of ["domains", "backends"].filter((k) => !isKnown(site[k]))) {
            defer(`sites[${i}].${key}`, site[key], (raw, value) => {
                entry(raw)[key] = value;
            });
        }
        for (const [key, value] of Object.entries(site).filter(([key]) => key !== "domains" && key !== "backends")) {
            if (!isKnown(value)) {
                problems.push(`sites[${i}].${key}: must be known at declaration, not an Output`);
            }
        }
    });
    for (const [key, value] of Object.entries(known)) {
        if (!isKnown(value) && !["hostAddress", "sshHostKey", "sites"].includes(key)) {
            problems.push(`${key}: must be known at declaration, not an Output (only hostAddress, sshHostKey and the sites' domains and backends may be)`);
        }
    }
    return { known, deferred, problems };
}

/**
 * Validates the settings: what is known now at once (throwing ConfigError with every problem, before any
 * resource is declared), the whole configuration again when the Outputs have resolved. No value stands in
 * for an Output: the problems about the values not known yet wait for them. `reported` turns a ConfigError
 * into the error thrown (EdgeProxy's names the component).
 */
export function checkSettings(settings: EdgeProxySettings, reported: (error: ConfigError) => Error = (error) => error): CheckedSettings {
    const { known: raw, deferred, problems: outputProblems } = deferOutputs(settings);
    if (outputProblems.length > 0) {
        throw reported(new ConfigError(outputProblems));
    }
    // The secrets are no settings here (EdgeProxy takes them as arguments of their own), hence requireSecrets.
    const { problems, config } = inspectConfig(raw, { requireSecrets: false, unknown: deferred.map((d) => d.path) });
    if (problems.length > 0) {
        throw reported(new ConfigError(problems));
    }
    if (config) {
        const declared = { ...config, sites: config.sites.map((site) => ({ name: site.name })) };
        return { declared, known: config, resolved: pulumi.output(config) };
    }
    // Valid as far as it is known: the parts no Output can change, and each site's name (required above
    // when its domains are an Output).
    const { input } = modelInput(raw);
    const declared = {
        ...declaredSchema.parse({ host: input.host, haproxy: input.haproxy, acme: input.acme, tcpServices: input.tcpServices, fleet: input.fleet }),
        sites: (raw.sites as { name?: string; domains?: string[] }[]).map((site) => ({ name: site.name ?? defaultSiteName(site.domains![0]) })),
    };
    const resolved = pulumi.all(deferred.map((d) => d.input)).apply((values) => {
        const filled = copyRaw(raw);
        deferred.forEach((d, i) => {
            d.place(filled, values[i]);
        });
        try {
            return parseConfig(filled, { requireSecrets: false });
        } catch (error) {
            throw error instanceof ConfigError ? reported(error) : error;
        }
    });
    return { declared, resolved };
}
