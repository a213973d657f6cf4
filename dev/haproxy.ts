/**
 * Runs the real haproxy on rendered configuration files, exactly as the container would read them: the
 * container paths in the files are pointed at a scratch directory that holds the map files and one
 * self-signed placeholder certificate per PEM the certificate list names. `haproxy -c` checks them;
 * `startHaproxy` serves them on loopback ports. Both run haproxy in a mount namespace of its own with its own
 * /etc/hosts and /etc/resolv.conf, as Docker gives the container its own, so that no name lookup of a test
 * ever leaves the machine.
 *
 * The binaries: Debian's `haproxy` on PATH (required), plus every binary listed, colon-separated, in
 * EDGE_PROXY_HAPROXY_BINARIES (e.g. hand-built releases under /opt/haproxy-versions/). Each one's version is
 * read from `haproxy -v`.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { HaproxyVersion } from "../components/config/types";
import {
    CONFIG_FILES,
    CONTAINER_CERTS_DIR,
    CONTAINER_CONFIG_DIR,
    CONTAINER_TICKET_KEYS_DIR,
    type HaproxyConfigFiles,
    METRICS_SOURCES_FILE,
    RUNTIME_SOCKET,
    RUNTIME_SOCKET_NAME,
    TICKET_KEYS_FILE,
} from "../components/haproxy/render";

/** The environment variable that lists more haproxy binaries to run the tests with. */
export const BINARIES_ENV = "EDGE_PROXY_HAPROXY_BINARIES";

/** A haproxy binary and the version it reports. */
export interface HaproxyBinary {
    path: string;
    /** The full release, e.g. `2.6.12`. */
    release: string;
    /** Its major.minor, which is what a rendering targets. */
    version: HaproxyVersion;
}

/** The haproxy binary on PATH; throws when there is none (the integration tests that need it say so instead of running: test/support/needs.ts). */
export function haproxyBinary(): string {
    const found = spawnSync("sh", ["-c", "command -v haproxy"], { encoding: "utf8" }).stdout.trim();
    if (!found) {
        throw new Error("haproxy is not installed: the configuration tests need the real binary (apt-get install haproxy; .ci/run does it)");
    }
    return found;
}

/** Reads a binary's version from `haproxy -v` (1.7 says `HA-Proxy version 1.7.14`, later ones `HAProxy version`). */
export function describeBinary(binary: string): HaproxyBinary {
    const result = spawnSync(binary, ["-v"], { encoding: "utf8" });
    const match = /^HA-?Proxy version (\d+)\.(\d+)(\.\d+)?/m.exec(`${result.stdout}`);
    if (!match) {
        throw new Error(`${binary} -v does not tell a HAProxy version: ${result.error ?? `${result.stdout}${result.stderr}`}`);
    }
    return { path: binary, release: `${match[1]}.${match[2]}${match[3] ?? ""}`, version: { major: Number(match[1]), minor: Number(match[2]) } };
}

/**
 * Every binary to test with: Debian's, then those EDGE_PROXY_HAPROXY_BINARIES lists (the same file once).
 * `missing` holds what was asked for and not found, so that a typo fails the run instead of checking nothing.
 */
export function haproxyBinaries(): { binaries: HaproxyBinary[]; missing: string[] } {
    const binaries: HaproxyBinary[] = [];
    const missing: string[] = [];
    const seen = new Set<string>();
    const listed = (process.env[BINARIES_ENV] ?? "").split(":").filter((entry) => entry !== "");
    for (const [entry, find] of [["haproxy on PATH", haproxyBinary] as const, ...listed.map((entry) => [entry, () => entry] as const)]) {
        try {
            const binary = find();
            const real = fs.realpathSync(binary);
            if (!seen.has(real)) {
                seen.add(real);
                binaries.push(describeBinary(binary));
            }
        } catch (error) {
            missing.push(`${entry} (${(error as Error).message.split("\n")[0]})`);
        }
    }
    return { binaries, missing };
}

/** Whether two versions have the same major.minor. */
export function sameVersion(a: HaproxyVersion, b: HaproxyVersion): boolean {
    return a.major === b.major && a.minor === b.minor;
}

/** What a test's self-signed certificate says. */
export interface SelfSignedOptions {
    /** Its DNS names (subject alternative names); none by default. */
    names?: string[];
    /** Days of validity from now; 1 by default. */
    days?: number;
}

