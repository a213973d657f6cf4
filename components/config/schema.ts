/**
 * The configuration's one schema (zod): the model the renderer and the components consume, nested as they
 * read it (host; haproxy with its timeouts and metrics; acme with its DNS provider; sites; tcpServices),
 * each leaf with the stack key that sets it (`edge-proxy:<key>`, flat as stack files have always been),
 * its description and its default. The validated types, the table of stack keys (and with it the
 * parsing of stack files, Pulumi.yaml's `config:` block and docs/configuration.md), and every message
 * about a single value derive from it; rules.ts adds the checks that span several values.
 */
import { isIPv4, isIPv6 } from "node:net";
import { z } from "zod";
import { DNS_PROVIDERS, providerImage, TSIG_ALGORITHMS } from "../dns/providers";
import { addressWithPrefixProblem, interfaceNameProblem } from "../keepalived/render";
import {
    ACME_DIRECTORIES,
    ALERT_LIFETIME_FRACTION,
    absolutePathProblem,
    acmeProfileProblem,
    cronProblem,
    defaultRenewSchedule,
    describe,
    durationProblem,
    eabKidProblem,
    emailProblem,
    fractionProblem,
    type HaproxyVersion,
    healthCheckPathProblem,
    hostKeyProblem,
    hostnameProblem,
    imageProblem,
    MAX_STRING_LENGTH,
    metricsFileProblem,
    nameProblem,
    normalizeHostPath,
    OLDEST_HAPROXY,
    OversizedValue,
    parseFraction,
    parseServerAddress,
    quote,
    resolverProblem,
    SECRET_PRESENT,
    type ServerAddress,
    versionFromImage,
} from "./checks";

declare module "zod" {
    interface GlobalMeta {
        /** The leaf's key in a stack file (`edge-proxy:<stackKey>`) and in EdgeProxy's settings. */
        stackKey?: string;
        /** Whether a stack must hold the value as a Pulumi secret (`pulumi config set --secret`). */
        secret?: boolean;
        /**
         * Whether a stack must set the key, where the model cannot say so: a secret is optional in the model,
         * as the render tool and EdgeProxy validate without secrets; the rules require it elsewhere.
         */
        required?: boolean;
        /**
         * Whether a Pulumi program may pass the value as another resource's output (`pulumi.Input`): the
         * host's address and key (a VM's outputs), the secrets, a site's domains and backends. Every other
         * value shapes the resource graph and must be known when the program declares its resources.
         */
        input?: boolean;
        /** The name of an object's arguments interface in args.ts, where the one its key gives is taken (`hosts`' entries). */
        argsName?: string;
    }
}

/** The Pulumi config namespace of every key (the project name). */
export const CONFIG_NAMESPACE = "edge-proxy";

/**
 * A leaf schema with its stack key in its type too, so that the flat settings type derives from the model.
 * The property exists in the type only (a brand): at run time the key is in the leaf's metadata.
 */
type Keyed<K extends string, S extends z.ZodType> = S & { readonly "~stackKey": K };

/** A leaf of the model, set by the stack key `stackKey`. */
function leaf<const K extends string, S extends z.ZodType>(stackKey: K, description: string, schema: S, input = false): Keyed<K, S> {
    return schema.meta({ stackKey, description, ...(input ? { input } : {}) }) as Keyed<K, S>;
}

/**
 * A secret's leaf: present only as a secret (SECRET_PRESENT), never its text, which the validator neither
 * reads nor echoes; any other value is reported as a secret stored in plain text.
 */
function secretLeaf<const K extends string>(stackKey: K, description: string, required = false) {
    // Not aborting (z.custom's default): the rules still run, and see the secret as set, if wrongly.
    const schema = z.custom<typeof SECRET_PRESENT>((value) => value === SECRET_PRESENT, { abort: false }).optional();
    return schema.meta({ stackKey, description, secret: true, input: true, ...(required ? { required } : {}) }) as Keyed<K, typeof schema>;
}

/** What is wrong with a value, as a phrase after the quoted value, or undefined. */
type Problem = (value: string) => string | undefined;

/**
 * What a value of the wrong type is called: a secret is named as such (edge-proxy writes the values of
 * keys that are no secrets into host scripts and command lines, whose secrecy the state would not keep),
 * a value longer than any key takes by its length only, anything else by its type and (capped) text.
 */
function typeProblem(what: string, input: unknown): string {
    if (input === SECRET_PRESENT) {
        return "is a secret, but edge-proxy writes this value into host scripts and command lines that the stack's state shows in plain text: set it without --secret";
    }
    const oversized = typeof input === "string" && input.length > MAX_STRING_LENGTH ? new OversizedValue(input.length, MAX_STRING_LENGTH) : input;
    if (oversized instanceof OversizedValue) {
        return `is too long: ${oversized.length} characters, at most ${oversized.limit}`;
    }
    return `must be ${what}, got ${describe(input)}`;
}

/** The error option of a schema whose own problem is the value's type. */
const typed = (what: string) => ({ error: (issue: z.core.$ZodRawIssue) => (issue.code === "invalid_type" ? typeProblem(what, issue.input) : undefined) });

