/**
 * Pure validation of the stack configuration: takes the raw key/value map (from Pulumi or a stack file),
 * reports every problem at once with its key path, and returns the defaulted, typed configuration.
 * Nothing here touches Pulumi or the host, so a bad stack fails before any resource is declared.
 */
import { createHash } from "crypto";
import { BlockList, isIPv4, isIPv6 } from "net";
import { posix } from "path";
import { CONFIG_KEYS, HEALTH_CHECK_KEYS, SITE_KEYS, TCP_SERVICE_KEYS, configKey } from "./schema";
import { DNS_PROVIDERS, TSIG_ALGORITHMS, providerImage } from "../dns/providers";
import {
    AcmeSettings, DnsSettings, EdgeProxyConfig, HaproxySettings, HaproxyVersion, HealthCheck, HostSettings, MetricsSettings, ServerAddress,
    Site, TcpService, Timeouts,
} from "./types";

/** Stands for a secret value that is present but was not decrypted (the render tool never decrypts). */
export const SECRET_PRESENT = Symbol("secret value present");
/** Stands for a value of a secret key that was stored in plain text (never carried further, never echoed). */
export const PLAIN_SECRET = Symbol("secret key stored in plain text");

/** The longest string any key takes (a host key line, a URL, a path); longer ones are refused before any check runs. */
export const MAX_STRING_LENGTH = 4096;
/** The longest JSON text of a list from the engine (5,000 sites take about 1 MiB). */
export const MAX_LIST_TEXT_LENGTH = 8 * 1024 * 1024;

/** Stands for a value too long to read at all, by its length and the longest its key takes. */
export class OversizedValue {
    constructor(readonly length: number, readonly limit: number) {}
}

/** The raw configuration: key (without namespace) to value as YAML or JSON would give it. */
export type RawConfig = Record<string, unknown>;

/** Let's Encrypt's ACME directories, by the names `acmeServer` accepts. */
export const ACME_DIRECTORIES: Record<string, string> = {
    staging: "https://acme-staging-v02.api.letsencrypt.org/directory",
    production: "https://acme-v02.api.letsencrypt.org/directory",
};

/** The oldest HAProxy the renderer supports: the seed's pinned image. */
export const OLDEST_HAPROXY: HaproxyVersion = { major: 1, minor: 7 };

/** Thrown with every problem found; `problems` holds one line per problem, each led by its key path. */
export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(`invalid edge-proxy configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n`
            + problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "ConfigError";
    }
}

/** How strict parseConfig is about what a deployment needs but rendering does not. */
export interface ParseOptions {
    /**
     * Whether secret keys (the SSH private key) must be set. The render tool passes false: it renders
     * without the host and cannot decrypt secrets anyway. Default true.
     */
    requireSecrets?: boolean;
}

/** Validates and defaults the raw configuration; throws ConfigError listing every problem. */
export function parseConfig(raw: RawConfig, options: ParseOptions = {}): EdgeProxyConfig {
    const problems: string[] = [];
    const config = checkConfig(raw, problems, options.requireSecrets ?? true);
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return config;
}

// ---------------------------------------------------------------------------------------------------------
// Value checks: each returns an error phrase (what is wrong) or undefined. Exported for table-driven tests.

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A DNS hostname of one or more labels (lower case expected); with `wildcard`, also `*.` and a name of two
 * or more labels (a wildcard covers one label, as in TLS).
 */
export function hostnameProblem(value: string, { needsDot = false, wildcard = false } = {}): string | undefined {
    if (value.startsWith("*.")) {
        if (!wildcard) {
            return "is a wildcard; HTTP-01 validation cannot issue wildcard certificates";
        }
        if (value.slice(2).includes("*")) {
            return "is not a wildcard TLS accepts: only the first label may be *, and it covers exactly one label";
        }
        const parentProblem = hostnameProblem(value.slice(2), { needsDot: true });
        return parentProblem ? `is not a wildcard of a domain: ${value.slice(2)} ${parentProblem}` : undefined;
    }
    const labels = value.split(".");
    if (value.length > 253 || !labels.every((label) => LABEL.test(label))) {
        return "is not a valid hostname";
    }
    if (needsDot && labels.length < 2) {
        return "is not a fully qualified domain name";
    }
    if (labels.every((label) => /^\d+$/.test(label))) {
        return "is an IP address, not a hostname";
    }
    return undefined;
}


/** Parses `host:port` with an IPv4 address, a bracketed IPv6 address or a DNS name. */
export function parseServerAddress(value: string): ServerAddress | string {
    const match = /^(\[[^\]]*\]|[^:\[\]]+):(\d{1,5})$/.exec(value);
    if (!match) {
        return "is not host:port (IPv6 addresses go in brackets: [2001:db8::1]:80)";
    }
    const [, host, portText] = match;
    const port = Number(portText);
    if (port < 1 || port > 65535) {
        return `has port ${port} outside 1-65535`;
    }
    if (host.startsWith("[")) {
        const inner = host.slice(1, -1);
        // isIPv6 also takes a zone (fe80::1%eth0), whose '%' haproxy.cfg would read as a format directive.
        if (!isIPv6(inner) || inner.includes("%")) {
            return "has a malformed IPv6 address";
        }
    } else if (/^[\d.]+$/.test(host)) {
        if (!isIPv4(host)) {
            return "has a malformed IPv4 address";
        }
    } else if (hostnameProblem(host.toLowerCase())) {
        return `has an invalid host name ${quote(host)}`;
    }
    return { host: host.toLowerCase(), port };
}

const TIME_UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, "": 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * An HAProxy time: a number with an optional unit, within HAProxy's timer range (2^31-1 ms), and not zero:
 * a zero timeout waits forever (`timeout http-request 0` drops the slowloris guard), a zero check
 * interval fails `haproxy -c`.
 */
