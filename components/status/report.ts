/**
 * `npm run status`'s report: what the host's probe (templates/host/status.sh.hbs) printed, read against
 * the stack's configuration. Pure, so that every rule of "needs attention" is tested without a host.
 */

import { type CertificateReport, parseCertificateLine } from "../certificates";
import { cronLongestGapMinutes } from "../config/checks";
import type { EdgeProxyConfig } from "../config/types";
import { RENEW_DELAY_SECONDS } from "../hostScripts";
import type { HostRole } from "../hostState";
import { formatLifetime, lifetimeAttention } from "./lifetime";
import { type CertificateStatus, type FleetHostStatus, parseStatusFile, type StatusFile } from "./statusFile";

/** What the probe printed, parsed. */
export interface Probe {
    /** The container as Docker reports it; undefined when there is none of that name. */
    container?: { state: string; restarts: number; startedAt: string; image: string };
    /** The first line of `haproxy -v` in the container ("" when it could not run). */
    haproxyVersion?: string;
    /** The live release's name and the digest of its files' contents; undefined when none is installed. */
    configuration?: { release: string; content: string };
    /** Each name's certificate as served (undefined: no TLS handshake), with the names it covers. */
    served: { site: string; name: string; certificate?: CertificateReport & { names: string[]; notBefore?: string } }[];
    /**
     * The renewal job: what differs from what `up` installed ("" when nothing), when it last ran and when it
     * was installed (ISO 8601, "" when unknown); undefined from a host that did not say.
     */
    renewalJob?: { drift: string; lastRun: string; installedAt: string };
    /** status.json, or why it could not be read; both undefined when there is none. */
    status?: StatusFile;
    statusError?: string;
}

/** Reads the probe's output: tab-separated records, then status.json after a line of its own. */
export function parseProbe(stdout: string): Probe {
    const probe: Probe = { served: [] };
    const marker = stdout.indexOf("\nstatus.json\n");
    const records = marker < 0 ? stdout : stdout.slice(0, marker + 1);
    if (marker >= 0) {
        try {
            probe.status = parseStatusFile(stdout.slice(marker + "\nstatus.json\n".length));
        } catch (error) {
            probe.statusError = (error as Error).message;
        }
    }
    for (const line of records.split("\n").filter((l) => l !== "")) {
        const [kind, ...fields] = line.split("\t");
        if (kind === "container" && fields[0] !== "missing") {
            probe.container = { state: fields[0], restarts: Number(fields[1]), startedAt: fields[2], image: fields[3] };
        } else if (kind === "haproxy") {
            probe.haproxyVersion = fields[0] ?? "";
        } else if (kind === "configuration" && fields[0] !== "none") {
            probe.configuration = { release: fields[0], content: fields[1] ?? "" };
        } else if (kind === "renewal-job") {
            probe.renewalJob = { drift: fields[0] ?? "", lastRun: fields[1] ?? "", installedAt: fields[2] ?? "" };
        } else if (kind === "served") {
            const [site, name, line, sans, notBefore] = fields;
            const report = line === "none" ? undefined : parseCertificateLine(line);
            probe.served.push({
                site,
                name,
                certificate: report && {
                    ...report,
                    names: (sans ?? "").split(",").filter((name) => name !== ""),
                    ...(notBefore ? { notBefore } : {}),
                },
            });
        }
    }
    return probe;
}

/** One name's line of the report. */
export interface NameReport {
    name: string;
    /** Served certificate's serial, issuer, notAfter; undefined when no handshake succeeded. */
    serial?: string;
    issuer?: string;
    notBefore?: string;
    notAfter?: string;
    daysLeft?: number;
    /** Whether the served certificate is the placeholder. */
    placeholder: boolean;
    /** Whether it comes from Let's Encrypt's staging environment. */
    staging: boolean;
}

/** One site's part of the report. */
export interface SiteReport {
    name: string;
    names: NameReport[];
    /** The last certbot run for its certificate, from status.json. */
    renewal?: Pick<CertificateStatus, "lastAttempt" | "result" | "failures" | "lastSuccess" | "error" | "nextRenewal" | "nextRenewalSource" | "retryAt">;
}

