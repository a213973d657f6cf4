/**
 * The configuration property, shared by the property-based test (fixed seed, few runs) and
 * `npm run fuzz` (random seed, many runs): generators for every key of the configuration model, hostile
 * values included, and the invariant every generated configuration must keep. Either parseConfig refuses
 * it, every problem led by a key path, or everything renders: haproxy.cfg and its maps, every host script
 * (each configured value in them one shell-quoted word, never on a comment line) and the cron file. The
 * costly checks (`dash -n`, and apart, shellcheck and the real `haproxy -c`) run on a sample of the accepted ones.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as fc from "fast-check";
import { type RawConfig, SECRET_PRESENT } from "../components/config/checks";
import type { EdgeProxyConfig } from "../components/config/types";
import { ConfigError, parseConfig } from "../components/config/validate";
import type { HaproxyConfigFiles } from "../components/haproxy/render";
import { shellQuote } from "../components/quote";
import { checkWithHaproxy } from "./haproxy";
import { renderEverything } from "./hostScripts";

/** Strings that have broken, or could break, a shell script, a cron file or haproxy.cfg. */
const HOSTILE_STRINGS = [
    "",
    " ",
    "\n",
    "a\nb",
    "x\r\ny",
    "'",
    '"',
    "#",
    "# c",
    "$(id)",
    "`id`",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, hostile input that must reach the host unexpanded
    "${HOME}",
    "%[src]",
    "\\",
    "a b",
    "-x",
    "--help",
    "*",
    "~",
    "é✓",
    "\u0000",
    "\u202e",
    "0",
    "80",
    "1e3",
    "0x50",
    "true",
    "null",
    "EDGE_PROXY_EOF",
    "x".repeat(5000),
];

/** A hostile value of any JSON type: strings above, random text, numbers, numbers as text, nulls, nesting. */
const junk: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
        { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
        { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
        { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 65536, 1.5, Number.MAX_SAFE_INTEGER)) },
        { weight: 1, arbitrary: fc.constantFrom(null, true, false, SECRET_PRESENT) },
        { weight: 1, arbitrary: fc.array(tie("value"), { maxLength: 3 }) },
        { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 3 }) },
    ),
})).value;

/** A key's generators: values the validator should accept, and risky ones (near-valid, hostile). */
interface KeyArbitrary {
    valid: fc.Arbitrary<unknown>;
    risky: fc.Arbitrary<unknown>;
}

/** Text built from pieces: near-valid values, often with a hostile piece spliced in. */
function pieces(...parts: string[]): fc.Arbitrary<string> {
    return fc.array(fc.constantFrom(...parts), { minLength: 1, maxLength: 4 }).map((chosen) => chosen.join(""));
}

/** Valid values, risky ones, or junk. */
function anyOf(key: KeyArbitrary): fc.Arbitrary<unknown> {
    return fc.oneof({ weight: 6, arbitrary: key.valid }, { weight: 3, arbitrary: key.risky }, { weight: 1, arbitrary: junk });
}

function constants(valid: unknown[], risky: unknown[]): KeyArbitrary {
    return { valid: fc.constantFrom(...valid), risky: fc.constantFrom(...risky) };
}