export function durationProblem(value: string): string | undefined {
    const match = /^(\d{1,10})(us|ms|s|m|h|d)?$/.exec(value);
    if (!match) {
        return "is not an HAProxy time such as 500ms, 30s, 5m or 1h";
    }
    const ms = Number(match[1]) * TIME_UNIT_MS[match[2] ?? ""];
    if (ms === 0) {
        return "is zero: HAProxy would wait forever (or, for a health check, refuse the configuration)";
    }
    return ms > 2_147_483_647 ? "is longer than HAProxy's longest timer, about 24 days" : undefined;
}

/**
 * Directories a host path must not be: the system's own and their well-known roots. The host scripts create
 * and chmod the configured directories, and the container mounts them, so one of these would change or
 * expose the host itself. Subdirectories (/srv/haproxy, /etc/haproxy) are fine.
 */
const SYSTEM_DIRECTORIES = new Set([
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/lost+found", "/media", "/mnt",
    "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var",
    "/etc/cron.d", "/etc/default", "/etc/docker", "/etc/ssh", "/etc/ssl", "/etc/systemd",
    "/usr/bin", "/usr/include", "/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/local", "/usr/sbin", "/usr/share", "/usr/src",
    "/usr/local/bin", "/usr/local/etc", "/usr/local/lib", "/usr/local/sbin", "/usr/local/share",
    "/var/backups", "/var/cache", "/var/lib", "/var/lib/docker", "/var/local", "/var/lock", "/var/log", "/var/mail", "/var/opt",
    "/var/run", "/var/spool", "/var/tmp", "/var/www",
]);

/** A host path as the host resolves it: `//` collapsed, `.` segments and a trailing `/` dropped. */
export function normalizeHostPath(value: string): string {
    const normalized = posix.normalize(value);
    return normalized.length > 1 && normalized.endsWith("/") ? normalized.slice(0, -1) : normalized;
}

/** An absolute host path of plain characters (it becomes a bind mount and a shell word), not a system directory. */
export function absolutePathProblem(value: string): string | undefined {
    if (!/^\/[A-Za-z0-9._\/-]*$/.test(value)) {
        return "is not an absolute path of letters, digits, '.', '_', '-' and '/'";
    }
    if (value.split("/").some((part) => part === "..")) {
        return "must not contain '..'";
    }
    const normalized = normalizeHostPath(value);
    if (normalized === "/") {
        return "must not be the root directory";
    }
    if (SYSTEM_DIRECTORIES.has(normalized)) {
        return `is the system directory ${normalized}: use a directory of its own, such as one under /srv`;
    }
    return undefined;
}

/**
 * The Prometheus text file's path: an absolute path whose name ends in `.prom`, the only files
 * node_exporter's textfile collector reads (it is written beside itself and renamed, so its directory,
 * such as /var/lib/prometheus/node-exporter, may be a system one; the file may not).
 */
export function metricsFileProblem(value: string): string | undefined {
    const pathProblem = absolutePathProblem(value);
    if (pathProblem) {
        return pathProblem;
    }
    return /\/[A-Za-z0-9._-]+\.prom$/.test(normalizeHostPath(value)) ? undefined : "is not the path of a file named *.prom (node_exporter's textfile collector reads only those)";
}

/** A DNS server as the pre-flight asks it: an IPv4 address, optionally with a port. */
export function resolverProblem(value: string): string | undefined {
    const [address, port, ...rest] = value.split(":");
    const portOk = port === undefined || (/^[1-9]\d{0,4}$/.test(port) && Number(port) <= 65535);
    return isIPv4(address) && portOk && rest.length === 0 ? undefined : "is not an IPv4 address with an optional port, such as 192.0.2.53 or 127.0.0.1:5353";
}

/** The path of an HTTP health check: one haproxy.cfg word of URL path characters (no query, no escapes). */
export function healthCheckPathProblem(value: string): string | undefined {
    return /^\/[A-Za-z0-9._~\/-]*$/.test(value) ? undefined : "is not an absolute path of letters, digits and ._~/-";
}

const IMAGE_REF = /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

/** A Docker image reference that pins a version (a tag other than latest, or a digest). */
export function imageProblem(value: string): string | undefined {
    if (!IMAGE_REF.test(value)) {
        return "is not a Docker image reference";
    }
    const tag = imageTag(value);
    if (!value.includes("@sha256:") && (tag === undefined || tag === "latest")) {
        return "must pin a version (a tag other than latest, or a digest)";
    }
    return undefined;
}

/** The tag of an image reference (after the last ':' of the last path part), if any. */
export function imageTag(image: string): string | undefined {
    const lastPart = image.split("@")[0].split("/").pop() ?? "";
    const colon = lastPart.indexOf(":");
    return colon >= 0 ? lastPart.slice(colon + 1) : undefined;
}

