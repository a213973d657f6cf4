/**
 * The Docker engine the end-to-end test runs containers on.
 *
 * Debian's docker.io (engine 20.10, API 1.41) is installed, but where services
 * are not started (containers, CI machines) nothing runs it, so we start
 * `dockerd` ourselves when no engine answers. An engine that already answers belongs to someone
 * else (another test run, a developer): we reuse it and never stop it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "./command";
import { type ManagedProcess, startProcess, waitFor } from "./process";

/** The newest API Debian's engine speaks; client 28 must be told to speak it. */
export const DOCKER_API_VERSION = "1.41";

/** A usable Docker engine. */
export interface Dockerd {
    /** True if this harness started dockerd (and so stop() stops it). */
    readonly owned: boolean;
    /** The dockerd process we started, if any. */
    readonly process?: ManagedProcess;
    /** Stops dockerd if we started it; does nothing for a reused engine. */
    stop(): Promise<void>;
}

/** Options for {@link ensureDockerd}. */
export interface DockerdOptions {
    /** Where our dockerd's pidfile and log go (default /var/tmp/edge-proxy-e2e/dockerd). */
    workDir?: string;
    /** How long to wait for a started dockerd to answer (default 60 s). */
    timeoutMs?: number;
}

/**
 * Returns a running Docker engine: the one that already answers `docker info`,
 * or a dockerd started here in the background. Also pins DOCKER_API_VERSION
 * in this process's environment, so every docker client we spawn later (and
 * the code under test) talks API 1.41 to Debian's engine.
 */
export async function ensureDockerd(opts: DockerdOptions = {}): Promise<Dockerd> {
    process.env.DOCKER_API_VERSION ??= DOCKER_API_VERSION;
    if (await dockerAnswers()) {
        return { owned: false, stop: async () => undefined };
    }
    const workDir = opts.workDir ?? "/var/tmp/edge-proxy-e2e/dockerd";
    fs.mkdirSync(workDir, { recursive: true });
    // dockerd refuses to start while its pidfile names a live process; a stale
    // one from a killed run only names a dead PID, which dockerd overwrites.
    const proc = await startProcess(
        "/usr/sbin/dockerd",
        ["--pidfile", path.join(workDir, "dockerd.pid")],
        // Stopping dockerd also stops its containers (10 s each by default):
        // give it longer than a plain service before SIGKILL.
        { name: "dockerd", logFile: path.join(workDir, "dockerd.log"), stopTimeoutMs: 60_000 },
    );
    await waitFor(() => dockerAnswers(), {
        timeoutMs: opts.timeoutMs ?? 60_000,
        what: "dockerd to answer `docker info`",
        intervalMs: 500,
        process: proc,
    });
    return { owned: true, process: proc, stop: () => proc.stop() };
}

/** True if `docker info` succeeds against the default socket. */
async function dockerAnswers(): Promise<boolean> {
    const result = await run("docker", ["info", "--format", "{{.ServerVersion}}"], {
        allowFailure: true,
        timeoutMs: 20_000,
    });
    return result.code === 0 && result.stdout.trim() !== "";
}

/**
 * The host's address on the default docker bridge (172.17.0.1 unless
 * configured otherwise): containers reach services on the host there. Read
 * from the interface because a fresh daemon's `docker network inspect bridge`
 * may show no gateway.
 */
export async function bridgeAddress(): Promise<string> {
    const { stdout } = await run("ip", ["-4", "-o", "addr", "show", "docker0"]);
    const match = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(stdout);
    if (!match) throw new Error(`docker0 has no IPv4 address (is dockerd running?): ${stdout.trim()}`);
    return match[1];
}