/** Writes a self-signed ECDSA (P-256) certificate for `commonName` to `certFile` and its key to `keyFile`. */
export function writeSelfSigned(certFile: string, keyFile: string, commonName: string, { names = [], days = 1 }: SelfSignedOptions = {}): void {
    execFileSync(
        "openssl",
        [
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            `/CN=${commonName}`,
            "-days",
            String(days),
            ...(names.length > 0 ? ["-addext", `subjectAltName=${names.map((name) => `DNS:${name}`).join(",")}`] : []),
            "-keyout",
            keyFile,
            "-out",
            certFile,
        ],
        { stdio: "pipe" },
    );
}

/** Writes a self-signed certificate and its key, concatenated as HAProxy's PEM files are, to `file`. */
export function writePlaceholderPem(file: string, commonName: string, options: SelfSignedOptions = {}): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-pem-"));
    try {
        writeSelfSigned(path.join(dir, "cert.pem"), path.join(dir, "key.pem"), commonName, options);
        fs.writeFileSync(file, fs.readFileSync(path.join(dir, "cert.pem")) + fs.readFileSync(path.join(dir, "key.pem"), "utf8"));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The outcome of `haproxy -c`. */
export interface HaproxyCheck {
    /** Exit code 0. */
    valid: boolean;
    /** The `[WARNING]` and `[ALERT]` lines. */
    findings: string[];
    /** Everything haproxy printed. */
    output: string;
    /** How long `haproxy -c` itself took, in milliseconds. */
    ms: number;
}

/** The rendered files written where haproxy can read them, under a scratch directory. */
interface StagedFiles {
    scratch: string;
    cfgFile: string;
}

/** Where the container's directories are on this machine. */
export interface LocalDirs {
    configDir: string;
    certsDir: string;
    ticketKeysDir: string;
}

/** A rendered file's container paths (configuration, certificates, ticket keys) pointed at `dirs`. */
export function containerPathsTo(text: string, dirs: LocalDirs): string {
    return text
        .split(`${CONTAINER_CONFIG_DIR}/`)
        .join(`${dirs.configDir}/`)
        .split(`${CONTAINER_CERTS_DIR}/`)
        .join(`${dirs.certsDir}/`)
        .split(`${CONTAINER_TICKET_KEYS_DIR}/`)
        .join(`${dirs.ticketKeysDir}/`);
}

/** One TLS session ticket key as the host makes it (templates/partials/sh-ticket-keys.hbs): 80 random bytes, base64. */
export function newTicketKey(): string {
    return crypto.randomBytes(80).toString("base64");
}

/** Three ticket keys, one per line, as the rendering's `tls-ticket-keys` file in `dir`; returns the file. */
export function writeTicketKeys(dir: string): string {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, TICKET_KEYS_FILE);
    fs.writeFileSync(file, `${[newTicketKey(), newTicketKey(), newTicketKey()].join("\n")}\n`, { mode: 0o600 });
    return file;
}

/**
 * Writes the files with their container paths pointed into a new scratch directory, and `rewrite` applied
 * to haproxy.cfg, and the metrics' source list naming 127.0.0.1. One placeholder is linked under every PEM name the list gives: a thousand sites need no
 * thousand keys.
 */
function stageFiles(files: HaproxyConfigFiles, rewrite: (cfg: string) => string = (cfg) => cfg): StagedFiles {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-haproxy-"));
    const dirs = { configDir: path.join(scratch, "cfg"), certsDir: path.join(scratch, "certs"), ticketKeysDir: path.join(scratch, "tls") };
    const { configDir } = dirs;
    fs.mkdirSync(configDir);
    fs.mkdirSync(dirs.certsDir);
    writeTicketKeys(dirs.ticketKeysDir);
    const local = (text: string) => containerPathsTo(text, dirs);
    for (const key of Object.keys(CONFIG_FILES) as (keyof typeof CONFIG_FILES)[]) {
        fs.writeFileSync(path.join(configDir, CONFIG_FILES[key]), local(key === "cfg" ? rewrite(files[key]) : files[key]));
    }
    // What the host lists as Docker's publishing addresses; here the tests connect from 127.0.0.1.
    fs.writeFileSync(path.join(configDir, METRICS_SOURCES_FILE), "127.0.0.1\n");
    const placeholder = path.join(scratch, "placeholder.pem");
    writePlaceholderPem(placeholder, "edge-proxy check");
    for (const line of files.certsList.split("\n").filter((l) => l.startsWith(`${CONTAINER_CERTS_DIR}/`))) {
        fs.symlinkSync(placeholder, local(line));
    }
    return { scratch, cfgFile: path.join(configDir, CONFIG_FILES.cfg) };
}

