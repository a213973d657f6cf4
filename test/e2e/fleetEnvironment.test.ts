/**
 * The fleet's hosts (dev/env/fleet.ts), on which the several-hosts end-to-end tests will run the stack: two
 * hosts, each checked from outside to be a machine of its own as the proxy sees one (its own engine,
 * address, sshd with a pinned key, private host directories), reaching each other on the test network; the
 * keepalived image moving a virtual IP between them; and a teardown that leaves nothing behind.
 */

import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { expect } from "chai";
import { type RunResult, run } from "../../dev/env/command";
import { ensureDockerd } from "../../dev/env/dockerd";
import { FLEET_BRIDGE, FLEET_INTERFACE, type FleetHost, type FleetNetwork, HOST_PRIVATE_DIRS, startFleetHosts } from "../../dev/env/fleet";
import { ensureImages, KEEPALIVED_IMAGE } from "../../dev/env/images";
import { holdLock, onCleanup, stopAll, waitFor } from "../../dev/env/process";
import { pinnedSshArgs } from "../../dev/env/sshd";
import { ENVIRONMENT_LOCK, phase } from "../../dev/environment";
import { describeWith, FLEET_ENVIRONMENT } from "../support/needs";

const DIR = "/var/tmp/edge-proxy-e2e/fleet";

/** The keepalived containers' name on each host. */
const VRRP = "ep-fleet-vrrp";