/** A string: its length bounded before any pattern runs (a 50 MB value costs no more than its length), then `problem`. */
function text(problem?: Problem) {
    return z.string(typed("a string")).superRefine((value, ctx) => {
        const tooLong = value.length > MAX_STRING_LENGTH;
        const found = tooLong ? undefined : problem?.(value);
        if (tooLong || found) {
            ctx.addIssue({ code: "custom", message: tooLong ? typeProblem("a string", value) : `${quote(value)} ${found}`, input: value });
        }
    });
}

/** A string read as `read` once it passed `problem`. */
function textAs<T>(problem: Problem, read: (value: string) => T) {
    return text(problem).transform(read);
}

/** A string where "" means "not set" (the Pulumi CLI hands Pulumi.yaml's "" default to the program as a value). */
function optionalText<T = string>(problem?: Problem, read?: (value: string) => T) {
    return text((value) => (value === "" ? undefined : problem?.(value)))
        .transform((value) => (value === "" ? undefined : read ? read(value) : value))
        .optional();
}

/** One of `values`, else `problem` (after the quoted value). */
function oneOf<const V extends string>(values: readonly [V, ...V[]], problem: string) {
    return z.enum(values, {
        error: (issue) =>
            issue.code === "invalid_value" && typeof issue.input === "string" && issue.input.length <= MAX_STRING_LENGTH
                ? `${quote(issue.input)} ${problem}`
                : typeProblem("a string", issue.input),
    });
}

/** A whole number from `min` to `max`; `what` names it in the problem. */
function integer(min: number, max: number, what = "a whole number") {
    const problem = (issue: { input?: unknown }) => typeProblem(`${what} from ${min} to ${max}`, issue.input);
    return z.number({ error: problem }).refine((value) => Number.isInteger(value) && value >= min && value <= max, { error: problem });
}

const port = () => integer(1, 65535, "a port number");

const flag = () => z.boolean(typed("true or false"));

/** A list, of at least one item when `nonEmpty`. */
function list<S extends z.ZodType>(item: S, nonEmpty: boolean) {
    const items = z.array(item, typed("a list"));
    return nonEmpty ? items.min(1, { error: "must not be empty" }) : items;
}

/** An object of exactly the keys of `shape` (an unknown key is reported with the closest known one). */
function record<S extends z.core.$ZodLooseShape>(shape: S) {
    return z.strictObject(shape, typed("an object"));
}

/** `host:port`, read into its parts. */
const serverAddress = () =>
    textAs(
        (value) => {
            const parsed = parseServerAddress(value);
            return typeof parsed === "string" ? parsed : undefined;
        },
        (value) => parseServerAddress(value) as ServerAddress,
    );

const IPV4_OR_IPV6 = (value: string) => (isIPv4(value) || isIPv6(value) ? undefined : "is not an IPv4 or IPv6 address");

/** One HTTPS site; the entries of `sites` take these keys. */
const siteSchema = record({
    name: text(nameProblem)
        .optional()
        .describe("Identifier of the site: backend, certificate and PEM file name (default: the first domain, a wildcard's `*.` written `wildcard.`)."),
    domains: list(text(), true).meta({
        input: true,
        description: "Hostnames served by the site; one certificate covers them all. Wildcards (`*.example.com`) only with challenge dns-01.",
    }),
    challenge: oneOf(["http-01", "dns-01"], "is neither http-01 nor dns-01")
        .default("http-01")
        .describe("How the CA validates the names: `http-01` (default, through HAProxy's port 80) or `dns-01` (TXT records through dnsProvider)."),
    backends: list(serverAddress(), true).meta({ input: true, description: "Backend servers as `host:port` (IPv4, [IPv6] or DNS name)." }),
    healthCheck: record({
        path: text(healthCheckPathProblem).describe("Absolute path requested with GET; a 2xx or 3xx answer means healthy."),
        interval: text(durationProblem).default("2s").describe("Time between checks (HAProxy time, e.g. 5s); default 2s."),
    })
        .optional()
        .describe(
            "Optional `{ path, interval }`: an HTTP health check (GET path) of every backend; without it a site of several backends gets a TCP connect check, a site of one none (it gets every request anyway).",
        ),
    acmeProfile: optionalText(acmeProfileProblem).describe("ACME profile of this site's certificate, in place of acmeProfile's (e.g. `shortlived`)."),
    hsts: flag().default(true).describe("Send Strict-Transport-Security (max-age two years); default true."),
    securityHeaders: flag().default(true).describe("Send X-Content-Type-Options: nosniff and X-Frame-Options: SAMEORIGIN; default true."),
}).describe("One HTTPS site: a set of domains served by one certificate and one backend.");

/** One TCP service; the entries of `tcpServices` take these keys. */
const tcpServiceSchema = record({
    name: text(nameProblem).describe("Identifier of the service (frontend and backend names)."),
    port: port().describe("Host port published for it; the container listens on the same port."),
    backends: list(serverAddress(), true).describe("Backend servers as `host:port`."),
}).describe("One TCP service passed through as-is (SSH and the like).");