const hostname: KeyArbitrary = {
    // Random labels, so that two sites rarely share a domain (the validator refuses that).
    valid: fc
        .tuple(
            fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,10}[a-z0-9]$/),
            fc.constantFrom(".example.com", ".test", ".Example.COM", ".xn--bcher-kva.example", `.${"a".repeat(63)}.com`),
        )
        .map(([a, b]) => a + b),
    risky: fc.oneof(pieces("a", ".", "-", "example", "com", "*", " ", "\n", "#", "_", "'"), pieces("*.", "a", ".example.com", "*", ".")),
};
const time: KeyArbitrary = {
    valid: fc.tuple(fc.integer({ min: 1, max: 500 }), fc.constantFrom("", "ms", "s", "m", "h")).map(([n, unit]) => `${n}${unit}`),
    risky: fc.oneof(fc.constantFrom("0", "0s", "100us", "24d", "25d", "1w"), pieces("1", "0", "s", " ", "\n", "ms", "-", "%")),
};
const directory = (valid: string[]): KeyArbitrary => ({
    valid: fc.oneof(
        fc.constantFrom(...valid),
        fc.constantFrom(...valid).map((dir) => `${dir.replace("/", "//")}/./`),
    ),
    risky: fc.oneof(
        fc.constantFrom("/etc", "/", "/srv/", "/var/lib/.", "/srv/haproxy"),
        pieces("/", "srv", "haproxy", ".", "..", "//", "cfg", " ", "\n", "$x", "'", "#"),
    ),
});
const port: KeyArbitrary = {
    valid: fc.constantFrom(80, 443, 8080, 8443, 8888, 9418, 2200),
    risky: fc.oneof(fc.integer({ min: -1, max: 70_000 }), fc.constantFrom("80", 22, 1.5)),
};
const backend: KeyArbitrary = {
    valid: fc
        .tuple(fc.constantFrom("10.0.0.1", "[2001:db8::1]", "[::ffff:10.0.0.1]", "web.internal", "Web-1.example.com"), fc.integer({ min: 1, max: 65535 }))
        .map(([host, p]) => `${host}:${p}`),
    risky: fc.oneof(
        fc
            .tuple(
                fc.constantFrom("10.0.0.300", "[zz::1]", "[:]", "[fe80::1%eth0]", "web_1", "h ost", "10.0.0.1"),
                fc.constantFrom("080", "x", "", "0", "70000"),
            )
            .map(([host, p]) => `${host}:${p}`),
        pieces("10.0.0.1", ":", "80", "[", "]", "::", "\n", " ", "#"),
    ),
};
const schedule: KeyArbitrary = {
    valid: fc.oneof(
        fc
            .tuple(
                fc.integer({ min: 0, max: 59 }),
                fc.constantFrom("*", "3", "0-23/2", "1,13"),
                fc.constantFrom("*", "1-31", "15"),
                fc.constantFrom("*", "1-12", "*/3"),
                fc.constantFrom("*", "0-7", "1-5"),
            )
            .map((fields) => fields.join(" ")),
        fc.constantFrom("@daily", "@hourly", "@weekly", "@monthly"),
    ),
    risky: fc
        .array(fc.oneof(fc.constantFrom("*", "*/15", "0", "1-5", "*/0", "99", "5/10", "a", "", "*\n", "9-3"), fc.integer({ min: -1, max: 100 }).map(String)), {
            minLength: 4,
            maxLength: 6,
        })
        .chain((fields) => fc.constantFrom(" ", "  ", "\t", "\n").map((separator) => fields.join(separator))),
};
const name: KeyArbitrary = {
    valid: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,12}$/),
    risky: pieces("www", "a", ".", "..", "-", "_", " ", "\n", "#", "'", "A"),
};
const healthCheck: KeyArbitrary = {
    valid: fc.record({ path: fc.constantFrom("/", "/healthz", "/~health", "/a-b/c_d.e"), interval: time.valid }, { requiredKeys: ["path"] }),
    risky: fc.record({ path: anyOf(constants(["/"], ["health", "/a?b", "/%20", "/a b", "/\n#"])), interval: anyOf(time), method: junk }, { requiredKeys: [] }),
};
const list = (item: KeyArbitrary, minLength: number, maxLength: number): KeyArbitrary => ({
    valid: fc.array(item.valid, { minLength, maxLength }),
    risky: fc.array(anyOf(item), { minLength: 0, maxLength: maxLength + 1 }),
});

/** An entry of `sites` or `tcpServices`: its keys valid, or one of them risky. */
function entry(keys: Record<string, KeyArbitrary>, required: string[]): KeyArbitrary {
    const valid = fc.record(Object.fromEntries(Object.entries(keys).map(([key, arb]) => [key, arb.valid])), { requiredKeys: required });
    return {
        valid,
        risky: fc
            .tuple(valid, fc.constantFrom(...Object.keys(keys), "unknownKey"), junk)
            .chain(([record, key, junkValue]) => (keys[key] ? anyOf(keys[key]) : fc.constant(junkValue)).map((value) => ({ ...record, [key]: value }))),
    };
}

