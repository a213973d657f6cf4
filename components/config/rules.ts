/**
 * The checks that span several values of the configuration (a requirement one key puts on another, ports
 * and directories that must not collide, names that must be unique), run on the model as far as it parsed:
 * a value the schema refused counts as unknown here, so that one wrong value is reported once, by its own
 * key, while every other value is still checked. Pure: nothing here touches Pulumi or the host.
 */
import type { z } from "zod";
import { DNS_PROVIDERS, providerImage } from "../dns/providers";
import { haproxyFeatures } from "../haproxy/features";
import { virtualAddressesProblem } from "../keepalived/render";
import { compareVersions, hostnameProblem, isLoopbackAddress, isPrivateAddress, OLDEST_HAPROXY, quote, versionFromImage } from "./checks";
import { CONFIG_KEYS, type ConfigModel, configKey, defaultSiteName, explicitVersion } from "./schema";
import type { HaproxyVersion } from "./types";

/** A value as far as it parsed: a leaf (or list entry) the schema refused is undefined. */
type Settled<T> = T extends readonly (infer E)[]
    ? (Settled<E> | undefined)[] | undefined
    : T extends { [key: string]: unknown }
      ? { [K in keyof T]: Settled<T[K]> }
      : T | undefined;

/** The model's path of a stack key's leaf. */
function at(key: string): PropertyKey[] {
    return [...configKey(key)!.path];
}

/** The value at a path of the model, if any. */
function valueAt(model: unknown, path: readonly PropertyKey[]): unknown {
    return path.reduce<unknown>(
        (value, part) => (typeof value === "object" && value !== null ? (value as Record<PropertyKey, unknown>)[part] : undefined),
        model,
    );
}

/** The model paths of the secrets' leaves. */
const SECRET_PATHS = new Set(CONFIG_KEYS.filter((spec) => spec.secret).map((spec) => spec.path.join(".")));

/** Whether an issue leaves its value standing: an unknown key beside it, or a secret stored in plain text (set, if wrongly). */
function keepsValue(issue: z.core.$ZodRawIssue): boolean {
    return issue.code === "unrecognized_keys" || SECRET_PATHS.has((issue.path ?? []).join("."));
}

/**
 * The model as far as it parsed: every value an issue refused cleared, in place (the model is discarded
 * whenever it has an issue, which is exactly when anything is cleared), and the paths of those values.
 */
function settle(model: ConfigModel, issues: z.core.$ZodRawIssue[]): { view: Settled<ConfigModel>; refused: Set<string> } {
    const refused = new Set<string>();
    for (const issue of issues.filter((each) => !keepsValue(each))) {
        const path = issue.path ?? [];
        const parent = valueAt(model, path.slice(0, -1));
        if (path.length > 0 && typeof parent === "object" && parent !== null) {
            (parent as Record<PropertyKey, unknown>)[path[path.length - 1]] = undefined;
        }
        refused.add(path.join("."));
    }
    return { view: model as Settled<ConfigModel>, refused };
}

/** What the rules require beyond the model. */
export interface RuleOptions {
    /**
     * Whether the secrets a deployment needs must be set: the private key, and the password or key that
     * other settings call for. The render tool (which cannot decrypt) and EdgeProxy (which takes the
     * secrets as arguments of their own) validate without.
     */
    requireSecrets: boolean;
}

/**
 * The rules, as a refinement of the model: it adds an issue for every rule the model breaks (one that
 * requires a key is marked `params.required`, to be listed with the keys the model requires).
 */
export function rulesFor({ requireSecrets }: RuleOptions): (model: ConfigModel, ctx: z.core.$RefinementCtx<ConfigModel>) => void {
    return (model, ctx) => checkRules(model, ctx, requireSecrets);
}