/** The HAProxy version an image tag tells (`1.7`, `2.8.5-alpine`, `3.0-bookworm`), if it tells one. */
export function versionFromImage(image: string): HaproxyVersion | undefined {
    const match = /^(\d+)\.(\d+)(?:[.-]|$)/.exec(imageTag(image) ?? "");
    return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/** The five fields of a cron schedule, in order, with the values each allows (day of week: 0 and 7 are Sunday). */
const CRON_FIELDS = [
    { name: "minute", article: "a", min: 0, max: 59 },
    { name: "hour", article: "an", min: 0, max: 23 },
    { name: "day-of-month", article: "a", min: 1, max: 31 },
    { name: "month", article: "a", min: 1, max: 12 },
    { name: "day-of-week", article: "a", min: 0, max: 7 },
] as const;

/** One item of a cron field's list: `*`, `n` or `a-b`, optionally with a step `/n` (not after a single number). */
const CRON_ITEM = /^(?:(\*)|(\d{1,2})|(\d{1,2})-(\d{1,2}))(?:\/(\d{1,2}))?$/;

/** What is wrong with one cron field, or undefined. */
function cronFieldProblem(text: string, field: (typeof CRON_FIELDS)[number]): string | undefined {
    for (const item of text.split(",")) {
        const match = CRON_ITEM.exec(item);
        if (!match || (match[2] !== undefined && match[5] !== undefined)) {
            return `has ${field.article} ${field.name} field ${quote(text)} that is not *, n, a-b, */n or a-b/n (or a list of them)`;
        }
        const [, , single, from, to, step] = match;
        for (const number of [single, from, to].filter((n) => n !== undefined).map(Number)) {
            if (number < field.min || number > field.max) {
                return `has ${field.name} ${number} outside ${field.min}-${field.max}`;
            }
        }
        if (from !== undefined && Number(from) > Number(to)) {
            return `has ${field.article} ${field.name} range ${from}-${to} that runs backwards`;
        }
        if (step !== undefined && Number(step) < 1) {
            return `has ${field.article} ${field.name} step of ${step} (at least 1)`;
        }
    }
    return undefined;
}

/**
 * A cron schedule: five fields separated by single spaces, each within its range, or an @-shorthand. The
 * value goes into the cron file as it is, so nothing else (a tab, a newline: a second cron line) may pass.
 */
export function cronProblem(value: string): string | undefined {
    if (/^@(hourly|daily|weekly|monthly)$/.test(value)) {
        return undefined;
    }
    const fields = value.split(" ");
    if (fields.length !== CRON_FIELDS.length || fields.some((field) => !/^[0-9*\/,-]+$/.test(field))) {
        return "is not a five-field cron schedule such as \"17 3 * * *\" (one space between fields)";
    }
    return fields.map((field, i) => cronFieldProblem(field, CRON_FIELDS[i])).find((problem) => problem !== undefined);
}

/** The values one valid cron field allows. */
function cronFieldValues(text: string, field: (typeof CRON_FIELDS)[number]): Set<number> {
    const values = new Set<number>();
    for (const item of text.split(",")) {
        const [, star, single, from, to, step] = CRON_ITEM.exec(item)!;
        const first = star ? field.min : Number(single ?? from);
        const last = star ? field.max : single !== undefined ? first : Number(to);
        for (let value = first; value <= last; value += Number(step ?? 1)) {
            values.add(field.name === "day-of-week" && value === 7 ? 0 : value);
        }
    }
    return values;
}

const CRON_SHORTHANDS: Record<string, string> = { "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *" };

/**
 * The longest time, in minutes, between two runs of a valid cron schedule (over a year, from 2027-01-01
 * UTC): how long `npm run status` lets the renewal job be silent before it calls it overdue. Days follow
 * cron's rule: with both day fields restricted, a day matching either runs.
 */
export function cronLongestGapMinutes(schedule: string): number {
    const fields = (CRON_SHORTHANDS[schedule] ?? schedule).split(" ");
    const [minutes, hours, days, months, weekdays] = fields.map((field, i) => cronFieldValues(field, CRON_FIELDS[i]));
    const anyDay = fields[2] === "*";
    const anyWeekday = fields[4] === "*";
    let longest = 0;
    let previous: number | undefined;
    const start = Date.UTC(2027, 0, 1);
    for (let minute = 0; minute < 366 * 1440; minute++) {
        const at = new Date(start + minute * 60_000);
        if (!minutes.has(at.getUTCMinutes()) || !hours.has(at.getUTCHours()) || !months.has(at.getUTCMonth() + 1)) {
            continue;
        }
        const day = days.has(at.getUTCDate());
        const weekday = weekdays.has(at.getUTCDay());
        if (anyDay || anyWeekday ? day && weekday : day || weekday) {
            longest = previous === undefined ? longest : Math.max(longest, minute - previous);
            previous = minute;
        }
    }
    return longest;
}

/** The edit distance between two short strings, to suggest the key a typo meant. */
function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let diagonal = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const above = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
            diagonal = above;
        }
    }
    return row[b.length];
}

/** The longest unknown key that gets a suggestion: the edit distance costs its length times each candidate's. */
const SUGGEST_MAX_KEY_LENGTH = 64;
/** How many unknown keys of one object are listed one by one; the rest are counted. */
const UNKNOWN_KEYS_LISTED = 20;

/** "unknown key" with the closest known key as a suggestion when one is close. */
function unknownKeyProblem(key: string, known: readonly string[]): string {
    if (key.length > SUGGEST_MAX_KEY_LENGTH) {
        return "unknown key";
    }
    const best = known
        .map((candidate) => ({ candidate, distance: editDistance(key, candidate) }))
        .sort((x, y) => x.distance - y.distance)[0];
    const hint = best && best.distance <= Math.max(2, Math.floor(key.length / 4)) ? ` (did you mean "${best.candidate}"?)` : "";
    return `unknown key${hint}`;
}

// ---------------------------------------------------------------------------------------------------------
// The walk over the raw configuration.

/** Collects problems with their key paths and reads typed values. */
class Reader {
    constructor(private readonly problems: string[]) {}

    report(path: string, problem: string): void {
        this.problems.push(`${path}: ${problem}`);
    }

    /**
     * Reports what cannot be read as a value: a secret under a key that is not declared secret (edge-proxy
     * writes such values into host scripts and command lines, where the state keeps them in plain text, so
     * their secrecy would be a lie), and a value longer than any key takes.
     */
    private unreadable(path: string, value: unknown): boolean {
        if (value === SECRET_PRESENT) {
            this.report(path, "is a secret, but edge-proxy writes this value into host scripts and command lines that the stack's state shows in plain text: set it without --secret");
            return true;
        }
        // A length bound before any pattern or parse runs: a 50 MB value must cost no more than its length.
        // The engine's texts arrive already measured (OversizedValue); other strings are measured here.
        const oversized = typeof value === "string" && value.length > MAX_STRING_LENGTH ? new OversizedValue(value.length, MAX_STRING_LENGTH) : value;
        if (oversized instanceof OversizedValue) {
            this.report(path, `is too long: ${oversized.length} characters, at most ${oversized.limit}`);
            return true;
        }
        return false;
    }