/** What haproxy sees as /etc/hosts and /etc/resolv.conf. */
interface NameResolution {
    /** Lines `address name` besides localhost. */
    hosts: [string, string][];
    /** The name server (port 53) named in resolv.conf. */
    nameserver: string;
}

/** Where nothing answers DNS: lookups of names not in the hosts file fail at once. */
const NO_NAMESERVER = "127.0.0.1";

/**
 * The command line that runs `argv` with the given /etc/hosts and /etc/resolv.conf bound over the real ones
 * in a mount namespace of its own (written to `dir`). unshare without --fork execs sh, which execs the
 * command: the PID is the command's.
 */
function withNameResolution(dir: string, resolution: NameResolution, argv: string[]): string[] {
    const hosts = path.join(dir, "hosts");
    const resolvConf = path.join(dir, "resolv.conf");
    fs.writeFileSync(hosts, `${["127.0.0.1 localhost", ...resolution.hosts.map(([address, name]) => `${address} ${name}`)].join("\n")}\n`);
    fs.writeFileSync(resolvConf, `nameserver ${resolution.nameserver}\n`);
    return [
        "unshare",
        "--mount",
        "--",
        "sh",
        "-c",
        'mount --bind "$0" /etc/hosts && mount --bind "$1" /etc/resolv.conf && shift && exec "$@"',
        hosts,
        resolvConf,
        ...argv,
    ];
}

/** The host names of the `server` lines (not IPv4 or bracketed IPv6 addresses). */
function serverNames(cfg: string): string[] {
    return [...cfg.matchAll(/^\s*server \S+ ([a-z0-9.-]*[a-z][a-z0-9.-]*):\d+/gm)].map((match) => match[1]);
}

/**
 * Runs `haproxy -c` on the rendered files, with Debian's haproxy unless another binary is given. Every
 * backend name resolves (to 192.0.2.1) through the hosts file, as through the container's DNS: 1.7 refuses
 * a name it cannot resolve, and later versions warn. Whether a name is followed at run time is another test's.
 */