const hostAddressProblem = (v: string) => (isIPv4(v) || !hostnameProblem(v.toLowerCase()) ? undefined : "is not an IPv4 address or hostname");
const unixUserProblem = (v: string) => (/^[a-z_][a-z0-9_-]{0,31}$/.test(v) ? undefined : "is not a Unix user name");

/** One proxy host of a fleet; the entries of `hosts` take these keys. */
const fleetHostSchema = record({
    name: text(nameProblem).describe("The host's name in the fleet: its resources, outputs and status are named after it."),
    address: text(hostAddressProblem).describe("Address (DNS name or IP) of the host, as reached over SSH."),
    sshPort: port().optional().describe("SSH port of the host; default sshPort."),
    sshUser: text(unixUserProblem).optional().describe("SSH user on the host; default sshUser."),
    sshHostKey: textAs(hostKeyProblem, (v) => v.trim()).describe(
        "The host's public SSH key line (`ssh-ed25519 AAAA...`): required, for the connections from Pulumi and from the issuer alike.",
    ),
    privateAddress: text((v) => (isIPv4(v) ? undefined : "is not an IPv4 address")).describe(
        "The host's IPv4 address on the network the hosts share: the others reach its certbot, its sshd and its VRRP there.",
    ),
    priority: integer(1, 254)
        .optional()
        .describe("VRRP priority with virtualAddresses (the highest healthy host holds them); default 150 for the first host, 10 less for each next."),
}).meta({ description: "One proxy host of a fleet.", argsName: "FleetHostArgs" });

/**
 * The model as stacks set it, before the values derived from several keys are filled in (deriveConfig).
 * The order of the leaves is the order of the reference, and of the problems (validate.ts).
 */
