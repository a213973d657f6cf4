/**
 * `npm run bench:proxy`: what the project's rendering costs its users at run time. The same HAProxy binary
 * serves, in turn, the rendering of a stack of N sites (P: test/stacks/seed-1.7.yaml's site N times, one
 * certificate each), a minimal hand-tuned haproxy.cfg with one certificate (R), the same doing P's work for
 * each request (F: its traffic log, forwarding and security headers), plus Caddy (C) when it is installed;
 * all of them proxy to one shared backend. Repetitions are interleaved (P, R, F, C, P, R, F, C...) so that
 * a drift of the machine touches every variant alike, and the medians are printed with the ratios. A
 * benchmark, not a timed test: it prints figures and asserts nothing about them.
 *
 *     npm run bench:proxy -- --sites 1,1000,10000 --reps 3 --seconds 10 --haproxy /usr/sbin/haproxy
 */
import { execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { parseArgs, promisify } from "node:util";
import { compareVersions } from "../components/config/checks";
import { haproxyFeatures } from "../components/haproxy/features";
import { CONFIG_FILES, type HaproxyConfigFiles, renderHaproxyConfig } from "../components/haproxy/render";
import { loadStackFile } from "../components/plan";
import { cfgOnLoopback, containerPathsTo, describeBinary, type HaproxyBinary, haproxyBinary, writePlaceholderPem, writeTicketKeys } from "../dev/haproxy";
import { PROJECT_DIR } from "../dev/paths";

const execFileAsync = promisify(execFile);

/** Loopback ports of the shared backend and of each variant's listeners (31000-31999, clear of the tests'). */
const PORTS = { backend: 31080, http: 31480, P: 31443, R: 31444, C: 31445, F: 31446 } as const;
/** Certificates are kept across runs: 10,000 of them take minutes to make. */
const CERTS_DIR = "/var/tmp/edge-proxy-bench/certs";
/** The longest a server may take to answer its first request: HAProxy loading 10,000 certificates takes seconds. */
const START_TIMEOUT_MS = 300_000;
/** Handshakes in flight at once: enough to keep the client busy while the server answers. */
const HANDSHAKE_CONCURRENCY = 16;
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));

/** Reads `--sites 1,1000,10000 --reps 3 --seconds 10 --haproxy PATH [--tickets]` (P with tlsSessionTickets). */
function parseOptions() {
    const { values } = parseArgs({
        options: {
            sites: { type: "string", default: "1,1000,10000" },
            reps: { type: "string", default: "3" },
            seconds: { type: "string", default: "10" },
            haproxy: { type: "string" },
            tickets: { type: "boolean", default: false },
        },
    });
    const positive = (text: string) => {
        if (!/^[1-9]\d*$/.test(text)) {
            throw new Error(`not a positive whole number: ${text}`);
        }
        return Number(text);
    };
    return {
        sites: values.sites.split(",").map(positive),
        reps: positive(values.reps),
        seconds: positive(values.seconds),
        tickets: values.tickets,
        binary: describeBinary(values.haproxy ?? haproxyBinary()),
    };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Site i's one domain. */
const domain = (i: number) => `s${i}.bench.test`;
/** Site i's PEM (certificate and key) in the cache. */
const certificate = (i: number) => path.join(CERTS_DIR, `site${i}.pem`);

/**
 * Makes the certificates of sites 1..count that the cache lacks: distinct ones, since HAProxy's memory and
 * start time grow with each certificate it loads (a link to one placeholder, as the tests use, would hide that).
 */
function ensureCertificates(count: number): void {
    fs.mkdirSync(CERTS_DIR, { recursive: true });
    const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !fs.existsSync(certificate(i)));
    if (missing.length > 0) {
        console.log(`making ${missing.length} certificates in ${CERTS_DIR} (once; later runs reuse them)`);
    }
    for (const i of missing) {
        // Renamed into place once whole, so an interrupted run leaves no half certificate in the cache.
        writePlaceholderPem(`${certificate(i)}.tmp`, `site${i}`, { names: [domain(i)], days: 3650 });
        fs.renameSync(`${certificate(i)}.tmp`, certificate(i));
    }
}