function checkRules(model: ConfigModel, ctx: z.core.$RefinementCtx<ConfigModel>, requireSecrets: boolean): void {
    const { view, refused } = settle(model, ctx.issues);
    const report: Report = (path, message, required = false) =>
        ctx.addIssue({ code: "custom", path, message, input: undefined, ...(required ? { params: { required } } : {}) });
    /** Whether a key was left unset (not refused: a refused value was reported as such). */
    const unset = (key: string) => valueAt(view, at(key)) === undefined && !refused.has(at(key).join("."));
    const { host, haproxy, acme } = view;

    if (requireSecrets) {
        for (const spec of CONFIG_KEYS.filter((each) => each.secret && each.required && unset(each.key))) {
            report([...spec.path], `is required: ${spec.description}`, true);
        }
    }

    const fleet = (view.fleet.hosts ?? []).length > 0;
    if (unset("hostAddress") && !fleet) {
        report(at("hostAddress"), `is required: ${configKey("hostAddress")!.description}`, true);
    }
    // Every script, and with them the secrets, goes to whatever answers at the address: only the pinned host may.
    // (A fleet's hosts each state their key: the schema requires it.)
    if (unset("sshHostKey") && host.trustOnFirstUse !== true && !fleet) {
        report(
            at("sshHostKey"),
            `is required, so that no other machine at the host's address receives the scripts and their secrets: ` +
                `run ssh-keyscan -p ${host.sshPort ?? 22} -t ed25519 ${host.address || "HOST"} from a network you trust (or read /etc/ssh/ssh_host_ed25519_key.pub on the host), ` +
                `then pulumi config set sshHostKey 'ssh-ed25519 AAAA...' with the key it prints; or set sshTrustOnFirstUse to true to pin the key the first connection sees`,
        );
    }
    if (host.sshHostKey !== undefined && host.trustOnFirstUse === true) {
        report(at("sshTrustOnFirstUse"), "has no effect: sshHostKey is set, and only that key is accepted");
    }
    const version = checkHaproxyVersion(haproxy.image, haproxy.version, unset("haproxyVersion"), report);
    if (haproxy.sessionTickets === true && version && !haproxyFeatures(version).rotatedTicketKeys) {
        report(
            at("tlsSessionTickets"),
            `needs HAProxy 2.2 or newer, whose runtime API rotates the keys (this is HAProxy ${version.major}.${version.minor}): without rotation a ticket key would undo forward secrecy`,
        );
    }
    checkOptionalGroup("metricsAddress", "has no effect: the metrics are off until metricsAddress is set", view, unset, report);
    checkMetrics(haproxy.metrics, unset("metricsUser"), requireSecrets, report);
    checkOptionalGroup("dnsProvider", "has no effect: DNS-01 is off until dnsProvider is set", view, unset, report);
    checkDns(acme.dns, acme.certbotImage, unset, requireSecrets, report);
    checkEab(acme.eab, unset, requireSecrets, report);
    checkSites(view.sites, acme.dns.provider !== undefined, refused, report);
    checkTcpServiceNames(view.tcpServices, report);
    checkFleet(view.fleet, view.host.sshPort, report);
    checkOptionalGroup("virtualAddresses", "has no effect: keepalived is off until virtualAddresses is set", view, unset, report);
    checkPortCollisions(view, report);
    checkDirectoriesApart(
        [
            ["configDir", haproxy.configDir],
            ["certsDir", haproxy.certsDir],
            ["certbotDataDir", acme.dataDir],
        ],
        report,
    );
}

type View = Settled<ConfigModel>;
type Report = (path: PropertyKey[], message: string, required?: boolean) => void;

/**
 * The HAProxy version: told by the image's tag or stated, never both differently, never older than supported.
 * Returns it when it is known.
 */
function checkHaproxyVersion(image: string | undefined, stated: string | undefined, statedUnset: boolean, report: Report): HaproxyVersion | undefined {
    const fromTag = image === undefined ? undefined : versionFromImage(image);
    let version = fromTag;
    if (stated !== undefined) {
        version = explicitVersion(stated);
        if (fromTag && compareVersions(fromTag, version) !== 0) {
            report(at("haproxyVersion"), `${quote(stated)} contradicts the tag of haproxyImage ${quote(image!)}`);
        }
    } else if (!fromTag && image !== undefined && statedUnset) {
        report(at("haproxyVersion"), `is required: the tag of haproxyImage ${quote(image)} does not tell the HAProxy version`);
    }
    if (version && compareVersions(version, OLDEST_HAPROXY) < 0) {
        report(
            at(stated !== undefined ? "haproxyVersion" : "haproxyImage"),
            `HAProxy ${version.major}.${version.minor} is older than the oldest supported, ${OLDEST_HAPROXY.major}.${OLDEST_HAPROXY.minor}`,
        );
    }
    return version;
}

