/**
 * keepalived's golden renderings (test/unit/keepalived.test.ts holds them to the renderer) checked by the real
 * `keepalived --config-test` (Debian 12's 2.2.7), and the check script run for real.
 *
 * keepalived reads the files where its container sees them, /etc/keepalived, and checks the interface exists
 * and the script is root's alone: each check runs in a mount and network namespace of its own, with a scratch
 * directory bound over /etc/keepalived and a veth pair named as the configuration's interface. What it refuses
 * (the changes below to a golden file) shows why the renderer writes what it writes.
 *
 * Two hosts then run the renderings for real, each in a network namespace of its own, and hand the virtual
 * address over. The check script runs with bash against servers on 127.0.0.1 that this test starts and stops
 * (and Debian's haproxy serving a rendering), every run bounded in time.
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { renderHaproxyConfig } from "../../components/haproxy/render";
import { KEEPALIVED_CONFIG_PATH, renderKeepalivedCheck, renderKeepalivedConfig } from "../../components/keepalived/render";
import { loadStackFile } from "../../components/plan";
import { describeBinary, haproxyBinary, type RunningHaproxy, startHaproxy } from "../../dev/haproxy";
import { PROJECT_DIR } from "../../dev/paths";
import { KEEPALIVED_VARIANTS, type KeepalivedFiles, keepalivedGoldenOf } from "../support/keepalived";
import { describeWith, file, HAPROXY, program, ROOT } from "../support/needs";

const KEEPALIVED = program("keepalived", "apt-get install keepalived (Debian 12: 2.2.7)");
const CONFIG_DIR = path.dirname(KEEPALIVED_CONFIG_PATH);

/** What `keepalived --config-test` said: its exit status and every line it printed. */
interface ConfigTest {
    status: number | null;
    lines: string[];
}

/**
 * Runs `keepalived --config-test` on the files, bound over /etc/keepalived in a mount and network namespace of
 * its own where `interfaces` exist (by default the configuration's). The check script gets `scriptMode`.
 */