describeWith(FLEET_ENVIRONMENT, "fleet environment: hosts that are separate machines to the proxy", function () {
    this.timeout(120_000);
    let fleet: FleetNetwork;
    let a: FleetHost;
    let b: FleetHost;

    before(async function () {
        this.timeout(20 * 60_000);
        // The other end-to-end suites hold this lock: they share the engine, and this suite adds the hosts'.
        fs.mkdirSync(path.dirname(ENVIRONMENT_LOCK), { recursive: true });
        const release = await holdLock(ENVIRONMENT_LOCK, "another end-to-end environment (a test run or the demo) to stop");
        onCleanup("the end-to-end environment lock", async () => release());
        await phase("docker engine", () => ensureDockerd({ workDir: "/var/tmp/edge-proxy-e2e/dockerd" }));
        await phase("images (built once, then reused)", () => ensureImages({ verbose: false }));
        fleet = await phase("two fleet hosts", () => startFleetHosts({ dir: DIR, names: ["a", "b"] }));
        console.log(
            `      [e2e] fleet start: ${Object.entries(fleet.timings)
                .map(([what, ms]) => `${what} ${(ms / 1000).toFixed(1)} s`)
                .join(", ")}`,
        );
        [a, b] = fleet.hosts;
    });

    after(() => stopAll());

    /** `ssh` from the root namespace with one host's key pinned, nothing else trusted. */
    async function ssh(host: FleetHost, command: string, pinned = host.knownHostsLine): Promise<RunResult> {
        const knownHosts = path.join(DIR, `known_hosts.${host.name}`);
        fs.writeFileSync(knownHosts, `${pinned}\n`);
        return run(
            "ssh",
            [
                ...["-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5"],
                ...pinnedSshArgs({ keyFile: host.privateKeyFile, port: host.sshPort, knownHosts, target: `root@${host.address}` }, command),
            ],
            { allowFailure: true, timeoutMs: 30_000 },
        );
    }

    /** The engine ID `docker info` reports. */
    async function engineId(host?: FleetHost): Promise<string> {
        const args = ["info", "--format", "{{.ID}}"];
        return (host ? await host.docker(args) : await run("docker", args)).stdout.trim();
    }

    it("gives each host an engine of its own", async () => {
        const ids = [await engineId(a), await engineId(b), await engineId()];
        expect(new Set(ids).size, `engine IDs of a, b and this machine: ${ids}`).to.equal(3);
        for (const host of [a, b]) {
            const images = (await host.docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])).stdout;
            expect(images).to.include(KEEPALIVED_IMAGE);
        }
    });

    it("reaches each host's own engine over SSH, with its host key pinned", async () => {
        for (const host of [a, b]) {
            const result = await ssh(host, "docker info --format '{{.ID}}'");
            expect(result.code, result.stderr).to.equal(0);
            expect(result.stdout.trim()).to.equal(await engineId(host));
            const name = await ssh(host, "cat /proc/sys/kernel/hostname");
            expect(name.stdout.trim()).to.equal(host.name);
        }
        // The other host's key under this address: refused, so the pinning is real.
        const wrong = await ssh(a, "true", `${a.address} ${b.hostPublicKey}`);
        expect(wrong.code).to.not.equal(0);
        expect(wrong.stderr).to.match(/host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i);
    });

    it("serves docker over ssh:// as the Pulumi docker provider uses it (the operator's ssh, docker system dial-stdio)", async () => {
        for (const host of [a, b]) {
            const result = await run("docker", ["-H", `ssh://root@${host.address}`, "info", "--format", "{{.ID}}"], {
                env: { PATH: `${fleet.sshBinDir}:${process.env.PATH}` },
                timeoutMs: 60_000,
            });
            expect(result.stdout.trim()).to.equal(await engineId(host));
        }
    });

    it("keeps each host's directories private: written on A over SSH, not on B nor on this machine", async () => {
        const probe = `fleet-probe-${process.pid}`;
        const files = HOST_PRIVATE_DIRS.map((dir) => `${dir}/${probe}`);
        const wrote = await ssh(a, files.map((f) => `echo written-on-a > ${f}`).join(" && "));
        expect(wrote.code, wrote.stderr).to.equal(0);
        try {
            for (const file of files) {
                expect(fs.readFileSync(a.pathOf(file), "utf8"), `${file} as A's private directory holds it`).to.equal("written-on-a\n");
                expect(fs.existsSync(file), `${file} in the root namespace`).to.equal(false);
                expect(fs.existsSync(b.pathOf(file)), `${file} in B's private directory`).to.equal(false);
            }
            const onB = await ssh(b, `ls ${files.join(" ")}`);
            expect(onB.code).to.not.equal(0);
            expect(onB.stdout.trim()).to.equal("");
        } finally {
            for (const file of files) fs.rmSync(a.pathOf(file), { force: true });
        }
    });

    it("lets host A reach host B's sshd and engine at B's address on the test network", async () => {
        const knownHosts = path.join(DIR, "known_hosts.b-from-a");
        fs.writeFileSync(knownHosts, `${b.knownHostsLine}\n`);
        const fromA = await a.exec(
            "ssh",
            pinnedSshArgs(
                { keyFile: a.privateKeyFile, port: b.sshPort, knownHosts, target: `root@${b.address}` },
                "cat /proc/sys/kernel/hostname; docker info --format '{{.ID}}'",
            ),
        );
        expect(fromA.stdout.trim().split("\n")).to.deep.equal(["b", await engineId(b)]);
        // A's own view: its address on its interface, B's not.
        const addresses = (await a.exec("ip", ["-o", "-4", "addr", "show", FLEET_INTERFACE])).stdout;
        expect(addresses).to.include(`${a.address}/24`).and.not.include(b.address);
    });

    it("shows host-network containers their host's address, and lets bridged containers reach the other host", async () => {
        const fib = await a.docker(["run", "--rm", "--network", "host", "--entrypoint", "cat", KEEPALIVED_IMAGE, "/proc/net/fib_trie"]);
        expect(fib.stdout).to.include(a.address).and.not.include(b.address);
        // On A's docker0 (its own bip), NATed by A's engine: B's sshd answers with its banner.
        const banner = await a.docker([
            ...["run", "--rm", "--entrypoint", "timeout", KEEPALIVED_IMAGE],
            ...["5", "bash", "-c", `exec 3<>/dev/tcp/${b.address}/22; read -r line <&3; echo "$line"`],
        ]);
        expect(banner.stdout).to.match(/^SSH-2\.0-/);
    });

    it("runs keepalived: exactly one host holds the virtual IP, and it moves when that host's check fails", async function () {
        this.timeout(180_000);
        const version = await a.docker(["run", "--rm", KEEPALIVED_IMAGE, "keepalived", "--version"]);
        expect(version.stderr + version.stdout).to.match(/Keepalived v2\.2\.7/);
        const vip = fleet.freeAddress(0);
        for (const [host, peer, priority] of [
            [a, b, 150],
            [b, a, 100],
        ] as const) {
            // A bash vrrp_script: the host's own sshd answers (bash's /dev/tcp, coreutils' timeout).
            fs.writeFileSync(host.pathOf("/etc/keepalived/check.sh"), `#!/bin/bash\nexec timeout 1 bash -c 'exec 3<>/dev/tcp/${host.address}/22'\n`, {
                mode: 0o755,
            });
            fs.writeFileSync(
                host.pathOf("/etc/keepalived/keepalived.conf"),
                [
                    `global_defs {\n  router_id fleet-${host.name}\n  script_user root\n  enable_script_security\n}`,
                    "vrrp_script chk_sshd {\n  script /etc/keepalived/check.sh\n  interval 1\n  timeout 2\n  fall 1\n  rise 1\n}",
                    `vrrp_instance VI_E2E {\n  state BACKUP\n  interface ${FLEET_INTERFACE}\n  virtual_router_id 51\n  priority ${priority}\n  advert_int 1`,
                    `  unicast_src_ip ${host.address}\n  unicast_peer {\n    ${peer.address}\n  }`,
                    `  virtual_ipaddress {\n    ${vip}/24 dev ${FLEET_INTERFACE}\n  }\n  track_script {\n    chk_sshd\n  }\n}\n`,
                ].join("\n"),
            );
            // The bind mount's source is resolved by the host's dockerd, in its mount namespace: the host's own /etc/keepalived.
            await host.docker([
                ...["run", "-d", "--name", VRRP, "--network", "host"],
                ...["--cap-add", "NET_ADMIN", "--cap-add", "NET_BROADCAST", "--cap-add", "NET_RAW"],
                ...["-v", "/etc/keepalived:/etc/keepalived:ro", KEEPALIVED_IMAGE],
            ]);
        }
        try {
            const holder = async () => {
                const holding = [];
                for (const host of [a, b]) {
                    const addresses = (await host.exec("ip", ["-o", "-4", "addr", "show", FLEET_INTERFACE])).stdout;
                    if (addresses.includes(`${vip}/`)) holding.push(host.name);
                }
                return holding.join(",");
            };
            await waitFor(async () => (await holder()) === "a", { timeoutMs: 20_000, what: `${vip} on a alone` });
            await expectAnsweredBy(vip, a);

            const started = Date.now();
            await a.sshd.stop();
            await waitFor(async () => (await holder()) === "b", { timeoutMs: 20_000, what: `${vip} to move to b once a's sshd is down` });
            console.log(`      [e2e] virtual IP moved to b ${((Date.now() - started) / 1000).toFixed(1)} s after a's sshd stopped`);
            await expectAnsweredBy(vip, b);

            await a.sshd.start();
            await waitFor(async () => (await holder()) === "a", { timeoutMs: 20_000, what: `${vip} back on a (higher priority) once its sshd answers` });
        } catch (err) {
            for (const host of [a, b])
                console.log(`--- ${host.name}'s keepalived:\n${(await host.docker(["logs", VRRP], { allowFailure: true })).stderr.slice(-3000)}`);
            throw err;
        } finally {
            for (const host of [a, b]) await host.docker(["rm", "-f", VRRP], { allowFailure: true });
        }
    });

    it("takes a host down and brings it back (sshd and dockerd), its engine unchanged", async () => {
        const id = await engineId(b);
        await b.down();
        expect((await ssh(b, "true")).code).to.not.equal(0);
        expect((await b.docker(["info"], { allowFailure: true, timeoutMs: 20_000 })).code).to.not.equal(0);
        expect((await ssh(a, "true")).code, "a is not affected").to.equal(0);
        await b.up();
        expect((await ssh(b, "docker info --format '{{.ID}}'")).stdout.trim()).to.equal(id);
    });

    it("leaves no namespace, bridge, rule, cgroup or process behind at teardown", async () => {
        // A container on B's docker0, running at teardown: it has namespaces of its own and lives in B's cgroup.
        // (`sleep` as PID 1 ignores SIGTERM: a short stop timeout, or dockerd waits 10 s before killing it.)
        await b.docker(["run", "-d", "--stop-timeout", "1", "--entrypoint", "sleep", KEEPALIVED_IMAGE, "600"]);
        const started = [...a.processes(), ...b.processes()];
        const all = new Set([...started, ...(await a.pids()), ...(await b.pids())]);
        expect(started.length).to.equal(6); // holder, dockerd, sshd per host
        expect(all.size).to.be.greaterThan(started.length);
        const stopped = Date.now();
        await fleet.stop();
        console.log(`      [e2e] fleet teardown: ${((Date.now() - stopped) / 1000).toFixed(1)} s, ${all.size} processes ended`);
        expect([...all].filter(alive), "processes still running").to.deep.equal([]);
        expect((await run("ip", ["netns", "list"])).stdout).to.not.match(/\bep-/);
        expect((await run("ip", ["link", "show", FLEET_BRIDGE], { allowFailure: true })).code).to.not.equal(0);
        expect((await run("ip", ["-o", "link"])).stdout).to.not.include(`${FLEET_BRIDGE}-`);
        expect((await run("iptables", ["-S", "FORWARD"])).stdout).to.not.include(FLEET_BRIDGE);
        for (const host of [a, b]) {
            expect(fs.existsSync(`/run/ep-${host.name}`)).to.equal(false);
            expect(fs.existsSync(`/sys/fs/cgroup/pids/ep-${host.name}`)).to.equal(false);
        }
    });
});

