/**
 * The traffic log of real haproxy binaries (Debian's and those EDGE_PROXY_HAPROXY_BINARIES lists, each given
 * a rendering for its own version), on loopback ports: 1.9+ write each request's line to stdout (what
 * `docker logs` shows); 1.7 and 1.8 send it as a syslog datagram to the socket the container mounts from the
 * host. Node has no unix datagram sockets: a tiny python3 script stands in for the host's syslog daemon.
 * Everything a test starts it stops by PID; every wait is bounded.
 */

import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { haproxyFeatures } from "../../components/haproxy/features";
import { renderHaproxyConfig, SYSLOG_SOCKET } from "../../components/haproxy/render";
import { loadStackFile } from "../../components/plan";
import { BINARIES_ENV, type HaproxyBinary, haproxyBinaries, type RunningHaproxy, startHaproxy } from "../../dev/haproxy";
import { PROJECT_DIR } from "../../dev/paths";
import { curl } from "../support/curl";
import { describeWith, HAPROXY, program, ROOT } from "../support/needs";

const BINDS = { 80: "127.0.0.1:27080", 443: "127.0.0.1:27443", 22: "127.0.0.1:27122" };
const REQUEST_PATH = "/edge-proxy-log-check";
/** The `option httplog` line of the request: frontend `http`, no server (the redirect), status 301. */
const LOG_LINE = new RegExp(` http http/<NOSRV> .* 301 .*"GET ${REQUEST_PATH} HTTP/1\\.1"`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A unix datagram socket at `socket` whose datagrams are appended, one a line, to `file`. */
const SYSLOG_STAND_IN = `
import socket, sys
receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
receiver.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(receiver.recv(65536).rstrip(b"\\n") + b"\\n")
`;

/** The stand-in syslog daemon, started in `dir`; resolves once its socket exists (at most 5 s). */
async function startSyslogStandIn(dir: string): Promise<{ socket: string; received: () => string; stop: () => Promise<void> }> {
    const socket = path.join(dir, "log.sock");
    const file = path.join(dir, "received.log");
    fs.writeFileSync(file, "");
    const child: ChildProcess = spawn("python3", ["-c", SYSLOG_STAND_IN, socket, file], { stdio: ["ignore", "ignore", "pipe"] });
    let errors = "";
    child.stderr!.on("data", (chunk) => {
        errors += chunk;
    });
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    const stop = async () => {
        if (child.exitCode === null && child.signalCode === null) {
            process.kill(child.pid!, "SIGTERM");
            await exited;
        }
    };
    const deadline = Date.now() + 5000;
    while (!fs.existsSync(socket)) {
        if (child.exitCode !== null || Date.now() > deadline) {
            await stop();
            throw new Error(`the syslog stand-in did not bind ${socket}: ${errors}`);
        }
        await sleep(50);
    }
    return { socket, received: () => fs.readFileSync(file, "utf8"), stop };
}

/** Waits at most 5 s for a line of `text()` that matches LOG_LINE. */
async function logLine(text: () => string): Promise<string | undefined> {
    const deadline = Date.now() + 5000;
    for (;;) {
        const found = text()
            .split("\n")
            .find((line) => LOG_LINE.test(line));
        if (found || Date.now() > deadline) {
            return found;
        }
        await sleep(100);
    }
}

/** The seed stack rendered for `binary`'s version. */
function renderFor(binary: HaproxyBinary) {
    const config = loadStackFile(path.join(PROJECT_DIR, "test", "stacks", "seed-1.7.yaml"));
    config.haproxy.version = binary.version;
    return renderHaproxyConfig(config);
}

/** One request the http frontend answers with its redirect. */
async function request(): Promise<void> {
    const response = await curl("-H", "Host: www.example.com", `http://${BINDS[80]}${REQUEST_PATH}`);
    expect(response.status).to.equal(301);
}

describeWith([ROOT, HAPROXY, program("python3", "the stand-in syslog daemon")], "the traffic log on real haproxy", function () {
    this.timeout(60_000);
    const { binaries } = haproxyBinaries();
    const toSyslog = binaries.filter((b) => !haproxyFeatures(b.version).logStdout);

    for (const binary of binaries.filter((b) => haproxyFeatures(b.version).logStdout)) {
        it(`haproxy ${binary.release}: writes the request's line to stdout`, async () => {
            const proxy = await startHaproxy({ binary: binary.path, files: renderFor(binary), binds: BINDS });
            try {
                await request();
                expect(await logLine(proxy.output), proxy.output()).to.not.equal(undefined);
            } finally {
                await proxy.stop();
            }
        });
    }

    if (toSyslog.length === 0) {
        it("a version without stdout logging (1.7, 1.8) sends the request's line to the syslog socket", function () {
            console.log(`        skipped: no haproxy before 1.9 listed in ${BINARIES_ENV} (e.g. /opt/haproxy-versions/1.7.14/haproxy)`);
            this.skip();
        });
    }
    for (const binary of toSyslog) {
        it(`haproxy ${binary.release}: sends the request's line to the syslog socket, tagged haproxy, facility local0`, async () => {
            const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-syslog-"));
            let syslog: Awaited<ReturnType<typeof startSyslogStandIn>> | undefined;
            let proxy: RunningHaproxy | undefined;
            try {
                syslog = await startSyslogStandIn(scratch);
                const files = renderFor(binary);
                // The test's copy only: the container's /dev/log is the host's socket, here the stand-in's.
                const cfg = files.cfg.replace(`\n    log ${SYSLOG_SOCKET} local0\n`, `\n    log ${syslog.socket} local0\n`);
                expect(cfg, "the rendering logs to the syslog socket").to.not.equal(files.cfg);
                proxy = await startHaproxy({ binary: binary.path, files: { ...files, cfg }, binds: BINDS });
                await request();
                const line = await logLine(syslog.received);
                expect(line, `received:\n${syslog.received()}\nhaproxy:\n${proxy.output()}`).to.not.equal(undefined);
                // <134>: facility local0 (16 * 8), level info (6); the tag is what `journalctl -t haproxy` selects.
                expect(line).to.match(/^<134>.* haproxy\[\d+\]: /);
            } finally {
                await proxy?.stop();
                await syslog?.stop();
                fs.rmSync(scratch, { recursive: true, force: true });
            }
        });
    }
});