/** The whole report (`--json` prints it). */
export interface StatusReport {
    /** `issuer`: the host runs certbot and the renewal job (every one-host stack's); `receiver`: a fleet's other host. */
    role: HostRole;
    container: { name: string; state: string; image?: string; haproxyVersion?: string; startedAt?: string; uptimeSeconds?: number; restarts?: number };
    configuration: { expected: string; live?: string; liveContent?: string; current: boolean };
    /** The renewal job: whether it is as `up` installed it, when it last ran, whether that is too long ago. */
    renewalJob: { installed: boolean; drift?: string; lastRun?: string; overdue: boolean };
    sites: SiteReport[];
    /** On a fleet's issuer: the other hosts as its last distribution of the certificates left them. */
    hosts?: FleetHostStatus[];
    /** Each thing that needs the operator, one sentence each; empty when all is well. */
    attention: string[];
}

const DAY_MS = 86_400_000;

/** The issuer of Let's Encrypt's staging certificates says so ("(STAGING) ..."); Pebble's and production's do not. */
function isStagingIssuer(issuer: string): boolean {
    return /\(STAGING\)/.test(issuer);
}

/**
 * The report, and everything that needs attention: the container not running; the live configuration not
 * the stack's; a name served no certificate, the placeholder, a certificate that does not cover it, a
 * staging certificate where the stack asks production's, or one with little of its lifetime left (lifetime.ts); a
 * site whose last certbot run failed; no status.json.
 */
