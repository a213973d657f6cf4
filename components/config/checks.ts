/**
 * Pure checks of single configuration values, each returning what is wrong (a phrase that follows the
 * quoted value) or undefined, and the markers that stand for values the validator must not read. The
 * schema (schema.ts) applies them to its leaves; nothing here knows the configuration's shape.
 */
import { createHash } from "node:crypto";
import { BlockList, isIPv4, isIPv6 } from "node:net";
import { posix } from "node:path";

/** A HAProxy version as major.minor, which decides what the rendered configuration may use. */
export interface HaproxyVersion {
    /** Major version, e.g. 2. */
    major: number;
    /** Minor version, e.g. 6. */
    minor: number;
}

/** A backend server address. */
export interface ServerAddress {
    /** IPv4 address, bracketed IPv6 address, or DNS name. */
    host: string;
    /** TCP port. */
    port: number;
}

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
    constructor(
        readonly length: number,
        readonly limit: number,
    ) {}
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
    const match = /^(\[[^\]]*\]|[^:[\]]+):(\d{1,5})$/.exec(value);
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
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/lost+found",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/var",
    "/etc/cron.d",
    "/etc/default",
    "/etc/docker",
    "/etc/ssh",
    "/etc/ssl",
    "/etc/systemd",
    "/usr/bin",
    "/usr/include",
    "/usr/lib",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local",
    "/usr/sbin",
    "/usr/share",
    "/usr/src",
    "/usr/local/bin",
    "/usr/local/etc",
    "/usr/local/lib",
    "/usr/local/sbin",
    "/usr/local/share",
    "/var/backups",
    "/var/cache",
    "/var/lib",
    "/var/lib/docker",
    "/var/local",
    "/var/lock",
    "/var/log",
    "/var/mail",
    "/var/opt",
    "/var/run",
    "/var/spool",
    "/var/tmp",
    "/var/www",
]);

/** A host path as the host resolves it: `//` collapsed, `.` segments and a trailing `/` dropped. */
export function normalizeHostPath(value: string): string {
    const normalized = posix.normalize(value);
    return normalized.length > 1 && normalized.endsWith("/") ? normalized.slice(0, -1) : normalized;
}