export const configModel = record({
    host: record({
        address: leaf(
            "hostAddress",
            "Address (DNS name or IP) of the Debian Docker host, as reached over SSH. Required unless `hosts` lists the hosts.",
            optionalText(hostAddressProblem),
            true,
        ),
        sshPort: leaf("sshPort", "SSH port of the Docker host (move the host's sshd off 22 when a TCP service publishes 22).", port().default(22)),
        sshUser: leaf(
            "sshUser",
            "SSH user on the Docker host; the host scripts need root (certbot's keys and the served PEM files are root's).",
            text(unixUserProblem).default("root"),
        ),
        sshPrivateKey: secretLeaf("sshPrivateKey", "SSH private key (PEM/OpenSSH text) for sshUser; set it with `pulumi config set --secret`.", true),
        sshHostKey: leaf(
            "sshHostKey",
            "The host's public SSH key line (`ssh-ed25519 AAAA...`, as ssh-keyscan prints it after the host); connections to any other key are refused. Required unless sshTrustOnFirstUse is true.",
            optionalText(hostKeyProblem, (v) => v.trim()),
            true,
        ),
        trustOnFirstUse: leaf(
            "sshTrustOnFirstUse",
            "Without sshHostKey, pin the host key the first connection sees (in ~/.edge-proxy on the machine running Pulumi) and refuse any other afterwards; a warning prints the key to set as sshHostKey.",
            flag().default(false),
        ),
        dockerHost: leaf(
            "dockerHost",
            "Docker endpoint for the docker provider; defaults to ssh://sshUser@hostAddress:sshPort, logging in with sshPrivateKey as the steps do.",
            optionalText((v) => (/^(ssh|tcp|unix):\/\/[A-Za-z0-9._@:/[\]-]+$/.test(v) ? undefined : "is not an ssh://, tcp:// or unix:// endpoint")),
        ),
        detectDrift: leaf(
            "detectDrift",
            "Read the host over SSH in every preview and up, so that a file edited or removed there, or a container stopped or removed, shows as a change that up repairs; false skips the read (drift then goes unseen).",
            flag().default(true),
        ),
    }).describe("The Debian Docker host and how to reach it."),
    haproxy: record({
        image: leaf(
            "haproxyImage",
            "HAProxy image with a pinned tag; its tag tells the HAProxy version unless haproxyVersion is set.",
            text(imageProblem).default("haproxy:1.7"),
        ),
        version: leaf(
            "haproxyVersion",
            "HAProxy version (major.minor) of haproxyImage, required when its tag does not tell it (e.g. lts, a digest).",
            optionalText((v) => (/^\d+\.\d+(\.\d+)?$/.test(v) ? undefined : "is not a version such as 1.7 or 2.8")),
        ),
        containerName: leaf(
            "containerName",
            "Name of the HAProxy container on the host.",
            text((v) => (/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(v) ? undefined : "is not a Docker container name")).default("edge-proxy"),
        ),
        httpPort: leaf("httpPort", "Host port published to HAProxy's HTTP frontend (ACME challenges and the redirect to HTTPS).", port().default(80)),
        httpsPort: leaf("httpsPort", "Host port published to HAProxy's HTTPS frontend.", port().default(443)),
        configDir: leaf(
            "configDir",
            "Host directory holding haproxy.cfg and its map files, mounted read-only at /usr/local/etc/haproxy.",
            textAs(absolutePathProblem, normalizeHostPath).default("/srv/haproxy/cfg"),
        ),
        certsDir: leaf(
            "certsDir",
            "Host directory holding the PEM files HAProxy serves, mounted read-only at /certs.",
            textAs(absolutePathProblem, normalizeHostPath).default("/srv/haproxy/certs"),
        ),
        maxconn: leaf("maxconn", "HAProxy's global maxconn.", integer(1, 1_000_000).default(4000)),
        sessionTickets: leaf(
            "tlsSessionTickets",
            "TLS session tickets from HAProxy 2.2 (TLS 1.3 clients resume only with them): keys on the host's /run (a tmpfs), rotated every 12 hours through the runtime API, sent by a fleet's issuer to its other hosts. Turning it on or off replaces the HAProxy container once (it mounts the keys). false renders `no-tls-tickets`, as HAProxy 1.7 to 2.1 always do.",
            flag().default(false),
        ),
        timeouts: record({
            connect: leaf(
                "timeoutConnect",
                "HAProxy `timeout connect`: how long to wait for a backend to accept a connection.",
                text(durationProblem).default("5s"),
            ),
            client: leaf("timeoutClient", "HAProxy `timeout client`: client inactivity timeout.", text(durationProblem).default("30s")),
            server: leaf("timeoutServer", "HAProxy `timeout server`: backend inactivity timeout.", text(durationProblem).default("30s")),
            httpRequest: leaf(
                "timeoutHttpRequest",
                "HAProxy `timeout http-request`: time allowed to send a whole request (slowloris guard).",
                text(durationProblem).default("10s"),
            ),
            httpKeepAlive: leaf(
                "timeoutHttpKeepAlive",
                "HAProxy `timeout http-keep-alive`: idle time between two requests on one connection.",
                text(durationProblem).default("10s"),
            ),
            tunnel: leaf(
                "timeoutTunnel",
                "HAProxy `timeout tunnel` and the TCP services' idle timeout (WebSockets, SSH sessions).",
                text(durationProblem).default("1h"),
            ),
        }).describe("HAProxy's timeouts, each an HAProxy time (`500ms`, `30s`, `5m`, `1h`): above zero, within HAProxy's 24-day limit."),
        // Off unless metricsAddress is set. The address, then who may read them, then where: the order
        // their problems are listed in (the authentication's matter most).
        metrics: record({
            address: leaf(
                "metricsAddress",
                "Host address the metrics port (stats page, and /metrics from 2.0) is published on; unset: no metrics. Loopback or private unless metricsPublic.",
                optionalText(IPV4_OR_IPV6),
            ),
            user: leaf(
                "metricsUser",
                "User name of the metrics' basic authentication; unset: no authentication (needs metricsPassword).",
                optionalText((v) => (/^[A-Za-z0-9._-]{1,64}$/.test(v) ? undefined : "is not a user name of letters, digits, '.', '_' and '-'")),
            ),
            password: secretLeaf(
                "metricsPassword",
                "Password of metricsUser; set it with `pulumi config set --secret`. haproxy.cfg holds only its SHA-512 crypt hash.",
            ),
            public: leaf("metricsPublic", "Allow a public (not loopback, not private) metricsAddress, such as 0.0.0.0.", flag().default(false)),
            port: leaf("metricsPort", "Host port of the metrics (the container listens on the same port).", port().default(8404)),
        }).describe("HAProxy's own metrics: the stats page (every version) and the Prometheus exporter (2.0+). Off unless metricsAddress is set."),
    }).describe("The HAProxy container and its configuration."),
    acme: record({
        email: leaf("acmeEmail", "Email address for the ACME account (expiry notices).", text(emailProblem)),
        server: leaf(
            "acmeServer",
            "ACME directory: `staging`, `production` (Let's Encrypt), or the https URL of another ACME server.",
            text((v) =>
                ACME_DIRECTORIES[v] || /^https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/.test(v)
                    ? undefined
                    : "is neither staging, production nor an https:// directory URL",
            ).default("staging"),
        ),
        caBundle: leaf(
            "acmeCaBundle",
            "Path on the host of a PEM CA bundle that certbot trusts for a private ACME server (REQUESTS_CA_BUNDLE).",
            optionalText(absolutePathProblem, normalizeHostPath),
        ),
        certbotImage: leaf(
            "certbotImage",
            "certbot image with a pinned tag; it runs certbot as its entrypoint.",
            text(imageProblem).default("certbot/certbot:v5.8.0"),
        ),
        challengePort: leaf("acmeChallengePort", "Port certbot's standalone HTTP-01 server listens on behind HAProxy's ACME ACL.", port().default(8888)),
        challengeAddress: leaf(
            "acmeChallengeAddress",
            "Host address the HAProxy container reaches certbot on (the docker0 bridge address); certbot's port is published there only.",
            text((v) => (isIPv4(v) ? undefined : "is not an IPv4 address")).default("172.17.0.1"),
        ),
        dataDir: leaf(
            "certbotDataDir",
            "Host directory for certbot's accounts, lineages and logs (kept on destroy).",
            textAs(absolutePathProblem, normalizeHostPath).default("/srv/letsencrypt"),
        ),
        preflight: leaf(
            "acmePreflight",
            "Before certbot places an order, check that each name reaches this host's ACME path (a token fetched by name from the host); a name that does not fails its site without asking the CA.",
            flag().default(true),
        ),
        preflightResolver: leaf(
            "acmePreflightResolver",
            "DNS server (IPv4 address, optionally :port) the pre-flight resolves names with; unset: the host's resolver.",
            optionalText(resolverProblem),
        ),
        validationPort: leaf(
            "acmeValidationPort",
            "Port the CA fetches HTTP-01 tokens on, where the pre-flight fetches too: 80 for every public CA (another only for a test CA).",
            port().default(80),
        ),
        keyType: leaf(
            "acmeKeyType",
            "Certificate key type: `ecdsa` (P-256, cheaper handshakes) or `rsa` (2048).",
            oneOf(["ecdsa", "rsa"], "is neither ecdsa nor rsa").default("ecdsa"),
        ),
        profile: leaf(
            "acmeProfile",
            "ACME profile the certificates are ordered with (`classic`, `tlsserver`, `shortlived` at Let's Encrypt, or what another CA offers); a profile the CA does not offer fails the site, naming those it does; unset: the CA's default.",
            optionalText(acmeProfileProblem),
        ),
        eab: record({
            kid: leaf(
                "acmeEabKid",
                "Key identifier of the CA's external account binding (ZeroSSL, Google Trust Services, ...); unset: none.",
                optionalText(eabKidProblem),
            ),
            hmacKey: secretLeaf(
                "acmeEabHmacKey",
                "The external account binding's HMAC key (base64url), with acmeEabKid; set it with `pulumi config set --secret`. It reaches only a root-only file on the host, read when certbot creates the account.",
            ),
        }).describe("External account binding: the CA account that certbot's ACME account is bound to, for CAs that require one."),
        renewSchedule: leaf(
            "renewSchedule",
            "cron schedule (five fields) of the renewal job; unset: every three hours at a minute and hours derived from hostAddress and containerName.",
            optionalText(cronProblem),
        ),
        alertLifetimeFraction: leaf(
            "alertLifetimeFraction",
            "Part of a served certificate's lifetime that may be left before it needs attention (the status says so and alertCommand runs); certbot renews with a third left, or when the CA's renewal information says.",
            // prefault: the default is the text a stack would write ("1/6"), read like any value.
            textAs(fractionProblem, parseFraction).prefault(ALERT_LIFETIME_FRACTION),
        ),
        alertDaysBeforeExpiry: leaf(
            "alertDaysBeforeExpiry",
            "Days before a served certificate expires from which it needs attention too, whatever its lifetime; 0: alertLifetimeFraction alone.",
            integer(0, 3650, "a number of days").default(0),
        ),
        alertCommand: secretLeaf(
            "alertCommand",
            "Shell command the renewal job runs on the host, the status JSON on stdin, when a renewal failed or a certificate needs attention (e.g. a curl to a webhook); set it with `pulumi config set --secret`.",
        ),
        metricsFile: leaf(
            "certificateMetricsFile",
            "Host path of a Prometheus text file (node_exporter's textfile collector) with each certificate's expiry and renewal results; unset: none.",
            optionalText(metricsFileProblem, normalizeHostPath),
        ),
        // DNS-01 (sites with challenge dns-01): off unless dnsProvider is set.
        dns: record({
            provider: leaf(
                "dnsProvider",
                "certbot DNS plugin of the sites whose challenge is dns-01: `rfc2136` (dynamic updates signed with a TSIG key: BIND, Knot, PowerDNS, ...); unset: no DNS-01.",
                optionalText((v) => (DNS_PROVIDERS[v] ? undefined : `is not a DNS provider edge-proxy knows (${Object.keys(DNS_PROVIDERS).join(", ")})`)),
            ),
            image: leaf(
                "dnsCertbotImage",
                "certbot image with the DNS plugin, pinned; unset: the plugin's official image at certbotImage's tag (certbot/dns-rfc2136:v5.8.0).",
                optionalText(imageProblem),
            ),
            propagationSeconds: leaf(
                "dnsPropagationSeconds",
                "Seconds certbot waits after writing a TXT record before the CA checks it (time for the zone's secondaries).",
                integer(0, 3600, "a number of seconds").default(60),
            ),
            rfc2136: record({
                server: leaf(
                    "rfc2136Server",
                    "Address (IPv4 or IPv6) of the DNS server that takes the updates, as the certbot container on the host reaches it.",
                    optionalText(IPV4_OR_IPV6),
                ),
                port: leaf("rfc2136Port", "Port of rfc2136Server.", port().default(53)),
                keyName: leaf(
                    "rfc2136KeyName",
                    "Name of the TSIG key the updates are signed with (e.g. `edge-proxy.`).",
                    optionalText((v) =>
                        /^[A-Za-z0-9]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*\.?$/.test(v)
                            ? undefined
                            : "is not a TSIG key name (a domain-style name such as edge-proxy.)",
                    ),
                ),
                algorithm: leaf(
                    "rfc2136KeyAlgorithm",
                    "Algorithm of the TSIG key: HMAC-SHA512, HMAC-SHA384, HMAC-SHA256, HMAC-SHA224, HMAC-SHA1 or HMAC-MD5.",
                    textAs(
                        (v) => (TSIG_ALGORITHMS.includes(v.toUpperCase()) ? undefined : `is not one of ${TSIG_ALGORITHMS.join(", ")}`),
                        (v) => v.toUpperCase(),
                    ).default("HMAC-SHA512"),
                ),
                secret: secretLeaf(
                    "rfc2136KeySecret",
                    "The TSIG key's secret (base64); set it with `pulumi config set --secret`. It reaches only a root-only credentials file on the host.",
                ),
            }).describe("The RFC 2136 provider: dynamic updates signed with a TSIG key."),
        }).describe("DNS-01 through a certbot DNS plugin, for the sites whose challenge is dns-01. Off unless dnsProvider is set."),
    }).describe("The ACME account and server (Let's Encrypt's by default), and the certbot container."),
    sites: leaf("sites", "The HTTPS sites: each with domains (one certificate), backends, health check and HSTS.", list(siteSchema, true)),
    tcpServices: leaf(
        "tcpServices",
        "TCP services passed through as-is (SSH, ...): each with a name, a published port and backends.",
        list(tcpServiceSchema, false).default([]),
    ),
    // A fleet: several hosts serving the same sites. Off unless hosts is set.
    fleet: record({
        hosts: leaf(
            "hosts",
            "The proxy hosts, when there are several: each with name, address, sshPort, sshUser, sshHostKey and privateAddress; every other key applies to every host. Unset: the one host of hostAddress.",
            list(fleetHostSchema, false).default([]),
        ),
        issuer: leaf(
            "issuerHost",
            "Name of the host (of hosts) that runs certbot and the renewal job and sends the certificates to the others; default the first.",
            optionalText(nameProblem),
        ),
        vip: record({
            addresses: leaf(
                "virtualAddresses",
                "Virtual addresses (`10.0.0.100/24`; at least one IPv4, IPv6 optional) that keepalived moves to a healthy host of hosts; unset: no keepalived.",
                list(text(addressWithPrefixProblem), false).default([]),
            ),
            interface: leaf(
                "vrrpInterface",
                "The hosts' network interface on the shared network, which carries the virtual addresses.",
                text(interfaceNameProblem).default("eth0"),
            ),
            routerId: leaf("vrrpRouterId", "VRRP virtual router id, the same on every host and unique on the shared network.", integer(1, 255).default(51)),
            password: secretLeaf(
                "vrrpPassword",
                "VRRP authentication password (1 to 8 characters), so that no other router on the network takes the address; set it with `pulumi config set --secret`.",
            ),
            preempt: leaf(
                "vrrpPreempt",
                "Whether the virtual addresses return to the host of the highest priority once it serves again (false: they stay where they are, sparing a second move).",
                flag().default(false),
            ),
            image: leaf(
                "keepalivedImage",
                "keepalived image with a pinned tag (Debian's keepalived package, with bash for the health check: docs/fleet.md).",
                text(imageProblem).default("edge-proxy/keepalived:2.2.7"),
            ),
        }).describe("keepalived's virtual addresses across the hosts. Off unless virtualAddresses is set."),
    }).describe("Several proxy hosts serving the same sites: one issues the certificates, every one serves them."),
});

