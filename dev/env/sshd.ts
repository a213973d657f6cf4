/**
 * A throwaway OpenSSH server with its own keys.
 *
 * Used as the "Debian Docker host" the stack's remote commands log in to,
 * and as a plain SSH backend behind HAProxy's TCP frontend. It runs Debian's
 * /usr/sbin/sshd with a config of our own (port, address, keys, pidfile), so
 * it never touches the machine's sshd setup.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "./command";
import { accepts } from "./net";
import { type ManagedProcess, startProcess, waitFor } from "./process";

/** Options for {@link startSshd}. */
export interface SshdOptions {
    /** Work directory; keys go into a private subdirectory of it. */
    dir: string;
    /** TCP port to listen on. */
    port: number;
    /** Address to listen on (default 127.0.0.1). */
    listen?: string;
    /** How long to wait for the port to accept (default 15 s). */
    timeoutMs?: number;
    /**
     * An existing client private key (OpenSSH, with its `.pub` beside it) to authorize instead of generating
     * one: several hosts that one key logs in to.
     */
    clientKeyFile?: string;
    /**
     * Where the client's public key is written (`file`, created with its directory) and the
     * `AuthorizedKeysFile` sshd is told (`configPath`, as sshd sees it: relative paths are under the
     * user's home). Default: `authorized_keys` in the key directory, by its absolute path.
     */
    authorizedKeys?: { file: string; configPath: string };
    /** More sshd_config lines, e.g. `SetEnv DOCKER_HOST=...` for every session. */
    extraConfig?: string[];
    /**
     * Turns sshd's command line into the one to run, e.g. `nsenter ... -- sshd ...` to run it in other
     * namespaces. The command must exec sshd (keep its PID): the PID is what is stopped and whose sessions
     * are dropped.
     */
    launch?: (command: string, args: string[]) => [string, string[]];
}

/** A running sshd and what a client needs to log in to it. */
export interface Sshd {
    /** Address it listens on (connect here). */
    host: string;
    /** Port it listens on. */
    port: number;
    /** The user the key logs in as. */
    user: "root";
    /** Client private key (OpenSSH PEM text, ed25519). */
    privateKey: string;
    /** Path of the client private key file (mode 0600), for `ssh -i`. */
    privateKeyFile: string;
    /** Host public key line, "ssh-ed25519 AAAA...", for known_hosts pinning. */
    hostPublicKey: string;
    /** A known_hosts line for this server ("[host]:port ssh-ed25519 ..."). */
    knownHostsLine: string;
    /** The sshd process (the listener). */
    process: ManagedProcess;
    /** Stops this sshd (by its PID). */
    stop(): Promise<void>;
    /** Starts it again, with the same keys and config, after `stop()`; does nothing while it runs. */
    start(): Promise<void>;
    /**
     * Drops every connection: kills the listener and the session processes it forked (by their PIDs),
     * as a host that reboots or a network cut would, then starts sshd again with the same keys.
     */
    dropConnectionsAndRestart(): Promise<void>;
}