/** The project's rendering of the seed stack's site repeated `count` times, for the binary's version. */
function rendering(count: number, binary: HaproxyBinary, sessionTickets: boolean): HaproxyConfigFiles {
    const seed = loadStackFile(path.join(PROJECT_DIR, "test", "stacks", "seed-1.7.yaml"));
    return renderHaproxyConfig({
        ...seed,
        haproxy: { ...seed.haproxy, version: binary.version, sessionTickets },
        sites: Array.from({ length: count }, (_, i) => ({
            ...seed.sites[0],
            name: `site${i + 1}`,
            domains: [domain(i + 1)],
            backends: [{ host: "127.0.0.1", port: PORTS.backend }],
        })),
        tcpServices: [],
    });
}

/**
 * Writes the rendered files into `dir` as the container would read them: the container's paths pointed here
 * and at the certificate cache, `bind :80`/`:443` on loopback ports, and a runtime socket of this process's
 * own (abstract sockets are shared by every process on the machine). The traffic log goes to stdout, which the
 * bench discards: its formatting is counted, Docker's log driver is not.
 */
function stageRendering(files: HaproxyConfigFiles, dir: string): string {
    const dirs = { configDir: dir, certsDir: CERTS_DIR, ticketKeysDir: path.join(dir, "tls") };
    writeTicketKeys(dirs.ticketKeysDir);
    const local = (text: string) => containerPathsTo(text, dirs);
    const cfg = cfgOnLoopback(files.cfg, { 80: `127.0.0.1:${PORTS.http}`, 443: `127.0.0.1:${PORTS.P}` }, `edge-proxy-bench-${process.pid}`);
    for (const key of Object.keys(CONFIG_FILES) as (keyof typeof CONFIG_FILES)[]) {
        fs.writeFileSync(path.join(dir, CONFIG_FILES[key]), local(key === "cfg" ? cfg : files[key]));
    }
    return path.join(dir, CONFIG_FILES.cfg);
}

/** The lines of `cfg`'s first section whose header matches `section` that match `line`. */
function sectionLines(cfg: string, section: RegExp, line: RegExp): string[] {
    const sections = cfg.split(/^(?=\S)/m);
    const found = sections.find((text) => section.test(text.split("\n", 1)[0]));
    return (found ?? "").split("\n").filter((text) => line.test(text));
}

/**
 * R: what an expert would write by hand for one site on this binary: one thread, the rendering's own TLS
 * settings (so that TLS costs the same), no logging, no health check, nothing else. With `sameWork`, F: R
 * doing the rendering's work for each request as one would write it by hand: its traffic log (its global
 * `log` line, `option httplog`, `option dontlognull`), `option forwardfor`, its X-Forwarded-Proto rule and the
 * site's security headers, all taken from the rendering. P/R is the cost of that work and of the rendering
 * together; P/F the rendering's own.
 */
function referenceCfg(rendered: string, pem: string, binary: HaproxyBinary, sameWork = false): string {
    const nbthread = compareVersions(binary.version, { major: 1, minor: 8 }) >= 0 ? "    nbthread 1\n" : "";
    const tlsSettings = rendered.match(/^ +ssl-default-bind-(ciphers|ciphersuites|options) .*\n/gm) ?? [];
    const work = (section: RegExp, line: RegExp) =>
        sameWork
            ? sectionLines(rendered, section, line)
                  .map((text) => `${text}\n`)
                  .join("")
            : "";
    const log = work(/^global/, /^ +log /);
    const logging = work(/^defaults/, /^ +(log global|option httplog|option dontlognull)$/);
    const forwarding = work(/^frontend https/, /^ +(option forwardfor|http-request set-header X-Forwarded-Proto )/);
    const headers = work(/^backend site_/, /^ +http-response set-header /);
    return `global
${log}${nbthread}${tlsSettings.join("")}defaults
    mode http
${logging}    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend https
    bind 127.0.0.1:${sameWork ? PORTS.F : PORTS.R} ssl crt ${pem} alpn ${haproxyFeatures(binary.version).h2 ? "h2,http/1.1" : "http/1.1"}
${forwarding}    default_backend app
backend app
${headers}    server app 127.0.0.1:${PORTS.backend}
`;
}

/** C: Caddy proxying the same name to the same backend with the same certificate; no HTTP/3, which HAProxy does not serve here. */
function caddyfile(name: string, pem: string): string {
    return `{
    admin off
    auto_https off
    servers {
        protocols h1 h2
    }
}
https://${name}:${PORTS.C} {
    bind 127.0.0.1
    tls ${pem} ${pem}
    reverse_proxy 127.0.0.1:${PORTS.backend}
}
`;
}

/** A process the bench started. */
interface Server {
    pid: number;
    running(): boolean;
    /** The end of what it printed on stderr. */
    stderr(): string;
    /** SIGTERM, then SIGKILL after 5 s, to the PID started. */
    stop(): Promise<void>;
}