    /** Reads a string; reports a wrong type; applies `check`; returns the value, `normalize`d when given. */
    string(path: string, value: unknown, check?: (v: string) => string | undefined, normalize?: (v: string) => string): string | undefined {
        if (this.unreadable(path, value)) {
            return undefined;
        }
        if (typeof value !== "string") {
            this.report(path, `must be a string, got ${describe(value)}`);
            return undefined;
        }
        const problem = check?.(value);
        if (problem) {
            this.report(path, `${quote(value)} ${problem}`);
            return undefined;
        }
        return normalize ? normalize(value) : value;
    }

    /** Reads a whole number from `min` to `max`; `what` names it in the problem. */
    integer(path: string, value: unknown, min: number, max: number, what = "a whole number"): number | undefined {
        if (this.unreadable(path, value)) {
            return undefined;
        }
        if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
            this.report(path, `must be ${what} from ${min} to ${max}, got ${describe(value)}`);
            return undefined;
        }
        return value;
    }

    /** Reads a port number. */
    port(path: string, value: unknown): number | undefined {
        return this.integer(path, value, 1, 65535, "a port number");
    }

    /** Reads a boolean. */
    boolean(path: string, value: unknown): boolean | undefined {
        if (this.unreadable(path, value)) {
            return undefined;
        }
        if (typeof value !== "boolean") {
            this.report(path, `must be true or false, got ${describe(value)}`);
            return undefined;
        }
        return value;
    }

    /** Reads an object and reports keys outside `known`. */
    object(path: string, value: unknown, known: readonly string[]): Record<string, unknown> | undefined {
        if (this.unreadable(path, value)) {
            return undefined;
        }
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            this.report(path, `must be an object, got ${describe(value)}`);
            return undefined;
        }
        const record = value as Record<string, unknown>;
        this.unknownKeys(path, Object.keys(record), known);
        return record;
    }

    /** Reports the keys outside `known`: the first UNKNOWN_KEYS_LISTED one by one, then how many more. */
    unknownKeys(parent: string, keys: string[], known: readonly string[]): void {
        const unknown = keys.filter((key) => !known.includes(key));
        unknown.slice(0, UNKNOWN_KEYS_LISTED + 1).forEach((key, i) => {
            const more = i === UNKNOWN_KEYS_LISTED ? ` (and ${unknown.length - i - 1} more unknown keys not listed)` : "";
            this.report(keyPath(parent, key), `${i === UNKNOWN_KEYS_LISTED ? "unknown key" : unknownKeyProblem(key, known)}${more}`);
        });
    }

    /** Reads a list; reports a wrong type or an empty list when `nonEmpty`. */
    list(path: string, value: unknown, nonEmpty: boolean): unknown[] | undefined {
        if (this.unreadable(path, value)) {
            return undefined;
        }
        if (!Array.isArray(value)) {
            this.report(path, `must be a list, got ${describe(value)}`);
            return undefined;
        }
        if (nonEmpty && value.length === 0) {
            this.report(path, "must not be empty");
        }
        return value;
    }

    /** Records `value` as taken by `path`; reports it and returns false when an earlier path took it. */
    claim<T>(owners: Map<T, string>, path: string, value: T, problem: (first: string) => string): boolean {
        const first = owners.get(value);
        if (first) {
            this.report(path, problem(first));
            return false;
        }
        owners.set(value, path);
        return true;
    }

    /** Reads a list of `host:port` backend addresses. */
    backends(path: string, value: unknown): ServerAddress[] {
        const addresses: ServerAddress[] = [];
        (this.list(path, value, true) ?? []).forEach((item, i) => {
            const text = this.string(`${path}[${i}]`, item);
            if (text === undefined) {
                return;
            }
            const parsed = parseServerAddress(text);
            if (typeof parsed === "string") {
                this.report(`${path}[${i}]`, `${quote(text)} ${parsed}`);
            } else {
                addresses.push(parsed);
            }
        });
        return addresses;
    }
}

/** The longest part of a value a problem echoes: a value can be megabytes long. */
const ECHO_LIMIT = 80;

/** An object's key appended to its path: a plain word as it is, anything else as a (capped) JSON string. */
function keyPath(parent: string, key: string): string {
    const word = /^[A-Za-z0-9_-]{1,64}$/.test(key) ? key : quote(key);
    return parent ? `${parent}.${word}` : word;
}

/** Text cut to ECHO_LIMIT characters, saying how long it was. */
function capped(text: string): string {
    return text.length > ECHO_LIMIT ? `${text.slice(0, ECHO_LIMIT)}… (${text.length} characters)` : text;
}

/** A string value as a problem echoes it: JSON-quoted, at most ECHO_LIMIT characters of it. */
function quote(value: string): string {
    return value.length > ECHO_LIMIT ? `${JSON.stringify(value.slice(0, ECHO_LIMIT))}… (${value.length} characters)` : JSON.stringify(value);
}

function describe(value: unknown): string {
    if (value === SECRET_PRESENT) {
        return "a secret";
    }
    if (value === undefined || value === null) {
        return "nothing";
    }
    if (Array.isArray(value)) {
        return "a list";
    }
    return typeof value === "string" ? `string ${quote(value)}` : `${typeof value} ${capped(JSON.stringify(value))}`;
}

const NAME = /^[a-z0-9]([a-z0-9._-]{0,62})$/;
const NAME_PROBLEM = "is not a name of lower-case letters, digits, '.', '_' and '-' (at most 63, starting with a letter or digit)";
const nameProblem = (value: string) => (NAME.test(value) && !value.includes("..") ? undefined : NAME_PROBLEM);

const EMAIL = /^[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$/;
/** An email address that certbot takes as the value of --email (one starting with '-' would be an option). */
const emailProblem = (value: string) => (value.startsWith("-") ? "starts with '-': certbot would read it as an option"
    : EMAIL.test(value) ? undefined : "is not an email address");
const SSH_PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+\/]+={0,3}( \S*)?$/;