export function checkWithHaproxy(files: HaproxyConfigFiles, binary: string = haproxyBinary()): HaproxyCheck {
    const { scratch, cfgFile } = stageFiles(files);
    try {
        const resolution = { hosts: serverNames(files.cfg).map((name): [string, string] => ["192.0.2.1", name]), nameserver: NO_NAMESERVER };
        const [command, ...args] = withNameResolution(scratch, resolution, [binary, "-c", "-f", cfgFile]);
        const started = process.hrtime.bigint();
        const result = spawnSync(command, args, { encoding: "utf8" });
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const output = `${result.stdout}${result.stderr}`;
        return {
            valid: result.status === 0,
            findings: output.split("\n").filter((line) => /\[(WARNING|ALERT)\]/.test(line)),
            output,
            ms,
        };
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

/** How to run a rendering with a haproxy binary of the machine running the tests. */
export interface RunOptions {
    binary: string;
    files: HaproxyConfigFiles;
    /** Where each port the configuration binds in the container (`bind :80`) listens here, e.g. `{ 80: "127.0.0.1:28080" }`. */
    binds: Record<number, string>;
    /**
     * The name server haproxy's /etc/resolv.conf names, for haproxy and the C library it resolves names
     * with at start (default: none that answers). The hosts file names only localhost.
     */
    nameserver?: string;
    /** Master-worker mode (`-W`), as the official images run HAProxy: `reload()` starts a new worker. */
    masterWorker?: boolean;
}

/** A haproxy process started by `startHaproxy`. */
export interface RunningHaproxy {
    /** The process started: the master in master-worker mode. */
    pid: number;
    /**
     * The name of the rendering's runtime API socket (`abns@NAME`), made unique to this process: abstract
     * sockets live in the network namespace, which every haproxy a test starts here shares.
     */
    runtimeSocketName: string;
    /** Where the certificates directory is here (the container's /certs). */
    certsDir: string;
    /** Where the TLS session ticket keys file is here (the container's /run/edge-proxy-tls/tls-ticket-keys). */
    ticketKeysFile: string;
    /** Reloads gracefully (SIGUSR2 to the master; master-worker mode only). */
    reload(): void;
    /** Sends one command to the stats socket (level admin) and returns the answer. */
    command(line: string): Promise<string>;
    /** The PID of the worker that answers the stats socket (`show info`): a reload starts a new one. Rejects when none answers. */
    workerPid(): Promise<number>;
    /** What haproxy printed so far. */
    output(): string;
    /** Stops the process (by its PID) and removes its files. */
    stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function canConnect(address: string): Promise<boolean> {
    const [, host, port] = /^(.*):(\d+)$/.exec(address)!;
    return new Promise((resolve) => {
        const socket = net.connect(Number(port), host);
        socket.setTimeout(500);
        socket.on("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.on("error", () => resolve(false));
        socket.on("timeout", () => {
            socket.destroy();
            resolve(false);
        });
    });
}

/**
 * haproxy.cfg as run on this machine rather than in its container: every `bind :<port>` on the address
 * `binds` gives that port (a port without one fails here, so nothing ever binds the real 80 or 443), and the
 * runtime API's abstract socket renamed to `runtimeSocketName` (abstract sockets are shared by every process
 * of the network namespace, so each haproxy started here needs a name of its own).
 */
export function cfgOnLoopback(cfg: string, binds: Record<number, string>, runtimeSocketName: string): string {
    return cfg
        .replace(/^(\s*bind ):(\d+)\b/gm, (_, bind: string, port: string) => {
            const address = binds[Number(port)];
            if (!address) {
                throw new Error(`no loopback address given for bind :${port}`);
            }
            return `${bind}${address}`;
        })
        .split(RUNTIME_SOCKET)
        .join(`abns@${runtimeSocketName}`);
}

/** How many haproxy processes this process started: each gets a runtime socket of its own. */
let runtimeSockets = 0;

/**
 * Starts haproxy in the foreground on the rendered files, every `bind :<port>` moved to its loopback
 * address (a port the options do not map fails here, so nothing ever binds the real 80 or 443), plus a stats
 * socket; resolves once every bind accepts connections (at most 10 s).
 */
export async function startHaproxy(options: RunOptions): Promise<RunningHaproxy> {
    runtimeSockets++;
    const runtimeSocketName = `${RUNTIME_SOCKET_NAME}-${process.pid}-${runtimeSockets}`;
    const staged = stageFiles(options.files, (cfg) => cfgOnLoopback(cfg, options.binds, runtimeSocketName));
    const statsSocket = path.join(staged.scratch, "stats.sock");
    const testCfg = path.join(staged.scratch, "test.cfg");
    fs.writeFileSync(testCfg, `global\n    stats socket ${statsSocket} level admin\n`);
    const [command, ...args] = withNameResolution(staged.scratch, { hosts: [], nameserver: options.nameserver ?? NO_NAMESERVER }, [
        options.binary,
        ...(options.masterWorker ? ["-W"] : []),
        "-db",
        "-f",
        testCfg,
        "-f",
        staged.cfgFile,
    ]);
    const child: ChildProcess = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk) => {
        output += chunk;
    });
    child.stderr!.on("data", (chunk) => {
        output += chunk;
    });
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    const stop = async () => {
        if (child.exitCode === null && child.signalCode === null) {
            process.kill(child.pid!, "SIGTERM");
            await Promise.race([exited, sleep(5000)]);
            if (child.exitCode === null && child.signalCode === null) {
                process.kill(child.pid!, "SIGKILL");
                await exited;
            }
        }
        fs.rmSync(staged.scratch, { recursive: true, force: true });
    };
    const deadline = Date.now() + 10_000;
    for (const address of Object.values(options.binds)) {
        while (!(await canConnect(address))) {
            if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
                await stop();
                throw new Error(`haproxy did not start listening on ${address}:\n${output}`);
            }
            await sleep(50);
        }
    }
    const ask = (line: string) =>
        new Promise<string>((resolve, reject) => {
            let answer = "";
            const socket = net.connect(statsSocket);
            socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to ${line}`)));
            socket.on("connect", () => socket.write(`${line}\n`));
            socket.on("data", (chunk) => {
                answer += chunk;
            });
            socket.on("end", () => resolve(answer));
            socket.on("error", reject);
        });
    return {
        pid: child.pid!,
        runtimeSocketName,
        certsDir: path.join(staged.scratch, "certs"),
        ticketKeysFile: path.join(staged.scratch, "tls", TICKET_KEYS_FILE),
        reload: () => {
            if (!options.masterWorker) {
                throw new Error("reload() needs masterWorker: true");
            }
            process.kill(child.pid!, "SIGUSR2");
        },
        command: ask,
        workerPid: async () => {
            const answer = await ask("show info");
            const found = /^Pid: (\d+)$/m.exec(answer);
            if (!found) {
                throw new Error(`show info named no PID: ${answer}`);
            }
            return Number(found[1]);
        },
        output: () => output,
        stop,
    };
}