/** A new ed25519 key pair without passphrase at `file` and `file.pub` (replacing any). */
export async function generateKey(file: string, comment: string): Promise<void> {
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.pub`, { force: true });
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
}

/**
 * Generates throwaway client and host keys, writes an sshd config and starts
 * `sshd -D` in the background; resolves once the port accepts connections.
 * Root may log in with the client key only (no password, no PAM).
 */
export async function startSshd(opts: SshdOptions): Promise<Sshd> {
    const host = opts.listen ?? "127.0.0.1";
    // sshd's StrictModes refuses keys and authorized_keys in directories that
    // others may write to, walking up to "/": so the keys live in a 0700
    // directory, and we turn StrictModes off for the path above it (which may
    // be under the world-writable /tmp); the keys stay private all the same.
    const keyDir = path.join(opts.dir, "keys");
    fs.mkdirSync(keyDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(keyDir, 0o700);
    const clientKey = opts.clientKeyFile ?? path.join(keyDir, "client_ed25519");
    const hostKey = path.join(keyDir, "host_ed25519");
    const generate: Array<[string, string]> = [[hostKey, "edge-proxy-e2e host"]];
    if (opts.clientKeyFile === undefined) generate.unshift([clientKey, "edge-proxy-e2e client"]);
    for (const [file, comment] of generate) await generateKey(file, comment);
    const authorizedKeys = opts.authorizedKeys ?? { file: path.join(keyDir, "authorized_keys"), configPath: path.join(keyDir, "authorized_keys") };
    fs.mkdirSync(path.dirname(authorizedKeys.file), { recursive: true, mode: 0o700 });
    fs.copyFileSync(`${clientKey}.pub`, authorizedKeys.file);
    fs.chmodSync(authorizedKeys.file, 0o600);

    const config = path.join(opts.dir, "sshd_config");
    const pidFile = path.join(opts.dir, "sshd.pid");
    fs.writeFileSync(
        config,
        [
            `Port ${opts.port}`,
            `ListenAddress ${host}`,
            `HostKey ${hostKey}`,
            `PidFile ${pidFile}`,
            `AuthorizedKeysFile ${authorizedKeys.configPath}`,
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            // The stack's remote commands may open several sessions at once.
            "MaxStartups 100",
            "MaxSessions 100",
            "Subsystem sftp internal-sftp",
            "LogLevel VERBOSE",
            ...(opts.extraConfig ?? []),
            "",
        ].join("\n"),
    );
    // sshd checks for its privilege separation directory at start.
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const launch = opts.launch ?? ((command: string, args: string[]): [string, string[]] => [command, args]);
    await run(...launch("/usr/sbin/sshd", ["-t", "-f", config]));
    const logFile = path.join(opts.dir, "sshd.log");
    const start = async () => {
        const started = await startProcess(...launch("/usr/sbin/sshd", ["-D", "-f", config, "-E", logFile]), {
            name: `sshd ${host}:${opts.port}`,
            // -E makes sshd write its own log; our log only catches early errors.
            logFile: path.join(opts.dir, "sshd.stdout.log"),
        });
        await waitFor(() => accepts(host, opts.port), {
            timeoutMs: opts.timeoutMs ?? 15_000,
            what: `sshd to accept on ${host}:${opts.port}`,
            process: started,
        });
        return started;
    };
    let proc = await start();
    const hostPublicKey = fs.readFileSync(`${hostKey}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    return {
        host,
        port: opts.port,
        user: "root",
        privateKey: fs.readFileSync(clientKey, "utf8"),
        privateKeyFile: clientKey,
        hostPublicKey,
        knownHostsLine: `${opts.port === 22 ? host : `[${host}]:${opts.port}`} ${hostPublicKey}`,
        get process() {
            return proc;
        },
        stop: () => proc.stop(),
        async start() {
            if (proc.exited()) proc = await start();
        },
        async dropConnectionsAndRestart() {
            const sessions = (await run("ps", ["-o", "pid=", "--ppid", String(proc.pid)], { allowFailure: true })).stdout.split(/\s+/).filter(Boolean);
            await proc.stop();
            for (const pid of sessions) {
                try {
                    process.kill(Number(pid), "SIGKILL");
                } catch {
                    // already gone with its connection
                }
            }
            proc = await start();
        },
    };
}

/** How a test or the stand-in engine logs in to an sshd: its key alone, its host key pinned, no prompt. */
export interface PinnedLogin {
    /** The client's private key file (0600). */
    keyFile: string;
    /** The server's port. */
    port: number;
    /** A known_hosts file holding the server's key, the only one trusted. */
    knownHosts: string;
    /** `user@host`. */
    target: string;
}

/** `ssh`'s arguments for `login`, then the remote command's words. */
export function pinnedSshArgs(login: PinnedLogin, ...command: string[]): string[] {
    return [
        "-i",
        login.keyFile,
        "-p",
        String(login.port),
        "-o",
        `UserKnownHostsFile=${login.knownHosts}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        login.target,
        ...command,
    ];
}