function checkConfig(raw: RawConfig, problems: string[], requireSecrets: boolean): EdgeProxyConfig {
    const r = new Reader(problems);
    const known = CONFIG_KEYS.map((spec) => spec.key);
    r.unknownKeys("", Object.keys(raw), known);
    for (const spec of CONFIG_KEYS) {
        if (spec.required && raw[spec.key] == null && (requireSecrets || !spec.secret)) {
            r.report(spec.key, `is required: ${spec.description}`);
        }
    }
    /** The raw value of a key, or its default. */
    const value = (key: string): unknown => (raw[key] === undefined ? configKey(key)?.default : raw[key]);
    const optionalString: OptionalString = (key, check, normalize) =>
        raw[key] === undefined || raw[key] === "" ? undefined : r.string(key, raw[key], check, normalize);

    for (const spec of CONFIG_KEYS.filter((s) => s.secret && raw[s.key] !== undefined && raw[s.key] !== SECRET_PRESENT)) {
        r.report(spec.key, `must be stored as a secret: pulumi config set --secret ${spec.key} (never in plain text)`);
    }

    const hostAddress = raw.hostAddress == null ? undefined // reported as a missing required key
        : r.string("hostAddress", raw.hostAddress, (v) => (isIPv4(v) || !hostnameProblem(v.toLowerCase()) ? undefined : "is not an IPv4 address or hostname"));
    const sshPort = r.port("sshPort", value("sshPort"));
    const sshUser = r.string("sshUser", value("sshUser"), (v) => (/^[a-z_][a-z0-9_-]{0,31}$/.test(v) ? undefined : "is not a Unix user name"));
    const host: HostSettings = {
        address: hostAddress ?? "",
        sshPort: sshPort ?? 22,
        sshUser: sshUser ?? "root",
        sshHostKey: optionalString("sshHostKey", (v) => (SSH_PUBLIC_KEY.test(v.trim()) ? undefined : "is not a public key line such as \"ssh-ed25519 AAAA...\""),
            (v) => v.trim()),
        trustOnFirstUse: r.boolean("sshTrustOnFirstUse", value("sshTrustOnFirstUse")) ?? false,
        dockerHost: optionalString("dockerHost", (v) => (/^(ssh|tcp|unix):\/\/[A-Za-z0-9._@:\/\[\]-]+$/.test(v) ? undefined : "is not an ssh://, tcp:// or unix:// endpoint"))
            ?? `ssh://${sshUser ?? "root"}@${hostAddress ?? ""}:${sshPort ?? 22}`,
        detectDrift: r.boolean("detectDrift", value("detectDrift")) ?? true,
    };
    // Every script, and with them the secrets, goes to whatever answers at the address: only the pinned host may.
    if (host.sshHostKey === undefined && !host.trustOnFirstUse && (raw.sshHostKey === undefined || raw.sshHostKey === null || raw.sshHostKey === "")) {
        r.report("sshHostKey", `is required, so that no other machine at the host's address receives the scripts and their secrets: `
            + `run ssh-keyscan -p ${host.sshPort} -t ed25519 ${host.address || "HOST"} from a network you trust (or read /etc/ssh/ssh_host_ed25519_key.pub on the host), `
            + `then pulumi config set sshHostKey 'ssh-ed25519 AAAA...' with the key it prints; or set sshTrustOnFirstUse to true to pin the key the first connection sees`);
    }
    if (host.sshHostKey !== undefined && host.trustOnFirstUse) {
        r.report("sshTrustOnFirstUse", "has no effect: sshHostKey is set, and only that key is accepted");
    }

    const haproxy = checkHaproxy(r, value, optionalString);
    haproxy.metrics = checkMetrics(r, raw, value, optionalString, requireSecrets);
    const acme = checkAcme(r, value, optionalString, host, haproxy.containerName);
    acme.dns = checkDns(r, raw, value, optionalString, acme.certbotImage, requireSecrets);
    const sites = checkSites(r, raw.sites, acme.dns !== undefined);
    const tcpServices = checkTcpServices(r, value("tcpServices"));

    checkPortCollisions(r, host, haproxy, acme, tcpServices);
    checkDirectoriesApart(r, [["configDir", haproxy.configDir], ["certsDir", haproxy.certsDir], ["certbotDataDir", acme.dataDir]]);
    return { host, haproxy, acme, sites, tcpServices };
}

type ValueOf = (key: string) => unknown;
type OptionalString = (key: string, check: (v: string) => string | undefined, normalize?: (v: string) => string) => string | undefined;

function checkHaproxy(r: Reader, value: ValueOf, optionalString: OptionalString): HaproxySettings {
    const image = r.string("haproxyImage", value("haproxyImage"), imageProblem) ?? "";
    const explicit = optionalString("haproxyVersion", (v) => (/^\d+\.\d+(\.\d+)?$/.test(v) ? undefined : "is not a version such as 1.7 or 2.8"));
    const fromTag = image ? versionFromImage(image) : undefined;
    let version: HaproxyVersion | undefined;
    if (explicit !== undefined) {
        const [major, minor] = explicit.split(".").map(Number);
        version = { major, minor };
        if (fromTag && (fromTag.major !== major || fromTag.minor !== minor)) {
            r.report("haproxyVersion", `${quote(explicit)} contradicts the tag of haproxyImage ${quote(image)}`);
        }
    } else if (fromTag) {
        version = fromTag;
    } else if (image) {
        r.report("haproxyVersion", `is required: the tag of haproxyImage ${quote(image)} does not tell the HAProxy version`);
    }
    if (version && compareVersions(version, OLDEST_HAPROXY) < 0) {
        r.report(explicit !== undefined ? "haproxyVersion" : "haproxyImage",
            `HAProxy ${version.major}.${version.minor} is older than the oldest supported, ${OLDEST_HAPROXY.major}.${OLDEST_HAPROXY.minor}`);
    }
    const timeout = (key: string) => r.string(key, value(key), durationProblem) ?? "";
    const timeouts: Timeouts = {
        connect: timeout("timeoutConnect"),
        client: timeout("timeoutClient"),
        server: timeout("timeoutServer"),
        httpRequest: timeout("timeoutHttpRequest"),
        httpKeepAlive: timeout("timeoutHttpKeepAlive"),
        tunnel: timeout("timeoutTunnel"),
    };
    return {
        image,
        version: version ?? OLDEST_HAPROXY,
        containerName: r.string("containerName", value("containerName"), (v) => (/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(v) ? undefined : "is not a Docker container name")) ?? "",
        httpPort: r.port("httpPort", value("httpPort")) ?? 0,
        httpsPort: r.port("httpsPort", value("httpsPort")) ?? 0,
        configDir: r.string("configDir", value("configDir"), absolutePathProblem, normalizeHostPath) ?? "",
        certsDir: r.string("certsDir", value("certsDir"), absolutePathProblem, normalizeHostPath) ?? "",
        maxconn: r.integer("maxconn", value("maxconn"), 1, 1_000_000) ?? 0,
        timeouts,
    };
}