/**
 * Expects `address` to answer the root namespace (any answer will do, a refusal too) from `host`: the MAC it
 * resolved to is the host's. Retried a while: the neighbour entry follows a move with the new holder's
 * gratuitous ARP.
 */
async function expectAnsweredBy(address: string, host: FleetHost): Promise<void> {
    const link = (await host.exec("ip", ["-o", "link", "show", FLEET_INTERFACE])).stdout;
    const mac = /link\/ether (\S+)/.exec(link)![1];
    let seen = "";
    await waitFor(
        async () => {
            const answered = await new Promise<boolean>((resolve) => {
                const socket = net.connect({ host: address, port: 9 });
                const done = (ok: boolean) => {
                    socket.destroy();
                    resolve(ok);
                };
                socket.setTimeout(2000, () => done(false));
                socket.once("connect", () => done(true));
                socket.once("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED"));
            });
            seen = answered ? (await run("ip", ["neigh", "show", address, "dev", FLEET_BRIDGE])).stdout.trim() : "no answer";
            return seen.includes(`lladdr ${mac}`);
        },
        { timeoutMs: 15_000, what: `${address} to answer from ${host.name} (${mac})` },
    ).catch((err: Error) => {
        throw new Error(`${err.message}; last seen: ${seen}`);
    });
}

/** Whether a PID names a live process (a zombie is not: it only waits to be reaped). */
function alive(pid: number): boolean {
    try {
        return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
}
