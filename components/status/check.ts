/**
 * `npm run status` on one host: runs the probe over SSH as the stack's steps connect (the stack's user,
 * port, private key and pinned host key), then reads it against the configuration.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EdgeProxyConfig } from "../config/types";
import { pinnedHostKeySshOptions } from "../dockerHost";
import { metricsPasswordHash } from "../haproxy/passwordHash";
import { renderHaproxyConfig } from "../haproxy/render";
import { configurationDigest, statusProbeScript } from "../hostScripts";
import { StatusReport, buildReport, parseProbe } from "./report";

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

/**
 * Runs the probe on the host over `ssh` with the stack's key (in a file only this user reads, removed
 * afterwards). With sshHostKey set only that key is accepted; without, the operator's known_hosts decides,
 * learning a host it has never seen (as ssh's accept-new does).
 */
export async function probeHost(config: EdgeProxyConfig, privateKey: string): Promise<string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-status-"));
    try {
        const keyFile = path.join(dir, "id");
        fs.writeFileSync(keyFile, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`, { mode: 0o600 });
        const { host } = config;
        const hostKeyOptions = host.sshHostKey ? pinnedHostKeySshOptions(host.sshHostKey, dir) : ["-o", "StrictHostKeyChecking=accept-new"];
        const args = ["-i", keyFile, "-p", String(host.sshPort), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=15",
            ...hostKeyOptions, `${host.sshUser}@${host.address}`, "sh -s"];
        return await new Promise<string>((resolve, reject) => {
            const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            const timer = setTimeout(() => child.kill("SIGTERM"), PROBE_TIMEOUT_MS);
            child.stdout.on("data", (chunk) => (stdout += chunk));
            child.stderr.on("data", (chunk) => (stderr += chunk));
            child.on("error", (error) => {
                clearTimeout(timer);
                reject(new Error(`cannot run ssh: ${error.message}`));
            });
            child.on("close", (code, signal) => {
                clearTimeout(timer);
                if (code === 0) {
                    resolve(stdout);
                } else {
                    const why = signal ? `no answer within ${PROBE_TIMEOUT_MS / 1000} s` : stderr.trim().split("\n").slice(-3).join(" / ") || `exit status ${code}`;
                    reject(new Error(`cannot check ${host.sshUser}@${host.address}:${host.sshPort}: ${why}`));
                }
            });
            child.stdin.end(statusProbeScript(config));
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The host's status against the configuration; `attention` is empty when all is well. */
export async function checkStatus(config: EdgeProxyConfig, secrets: StatusSecrets, now: () => Date = () => new Date()): Promise<StatusReport> {
    const expected = expectedConfigurationDigest(config, secrets.metricsPassword);
    const probe = parseProbe(await probeHost(config, secrets.sshPrivateKey));
    return buildReport(config, expected, probe, now());
}