/** The model as parsed: every leaf checked and defaulted, before the derived values are filled in. */
export type ConfigModel = z.output<typeof configModel>;

/** The HAProxy version haproxyVersion states, or undefined. */
export function explicitVersion(text: string): HaproxyVersion {
    const [major, minor] = text.split(".").map(Number);
    return { major, minor };
}

/** A site's name unless it names itself: its first domain, a wildcard's `*` (no part of a file or certificate name) written `wildcard`. */
export function defaultSiteName(firstDomain: string): string {
    return firstDomain.toLowerCase().replace(/^\*\./, "wildcard.");
}

/** The HAProxy settings, with the version and the metrics derived (valid model: rules.ts held every requirement). */
function deriveHaproxy({ version, timeouts, metrics, ...haproxy }: ConfigModel["haproxy"]) {
    return {
        ...haproxy,
        version: version !== undefined ? explicitVersion(version) : (versionFromImage(haproxy.image) ?? OLDEST_HAPROXY),
        timeouts,
        metrics: metrics.address === undefined ? undefined : { address: metrics.address, port: metrics.port, user: metrics.user },
    };
}

/** The ACME settings but the renewal schedule (which derives from the host): the server as its URL, the DNS provider when set. */
function deriveAcme({ server, renewSchedule, alertCommand, dns, eab, ...acme }: ConfigModel["acme"]) {
    const url = ACME_DIRECTORIES[server] ?? server;
    return {
        ...acme,
        // The key identifier only: the HMAC key stays a Pulumi secret, outside this configuration.
        eab: eab.kid === undefined ? undefined : { kid: eab.kid },
        server: url,
        // The directory itself, however it was spelled (the alias or its URL).
        staging: url === ACME_DIRECTORIES.staging,
        dns:
            dns.provider === undefined
                ? undefined
                : {
                      provider: dns.provider,
                      image: dns.image ?? providerImage(DNS_PROVIDERS[dns.provider], acme.certbotImage) ?? "",
                      propagationSeconds: dns.propagationSeconds,
                      rfc2136: {
                          server: dns.rfc2136.server ?? "",
                          port: dns.rfc2136.port,
                          keyName: dns.rfc2136.keyName ?? "",
                          algorithm: dns.rfc2136.algorithm,
                      },
                  },
    };
}