/**
 * Addresses a metrics port may be published on without metricsPublic: loopback, the RFC 1918 and
 * shared (RFC 6598) private ranges, IPv6 unique-local. Link-local addresses are left out on purpose:
 * they are reachable by every machine on the link, which is what "public" guards against here.
 */
const PRIVATE_ADDRESSES = new BlockList();
PRIVATE_ADDRESSES.addSubnet("127.0.0.0", 8, "ipv4");
PRIVATE_ADDRESSES.addSubnet("10.0.0.0", 8, "ipv4");
PRIVATE_ADDRESSES.addSubnet("172.16.0.0", 12, "ipv4");
PRIVATE_ADDRESSES.addSubnet("192.168.0.0", 16, "ipv4");
PRIVATE_ADDRESSES.addSubnet("100.64.0.0", 10, "ipv4");
PRIVATE_ADDRESSES.addAddress("::1", "ipv6");
PRIVATE_ADDRESSES.addSubnet("fc00::", 7, "ipv6");

/** Whether a metrics address is loopback or private (0.0.0.0 and :: are every address, so public). */
export function isPrivateAddress(address: string): boolean {
    return PRIVATE_ADDRESSES.check(address, isIPv4(address) ? "ipv4" : "ipv6");
}

/** Loopback addresses: only the host's own processes reach a port published there. */
const LOOPBACK_ADDRESSES = new BlockList();
LOOPBACK_ADDRESSES.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK_ADDRESSES.addAddress("::1", "ipv6");

/**
 * The metrics endpoint: off unless metricsAddress is set; never on a public address unless metricsPublic
 * says so; basic authentication with both a user and a (secret) password, required wherever anything but
 * the host itself reaches the address (the stats page names every backend server and its state).
 */
function checkMetrics(r: Reader, raw: RawConfig, value: ValueOf, optionalString: OptionalString, requireSecrets: boolean): MetricsSettings | undefined {
    const address = optionalString("metricsAddress", (v) => (isIPv4(v) || isIPv6(v) ? undefined : "is not an IPv4 or IPv6 address"));
    const port = r.port("metricsPort", value("metricsPort"));
    const allowPublic = r.boolean("metricsPublic", value("metricsPublic"));
    const user = optionalString("metricsUser", (v) => (/^[A-Za-z0-9._-]{1,64}$/.test(v) ? undefined : "is not a user name of letters, digits, '.', '_' and '-'"));
    const passwordSet = raw.metricsPassword !== undefined && raw.metricsPassword !== "";
    if (address === undefined) {
        // The Pulumi CLI passes Pulumi.yaml's defaults as set values: only a value other than the default is a mistake.
        for (const key of ["metricsUser", "metricsPassword", "metricsPublic", "metricsPort"].filter((k) => raw[k] !== undefined && raw[k] !== configKey(k)?.default)) {
            r.report(key, "has no effect: the metrics are off until metricsAddress is set");
        }
        return undefined;
    }
    if (!isPrivateAddress(address) && allowPublic !== true) {
        r.report("metricsAddress", `${quote(address)} is public: set metricsPublic to true to publish the metrics there (and set metricsUser and metricsPassword)`);
    }
    if (user !== undefined && !passwordSet && requireSecrets) {
        r.report("metricsPassword", "is required with metricsUser: pulumi config set --secret metricsPassword");
    }
    if (user === undefined && passwordSet) {
        r.report("metricsUser", "is required with metricsPassword (the basic authentication's user name)");
    } else if (user === undefined && [undefined, null, ""].includes(raw.metricsUser as string) && !LOOPBACK_ADDRESSES.check(address, isIPv4(address) ? "ipv4" : "ipv6")) {
        r.report("metricsUser", `is required when metricsAddress ${quote(address)} is not a loopback address: set metricsUser and metricsPassword (basic authentication), or publish on 127.0.0.1`);
    }
    return port === undefined ? undefined : { address, port, user };
}

/**
 * The renewal job's schedule when the stack sets none: twice a day, as certbot recommends, at a minute and
 * hour derived from the installation's identity (the host and the container), so that it is the same on every
 * `up` but differs between installations, and thousands of them do not all ask Let's Encrypt at once.
 */
export function defaultRenewSchedule(hostAddress: string, containerName: string): string {
    const hash = createHash("sha256").update(`edge-proxy renewal\0${hostAddress.toLowerCase()}\0${containerName}`).digest();
    const minute = hash.readUInt16BE(0) % 60;
    const hour = hash[2] % 12;
    return `${minute} ${hour},${hour + 12} * * *`;
}