const site = entry(
    {
        name: name,
        domains: list(hostname, 1, 3),
        backends: list(backend, 1, 3),
        healthCheck,
        hsts: { valid: fc.boolean(), risky: fc.constantFrom("yes", 1, null) },
        securityHeaders: { valid: fc.boolean(), risky: fc.constantFrom("no", 0) },
        // dns-01 is valid only with a DNS provider: validConfig sets it on sites when it adds one.
        challenge: constants(["http-01"], ["dns-01", "dns", "HTTP-01", "tls-alpn-01"]),
    },
    ["domains", "backends"],
);
/** Ports other listeners take (the container's 80 and 443, sshPort, the metrics and challenge ports): one listener per port is an invariant. */
const takenPorts = fc.constantFrom(80, 443, 2222, 8404, 8888);
const tcpService = entry(
    { name, port: { valid: fc.constantFrom(22, 9418, 2200, 5432), risky: fc.oneof(port.risky, takenPorts) }, backends: list(backend, 1, 2) },
    ["name", "port", "backends"],
);

/** Every key of the configuration model, with its generators. */
const KEYS: Record<string, KeyArbitrary> = {
    hostAddress: constants(["192.0.2.10", "proxy.example.net"], ["10.0.0.300", "a b", "", "-oProxyCommand=x"]),
    sshPort: { valid: fc.constantFrom(22, 2222), risky: fc.oneof(port.risky, takenPorts) },
    sshUser: constants(["root", "admin"], ["Root", "a b", "-o", ""]),
    sshHostKey: constants(
        ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB", " ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB root@h\n"],
        ["ssh-ed25519 AA AA", "ssh-ed25519 AAAA\nx", ""],
    ),
    // With sshHostKey set (as valid configurations have it) trusting on first use has no effect: refused.
    sshTrustOnFirstUse: { valid: fc.constant(false), risky: fc.constantFrom(true, "yes", 1, null) },
    metricsAddress: constants(["127.0.0.1", "::1"], ["localhost", "127.0.0.1:8404", "fe80::1", "172.17.0.1", "0.0.0.0"]),
    metricsPort: { valid: fc.constantFrom(8404, 9101), risky: fc.oneof(port.risky, takenPorts) },
    metricsUser: constants(["prometheus"], ["a b", "-u", ""]),
    metricsPassword: constants([SECRET_PRESENT], ["", "plain text"]),
    metricsPublic: { valid: fc.boolean(), risky: fc.constantFrom("yes", 1) },
    dockerHost: constants(["", "ssh://root@192.0.2.10:22", "unix:///var/run/docker.sock"], ["tcp://h:2375 -H x", "ssh://a b"]),
    haproxyImage: constants(
        ["haproxy:1.7", "haproxy:1.8", "haproxy:2.2", "haproxy:2.6", "haproxy:2.8.5-alpine", "haproxy:3.0"],
        ["haproxy:lts", "haproxy:latest", "haproxy", "haproxy:1.6"],
    ),
    haproxyVersion: constants([""], ["2.6", "3.0", "1.5", "x"]),
    containerName: { valid: fc.oneof(fc.constantFrom("edge-proxy", "edge.proxy", "E_1"), name.valid), risky: name.risky },
    httpPort: { valid: fc.constantFrom(80, 8080), risky: port.risky },
    httpsPort: { valid: fc.constantFrom(443, 8443), risky: port.risky },
    configDir: directory(["/srv/haproxy/cfg", "/etc/haproxy", "/opt/edge/cfg"]),
    certsDir: directory(["/srv/haproxy/certs", "/opt/edge/certs"]),
    maxconn: { valid: fc.integer({ min: 1, max: 1_000_000 }), risky: fc.constantFrom(0, 2_000_000, "4000", 1.5) },
    timeoutConnect: time,
    timeoutClient: time,
    timeoutServer: time,
    timeoutHttpRequest: time,
    timeoutHttpKeepAlive: time,
    timeoutTunnel: time,
    acmeEmail: {
        valid: fc.constantFrom("admin@example.com", "ops+le@example.net", "a_b@x.example.org"),
        risky: fc.oneof(fc.constantFrom("-x@example.com", "admin", null), pieces("a", "@", "example.com", " ", "\n", "'", "-")),
    },
    acmeServer: constants(
        ["staging", "production", "https://acme.internal.example.com:14000/dir"],
        ["http://x.example/dir", "https://a b/", "https://x/$(id)"],
    ),
    acmeCaBundle: directory(["/etc/ssl/ca.pem", "/srv/pki/ca.pem"]),
    certbotImage: constants(["certbot/certbot:v5.8.0", "registry.local:5000/certbot:1"], ["certbot/certbot:latest", "certbot --x"]),
    acmeChallengePort: { valid: fc.constantFrom(8888, 18888), risky: port.risky },
    acmeChallengeAddress: constants(["172.17.0.1", "10.0.0.1"], ["::1", "host", "010.0.0.1"]),
    certbotDataDir: directory(["/srv/letsencrypt", "/var/lib/edge-proxy/letsencrypt"]),
    acmeKeyType: constants(["ecdsa", "rsa"], ["dsa", "RSA"]),
    renewSchedule: schedule,
    acmePreflight: { valid: fc.boolean(), risky: fc.constantFrom("yes", 1, null) },
    acmePreflightResolver: constants(["", "127.0.0.1:5353", "192.0.2.53"], ["dns.example.com", "192.0.2.53:0", "::1", "192.0.2.53:53:1", "192.0.2.53 #"]),
    acmeValidationPort: { valid: fc.constantFrom(80, 18080), risky: port.risky },
    acmeProfile: constants(["", "classic", "shortlived", "tls.server_2"], ["short lived", "-x", "a\nb", "$(id)", "x".repeat(65)]),
    acmeEabKid: constants(["", "kid-1", "f3bX_abc.9~z"], ["kid 1", "-k", "k\n", "'k'"]),
    acmeEabHmacKey: constants([SECRET_PRESENT], ["", "plain text"]),
    alertLifetimeFraction: constants(["1/6", "1/3", "0.2", ".05"], ["0", "1/1", "2/1", "1/0", "0.2.1", "-0.1", "abc", "1 / 6"]),
    alertDaysBeforeExpiry: { valid: fc.integer({ min: 0, max: 3650 }), risky: fc.constantFrom(3651, "14", 1.5, -1) },
    certificateMetricsFile: constants(
        ["", "/var/lib/prometheus/node-exporter/edge-proxy.prom"],
        ["/var/lib", "edge.prom", "/a b.prom", "/x/edge.txt", "/x/$(id).prom"],
    ),
    dnsProvider: constants(["", "rfc2136"], ["cloudflare", "RFC2136", "rfc2136 "]),
    dnsCertbotImage: constants(["", "certbot/dns-rfc2136:v5.8.0"], ["certbot/dns-rfc2136:latest", "x y"]),
    dnsPropagationSeconds: { valid: fc.integer({ min: 0, max: 3600 }), risky: fc.constantFrom(-1, 3601, "60") },
    rfc2136Server: constants(["192.0.2.53", "2001:db8::53"], ["ns1.example.com", "192.0.2.53\n", "[::1]"]),
    rfc2136Port: port,
    rfc2136KeyName: constants(["edge-proxy.", "acme-update"], ["a b", "-x", "k\n", "'k'"]),
    rfc2136KeyAlgorithm: constants(["HMAC-SHA512", "hmac-sha256"], ["MD5", "sha512", "HMAC-SHA512\n"]),
    rfc2136KeySecret: constants([SECRET_PRESENT], ["", "plain text"]),
    sites: list(site, 1, 4),
    tcpServices: list(tcpService, 0, 2),
};