/**
 * The whole configuration from a valid model: the values that derive from several keys filled in, the
 * secrets left out (they stay Pulumi secrets, outside this configuration).
 */
export function deriveConfig(model: ConfigModel) {
    const { sshPrivateKey, dockerHost, ...settings } = model.host;
    const fleet = deriveFleet(model.fleet, settings);
    // A fleet's stack names no host of its own: its configuration stands for the first host (EdgeProxyFleet
    // gives each host's proxy its own). rules.ts requires one of the two.
    const host = { ...settings, address: settings.address ?? fleet?.hosts[0].address ?? "" };
    const haproxy = deriveHaproxy(model.haproxy);
    return {
        host: { ...host, dockerHost: dockerHost ?? sshDockerEndpoint(host) },
        haproxy,
        acme: {
            ...withChallengeAddress(deriveAcme(model.acme), fleet),
            // A fleet's job runs on the issuer: every host's configuration derives the same schedule, from the issuer.
            renewSchedule: model.acme.renewSchedule ?? defaultRenewSchedule(fleet ? issuerOf(fleet).address : host.address, haproxy.containerName),
        },
        sites: model.sites.map(({ name, domains, healthCheck, ...site }) => {
            const names = domains.map((domain) => domain.toLowerCase());
            // healthCheck stays a key when unset: the site has no HTTP check, and says so.
            return { ...site, name: name ?? defaultSiteName(names[0]), domains: names, healthCheck };
        }),
        tcpServices: model.tcpServices,
        fleet,
    };
}