/** Every server running, stopped on Ctrl-C too: one left behind would hold its port for the next run. */
const servers = new Set<Server>();

/** Starts `argv` with stdout discarded (HAProxy's traffic log) and the end of stderr kept for errors. */
function startServer(argv: string[], env: NodeJS.ProcessEnv = {}): Server {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
    let stderr = "";
    child.stderr!.on("data", (chunk) => {
        stderr = (stderr + chunk).slice(-4000);
    });
    child.on("error", (error) => {
        stderr += `${error.message}\n`;
    });
    const exited = new Promise((resolve) => child.once("close", resolve));
    const running = () => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
    const server: Server = {
        pid: child.pid ?? -1,
        running,
        stderr: () => stderr,
        stop: async () => {
            for (const signal of ["SIGTERM", "SIGKILL"] as const) {
                if (running()) {
                    process.kill(server.pid, signal);
                    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
                }
            }
            servers.delete(server);
        },
    };
    servers.add(server);
    return server;
}

/**
 * Waits for the first 200 from the server, over HTTPS for `name` when given (what a user's first visitor
 * gets), plain HTTP otherwise; at most `timeoutMs`.
 */
async function firstOk(server: Server, port: number, name: string | undefined, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const options: https.RequestOptions = { host: "127.0.0.1", port, agent: false, timeout: 1000 };
    const status = () =>
        new Promise<number>((resolve) => {
            const request = name ? https.get({ ...options, servername: name, headers: { host: name }, rejectUnauthorized: false }) : http.get(options);
            request.on("response", (response) => resolve(response.resume().statusCode ?? 0));
            request.on("timeout", () => request.destroy());
            request.on("error", () => resolve(0));
        });
    while ((await status()) !== 200) {
        if (!server.running() || Date.now() > deadline) {
            throw new Error(`no 200 from 127.0.0.1:${port}${name ? ` for ${name}` : ""}:\n${server.stderr()}`);
        }
        await sleep(10);
    }
}

/** The processes that serve: HAProxy's workers in master-worker mode (the master only supervises), or the one started. */
function workersOf(server: Server, masterWorker: boolean): number[] {
    return masterWorker ? fs.readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, "utf8").trim().split(/\s+/).map(Number) : [server.pid];
}

/** Sums a /proc/PID/status field (VmRSS in kB, Threads) over the processes. */
function statusField(pids: number[], field: string): number {
    const pattern = new RegExp(`^${field}:\\s+(\\d+)`, "m");
    return pids.reduce((sum, pid) => sum + Number(pattern.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]), 0);
}

/** The CPU seconds (user and system, every thread) the processes spent so far: /proc/PID/stat's fields 14 and 15, after the name's parenthesis. */
function cpuSeconds(pids: number[]): number {
    let ticks = 0;
    for (const pid of pids) {
        const [, user, system] = /\) (?:\S+ ){11}(\d+) (\d+)/.exec(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))!;
        ticks += Number(user) + Number(system);
    }
    return ticks / CLK_TCK;
}

/** Runs `work` and returns its result with the CPU seconds the processes spent meanwhile. */
async function cpuDuring<T>(pids: number[], work: () => Promise<T>): Promise<{ result: T; cpu: number }> {
    const before = cpuSeconds(pids);
    const result = await work();
    return { result, cpu: cpuSeconds(pids) - before };
}

/**
 * Runs a load tool in a mount namespace whose /etc/hosts names the bench's sites: wrk and h2load take the
 * TLS server name from the URL, and the machine's own /etc/hosts is not the bench's to edit.
 */
async function loadTool(hostsFile: string, argv: string[], seconds: number): Promise<string> {
    const wrapped = ["--mount", "--", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile, ...argv];
    const { stdout } = await execFileAsync("unshare", wrapped, { timeout: (seconds + 30) * 1000, killSignal: "SIGKILL", maxBuffer: 1 << 24 });
    return stdout;
}

/** What the handshakes measure: full ones (TLS 1.3), or resumed ones on TLS 1.2 (session cache, or a ticket) or TLS 1.3 (a ticket only). */
type HandshakeKind = "full" | "resumed" | "resumed13";