/** The metrics' keys: valid only with metricsAddress, and the user with the password, so validConfig adds them as a group. */
const METRICS_KEYS = ["metricsAddress", "metricsPort", "metricsUser", "metricsPassword", "metricsPublic"];
const metricsGroup = fc
    .tuple(
        fc.record({ metricsAddress: KEYS.metricsAddress.valid, metricsPort: KEYS.metricsPort.valid }, { requiredKeys: ["metricsAddress"] }),
        fc.option(fc.record({ metricsUser: KEYS.metricsUser.valid, metricsPassword: KEYS.metricsPassword.valid })),
    )
    .map(([metrics, authentication]) => ({ ...metrics, ...authentication }));

/** The DNS provider's keys: valid only together, so validConfig adds them as a group. */
const DNS_KEYS = [
    "dnsProvider",
    "dnsCertbotImage",
    "dnsPropagationSeconds",
    "rfc2136Server",
    "rfc2136Port",
    "rfc2136KeyName",
    "rfc2136KeyAlgorithm",
    "rfc2136KeySecret",
];
const dnsGroup = fc.record(
    Object.fromEntries(DNS_KEYS.map((key) => [key, key === "dnsProvider" ? fc.constant("rfc2136") : KEYS[key].valid])) as Record<string, fc.Arbitrary<unknown>>,
    { requiredKeys: ["dnsProvider", "dnsCertbotImage", "rfc2136Server", "rfc2136KeyName", "rfc2136KeySecret"] },
);