/**
 * A group of keys that is off until its first key is set (the metrics, DNS-01): while it is off, any other
 * of its keys set to a value other than its default is a mistake. The Pulumi CLI passes Pulumi.yaml's
 * defaults (`""` for the unset ones) as set values, so only another value counts.
 */
function checkOptionalGroup(switchKey: string, problem: string, view: View, unset: (key: string) => boolean, report: Report): void {
    const switchSpec = configKey(switchKey)!;
    // On, or refused (and reported as such): either way, the other keys are not the mistake. (An empty
    // list, virtualAddresses' default, is off.)
    const switchValue = valueAt(view, switchSpec.path);
    if (!unset(switchKey) && !(Array.isArray(switchValue) && switchValue.length === 0)) {
        return;
    }
    const group = switchSpec.path.slice(0, -1).join(".");
    for (const spec of CONFIG_KEYS.filter((each) => each !== switchSpec && each.path.slice(0, -1).join(".").startsWith(group))) {
        const value = valueAt(view, spec.path);
        if (value !== undefined && value !== "" && value !== spec.default) {
            report([...spec.path], problem);
        }
    }
}

/**
 * The metrics endpoint: never on a public address unless metricsPublic says so; basic authentication with
 * both a user and a (secret) password, required wherever anything but the host itself reaches the address
 * (the stats page names every backend server and its state).
 */
function checkMetrics(metrics: View["haproxy"]["metrics"], userUnset: boolean, requireSecrets: boolean, report: Report): void {
    const { address } = metrics;
    if (address === undefined) {
        return;
    }
    const passwordSet = isSet(metrics.password);
    if (!isPrivateAddress(address) && metrics.public !== true) {
        report(
            at("metricsAddress"),
            `${quote(address)} is public: set metricsPublic to true to publish the metrics there (and set metricsUser and metricsPassword)`,
        );
    }
    if (metrics.user !== undefined && !passwordSet && requireSecrets) {
        report(at("metricsPassword"), "is required with metricsUser: pulumi config set --secret metricsPassword");
    }
    if (metrics.user === undefined && passwordSet) {
        report(at("metricsUser"), "is required with metricsPassword (the basic authentication's user name)");
    } else if (userUnset && !isLoopbackAddress(address)) {
        report(
            at("metricsUser"),
            `is required when metricsAddress ${quote(address)} is not a loopback address: set metricsUser and metricsPassword (basic authentication), or publish on 127.0.0.1`,
        );
    }
}

/** DNS-01's provider, when dnsProvider is set: its server, TSIG key (name, secret) and the certbot image that has its plugin. */
function checkDns(dns: View["acme"]["dns"], certbotImage: string | undefined, unset: (key: string) => boolean, requireSecrets: boolean, report: Report): void {
    const name = dns.provider;
    if (name === undefined) {
        return;
    }
    for (const key of ["rfc2136Server", "rfc2136KeyName"].filter(unset)) {
        report(at(key), `is required with dnsProvider ${name}: ${configKey(key)!.description}`);
    }
    if (!isSet(dns.rfc2136.secret) && requireSecrets) {
        report(at("rfc2136KeySecret"), `is required with dnsProvider ${name}: pulumi config set --secret rfc2136KeySecret`);
    }
    const provider = DNS_PROVIDERS[name];
    if (unset("dnsCertbotImage") && certbotImage !== undefined && providerImage(provider, certbotImage) === undefined) {
        report(
            at("dnsCertbotImage"),
            `is required: certbotImage ${quote(certbotImage)} is not certbot/certbot:<tag>, so the ${provider.plugin} image cannot be derived from it`,
        );
    }
}

/** External account binding: the key identifier and the HMAC key go together, one without the other binds nothing. */
function checkEab(eab: View["acme"]["eab"], unset: (key: string) => boolean, requireSecrets: boolean, report: Report): void {
    if (isSet(eab.hmacKey) && unset("acmeEabKid")) {
        report(at("acmeEabKid"), "is required with acmeEabHmacKey: the key identifier the CA gave with it");
    }
    if (eab.kid !== undefined && !isSet(eab.hmacKey) && requireSecrets) {
        report(at("acmeEabHmacKey"), `is required with acmeEabKid ${quote(eab.kid)}: pulumi config set --secret acmeEabHmacKey`);
    }
}