/**
 * Handshakes per second from this process's TLS client, with the server name set: `openssl s_time` sends
 * none (so at 10,000 sites it would skip HAProxy's certificate lookup) and its -reuse does not resume against
 * HAProxy. TLS 1.2 resumes through a session ID (HAProxy's session cache) or a ticket; TLS 1.3 only through a
 * ticket, which `no-tls-tickets` (the rendering without tlsSessionTickets) never gives. `resumed` is the share
 * that did resume; `failures` the errors.
 */
async function handshakes(port: number, name: string, seconds: number, kind: HandshakeKind) {
    let session: Buffer | undefined;
    let [count, resumed] = [0, 0];
    const failures: string[] = [];
    const version = { full: {}, resumed: { maxVersion: "TLSv1.2" }, resumed13: { minVersion: "TLSv1.3" } }[kind] as tls.ConnectionOptions;
    // `first`: the full handshake that gives the session every later one resumes. A TLS 1.3 server sends its
    // tickets after the handshake: that one waits for the first (or the end of the connection, when none comes).
    const connect = (first = false) =>
        new Promise<void>((resolve) => {
            const socket = tls.connect({ host: "127.0.0.1", port, servername: name, rejectUnauthorized: false, session, ...version });
            socket.setTimeout(5000, () => socket.destroy(new Error(`handshake with 127.0.0.1:${port} timed out`)));
            socket.once("session", (ticket: Buffer) => {
                session ??= ticket;
                if (first) {
                    socket.destroy();
                    resolve();
                }
            });
            socket.once("secureConnect", () => {
                count++;
                resumed += socket.isSessionReused() ? 1 : 0;
                if (!first) {
                    socket.destroy();
                    resolve();
                } else {
                    socket.resume();
                    socket.end();
                }
            });
            socket.once("close", () => resolve());
            // A rare reset under load is reported, not fatal: the figure stands on the thousands that succeeded.
            socket.once("error", (error) => {
                failures.push(error.message);
                resolve();
            });
        });
    if (kind !== "full") {
        await connect(true);
        [count, resumed, failures.length] = [0, 0, 0];
    }
    const started = process.hrtime.bigint();
    const end = Date.now() + seconds * 1000;
    const loop = async () => {
        while (Date.now() < end) {
            await connect();
        }
    };
    await Promise.all(Array.from({ length: HANDSHAKE_CONCURRENCY }, loop));
    return { count, perSecond: count / (Number(process.hrtime.bigint() - started) / 1e9), resumed: count === 0 ? 0 : resumed / count, failures };
}

/** How one variant is started and reached. */
interface Variant {
    label: "P" | "R" | "F" | "C";
    argv: string[];
    env?: NodeJS.ProcessEnv;
    port: number;
    /** HAProxy's master-worker mode (-W, as the official images run it): the workers are the master's children. */
    masterWorker: boolean;
    h2: boolean;
}

/** The table's rows: label, figure, decimals. */
const ROWS = [
    ["HTTP/1.1 requests/s (wrk -t1 -c50)", "requests", 0],
    ["server CPU µs/request", "cpuPerRequest", 1],
    ["HTTP/2 requests/s (h2load -c20 -m10)", "h2Requests", 0],
    ["full handshakes/s (TLS 1.3)", "full", 0],
    ["server CPU µs/full handshake", "cpuPerFull", 1],
    ["resumed handshakes/s (TLS 1.2)", "resumed", 0],
    ["server CPU µs/resumed handshake", "cpuPerResumed", 1],
    ["handshakes actually resumed (%)", "resumedShare", 1],
    ["resumed handshakes/s (TLS 1.3, ticket)", "resumed13", 0],
    ["server CPU µs/resumed TLS 1.3 handshake", "cpuPerResumed13", 1],
    ["TLS 1.3 handshakes actually resumed (%)", "resumed13Share", 1],
    ["start to first 200 (ms)", "startMs", 0],
    ["worker RSS after the first request (MiB)", "rssMiB", 1],
    ["worker threads", "threads", 0],
    ["idle worker CPU (% of a core)", "idleCpu", 1],
] as const;

type Figures = Record<(typeof ROWS)[number][1], number>;