/**
 * The valid configuration: required keys always, the others often; values from the valid generators. Half
 * of them have a DNS provider, and then sites with challenge dns-01, some with a wildcard first domain.
 */
const validConfig = fc
    .tuple(
        fc.record(
            Object.fromEntries(
                Object.entries(KEYS)
                    .filter(([key]) => !DNS_KEYS.includes(key) && !METRICS_KEYS.includes(key))
                    .map(([key, arb]) => [key, arb.valid]),
            ) as Record<string, fc.Arbitrary<unknown>>,
            { requiredKeys: ["hostAddress", "sshHostKey", "acmeEmail", "sites"] },
        ),
        fc.option(dnsGroup),
        fc.array(fc.constantFrom("http-01", "dns-01", "dns-01 wildcard"), { minLength: 4, maxLength: 4 }),
        fc.option(metricsGroup),
    )
    .map(([withoutMetrics, dns, challenges, metrics]) => {
        const config = { ...withoutMetrics, ...metrics };
        if (!dns) {
            return config;
        }
        const sites = (config.sites as Record<string, unknown>[]).map((entry, i) => {
            const domains = entry.domains as string[];
            return challenges[i] === "http-01"
                ? entry
                : { ...entry, challenge: "dns-01", domains: challenges[i] === "dns-01 wildcard" ? [`*.${domains[0]}`, ...domains.slice(1)] : domains };
        });
        return { ...config, ...dns, sites };
    });

/**
 * A raw configuration over the whole model: a valid one with up to three keys made risky (a near-valid
 * value, a hostile string, junk, an unknown key, a missing key), or one where any key may be anything.
 */
export const rawConfigArbitrary: fc.Arbitrary<RawConfig> = fc
    .oneof(
        {
            weight: 3,
            arbitrary: fc
                .tuple(validConfig, fc.array(fc.tuple(fc.constantFrom(...Object.keys(KEYS), "acmeEmial", "-"), fc.boolean()), { maxLength: 3 }))
                .chain(([config, changes]) =>
                    fc
                        .tuple(
                            ...changes.map(([key, remove]) =>
                                (remove ? fc.constant(undefined) : KEYS[key] ? anyOf(KEYS[key]) : junk).map((value) => [key, value] as const),
                            ),
                        )
                        .map((values) => {
                            const raw: RawConfig = { ...config };
                            for (const [key, value] of values) {
                                if (value === undefined) {
                                    delete raw[key];
                                } else {
                                    raw[key] = value;
                                }
                            }
                            return raw;
                        }),
                ),
        },
        {
            weight: 1,
            arbitrary: fc.record(Object.fromEntries(Object.entries(KEYS).map(([key, arb]) => [key, anyOf(arb)])) as Record<string, fc.Arbitrary<unknown>>),
        },
    )
    .map((raw) => ({ ...raw, sshPrivateKey: SECRET_PRESENT }));

/** A key path as problems begin with: plain words or capped JSON strings, joined by `.` and `[n]`. */
const SEGMENT = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"(?:… \(\d+ characters\))?)`;
const KEY_PATH_LED = new RegExp(String.raw`^${SEGMENT}(?:\.${SEGMENT}|\[\d+\])*: \S`);

/** What one configuration came to. */
export type Outcome =
    | { kind: "refused"; violations: string[] }
    | { kind: "accepted"; violations: string[]; files: HaproxyConfigFiles; scripts: Record<string, string>; cron: string };

/** Every string of the validated configuration: what the host scripts may carry. */
function configuredStrings(config: EdgeProxyConfig): string[] {
    const found = new Set<string>();
    const walk = (value: unknown): void => {
        if (typeof value === "string") {
            found.add(value);
        } else if (typeof value === "object" && value !== null) {
            Object.values(value).forEach(walk);
        }
    };
    walk(config);
    return [...found];
}