/** Whether a secret is set: a value stored in plain text is (wrongly, and reported as such); Pulumi.yaml's "" default is not. */
function isSet(secret: unknown): boolean {
    return secret !== undefined && secret !== "";
}

/** Records `value` as taken by `owner`; reports it and returns false when an earlier owner took it. */
function claim<T>(owners: Map<T, string>, path: PropertyKey[], owner: string, value: T, problem: (first: string) => string, report: Report): boolean {
    const first = owners.get(value);
    if (first) {
        report(path, problem(first));
        return false;
    }
    owners.set(value, owner);
    return true;
}

/**
 * The sites: dns-01 only with a DNS provider; hostnames (wildcards only on dns-01 sites, where the CA
 * validates them through DNS); no domain served twice; no name taken twice (a site unnamed is named after
 * its first domain).
 */
function checkSites(sites: View["sites"], dnsOn: boolean, refused: Set<string>, report: Report): void {
    const domainOwner = new Map<string, string>();
    const nameOwner = new Map<string, string>();
    (sites ?? []).forEach((site, i) => {
        if (site === undefined) {
            return;
        }
        if (site.challenge === "dns-01" && !dnsOn) {
            report(["sites", i, "challenge"], "dns-01 needs dnsProvider (and its keys) set");
        }
        const served: string[] = [];
        (site.domains ?? []).forEach((domain, j) => {
            if (domain === undefined) {
                return;
            }
            const name = domain.toLowerCase();
            const problem = hostnameProblem(name, { needsDot: true, wildcard: site.challenge === "dns-01" });
            if (problem) {
                report(["sites", i, "domains", j], `${quote(domain)} ${problem}`);
            } else if (
                claim(domainOwner, ["sites", i, "domains", j], `sites[${i}].domains[${j}]`, name, (first) => `"${name}" is already served by ${first}`, report)
            ) {
                served.push(name);
            }
        });
        const name = refused.has(`sites.${i}.name`) ? undefined : (site.name ?? (served.length > 0 ? defaultSiteName(served[0]) : undefined));
        if (name !== undefined) {
            claim(nameOwner, ["sites", i, "name"], `sites[${i}].name`, name, (first) => `"${name}" is already the name of ${first}`, report);
        }
    });
}

/**
 * A fleet: hosts of distinct names, SSH endpoints and shared-network addresses; an issuer among them;
 * virtual addresses only for a fleet, at least one of them IPv4 (VRRP version 2 announces IPv4 only: an
 * IPv6 address moves with it).
 */
function checkFleet(fleet: View["fleet"], defaultSshPort: number | undefined, report: Report): void {
    const hosts = fleet.hosts ?? [];
    if (hosts.length === 0) {
        if (fleet.issuer !== undefined) {
            report(at("issuerHost"), "has no effect: hosts is not set");
        }
        if ((fleet.vip.addresses ?? []).length > 0) {
            report(at("virtualAddresses"), "needs hosts: the virtual addresses move between the hosts of a fleet");
        }
        return;
    }
    const names = new Map<string, string>();
    const endpoints = new Map<string, string>();
    const privateAddresses = new Map<string, string>();
    hosts.forEach((host, i) => {
        if (host === undefined) {
            return;
        }
        const owner = `hosts[${i}]`;
        if (host.name !== undefined) {
            claim(names, ["fleet", "hosts", i, "name"], `${owner}.name`, host.name, (first) => `"${host.name}" is already the name of ${first}`, report);
        }
        if (host.address !== undefined) {
            const endpoint = `${host.address.toLowerCase()}:${host.sshPort ?? defaultSshPort}`;
            claim(endpoints, ["fleet", "hosts", i, "address"], owner, endpoint, (first) => `${endpoint} is already the SSH address of ${first}`, report);
        }
        if (host.privateAddress !== undefined) {
            claim(
                privateAddresses,
                ["fleet", "hosts", i, "privateAddress"],
                `${owner}.privateAddress`,
                host.privateAddress,
                (first) => `"${host.privateAddress}" is already the address of ${first}`,
                report,
            );
        }
    });
    if (fleet.issuer !== undefined && !names.has(fleet.issuer) && hosts.every((host) => host?.name !== undefined)) {
        report(at("issuerHost"), `${quote(fleet.issuer)} is none of the hosts' names (${[...names.keys()].join(", ")})`);
    }
    const addresses = (fleet.vip.addresses ?? []).filter((address): address is string => address !== undefined);
    if (addresses.length > 0) {
        const problem = virtualAddressesProblem(addresses);
        if (problem) {
            report(at("virtualAddresses"), problem);
        }
        if (hosts.length < 2) {
            report(at("virtualAddresses"), "needs two hosts or more: one host has no one to hand the addresses to");
        }
    }
}