function checkAcme(r: Reader, value: ValueOf, optionalString: OptionalString, host: HostSettings, containerName: string): AcmeSettings {
    const serverText = r.string("acmeServer", value("acmeServer"), (v) => {
        if (ACME_DIRECTORIES[v]) {
            return undefined;
        }
        return /^https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~\/-]*)?$/.test(v) ? undefined
            : "is neither staging, production nor an https:// directory URL";
    });
    const keyType = r.string("acmeKeyType", value("acmeKeyType"), (v) => (v === "ecdsa" || v === "rsa" ? undefined : "is neither ecdsa nor rsa"));
    const server = serverText ? ACME_DIRECTORIES[serverText] ?? serverText : "";
    return {
        email: value("acmeEmail") == null ? "" : r.string("acmeEmail", value("acmeEmail"), emailProblem) ?? "",
        server,
        // The directory itself, however it was spelled (the alias or its URL).
        staging: server === ACME_DIRECTORIES.staging,
        caBundle: optionalString("acmeCaBundle", absolutePathProblem, normalizeHostPath),
        certbotImage: r.string("certbotImage", value("certbotImage"), imageProblem) ?? "",
        challengePort: r.port("acmeChallengePort", value("acmeChallengePort")) ?? 0,
        challengeAddress: r.string("acmeChallengeAddress", value("acmeChallengeAddress"), (v) => (isIPv4(v) ? undefined : "is not an IPv4 address")) ?? "",
        dataDir: r.string("certbotDataDir", value("certbotDataDir"), absolutePathProblem, normalizeHostPath) ?? "",
        keyType: keyType === "rsa" ? "rsa" : "ecdsa",
        renewSchedule: optionalString("renewSchedule", cronProblem) ?? defaultRenewSchedule(host.address, containerName),
        preflight: r.boolean("acmePreflight", value("acmePreflight")) ?? true,
        preflightResolver: optionalString("acmePreflightResolver", resolverProblem),
        validationPort: r.port("acmeValidationPort", value("acmeValidationPort")) ?? 80,
        alertDaysBeforeExpiry: r.integer("alertDaysBeforeExpiry", value("alertDaysBeforeExpiry"), 1, 3650, "a number of days") ?? 14,
        metricsFile: optionalString("certificateMetricsFile", metricsFileProblem, normalizeHostPath),
    };
}

/** The keys that only the DNS provider reads. */
const DNS_KEYS = ["dnsCertbotImage", "dnsPropagationSeconds", "rfc2136Server", "rfc2136Port", "rfc2136KeyName", "rfc2136KeyAlgorithm", "rfc2136KeySecret"];

/**
 * DNS-01's provider: off unless dnsProvider is set; then its server, TSIG key (name, algorithm, secret) and
 * the certbot image that has its plugin.
 */
function checkDns(r: Reader, raw: RawConfig, value: ValueOf, optionalString: OptionalString, certbotImage: string, requireSecrets: boolean): DnsSettings | undefined {
    const providerName = optionalString("dnsProvider", (v) => (DNS_PROVIDERS[v] ? undefined : `is not a DNS provider edge-proxy knows (${Object.keys(DNS_PROVIDERS).join(", ")})`));
    if (providerName === undefined) {
        // The Pulumi CLI passes Pulumi.yaml's defaults as set values: only a value other than the default is a mistake.
        for (const key of DNS_KEYS.filter((k) => raw[k] !== undefined && raw[k] !== "" && raw[k] !== configKey(k)?.default)) {
            r.report(key, "has no effect: DNS-01 is off until dnsProvider is set");
        }
        return undefined;
    }
    const provider = DNS_PROVIDERS[providerName];
    const required = (key: string, check: (v: string) => string | undefined) => {
        if (raw[key] === undefined || raw[key] === "") {
            r.report(key, `is required with dnsProvider ${providerName}: ${configKey(key)?.description}`);
            return undefined;
        }
        return r.string(key, raw[key], check);
    };
    const server = required("rfc2136Server", (v) => (isIPv4(v) || isIPv6(v) ? undefined : "is not an IPv4 or IPv6 address"));
    const keyName = required("rfc2136KeyName", (v) => (/^[A-Za-z0-9]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*\.?$/.test(v) ? undefined : "is not a TSIG key name (a domain-style name such as edge-proxy.)"));
    const algorithm = r.string("rfc2136KeyAlgorithm", value("rfc2136KeyAlgorithm"), (v) => (TSIG_ALGORITHMS.includes(v.toUpperCase()) ? undefined : `is not one of ${TSIG_ALGORITHMS.join(", ")}`));
    if (requireSecrets && (raw.rfc2136KeySecret === undefined || raw.rfc2136KeySecret === "")) {
        r.report("rfc2136KeySecret", `is required with dnsProvider ${providerName}: pulumi config set --secret rfc2136KeySecret`);
    }
    const image = optionalString("dnsCertbotImage", imageProblem) ?? providerImage(provider, certbotImage);
    // Unset (the CLI passes Pulumi.yaml's "" default as a value): a set but bad image was reported as such.
    if (image === undefined && (raw.dnsCertbotImage === undefined || raw.dnsCertbotImage === "") && certbotImage) {
        r.report("dnsCertbotImage", `is required: certbotImage ${quote(certbotImage)} is not certbot/certbot:<tag>, so the ${provider.plugin} image cannot be derived from it`);
    }
    return {
        provider: providerName,
        image: image ?? "",
        propagationSeconds: r.integer("dnsPropagationSeconds", value("dnsPropagationSeconds"), 0, 3600, "a number of seconds") ?? 60,
        rfc2136: { server: server ?? "", port: r.port("rfc2136Port", value("rfc2136Port")) ?? 53, keyName: keyName ?? "", algorithm: algorithm?.toUpperCase() ?? "HMAC-SHA512" },
    };
}