/** The issuer of a fleet (of a validated one: the rules hold that it is one of the hosts). */
export function issuerOf<H extends { name: string }>(fleet: { hosts: H[]; issuer: string }): H {
    return fleet.hosts.find((host) => host.name === fleet.issuer)!;
}

/** The docker endpoint over the steps' own SSH login: dockerHost's default. */
export function sshDockerEndpoint(host: { sshUser: string; address: string; sshPort: number }): string {
    return `ssh://${host.sshUser}@${host.address}:${host.sshPort}`;
}

/** VRRP priority of the i-th host unless it states one: 150, then 10 less for each next host. */
function defaultPriority(index: number): number {
    return Math.max(1, 150 - 10 * index);
}

/** The fleet when `hosts` is set: each host with the stack's SSH port and user where it states none, the issuer named, keepalived's settings when virtualAddresses is set. */
function deriveFleet(fleet: ConfigModel["fleet"], host: Pick<ConfigModel["host"], "sshPort" | "sshUser">) {
    if (fleet.hosts.length === 0) {
        return undefined;
    }
    const { password, addresses, ...vip } = fleet.vip;
    return {
        hosts: fleet.hosts.map((entry, i) => ({
            ...entry,
            sshPort: entry.sshPort ?? host.sshPort,
            sshUser: entry.sshUser ?? host.sshUser,
            priority: entry.priority ?? defaultPriority(i),
        })),
        issuer: fleet.issuer ?? fleet.hosts[0].name,
        vip: addresses.length === 0 ? undefined : { ...vip, addresses },
    };
}

/**
 * What EdgeProxy must know when it declares its resources, from the parts of a valid model that no Output
 * can change (components/config/settings.ts): the renewal schedule, which derives from the host, is not here.
 */
export function deriveDeclared(model: Pick<ConfigModel, "host" | "haproxy" | "acme" | "tcpServices" | "fleet">) {
    const fleet = deriveFleet(model.fleet, model.host);
    return { haproxy: deriveHaproxy(model.haproxy), acme: withChallengeAddress(deriveAcme(model.acme), fleet), tcpServices: model.tcpServices, fleet };
}

/** The ACME settings with the address HAProxy reaches certbot on: in a fleet, the issuer's on the shared network, where every host sends the CA's HTTP-01 requests. */
function withChallengeAddress<A extends { challengeAddress: string }>(acme: A, fleet: ReturnType<typeof deriveFleet>): A {
    return fleet ? { ...acme, challengeAddress: issuerOf(fleet).privateAddress } : acme;
}

// ---------------------------------------------------------------------------------------------------------
// The stack keys, read off the model's leaves.