function configTest(files: Partial<KeepalivedFiles>, options: { interfaces?: string[]; scriptMode?: number } = {}): ConfigTest {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-keepalived-"));
    try {
        for (const [name, text] of Object.entries(files)) {
            fs.writeFileSync(path.join(scratch, name), text, { mode: name.endsWith(".sh") ? (options.scriptMode ?? 0o755) : 0o644 });
            fs.chmodSync(path.join(scratch, name), name.endsWith(".sh") ? (options.scriptMode ?? 0o755) : 0o644);
        }
        const interfaces = options.interfaces ?? [...(files["keepalived.conf"] ?? "").matchAll(/^\s*interface (\S+)$/gm)].map(([, name]) => name);
        const script = [
            'dir=$1; shift; n=0; for name; do n=$((n + 1)); ip link add "$name" type veth peer name "edge-peer$n" || exit 97; done',
            `mount --bind "$dir" ${CONFIG_DIR} || exit 98`,
            `exec keepalived --config-test -f ${KEEPALIVED_CONFIG_PATH}`,
        ].join("\n");
        const result = spawnSync("unshare", ["--mount", "--net", "--", "sh", "-c", script, "sh", scratch, ...interfaces], {
            encoding: "utf8",
            timeout: 20_000,
        });
        return { status: result.status, lines: `${result.stdout}${result.stderr}`.split("\n").filter((line) => line.trim() !== "") };
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

/** A golden rendering, which the unit tier must have written. */
function golden(variant: string): KeepalivedFiles {
    const files = keepalivedGoldenOf(variant);
    expect(files, `no golden files for ${variant}: run UPDATE_GOLDEN=1 npm test`).to.not.equal(undefined);
    return files!;
}

describeWith(
    [ROOT, KEEPALIVED, program("unshare", "util-linux"), program("ip", "iproute2"), file(CONFIG_DIR, "Debian's keepalived package creates it")],
    "the golden keepalived renderings under the real keepalived --config-test",
    function () {
        this.timeout(30_000);

        before(() => {
            console.log(`      ${spawnSync("keepalived", ["--version"], { encoding: "utf8" }).stderr.split("\n")[0]}`);
        });

        for (const variant of Object.keys(KEEPALIVED_VARIANTS)) {
            it(`variant ${variant} passes with exit status 0 and not a line of output`, () => {
                const check = configTest(golden(variant));
                expect(check, check.lines.join("\n")).to.deep.equal({ status: 0, lines: [] });
            });
        }

        describe("what it refuses, and why the renderer writes what it writes", () => {
            const base = () => golden("three-hosts");
            /** The base rendering with one text replaced, which must be there. */
            const changed = (from: string, to: string) => {
                const files = base();
                expect(files["keepalived.conf"]).to.contain(from);
                return { ...files, "keepalived.conf": files["keepalived.conf"].replace(from, to) };
            };
            /** Expects a refusal (a non-zero exit status) whose output has a line matching `line`. */
            const refused = (check: ConfigTest, line: RegExp) => {
                expect(check.status, check.lines.join("\n")).to.not.equal(0);
                expect(
                    check.lines.some((l) => line.test(l)),
                    check.lines.join("\n"),
                ).to.equal(true);
            };

            it("an unknown keyword", () => {
                refused(configTest(changed("    advert_int 1\n", "    advert_intervall 1\n")), /Unknown keyword 'advert_intervall'/);
            });

            it("an interface the host does not have", () => {
                refused(configTest(base(), { interfaces: [] }), /interface eth0 for vrrp_instance edge_proxy doesn't exist/);
            });

            it("a check script that is missing, or that others than root could change (enable_script_security)", () => {
                refused(configTest({ "keepalived.conf": base()["keepalived.conf"] }), /Disabling track script chk_haproxy since not found/);
                refused(configTest(base(), { scriptMode: 0o777 }), /Disabling track script chk_haproxy due to insecure/);
                // Root's group is root: a script it may change is root's alone.
                expect(configTest(base(), { scriptMode: 0o775 })).to.deep.equal({ status: 0, lines: [] });
            });

            it("no script_user: the default user keepalived_script does not exist", () => {
                refused(configTest(changed("    script_user root\n", "")), /Unable to set default user/);
            });

            it("nopreempt with state MASTER (every host starts as BACKUP)", () => {
                refused(configTest(changed("    state BACKUP\n", "    state MASTER\n")), /nopreempt will not work with initial state MASTER/);
            });

            it("a password longer than 8 characters, which it would cut", () => {
                refused(configTest(changed("auth_pass s3cret-1\n", "auth_pass s3cret-12\n")), /Truncating auth_pass to 8 characters/);
            });

            it("unicast_src_ip without peers, where it falls back to multicast", () => {
                refused(configTest(changed("        10.0.0.12\n        10.0.0.13\n", "")), /without any unicast peers\. Defaulting to multicast/);
            });

            it("an IPv6 address among the announced ones (VRRP version 2 is IPv4)", () => {
                refused(configTest(changed("        10.0.0.100/24 dev eth0\n", "        fd00::100/64 dev eth0\n")), /address family must match VRRP instance/);
            });
        });
    },
);

/**
 * Two hosts of a fleet, each a network namespace with its own loopback and its own keepalived (the renderings
 * below, their files bound over its /etc/keepalived), on one shared link, with an HTTP server standing for each
 * host's HAProxy. The run's transcript says which host holds the virtual address at each step; everything
 * runs in a PID namespace whose end stops it all, and /run is a tmpfs of its own (ip netns, pid files).
 */
const FAILOVER_SCRIPT = String.raw`
dir=$1 node=$2
mount -t tmpfs edge-proxy-test /run || exit 1
ip netns add a && ip netns add b || exit 1
ip link add eth0 netns a type veth peer name eth0 netns b || exit 1
for h in a b; do ip -n "$h" link set lo up && ip -n "$h" link set eth0 up || exit 1; done
ip -n a addr add 10.0.0.11/24 dev eth0 && ip -n b addr add 10.0.0.12/24 dev eth0 || exit 1
web() {
    ip netns exec "$1" "$node" -e 'require("http").createServer((q, s) => s.writeHead(301).end()).listen(8080, "127.0.0.1")' &
    echo $! >"/run/web-$1"
    tries=0
    until ip netns exec "$1" bash "$dir/$1/check-haproxy.sh" 2>/dev/null; do
        tries=$((tries + 1)); [ "$tries" -le 50 ] || { echo "the web server of $1 does not answer"; return 1; }; sleep 0.1
    done
}
keepalived_on() {
    ip netns exec "$1" unshare --mount sh -c 'mount --bind "$0/$1" /etc/keepalived && exec keepalived -n -l -G -p "/run/keepalived-$1.pid" -r "/run/vrrp-$1.pid" -f /etc/keepalived/keepalived.conf' "$dir" "$1" >"$dir/$1.log" 2>&1 &
}
holder() { for h in a b; do ip -n "$h" -o -4 addr show dev eth0 | grep -q ' 10\.0\.0\.100/' && printf %s "$h"; done; }
wait_holder() {
    tenths=0
    while [ "$(holder)" != "$1" ]; do
        tenths=$((tenths + 1))
        [ "$tenths" -le "$2" ] || { echo "no holder $1 within $2 tenths of a second (holder: $(holder))"; return 1; }
        sleep 0.1
    done
    echo "holder $1"
}
web a && web b || exit 1
keepalived_on a
wait_holder a 150 || exit 1
keepalived_on b
sleep 3
echo "holder with both: $(holder)"
kill "$(cat /run/web-a)"
wait_holder b 100 || exit 1
web a || exit 1
sleep 5
echo "holder once a serves again: $(holder)"
`;

describeWith(
    [
        ROOT,
        KEEPALIVED,
        program("unshare", "util-linux"),
        program("ip", "iproute2"),
        program("bash", "Debian's bash"),
        file(CONFIG_DIR, "Debian's keepalived package creates it"),
    ],
    "two hosts under the real keepalived",
    function () {
        this.timeout(120_000);

        it("the first healthy host takes the address, hands it over when its proxy stops, and (nopreempt) does not take it back", () => {
            const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-keepalived-fleet-"));
            try {
                const fleet = { interface: "eth0", virtualRouterId: 51, virtualAddresses: ["10.0.0.100/24"], authPassword: "s3cret-1", preempt: false };
                const check = { port: 8080, intervalSeconds: 1, fall: 2, rise: 2, timeoutSeconds: 1 };
                for (const [host, source, peer, priority] of [
                    ["a", "10.0.0.11", "10.0.0.12", 150],
                    ["b", "10.0.0.12", "10.0.0.11", 140],
                ] as const) {
                    const view = {
                        ...fleet,
                        hostName: `proxy-${host}`,
                        priority,
                        unicastSource: source,
                        unicastPeers: [peer],
                        advertIntervalSeconds: 1,
                        check,
                    };
                    fs.mkdirSync(path.join(scratch, host));
                    fs.writeFileSync(path.join(scratch, host, "keepalived.conf"), renderKeepalivedConfig(view));
                    fs.writeFileSync(path.join(scratch, host, "check-haproxy.sh"), renderKeepalivedCheck(view), { mode: 0o755 });
                }
                const run = spawnSync(
                    "unshare",
                    ["--mount", "--net", "--pid", "--fork", "--kill-child", "--", "sh", "-c", FAILOVER_SCRIPT, "sh", scratch, process.execPath],
                    {
                        encoding: "utf8",
                        timeout: 90_000,
                        killSignal: "SIGKILL",
                    },
                );
                const logs = ["a", "b"].map((host) => {
                    const log = path.join(scratch, `${host}.log`);
                    return `--- keepalived on ${host}:\n${fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "(none)"}`;
                });
                const transcript = `${run.stdout}${run.stderr}`;
                expect(run.stdout.trim().split("\n"), `${transcript}\n${logs.join("\n")}`).to.deep.equal([
                    "holder a",
                    "holder with both: a",
                    "holder b",
                    "holder once a serves again: b",
                ]);
            } finally {
                fs.rmSync(scratch, { recursive: true, force: true });
            }
        });
    },
);

describeWith([program("shellcheck", "apt-get install shellcheck; tools/install.sh does")], "the keepalived check script: shellcheck", () => {
    for (const variant of Object.keys(KEEPALIVED_VARIANTS)) {
        it(`variant ${variant}: check-haproxy.sh passes shellcheck -s bash at every severity`, () => {
            const lint = spawnSync("shellcheck", ["-s", "bash", "-"], { input: golden(variant)["check-haproxy.sh"], encoding: "utf8" });
            expect(lint.status, lint.stdout).to.equal(0);
        });
    }
});

/** What a run of the check script gave: its exit status (or the signal that ended it) and how long it took. */
interface CheckRun {
    status: number | null;
    signal: NodeJS.Signals | null;
    ms: number;
    output: string;
}

/** How long a run of the check script may take before the test kills it: far beyond its own timeout. */
const RUN_LIMIT_MS = 10_000;

/** Renders the check script for `port` (timeout 1 s) and runs it with bash, asynchronously: the servers answer from this process. */
async function runCheck(port: number, timeoutSeconds = 1): Promise<CheckRun> {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-keepalived-check-"));
    const script = path.join(scratch, "check-haproxy.sh");
    fs.writeFileSync(script, renderKeepalivedCheck({ check: { port, intervalSeconds: 2, fall: 2, rise: 2, timeoutSeconds } }), { mode: 0o755 });
    const started = Date.now();
    try {
        const child: ChildProcess = spawn("bash", [script], { stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout!.on("data", (chunk) => {
            output += chunk;
        });
        child.stderr!.on("data", (chunk) => {
            output += chunk;
        });
        const limit = setTimeout(() => child.kill("SIGKILL"), RUN_LIMIT_MS);
        const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("exit", (code, sig) => resolve([code, sig])));
        clearTimeout(limit);
        return { status, signal, ms: Date.now() - started, output };
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

/** Starts a server on 127.0.0.1 on a free port; returns the port and how to stop it (every connection closed). */
async function listen(server: net.Server): Promise<{ port: number; close: () => Promise<void> }> {
    const sockets = new Set<net.Socket>();
    server.on("connection", (socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as net.AddressInfo;
    const close = async () => {
        for (const socket of sockets) {
            socket.destroy();
        }
        await new Promise<void>((resolve) => server.close(() => resolve()));
    };
    return { port, close };
}

/** A port on 127.0.0.1 where nothing listens (one just freed). */
async function closedPort(): Promise<number> {
    const { port, close } = await listen(net.createServer());
    await close();
    return port;
}

describeWith([program("bash", "Debian's bash"), program("timeout", "Debian's coreutils")], "the keepalived check script, run for real", function () {
    this.timeout(30_000);

    /** Runs the check against a server for the run's length, then stops the server. */
    async function against(server: net.Server): Promise<CheckRun> {
        const { port, close } = await listen(server);
        try {
            return await runCheck(port);
        } finally {
            await close();
        }
    }

    it("passes when an HTTP server answers, whatever the status (a redirect, an error: HAProxy serves)", async () => {
        const requests: http.IncomingMessage[] = [];
        for (const status of [301, 200, 503]) {
            const run = await against(
                http.createServer((request, response) => {
                    requests.push(request);
                    response.writeHead(status, { Location: "https://example.com/" }).end();
                }),
            );
            expect(run, `status ${status}`).to.include({ status: 0, signal: null });
        }
        expect(requests.map((request) => [request.method, request.url, request.httpVersion, request.headers.host])).to.deep.equal(
            Array(3).fill(["GET", "/", "1.1", "keepalived-check"]),
        );
    });

    it("fails at once when nothing listens", async () => {
        const run = await runCheck(await closedPort());
        expect(run.status, run.output).to.not.equal(0);
        expect(run.ms).to.be.lessThan(1000);
    });

    it("fails when the server takes the connection and resets it", async () => {
        for (const when of ["at once", "after the request"] as const) {
            const server = net.createServer((socket) => {
                if (when === "at once") {
                    socket.resetAndDestroy();
                } else {
                    socket.once("data", () => socket.resetAndDestroy());
                }
            });
            const run = await against(server);
            expect(run.status === 0 && run.signal === null, `${when}: ${JSON.stringify(run)}`).to.equal(false);
            expect(run.ms, when).to.be.lessThan(1000);
        }
    });

    it("fails when the server closes without an answer, or answers something other than HTTP", async () => {
        for (const answer of ["", "SSH-2.0-OpenSSH_9.2\r\n", "HTTP/2 200\r\n", "hello HTTP/1.1 200 OK\r\n"]) {
            const run = await against(net.createServer((socket) => socket.once("data", () => socket.end(answer))));
            expect(run.status === 0 && run.signal === null, JSON.stringify(answer)).to.equal(false);
        }
    });

    it("fails within its timeout when the server takes the connection and never answers", async () => {
        const run = await against(net.createServer(() => undefined));
        expect(run.status === 0 && run.signal === null, JSON.stringify(run)).to.equal(false);
        expect(run.ms).to.be.within(900, 2500);
    });
});

describeWith(
    [ROOT, HAPROXY, program("bash", "Debian's bash"), program("timeout", "Debian's coreutils")],
    "the keepalived check script against real haproxy",
    function () {
        this.timeout(60_000);
        /** Where the container's ports listen here. */
        const BINDS = { 80: "127.0.0.1:28380", 443: "127.0.0.1:28343", 22: "127.0.0.1:28322" };
        let proxy: RunningHaproxy | undefined;

        after(async () => {
            await proxy?.stop();
        });

        it("passes while Debian's haproxy serves a rendering (its redirect to HTTPS), and fails once it is stopped", async () => {
            const binary = describeBinary(haproxyBinary());
            const config = loadStackFile(path.join(PROJECT_DIR, "test", "stacks", "seed-1.7.yaml"));
            config.haproxy.version = binary.version;
            proxy = await startHaproxy({ binary: binary.path, files: renderHaproxyConfig(config), binds: BINDS });
            const serving = await runCheck(28380);
            expect(serving, serving.output).to.include({ status: 0, signal: null });
            await proxy.stop();
            proxy = undefined;
            const stopped = await runCheck(28380);
            expect(stopped.status, stopped.output).to.not.equal(0);
        });
    },
);
