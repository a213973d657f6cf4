/**
 * `npm run status` on one host: runs the probe over SSH as the stack's steps connect (the stack's user,
 * port, private key and pinned host key), then reads it against the configuration.
 */

import { issuerOf } from "../config/schema";
import type { EdgeProxyConfig } from "../config/types";
import { configForHost, followersOf } from "../fleet/roles";
import { metricsPasswordHash } from "../haproxy/passwordHash";
import { renderHaproxyConfig } from "../haproxy/render";
import { readTrustedHostKey } from "../hostKey";
import { configurationDigest, statusProbeScript } from "../hostScripts";
import { hostLogin, runOnHost } from "../hostSession";
import type { HostRole } from "../hostState";
import { buildReport, parseProbe, type StatusReport } from "./report";

/** The secrets the check needs besides the configuration. */
export interface StatusSecrets {
    /** The SSH private key of the stack (sshPrivateKey). */
    sshPrivateKey: string;
    /** The metrics password, when metricsUser is set: haproxy.cfg carries its hash, and so its digest. */
    metricsPassword?: string;
}

/** How long the probe may take (one SNI handshake per name, at most 10 s each, is the slow part). */
const PROBE_TIMEOUT_MS = 300_000;

/** The digest of the configuration the stack renders, as its delivery step names the release. */
export function expectedConfigurationDigest(config: EdgeProxyConfig, metricsPassword?: string): string {
    const hash = config.haproxy.metrics?.user && metricsPassword !== undefined ? metricsPasswordHash(config, metricsPassword) : undefined;
    return configurationDigest(renderHaproxyConfig(config, { metricsPasswordHash: hash }));
}

/** Where the key trusted on first use is (sshTrustOnFirstUse), for the stack program's component. */
export interface TrustedKeyPlace {
    /** The directory the stack's `up` keeps it in (`~/.edge-proxy` by default). */
    dir: string;
    /** `<project>/<stack>/<component name>`, as EdgeProxy names it. */
    owner: string;
}

/**
 * Runs the probe on the host over SSH as the stack's steps connect (hostSession.runOnHost: the key stays
 * in memory, no `ssh` process, nothing left behind if interrupted), accepting only the pinned host key:
 * sshHostKey, or the key `up` trusted on first use. With neither, nothing is sent.
 */
export async function probeHost(config: EdgeProxyConfig, privateKey: string, trusted?: TrustedKeyPlace): Promise<string> {
    const { host } = config;
    const hostKey = host.sshHostKey ?? (trusted && readTrustedHostKey(trusted.dir, trusted.owner));
    if (!hostKey) {
        throw new Error("the host's key is not pinned yet (sshTrustOnFirstUse pins it at the first pulumi preview or up): nothing was sent to the host");
    }
    return runOnHost(hostLogin(host, privateKey, hostKey), statusProbeScript(config), { timeoutMs: PROBE_TIMEOUT_MS });
}

/** The host's status against the configuration; `attention` is empty when all is well. */
export async function checkStatus(
    config: EdgeProxyConfig,
    secrets: StatusSecrets,
    now: () => Date = () => new Date(),
    trusted?: TrustedKeyPlace,
    role: HostRole = "issuer",
): Promise<StatusReport> {
    const expected = expectedConfigurationDigest(config, secrets.metricsPassword);
    const probe = parseProbe(await probeHost(config, secrets.sshPrivateKey, trusted));
    return buildReport(config, expected, probe, now(), role);
}

/** A fleet's status: each host's, and what differs between them. */
export interface FleetStatusReport {
    /** The issuer's name. */
    issuer: string;
    /** Each host's report, by host name; a host that could not be checked has none (see attention). */
    hosts: Record<string, StatusReport>;
    /** Everything that needs the operator: each host's items (led by its name), and the differences between hosts. */
    attention: string[];
}

/**
 * What differs between the fleet's hosts: a name served different certificates (a host missed a
 * distribution). A host whose configuration is not the stack's (a rolled-out change that stopped half-way)
 * is in its own report: each host's haproxy.cfg may differ in the metrics password's salt.
 */
export function fleetDifferences(reports: Record<string, StatusReport>): string[] {
    const differences: string[] = [];
    const hosts = Object.keys(reports);
    const first = reports[hosts[0]];
    for (const [i, site] of (first?.sites ?? []).entries()) {
        for (const [j, name] of site.names.entries()) {
            const serials = hosts.map((host) => `${host}: ${reports[host].sites[i]?.names[j]?.serial ?? "none"}`);
            if (new Set(hosts.map((host) => reports[host].sites[i]?.names[j]?.serial)).size > 1) {
                differences.push(`site ${site.name}: hosts serve ${name.name} different certificates (${serials.join(", ")})`);
            }
        }
    }
    return differences;
}

/** Checks every host of a fleet, the issuer first, as the stack's steps connect to each. */
export async function checkFleetStatus(config: EdgeProxyConfig, secrets: StatusSecrets, now: () => Date = () => new Date()): Promise<FleetStatusReport> {
    const fleet = config.fleet!;
    const issuer = issuerOf(fleet);
    const hosts: Record<string, StatusReport> = {};
    const attention: string[] = [];
    for (const host of [issuer, ...followersOf(fleet)]) {
        try {
            hosts[host.name] = await checkStatus(configForHost(config, host), secrets, now, undefined, host === issuer ? "issuer" : "receiver");
            attention.push(...hosts[host.name].attention.map((item) => `host ${host.name}: ${item}`));
        } catch (error) {
            attention.push(`host ${host.name} could not be checked: ${(error as Error).message}`);
        }
    }
    return { issuer: issuer.name, hosts, attention: [...attention, ...fleetDifferences(hosts)] };
}