/** How a key's value is typed, as Pulumi.yaml declares it; `list` is a structured list of objects. */
export type ConfigKeyType = "string" | "integer" | "boolean" | "list";

/** One stack key: a leaf of the model. */
export interface ConfigKey {
    /** The key's name under the `edge-proxy:` namespace. */
    key: string;
    /** Where its value goes in the model. */
    path: readonly string[];
    /** The leaf's schema. */
    schema: z.ZodType;
    /** The value's type. */
    type: ConfigKeyType;
    /** What the key means (also Pulumi.yaml's description). */
    description: string;
    /** The value used when a stack does not set the key; absent for keys that are unset unless set, and for required keys. */
    default?: unknown;
    /** Whether a stack must set the key. */
    required: boolean;
    /** Whether the value must be stored as a Pulumi secret. */
    secret: boolean;
}

/** The schema a leaf wraps: inside its default, its optionality and its read. */
export function innerSchema(schema: z.core.$ZodType): z.core.$ZodType {
    const def = schema._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    const inner = def.type === "default" || def.type === "prefault" || def.type === "optional" ? def.innerType : def.type === "pipe" ? def.in : undefined;
    return inner ? innerSchema(inner) : schema;
}

/** The Pulumi type of a leaf (a secret is text). */
function keyType(schema: z.core.$ZodType): ConfigKeyType {
    const type = innerSchema(schema)._zod.def.type;
    return type === "number" ? "integer" : type === "boolean" ? "boolean" : type === "array" ? "list" : "string";
}

/** The leaves under `schema` at `path`, in the model's order. */
function leaves(schema: z.ZodType, path: string[]): ConfigKey[] {
    const meta = schema.meta();
    if (meta?.stackKey !== undefined) {
        const def = schema._zod.def as { type: string; defaultValue?: unknown };
        return [
            {
                key: meta.stackKey,
                path,
                schema,
                type: keyType(schema),
                description: meta.description ?? "",
                ...(def.type === "default" || def.type === "prefault" ? { default: def.defaultValue } : {}),
                required: meta.required ?? !schema.safeParse(undefined).success,
                secret: meta.secret === true,
            },
        ];
    }
    const shape = (schema as z.ZodObject).shape;
    return Object.entries(shape).flatMap(([name, child]) => leaves(child as z.ZodType, [...path, name]));
}

/** Every stack key, in the order of the reference. */
export const CONFIG_KEYS: readonly ConfigKey[] = leaves(configModel, []);

const KEYS_BY_NAME = new Map(CONFIG_KEYS.map((spec) => [spec.key, spec]));

/** The key's spec, or undefined for an unknown key. */
export function configKey(key: string): ConfigKey | undefined {
    return KEYS_BY_NAME.get(key);
}

/** The model's input from a stack's flat keys, and the keys that are none of the model's (in their order). */
export function modelInput(raw: Record<string, unknown>): { input: Record<string, unknown>; unknownKeys: string[] } {
    const input: Record<string, unknown> = {};
    const unknownKeys: string[] = [];
    // Every group exists, so that a missing key is reported as the key, never as its group.
    for (const spec of CONFIG_KEYS) {
        let group = input;
        for (const name of spec.path.slice(0, -1)) {
            group[name] ??= {};
            group = group[name] as Record<string, unknown>;
        }
        if (Object.hasOwn(raw, spec.key) && raw[spec.key] !== undefined) {
            group[spec.path[spec.path.length - 1]] = raw[spec.key];
        }
    }
    for (const key of Object.keys(raw)) {
        if (!KEYS_BY_NAME.has(key)) {
            unknownKeys.push(key);
        }
    }
    return { input, unknownKeys };
}

// ---------------------------------------------------------------------------------------------------------
// The flat settings, typed from the leaves' keys.

/** The union's members as one intersection. */
type Intersection<U> = (U extends unknown ? (member: U) => void : never) extends (all: infer I) => void ? I : never;
/** A type's properties spelled out (for readable hovers and messages). */
type Spelled<T> = { [K in keyof T]: T[K] } & {};

/** The flat keys under a schema: each leaf's stack key with its input type, optional where the leaf is. */
type FlatKeys<S> = S extends { readonly "~stackKey": infer K extends string }
    ? undefined extends z.input<S>
        ? { [P in K]?: z.input<S> }
        : { [P in K]: z.input<S> }
    : S extends z.ZodObject<infer Shape>
      ? Intersection<{ [P in keyof Shape]: FlatKeys<Shape[P]> }[keyof Shape]>
      : never;

/** What a stack sets (without the `edge-proxy:` namespace), typed: the flat keys of the whole model. */
export type StackSettings = Spelled<FlatKeys<typeof configModel>>;

/** The keys whose values are secrets. */
export type SecretKey = { [K in keyof StackSettings]-?: NonNullable<StackSettings[K]> extends typeof SECRET_PRESENT ? K : never }[keyof StackSettings];

/** What an entry of `sites` takes. */
export type SiteInput = z.input<typeof siteSchema>;