/** A script's text outside its here-documents (their bodies are files, checked on their own). */
function outsideHeredocs(script: string): string[] {
    const lines: string[] = [];
    let inside = false;
    for (const line of script.split("\n")) {
        if (inside) {
            inside = line !== "EDGE_PROXY_EOF";
        } else {
            lines.push(line);
            inside = line.includes("<<'EDGE_PROXY_EOF'");
        }
    }
    return lines;
}

/** A shell line without what single quotes enclose (a `'` within double quotes or after `\\` is literal). */
function outsideSingleQuotes(line: string): string {
    let kept = "";
    let quote: "" | "'" | '"' = "";
    for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (quote === "'") {
            quote = c === "'" ? "" : quote;
        } else if (c === "\\") {
            kept += line.slice(i, i + 2);
            i++;
        } else if (c === "'" && quote === "") {
            quote = "'";
            kept += " ";
        } else {
            quote = c === '"' ? (quote === '"' ? "" : '"') : quote;
            kept += c;
        }
    }
    return kept;
}

/** Where a script carries a value other than as one shell-quoted word, or on a comment line. */
function quotingViolations(name: string, script: string, values: string[]): string[] {
    const lines = outsideHeredocs(script);
    // Values a shell would split or expand; the others are one word as they stand.
    const special = values.filter((value) => value !== "" && shellQuote(value) !== value);
    // A value inside single quotes is literal, however long the word (a value within a longer quoted word).
    const rest = lines
        .filter((line) => !/^\s*#/.test(line))
        .map(outsideSingleQuotes)
        .join("\n");
    const violations = special.filter((value) => rest.includes(value)).map((value) => `${name}: ${JSON.stringify(value)} is not one shell-quoted word`);
    const comments = lines.filter((line) => /^\s*#/.test(line) && !line.startsWith("#!"));
    for (const value of special) {
        for (const line of comments.filter((comment) => comment.includes(value) || comment.includes(shellQuote(value)))) {
            violations.push(`${name}: ${JSON.stringify(value)} on a comment line: ${JSON.stringify(line)}`);
        }
    }
    return violations;
}

/**
 * One listener per port: every port the container publishes, certbot's challenge port and the host's own
 * sshd are distinct, and the listeners the container opens on their own port stay off its 80 and 443.
 */
function listenerViolations(config: EdgeProxyConfig): string[] {
    const { haproxy } = config;
    const published = [
        haproxy.httpPort,
        haproxy.httpsPort,
        config.acme.challengePort,
        config.host.sshPort,
        ...(haproxy.metrics ? [haproxy.metrics.port] : []),
        ...config.tcpServices.map((service) => service.port),
    ];
    const inside = [...(haproxy.metrics ? [haproxy.metrics.port] : []), ...config.tcpServices.map((service) => service.port)];
    const violations: string[] = [];
    if (new Set(published).size !== published.length) {
        violations.push(`two listeners share a port: ${published.join(", ")}`);
    }
    if (inside.some((port) => port === 80 || port === 443)) {
        violations.push(`a listener inside the container on its HTTP(S) port: ${inside.join(", ")}`);
    }
    if (haproxy.metrics && !haproxy.metrics.user && !["127.0.0.1", "::1"].includes(haproxy.metrics.address)) {
        violations.push(`metrics on ${haproxy.metrics.address} without authentication`);
    }
    return violations;
}

/** Applies the invariant to one raw configuration (the checks that need no external program). */
export function examine(raw: RawConfig): Outcome {
    let config: EdgeProxyConfig;
    try {
        config = parseConfig(raw);
    } catch (error) {
        if (!(error instanceof ConfigError)) {
            return { kind: "refused", violations: [`parseConfig threw ${String(error)}`] };
        }
        const bad = error.problems.filter((problem) => !KEY_PATH_LED.test(problem) || problem.includes("\n"));
        return { kind: "refused", violations: bad.map((problem) => `problem not led by a key path: ${JSON.stringify(problem.slice(0, 200))}`) };
    }
    let rendered: ReturnType<typeof renderEverything>;
    try {
        rendered = renderEverything(config);
    } catch (error) {
        return { kind: "refused", violations: [`accepted but does not render: ${(error as Error).message}`] };
    }
    const values = configuredStrings(config);
    const violations = Object.entries({ ...rendered.scripts }).flatMap(([name, script]) => quotingViolations(name, script, values));
    violations.push(...listenerViolations(config));
    const cronLines = rendered.cron.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
    // SHELL, PATH, EDGE_PROXY_RENEW_DELAY and the job: a value with a newline would add a line.
    if (cronLines.length !== 4) {
        violations.push(`the cron file has ${cronLines.length} lines instead of 4: ${JSON.stringify(rendered.cron)}`);
    }
    return { kind: "accepted", violations, ...rendered };
}

/** A rendering the property accepted, kept for the checks by external programs. */
export type Sample = { files: HaproxyConfigFiles; scripts: Record<string, string> };

/** `dash -n` on every script of the samples. */
function dashViolations(samples: Sample[]): string[] {
    return samples.flatMap(({ scripts }, i) =>
        Object.entries(scripts).flatMap(([name, script]) => {
            const parsed = spawnSync("dash", ["-n"], { input: script, encoding: "utf8" });
            return parsed.status === 0 ? [] : [`sample ${i}: dash -n ${name}: ${parsed.stderr}`];
        }),
    );
}

/** One shellcheck run over every script of the samples. */
export function shellcheckViolations(samples: Sample[]): string[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-fuzz-"));
    try {
        const files = samples.flatMap(({ scripts }, i) =>
            Object.entries(scripts).map(([name, script]) => {
                const file = path.join(dir, `${i}-${name}.sh`);
                fs.writeFileSync(file, script);
                return file;
            }),
        );
        if (files.length === 0) {
            return [];
        }
        const lint = spawnSync("shellcheck", ["--shell=sh", "--severity=warning", "--format=gcc", ...files], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
        return lint.error || lint.status !== 0 ? [`shellcheck: ${lint.error?.message ?? lint.stdout.split("\n").slice(0, 10).join(" | ")}`] : [];
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** `haproxy -c` with no warning on the first `count` samples (about 50 ms each). */
export function haproxyViolations(samples: Sample[], count: number): string[] {
    const violations: string[] = [];
    for (const [i, { files }] of samples.slice(0, count).entries()) {
        const check = checkWithHaproxy(files);
        // Backend host names do not resolve on a machine without their DNS: that says nothing of the rendering.
        const findings = check.findings.filter((line) => !/could not resolve address|Failed to initialize server\(s\) addr/.test(line));
        const unresolvedOnly = check.findings.length > 0 && findings.length === 0;
        if ((!check.valid && !unresolvedOnly) || findings.length > 0) {
            violations.push(`sample ${i}: haproxy -c: ${findings.join(" | ") || check.output}`);
        }
    }
    return violations;
}

/** The counts of one run of the property. */
export interface PropertyRun {
    tried: number;
    refused: number;
    accepted: number;
    /** Each broken invariant, with the configuration that broke it. */
    violations: string[];
    /** The first accepted renderings, for shellcheckViolations and haproxyViolations. */
    samples: Sample[];
}

/**
 * Runs the property over `runs` configurations from `seed`; `dash -n` runs on the scripts of the first
 * `samples` accepted ones, which the run keeps for the checks that need more programs.
 */
export function runProperty(options: { seed: number; runs: number; samples: number }): PropertyRun {
    const run: PropertyRun = { tried: 0, refused: 0, accepted: 0, violations: [], samples: [] };
    const describeRaw = (raw: RawConfig) => JSON.stringify(raw, (_, v) => (v === SECRET_PRESENT ? "<secret>" : v)).slice(0, 2000);
    // One configuration at a time (a property that always holds: the violations are collected here), so
    // that a long run holds only the samples, never every configuration it tried.
    fc.check(
        fc.property(rawConfigArbitrary, (raw) => {
            const outcome = examine(raw);
            run.tried++;
            run[outcome.kind]++;
            run.violations.push(...outcome.violations.map((violation) => `${violation}\n    in ${describeRaw(raw)}`));
            if (outcome.kind === "accepted" && run.samples.length < options.samples) {
                run.samples.push({ files: outcome.files, scripts: outcome.scripts });
            }
            return true;
        }),
        { seed: options.seed, numRuns: options.runs },
    );
    run.violations.push(...dashViolations(run.samples));
    return run;
}