export function buildReport(config: EdgeProxyConfig, expectedDigest: string, probe: Probe, now: Date, role: HostRole = "issuer"): StatusReport {
    const attention: string[] = [];
    const name = config.haproxy.containerName;
    const container: StatusReport["container"] = { name, state: probe.container?.state ?? "missing" };
    if (probe.container) {
        const started = Date.parse(probe.container.startedAt);
        Object.assign(container, {
            image: probe.container.image,
            haproxyVersion: probe.haproxyVersion,
            startedAt: probe.container.startedAt,
            uptimeSeconds:
                probe.container.state === "running" && !Number.isNaN(started) ? Math.max(0, Math.floor((now.getTime() - started) / 1000)) : undefined,
            restarts: probe.container.restarts,
        });
    }
    if (container.state !== "running") {
        attention.push(`container ${name} is ${container.state === "missing" ? "missing" : container.state}: run pulumi up`);
    }
    const live = probe.configuration;
    const current = live !== undefined && live.release === expectedDigest && live.content === expectedDigest;
    if (!live) {
        attention.push("no configuration is installed: run pulumi up");
    } else if (live.release !== expectedDigest) {
        attention.push(`the live configuration ${live.release} is not the stack's ${expectedDigest}: run pulumi up (or pulumi preview --diff to see why)`);
    } else if (live.content !== expectedDigest) {
        attention.push(`the live configuration files differ from release ${live.release} (edited on the host?): run pulumi up to restore them`);
    }
    // A fleet's other hosts run no certbot and no renewal job: the issuer's report covers them.
    const isIssuer = role === "issuer";
    const renewalJob = isIssuer ? renewalJobReport(config, probe.renewalJob, now) : { installed: false, overdue: false };
    if (isIssuer && renewalJob.drift) {
        attention.push(`the renewal job is not as pulumi up installed it (${renewalJob.drift}): run pulumi up to reinstall it`);
    } else if (isIssuer && renewalJob.overdue) {
        attention.push(
            `the renewal job has not run since ${renewalJob.lastRun}, though its schedule "${config.acme.renewSchedule}" runs it more often (is cron running?)`,
        );
    }
    if (isIssuer && probe.statusError) {
        attention.push(probe.statusError);
    } else if (isIssuer && !probe.status) {
        attention.push("the host has no status.json yet (written by the certificate steps and the renewal job of this edge-proxy version): run pulumi up");
    }
    const sites = config.sites.map((site): SiteReport => {
        const names = site.domains.map((domain): NameReport => {
            const certificate = probe.served.find((s) => s.site === site.name && s.name === domain)?.certificate;
            if (!certificate?.serial) {
                attention.push(`site ${site.name}: ${domain} is served no certificate (no TLS handshake with that name)`);
                return { name: domain, placeholder: false, staging: false };
            }
            const issuer = certificate.issuer ?? "";
            const placeholder = issuer.startsWith("CN=edge-proxy placeholder for ");
            const notAfter = certificate.notAfter ? Date.parse(certificate.notAfter) : Number.NaN;
            const notBefore = certificate.notBefore ? Date.parse(certificate.notBefore) : Number.NaN;
            const daysLeft = Number.isNaN(notAfter) ? undefined : Math.floor((notAfter - now.getTime()) / DAY_MS);
            const staging = isStagingIssuer(issuer);
            if (placeholder) {
                attention.push(`site ${site.name}: ${domain} is served the self-signed placeholder (no certificate issued yet)`);
            } else if (!certificate.names.includes(domain)) {
                attention.push(`site ${site.name}: ${domain} is served a certificate for ${certificate.names.join(", ") || "no name"}`);
            }
            const lifetime =
                placeholder || Number.isNaN(notAfter)
                    ? undefined
                    : lifetimeAttention(Number.isNaN(notBefore) ? undefined : notBefore, notAfter, now.getTime(), {
                          lifetimeFraction: config.acme.alertLifetimeFraction,
                          daysBeforeExpiry: config.acme.alertDaysBeforeExpiry || undefined,
                      });
            if (lifetime) {
                attention.push(`site ${site.name}: ${domain}'s certificate ${lifetime} (${certificate.notAfter})`);
            }
            if (staging && !config.acme.staging) {
                attention.push(`site ${site.name}: ${domain} is served a Let's Encrypt staging certificate, which browsers do not trust`);
            }
            return {
                name: domain,
                serial: certificate.serial,
                issuer,
                notBefore: certificate.notBefore,
                notAfter: certificate.notAfter,
                daysLeft,
                placeholder,
                staging,
            };
        });
        const recorded = isIssuer ? probe.status?.certificates.find((c) => c.name === site.name) : undefined;
        if (recorded?.result === "failed") {
            attention.push(`site ${site.name}: the last certbot run failed (${recorded.failures} in a row, at ${recorded.lastAttempt}): ${recorded.error}`);
        }
        return {
            name: site.name,
            names,
            renewal: recorded && {
                lastAttempt: recorded.lastAttempt,
                result: recorded.result,
                failures: recorded.failures,
                lastSuccess: recorded.lastSuccess,
                error: recorded.error,
                nextRenewal: recorded.nextRenewal,
                nextRenewalSource: recorded.nextRenewalSource,
                retryAt: recorded.retryAt,
            },
        };
    });
    for (const host of isIssuer ? (probe.status?.hosts ?? []) : []) {
        if (host.behind) {
            attention.push(
                `host ${host.name} missed the distribution of the certificates at ${host.at}: it may serve older ones until the next renewal run or pulumi up`,
            );
        }
        if (host.ticketKeys?.behind) {
            const { state, at } = host.ticketKeys;
            const what = state === "none" ? "was never sent the TLS session ticket keys" : `did not take the TLS session ticket keys at ${at}`;
            attention.push(
                `host ${host.name} ${what}: sessions begun on other hosts do not resume there until it takes them (the next renewal run sends them again)`,
            );
        }
    }
    return {
        role,
        container,
        configuration: { expected: expectedDigest, live: live?.release, liveContent: live?.content, current },
        renewalJob,
        sites,
        ...(isIssuer && probe.status?.hosts ? { hosts: probe.status.hosts } : {}),
        attention,
    };
}

/**
 * The renewal job's part of the report. Overdue: neither a run nor its installation within twice the
 * longest gap of its schedule, plus cron's random delay.
 */
function renewalJobReport(config: EdgeProxyConfig, job: Probe["renewalJob"], now: Date): StatusReport["renewalJob"] {
    if (!job) {
        return { installed: false, overdue: false };
    }
    const last = [job.lastRun, job.installedAt].map((time) => Date.parse(time)).filter((time) => !Number.isNaN(time));
    const allowedMs = 2 * cronLongestGapMinutes(config.acme.renewSchedule) * 60_000 + RENEW_DELAY_SECONDS * 1000;
    return {
        installed: job.drift === "",
        drift: job.drift || undefined,
        lastRun: job.lastRun || undefined,
        overdue: last.length > 0 && now.getTime() - Math.max(...last) > allowedMs,
    };
}