/** Starts the variant, measures it (idle first, then under each load), and stops it. */
async function measure(variant: Variant, name: string, hostsFile: string, seconds: number, tools: { wrk: boolean; h2load: boolean }): Promise<Figures> {
    const figures = Object.fromEntries(ROWS.map(([, key]) => [key, Number.NaN])) as Figures;
    const started = process.hrtime.bigint();
    const server = startServer(variant.argv, variant.env);
    try {
        await firstOk(server, variant.port, name, START_TIMEOUT_MS);
        figures.startMs = Number(process.hrtime.bigint() - started) / 1e6;
        const workers = workersOf(server, variant.masterWorker);
        figures.rssMiB = statusField(workers, "VmRSS") / 1024;
        figures.threads = statusField(workers, "Threads");
        figures.idleCpu = ((await cpuDuring(workers, () => sleep(seconds * 1000))).cpu / seconds) * 100;
        const url = `https://${name}:${variant.port}/`;
        if (tools.wrk) {
            const { result, cpu } = await cpuDuring(workers, () => loadTool(hostsFile, ["wrk", "-t1", "-c50", `-d${seconds}s`, url], seconds));
            if (/Non-2xx/.test(result) || !/Requests\/sec/.test(result)) {
                throw new Error(`${variant.label}: wrk did not get only 200s:\n${result}`);
            }
            figures.requests = Number(/Requests\/sec:\s+([\d.]+)/.exec(result)![1]);
            figures.cpuPerRequest = (cpu * 1e6) / Number(/(\d+) requests in/.exec(result)![1]);
        }
        if (tools.h2load && variant.h2) {
            const result = await loadTool(hostsFile, ["h2load", "-c20", "-m10", "-D", String(seconds), url], seconds);
            const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(result);
            if (!codes || Number(codes[1]) === 0 || Number(codes[3]) + Number(codes[4]) > 0) {
                throw new Error(`${variant.label}: h2load did not get only 200s:\n${result}`);
            }
            figures.h2Requests = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(result)![1]);
        }
        for (const [kind, cpuKey, shareKey] of [
            ["full", "cpuPerFull", undefined],
            ["resumed", "cpuPerResumed", "resumedShare"],
            ["resumed13", "cpuPerResumed13", "resumed13Share"],
        ] as const) {
            const { result, cpu } = await cpuDuring(workers, () => handshakes(variant.port, name, seconds, kind));
            [figures[kind], figures[cpuKey]] = [result.perSecond, (cpu * 1e6) / result.count];
            if (shareKey) {
                figures[shareKey] = result.resumed * 100;
            }
            if (result.failures.length > 0) {
                console.log(`  ${variant.label}: ${result.failures.length} ${kind} handshakes failed, ${result.count} succeeded (${result.failures[0]})`);
            }
        }
        return figures;
    } finally {
        await server.stop();
    }
}

/** The median of the figures measured (NaN: not measured). */
const median = (values: number[]) => {
    const known = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
    return known.length === 0 ? Number.NaN : known[Math.floor(known.length / 2)];
};
/** A figure with thousands separators, or n/a. */
const format = (value: number, decimals: number) =>
    Number.isFinite(value) ? value.toLocaleString("en-US", { maximumFractionDigits: decimals, minimumFractionDigits: decimals }) : "n/a";

/** Prints one site count's medians per variant, and P's ratio to each reference. */
function printTable(count: number, reps: number, results: Map<string, Figures[]>): void {
    const labels = [...results.keys()];
    const references = labels.filter((label) => label !== "P");
    const lines = ROWS.map(([title, key, decimals]) => {
        const medians = new Map(labels.map((label) => [label, median(results.get(label)!.map((figures) => figures[key]))]));
        const ratios = references.map((label) => format(medians.get("P")! / medians.get(label)!, 2));
        return [title, ...labels.map((label) => format(medians.get(label)!, decimals)), ...ratios];
    });
    console.log(`\n${count.toLocaleString("en-US")} sites, median of ${reps}`);
    for (const line of [["", ...labels, ...references.map((label) => `P/${label}`)], ...lines]) {
        console.log(line.map((cell, i) => (i === 0 ? cell.padEnd(42) : cell.padStart(10))).join(""));
    }
}

/** Whether a command is on PATH. */
const installed = (command: string) => spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;

/** Prints what the figures depend on: the machine, the binaries and the tools. */
function printSetup(binary: HaproxyBinary, backendBinary: string, tools: { wrk: boolean; h2load: boolean; caddy: boolean }): void {
    const cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8");
    const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.arch();
    console.log(`machine: ${model}, ${cpuinfo.match(/^processor\s*:/gm)?.length ?? 0} CPUs, Linux ${os.release()}`);
    console.log(`haproxy: ${binary.path} ${binary.release} (P, R and F); backend: ${backendBinary} answering 200 itself`);
    const caddy = tools.caddy ? execFileSync("caddy", ["version"], { encoding: "utf8", timeout: 10_000 }).trim() : "not installed (apt-get install caddy)";
    console.log(`caddy (C): ${caddy}`);
    const skipped = [...(tools.wrk ? [] : ["HTTP/1.1 requests/s and CPU/request (wrk)"]), ...(tools.h2load ? [] : ["HTTP/2 requests/s (h2load)"])];
    if (skipped.length > 0) {
        console.log(`skipped, as their tool is not installed (apt-get install wrk nghttp2-client): ${skipped.join(", ")}`);
    }
    console.log(`certificates: one self-signed ECDSA P-256 per site, in ${CERTS_DIR}; handshakes: Node ${process.version}, ${HANDSHAKE_CONCURRENCY} at a time`);
}