/** No two TCP services of one name. */
function checkTcpServiceNames(services: View["tcpServices"], report: Report): void {
    const nameOwner = new Map<string, string>();
    (services ?? []).forEach((service, i) => {
        if (service?.name !== undefined) {
            claim(
                nameOwner,
                ["tcpServices", i, "name"],
                `tcpServices[${i}].name`,
                service.name,
                (first) => `"${service.name}" is already the name of ${first}`,
                report,
            );
        }
    });
}

/**
 * One listener per port. Every published host port, and the challenge port, must be distinct, and none may
 * be the port of the host's own sshd: they are published on the very host that `pulumi up` reaches over
 * SSH on sshPort, so the container would not start, or would take over the host's SSH. The metrics
 * listener and the TCP services listen inside the container on their own port, where 80 and 443 are the
 * HTTP(S) frontends: there two `bind`s on one port would share its connections.
 */
function checkPortCollisions(view: View, report: Report): void {
    const owner = new Map<number, string>();
    if (view.host.sshPort !== undefined) {
        owner.set(view.host.sshPort, "sshPort (the host's own sshd: move it to another port and set sshPort to it)");
    }
    const published = (path: PropertyKey[], name: string, port: number | undefined, inContainer: boolean) => {
        if (port === undefined) {
            return;
        }
        if (inContainer && (port === 80 || port === 443)) {
            report(path, `port ${port} is the container's own HTTP(S) port`);
        }
        claim(owner, path, name, port, (first) => `port ${port} is already used by ${first}`, report);
    };
    published(at("httpPort"), "httpPort", view.haproxy.httpPort, false);
    published(at("httpsPort"), "httpsPort", view.haproxy.httpsPort, false);
    published(at("acmeChallengePort"), "acmeChallengePort", view.acme.challengePort, false);
    if (view.haproxy.metrics.address !== undefined) {
        published(at("metricsPort"), "metricsPort", view.haproxy.metrics.port, true);
    }
    (view.tcpServices ?? []).forEach((service, i) => {
        published(["tcpServices", i, "port"], `tcpServices[${i}].port`, service?.port, true);
    });
    // A fleet's host with an SSH port of its own: the container published on that port would not start there.
    (view.fleet.hosts ?? []).forEach((host, i) => {
        const taken = host?.sshPort === undefined || host.sshPort === view.host.sshPort ? undefined : owner.get(host.sshPort);
        if (taken) {
            report(["fleet", "hosts", i, "sshPort"], `port ${host!.sshPort} is already used by ${taken}`);
        }
    });
}

/**
 * The host directories must not overlap: each has its own owner and mode (certbot's private keys in a 0700
 * directory), and the container mounts two of them read-only, so one inside another would expose or hide files.
 */
function checkDirectoriesApart(directories: [string, string | undefined][], report: Report): void {
    directories.forEach(([key, dir], i) => {
        for (const [earlierKey, earlier] of directories.slice(0, i)) {
            const relation =
                !dir || !earlier
                    ? undefined
                    : dir === earlier
                      ? "is also"
                      : dir.startsWith(`${earlier}/`)
                        ? "is inside"
                        : earlier.startsWith(`${dir}/`)
                          ? "contains"
                          : undefined;
            if (relation) {
                report(at(key), `${quote(dir!)} ${relation} ${earlierKey} ${quote(earlier!)} (configDir, certsDir and certbotDataDir must not overlap)`);
            }
        }
    });
}