/** The report as an operator reads it in a terminal. */
export function formatReport(report: StatusReport): string {
    const lines: string[] = [];
    const { container } = report;
    const uptime = container.uptimeSeconds === undefined ? "" : `, up ${formatDuration(container.uptimeSeconds)}`;
    lines.push(
        `container ${container.name}: ${container.state}${container.image ? `, ${container.image}` : ""}` +
            `${container.haproxyVersion ? ` (${container.haproxyVersion})` : ""}${uptime}${container.restarts === undefined ? "" : `, ${container.restarts} restarts`}`,
    );
    const { configuration } = report;
    lines.push(`configuration: ${configuration.live ?? "none"}${configuration.current ? " (the stack's)" : `, the stack's is ${configuration.expected}`}`);
    const job = report.renewalJob;
    lines.push(
        report.role === "receiver"
            ? "renewal job: none here (the fleet's issuer renews, and sends the certificates)"
            : `renewal job: ${job.installed ? "installed" : `not as installed (${job.drift ?? "unknown"})`}, last run ${job.lastRun ?? "never"}${job.overdue ? " (overdue)" : ""}`,
    );
    for (const site of report.sites) {
        lines.push(`site ${site.name}`);
        for (const name of site.names) {
            lines.push(
                name.serial === undefined
                    ? `  ${name.name}: no certificate served`
                    : `  ${name.name}: serial ${name.serial}, ${name.placeholder ? "placeholder" : `issuer ${name.issuer}`}, expires ${name.notAfter} (${name.daysLeft} days${lifetimeOf(name)})${name.staging ? ", staging" : ""}`,
            );
        }
        const renewal = site.renewal;
        if (report.role === "receiver") {
            continue;
        }
        lines.push(
            renewal?.result
                ? `  last certbot run: ${renewal.result} at ${renewal.lastAttempt}${renewal.failures ? ` (${renewal.failures} failures in a row${renewal.retryAt ? `, next try ${renewal.retryAt}` : ""})` : ""}`
                : "  last certbot run: none recorded",
        );
        if (renewal?.nextRenewal) {
            lines.push(`  next renewal: ${renewal.nextRenewal} (${renewal.nextRenewalSource === "ari" ? "the CA's renewal window" : "by its lifetime"})`);
        }
    }
    for (const host of report.hosts ?? []) {
        lines.push(`host ${host.name}: ${host.behind ? "behind" : "took every certificate"} (last distribution ${host.state} at ${host.at})`);
        if (host.ticketKeys) {
            const { behind, state, at } = host.ticketKeys;
            lines.push(
                `  TLS session ticket keys: ${state === "none" ? "never sent" : `${behind ? "not the issuer's" : "the issuer's"} (last sent: ${state} at ${at})`}`,
            );
        }
    }
    lines.push(report.attention.length === 0 ? "all well" : `needs attention:\n${report.attention.map((item) => `  - ${item}`).join("\n")}`);
    return `${lines.join("\n")}\n`;
}

/** A fleet's report: each host's, the issuer first, then what needs attention across them. */
export function formatFleetReport(report: { issuer: string; hosts: Record<string, StatusReport>; attention: string[] }): string {
    const hosts = Object.entries(report.hosts).map(([name, host]) => {
        const own = formatReport({ ...host, attention: [] })
            .trimEnd()
            .split("\n")
            .slice(0, -1);
        return [`host ${name}${name === report.issuer ? " (issuer)" : ""}`, ...own.map((line) => `  ${line}`)].join("\n");
    });
    const summary = report.attention.length === 0 ? "all well" : `needs attention:\n${report.attention.map((item) => `  - ${item}`).join("\n")}`;
    return `${[...hosts, summary].join("\n")}\n`;
}

/** ", of a N-day lifetime" for a name whose certificate's start is known. */
function lifetimeOf(name: NameReport): string {
    const from = name.notBefore ? Date.parse(name.notBefore) : Number.NaN;
    const to = name.notAfter ? Date.parse(name.notAfter) : Number.NaN;
    return Number.isNaN(from) || Number.isNaN(to) ? "" : ` of a ${formatLifetime(to - from)} lifetime`;
}

function formatDuration(seconds: number): string {
    const days = Math.floor(seconds / 86_400);
    const hours = Math.floor((seconds % 86_400) / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    return days > 0 ? `${days}d ${hours}h` : hours > 0 ? `${hours}h ${minutes}m` : `${minutes}m`;
}