/** Starts the backend, then measures each site count's variants in interleaved repetitions and prints their table. */
async function main(): Promise<void> {
    const { sites, reps, seconds, binary, tickets } = parseOptions();
    const tools = { wrk: installed("wrk"), h2load: installed("h2load"), caddy: installed("caddy") };
    const { h2, httpRequestReturn } = haproxyFeatures(binary.version);
    const masterWorker = compareVersions(binary.version, { major: 1, minor: 8 }) >= 0;
    // The backend answers itself with `http-request return` (2.2+); an older binary under test leaves it to Debian's.
    const backendBinary = httpRequestReturn ? binary.path : haproxyBinary();
    printSetup(binary, backendBinary, tools);
    console.log(
        `${reps} interleaved repetitions of ${seconds} s per figure; P: the project's rendering${tickets ? " with tlsSessionTickets" : ""}, R: a minimal haproxy.cfg, one thread; F: R with P's traffic log, forwarding and security headers`,
    );

    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-bench-"));
    const hostsFile = path.join(scratch, "hosts");
    fs.writeFileSync(hostsFile, `127.0.0.1 localhost\n${sites.map((count) => `127.0.0.1 ${domain(count)}\n`).join("")}`);
    const backendCfg = path.join(scratch, "backend.cfg");
    fs.writeFileSync(
        backendCfg,
        `defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\nfrontend ok\n    bind 127.0.0.1:${PORTS.backend}\n    http-request return status 200 content-type text/plain string ok\n`,
    );
    const backend = startServer([backendBinary, "-db", "-f", backendCfg]);
    try {
        await firstOk(backend, PORTS.backend, undefined, 10_000);
        for (const count of sites) {
            ensureCertificates(count);
            const name = domain(count);
            const dir = fs.mkdtempSync(path.join(scratch, `sites-${count}-`));
            const files = rendering(count, binary, tickets);
            fs.writeFileSync(path.join(dir, "reference.cfg"), referenceCfg(files.cfg, certificate(count), binary));
            fs.writeFileSync(path.join(dir, "same-work.cfg"), referenceCfg(files.cfg, certificate(count), binary, true));
            fs.writeFileSync(path.join(dir, "Caddyfile"), caddyfile(name, certificate(count)));
            const argv = (cfg: string) => [binary.path, ...(masterWorker ? ["-W"] : []), "-db", "-f", cfg];
            const haproxy = (label: "P" | "R" | "F", cfg: string, port: number): Variant => ({ label, argv: argv(cfg), port, masterWorker, h2 });
            const variants = [
                haproxy("P", stageRendering(files, dir), PORTS.P),
                haproxy("R", path.join(dir, "reference.cfg"), PORTS.R),
                haproxy("F", path.join(dir, "same-work.cfg"), PORTS.F),
            ];
            if (tools.caddy) {
                const argv = ["caddy", "run", "--adapter", "caddyfile", "--config", path.join(dir, "Caddyfile")];
                variants.push({ label: "C", argv, env: { XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir }, port: PORTS.C, masterWorker: false, h2: true });
            }
            const results = new Map<string, Figures[]>(variants.map((variant) => [variant.label, []]));
            for (let rep = 1; rep <= reps; rep++) {
                for (const variant of variants) {
                    const figures = await measure(variant, name, hostsFile, seconds, tools);
                    results.get(variant.label)!.push(figures);
                    console.log(
                        `  ${count} sites, ${variant.label} ${rep}/${reps}: ${format(figures.requests, 0)} req/s, started in ${format(figures.startMs, 0)} ms`,
                    );
                }
            }
            printTable(count, reps, results);
        }
    } finally {
        await backend.stop();
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
        Promise.all([...servers].map((server) => server.stop())).finally(() => process.exit(130));
    });
}

main().catch((error: Error) => {
    console.error(error.message);
    process.exitCode = 1;
});