/** An absolute host path of plain characters (it becomes a bind mount and a shell word), not a system directory. */
export function absolutePathProblem(value: string): string | undefined {
    if (!/^\/[A-Za-z0-9._/-]*$/.test(value)) {
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
    return /\/[A-Za-z0-9._-]+\.prom$/.test(normalizeHostPath(value))
        ? undefined
        : "is not the path of a file named *.prom (node_exporter's textfile collector reads only those)";
}

/** A DNS server as the pre-flight asks it: an IPv4 address, optionally with a port. */
export function resolverProblem(value: string): string | undefined {
    const [address, port, ...rest] = value.split(":");
    const portOk = port === undefined || (/^[1-9]\d{0,4}$/.test(port) && Number(port) <= 65535);
    return isIPv4(address) && portOk && rest.length === 0 ? undefined : "is not an IPv4 address with an optional port, such as 192.0.2.53 or 127.0.0.1:5353";
}

/** The path of an HTTP health check: one haproxy.cfg word of URL path characters (no query, no escapes). */
export function healthCheckPathProblem(value: string): string | undefined {
    return /^\/[A-Za-z0-9._~/-]*$/.test(value) ? undefined : "is not an absolute path of letters, digits and ._~/-";
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
    if (fields.length !== CRON_FIELDS.length || fields.some((field) => !/^[0-9*/,-]+$/.test(field))) {
        return 'is not a five-field cron schedule such as "17 3 * * *" (one space between fields)';
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

/** The longest part of a value a problem echoes: a value can be megabytes long. */
const ECHO_LIMIT = 80;

/** An object's key appended to its path: a plain word as it is, anything else as a (capped) JSON string. */
export function keyPath(parent: string, key: string): string {
    const word = /^[A-Za-z0-9_-]{1,64}$/.test(key) ? key : quote(key);
    return parent ? `${parent}.${word}` : word;
}

/** Text cut to ECHO_LIMIT characters, saying how long it was. */
function capped(text: string): string {
    return text.length > ECHO_LIMIT ? `${text.slice(0, ECHO_LIMIT)}… (${text.length} characters)` : text;
}

/** A string value as a problem echoes it: JSON-quoted, at most ECHO_LIMIT characters of it. */
export function quote(value: string): string {
    return value.length > ECHO_LIMIT ? `${JSON.stringify(value.slice(0, ECHO_LIMIT))}… (${value.length} characters)` : JSON.stringify(value);
}

/** A value as a type problem names it ("got ..."): never a secret's value, at most ECHO_LIMIT characters of any other. */
export function describe(value: unknown): string {
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
/** A site's or TCP service's name: it becomes part of HAProxy section names, file names and certbot's --cert-name. */
export const nameProblem = (value: string) => (NAME.test(value) && !value.includes("..") ? undefined : NAME_PROBLEM);

const EMAIL = /^[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$/;
/** An email address that certbot takes as the value of --email (one starting with '-' would be an option). */
export const emailProblem = (value: string) =>
    value.startsWith("-") ? "starts with '-': certbot would read it as an option" : EMAIL.test(value) ? undefined : "is not an email address";
const SSH_PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( \S*)?$/;
/** A public key line as ssh-keyscan prints it after the host (surrounding blanks are dropped). */
export const hostKeyProblem = (value: string) => (SSH_PUBLIC_KEY.test(value.trim()) ? undefined : 'is not a public key line such as "ssh-ed25519 AAAA..."');

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

/** Whether an address is a loopback address. */
export function isLoopbackAddress(address: string): boolean {
    return LOOPBACK_ADDRESSES.check(address, isIPv4(address) ? "ipv4" : "ipv6");
}

/** Hours between two runs of the default renewal schedule. */
export const RENEW_INTERVAL_HOURS = 3;

/**
 * The renewal job's schedule when the stack sets none: every three hours, often enough for certificates
 * of six days (certbot renews them with half their lifetime left, or when the CA's renewal information
 * says) while a run with nothing due costs the CA no order; at a minute and hours derived from the
 * installation's identity (the host and the container), so that it is the same on every `up` but differs
 * between installations, and thousands of them do not all ask the CA at once.
 */
export function defaultRenewSchedule(hostAddress: string, containerName: string): string {
    const hash = createHash("sha256").update(`edge-proxy renewal\0${hostAddress.toLowerCase()}\0${containerName}`).digest();
    const minute = hash.readUInt16BE(0) % 60;
    const first = hash[2] % RENEW_INTERVAL_HOURS;
    const hours = Array.from({ length: 24 / RENEW_INTERVAL_HOURS }, (_, i) => first + i * RENEW_INTERVAL_HOURS);
    return `${minute} ${hours.join(",")} * * *`;
}

/**
 * The part of its lifetime a certificate may have left before it needs attention when the stack sets
 * none: a sixth, half of the third certbot renews at, so that a renewal that failed for a while alerts
 * well before expiry (about 15 days of a 90-day certificate, one day of a 6-day one).
 */
export const ALERT_LIFETIME_FRACTION = "1/6";

/** A part of a whole written as a fraction (`1/6`) or a decimal (`0.2`), as a number; NaN when it is neither. */
export function parseFraction(value: string): number {
    const ratio = /^(\d{1,6})\/(\d{1,6})$/.exec(value);
    if (ratio) {
        return Number(ratio[1]) / Number(ratio[2]);
    }
    return /^0?\.\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
}

/** A part of a certificate's lifetime: above 0 and below 1. */
export const fractionProblem = (value: string) => {
    const fraction = parseFraction(value);
    return fraction > 0 && fraction < 1 ? undefined : "is not a part of the lifetime above 0 and below 1, written as 1/6 or 0.2";
};

const ACME_PROFILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** An ACME profile name (the ACME profiles extension's newOrder "profile", as Let's Encrypt names them): it reaches certbot's --required-profile. */
export const acmeProfileProblem = (value: string) =>
    ACME_PROFILE.test(value) ? undefined : "is not an ACME profile name (letters, digits, '.', '_' and '-', at most 64, such as shortlived)";

const EAB_KID = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,255}$/;
/** An external account binding's key identifier, as the CAs hand them out (it reaches certbot's configuration file). */
export const eabKidProblem = (value: string) => (EAB_KID.test(value) ? undefined : "is not an EAB key identifier (letters, digits, '.', '_', '~' and '-')");

/** An external account binding's HMAC key: base64url (RFC 4648 §5), as ZeroSSL and Google Trust Services give it. */
export const eabHmacKeyProblem = (value: string) =>
    /^[A-Za-z0-9_-]{16,512}={0,2}$/.test(value) ? undefined : "acmeEabHmacKey: the secret is not a base64url HMAC key (as the CA's EAB credentials give it)";

/** Orders two versions. */
export function compareVersions(a: HaproxyVersion, b: HaproxyVersion): number {
    return a.major - b.major || a.minor - b.minor;
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
export const UNKNOWN_KEYS_LISTED = 20;

/** "unknown key" with the closest known key as a suggestion when one is close. */
export function unknownKeyProblem(key: string, known: readonly string[]): string {
    if (key.length > SUGGEST_MAX_KEY_LENGTH) {
        return "unknown key";
    }
    const best = known.map((candidate) => ({ candidate, distance: editDistance(key, candidate) })).sort((x, y) => x.distance - y.distance)[0];
    const hint = best && best.distance <= Math.max(2, Math.floor(key.length / 4)) ? ` (did you mean "${best.candidate}"?)` : "";
    return `unknown key${hint}`;
}