function checkSites(r: Reader, raw: unknown, dnsProvider: boolean): Site[] {
    const sites: Site[] = [];
    if (raw == null) {
        return sites; // reported as a missing required key
    }
    const domainOwner = new Map<string, string>();
    const nameOwner = new Map<string, string>();
    (r.list("sites", raw, true) ?? []).forEach((item, i) => {
        const path = `sites[${i}]`;
        const entry = r.object(path, item, Object.keys(SITE_KEYS));
        if (!entry) {
            return;
        }
        const challenge = entry.challenge === undefined ? "http-01"
            : r.string(`${path}.challenge`, entry.challenge, (v) => (v === "http-01" || v === "dns-01" ? undefined : "is neither http-01 nor dns-01"));
        if (challenge === "dns-01" && !dnsProvider) {
            r.report(`${path}.challenge`, "dns-01 needs dnsProvider (and its keys) set");
        }
        const domains: string[] = [];
        (r.list(`${path}.domains`, entry.domains, true) ?? []).forEach((domainValue, j) => {
            const domainPath = `${path}.domains[${j}]`;
            const domain = r.string(domainPath, domainValue, (v) => hostnameProblem(v.toLowerCase(), { needsDot: true, wildcard: challenge === "dns-01" }))?.toLowerCase();
            if (domain === undefined) {
                return;
            }
            if (r.claim(domainOwner, domainPath, domain, (first) => `"${domain}" is already served by ${first}`)) {
                domains.push(domain);
            }
        });
        // The default name is the first domain; a wildcard's `*` is no part of a file or certificate name.
        const name = entry.name === undefined ? domains[0]?.replace(/^\*\./, "wildcard.") : r.string(`${path}.name`, entry.name, nameProblem);
        if (name !== undefined) {
            r.claim(nameOwner, `${path}.name`, name, (first) => `"${name}" is already the name of ${first}`);
        }
        const backends = r.backends(`${path}.backends`, entry.backends);
        let healthCheck: HealthCheck | undefined;
        if (entry.healthCheck !== undefined) {
            const check = r.object(`${path}.healthCheck`, entry.healthCheck, Object.keys(HEALTH_CHECK_KEYS));
            if (check) {
                const checkPath = r.string(`${path}.healthCheck.path`, check.path, healthCheckPathProblem);
                const interval = check.interval === undefined ? "2s" : r.string(`${path}.healthCheck.interval`, check.interval, durationProblem);
                if (checkPath !== undefined && interval !== undefined) {
                    healthCheck = { path: checkPath, interval };
                }
            }
        }
        const hsts = entry.hsts === undefined ? true : r.boolean(`${path}.hsts`, entry.hsts);
        const securityHeaders = entry.securityHeaders === undefined ? true : r.boolean(`${path}.securityHeaders`, entry.securityHeaders);
        if (name !== undefined && domains.length > 0) {
            sites.push({
                name, domains, challenge: challenge === "dns-01" ? "dns-01" : "http-01", backends, healthCheck, hsts: hsts ?? true, securityHeaders: securityHeaders ?? true,
            });
        }
    });
    return sites;
}

function checkTcpServices(r: Reader, raw: unknown): TcpService[] {
    const services: TcpService[] = [];
    const nameOwner = new Map<string, string>();
    (r.list("tcpServices", raw, false) ?? []).forEach((item, i) => {
        const path = `tcpServices[${i}]`;
        const entry = r.object(path, item, Object.keys(TCP_SERVICE_KEYS));
        if (!entry) {
            return;
        }
        const name = r.string(`${path}.name`, entry.name, nameProblem);
        if (name !== undefined) {
            r.claim(nameOwner, `${path}.name`, name, (first) => `"${name}" is already the name of ${first}`);
        }
        const port = r.port(`${path}.port`, entry.port);
        const backends = r.backends(`${path}.backends`, entry.backends);
        if (name !== undefined && port !== undefined) {
            services.push({ name, port, backends });
        }
    });
    return services;
}

/**
 * One listener per port. Every published host port, and the challenge port, must be distinct, and none may
 * be the port of the host's own sshd: they are published on the very host that `pulumi up` reaches over
 * SSH on sshPort, so the container would not start, or would take over the host's SSH. The metrics
 * listener and the TCP services listen inside the container on their own port, where 80 and 443 are the
 * HTTP(S) frontends: there two `bind`s on one port would share its connections.
 */
function checkPortCollisions(r: Reader, host: HostSettings, haproxy: HaproxySettings, acme: AcmeSettings, services: TcpService[]): void {
    const owner = new Map<number, string>([[host.sshPort, "sshPort (the host's own sshd: move it to another port and set sshPort to it)"]]);
    const claim = (path: string, port: number) => port && r.claim(owner, path, port, (first) => `port ${port} is already used by ${first}`);
    const insideContainer = (path: string, port: number) => {
        if (port === 80 || port === 443) {
            r.report(path, `port ${port} is the container's own HTTP(S) port`);
        }
    };
    claim("httpPort", haproxy.httpPort);
    claim("httpsPort", haproxy.httpsPort);
    claim("acmeChallengePort", acme.challengePort);
    if (haproxy.metrics) {
        insideContainer("metricsPort", haproxy.metrics.port);
        claim("metricsPort", haproxy.metrics.port);
    }
    services.forEach((service, i) => {
        const path = `tcpServices[${i}].port`;
        insideContainer(path, service.port);
        claim(path, service.port);
    });
}

/**
 * The host directories must not overlap: each has its own owner and mode (certbot's private keys in a 0700
 * directory), and the container mounts two of them read-only, so one inside another would expose or hide files.
 */
function checkDirectoriesApart(r: Reader, directories: [string, string][]): void {
    directories.forEach(([key, dir], i) => {
        for (const [earlierKey, earlier] of directories.slice(0, i)) {
            const relation = !dir || !earlier ? undefined
                : dir === earlier ? "is also"
                    : dir.startsWith(`${earlier}/`) ? "is inside"
                        : earlier.startsWith(`${dir}/`) ? "contains" : undefined;
            if (relation) {
                r.report(key, `${quote(dir)} ${relation} ${earlierKey} ${quote(earlier)} (configDir, certsDir and certbotDataDir must not overlap)`);
            }
        }
    });
}

/** Orders two versions. */
export function compareVersions(a: HaproxyVersion, b: HaproxyVersion): number {
    return a.major - b.major || a.minor - b.minor;
}
