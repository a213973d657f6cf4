/**
 * Several "Debian Docker hosts" on this one machine, for the end-to-end tests of a stack with several proxy
 * hosts (an issuer that pushes certificates over SSH to the others, keepalived moving a virtual IP).
 *
 * From the proxy's point of view each host must be a machine of its own: its own network stack (an
 * address on a test network, its own docker0 and iptables), its own Docker engine (images, containers,
 * engine ID), its own sshd, and its own copy of the few host directories the stack writes. Everything
 * else (the binaries: docker, openssl, sh, flock, ssh, keepalived; the rest of the file system) is this
 * machine's, shared.
 *
 * A host is:
 *  - a network namespace `ep-NAME`, attached by a veth pair (`eth0` inside) to one bridge in the root
 *    namespace (FLEET_BRIDGE, FLEET_PREFIX.0/24: the root namespace is .1, the hosts .11, .12, ...);
 *  - a mount and UTS namespace held by a holder process (`sleep infinity`) that entered the network
 *    namespace, with a private directory bind-mounted over each of HOST_PRIVATE_DIRS and the host's name;
 *  - a dockerd and an sshd entered into the holder's namespaces, the engine's socket at
 *    /run/ep-NAME/docker.sock (visible from the root namespace too: /run is not a mount of its own).
 *
 * Every process goes through process.ts (stopped by PID, last started first); the namespaces, veths,
 * bridge and the iptables rule are removed by registered cleanups. The caller holds the environment lock
 * (dev/environment.ts): the bridge, the namespaces and the addresses have fixed names.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type RunOptions, type RunResult, run } from "./command";
import { CERTBOT_IMAGE, HAPROXY_IMAGE, KEEPALIVED_IMAGE } from "./images";
import { type ManagedProcess, onCleanup, startProcess, waitFor } from "./process";
import { generateKey, type Sshd, startSshd } from "./sshd";

/** The bridge in the root namespace that the hosts' veths are attached to. */
export const FLEET_BRIDGE = "epfleet0";
/** The test network's first three octets (a /24): the root namespace is .1, host i (from 0) is .(11 + i). */
export const FLEET_PREFIX = "10.231.0";
/** The interface of each host on the test network, inside its namespace. */
export const FLEET_INTERFACE = "eth0";
/** Where each host's sshd listens (on its own address, in its own namespace, so no clash). */
export const FLEET_SSH_PORT = 22;

/**
 * The host directories each host has its own copy of: what the stack writes on a host (its state, the
 * renewal job and its cron entry, the host directories it is configured with, keepalived's config, the TLS
 * session ticket keys), the root's SSH keys (authorized_keys, and the keys a host uses to log in to the
 * others), and /etc/docker (dockerd 20.10 keeps the key its engine ID comes from there).
 */
export const HOST_PRIVATE_DIRS = [
    "/var/lib/edge-proxy",
    "/etc/cron.d",
    "/usr/local/sbin",
    "/root/.ssh",
    "/srv/edge-proxy-fleet",
    "/etc/keepalived",
    "/etc/docker",
    "/run/edge-proxy",
];

/** The images every host's engine gets: the stack's two, and keepalived. */
export const FLEET_IMAGES = [HAPROXY_IMAGE, CERTBOT_IMAGE, KEEPALIVED_IMAGE];

/** Options for {@link startFleetHosts}. */
export interface FleetOptions {
    /** Work directory: per host `NAME/` (its private directories under `fs/`, its engine's data, logs). Emptied first. */
    dir: string;
    /** Host names: lower-case letters, digits and dashes, at most 10 characters (namespace and veth names). */
    names: string[];
    /** Private key (with `.pub` beside it) that logs in to every host as root; default: one generated here. */
    clientKeyFile?: string;
    /** Images copied from this machine's engine into each host's (default FLEET_IMAGES). */
    images?: string[];
    /** How long a host's dockerd may take to answer (default 60 s). */
    timeoutMs?: number;
}

/** One host of the fleet. */
export interface FleetHost {
    /** Its name (and hostname inside its UTS namespace). */
    readonly name: string;
    /** Its address on the test network. */
    readonly address: string;
    /** Its sshd's port (at `address`). */
    readonly sshPort: number;
    /** Client private key (OpenSSH text) that logs in as root: the same for every host. */
    readonly privateKey: string;
    /** That key's file (0600), for `ssh -i`. */
    readonly privateKeyFile: string;
    /** Host public key, "ssh-ed25519 AAAA...", for pinning. */
    readonly hostPublicKey: string;
    /** A known_hosts line for it. */
    readonly knownHostsLine: string;
    /** Its sshd (stop/start/dropConnectionsAndRestart). */
    readonly sshd: Sshd;
    /** Its engine's socket path (reachable from the root namespace too). */
    readonly dockerSocket: string;
    /** `unix://` + dockerSocket, for `docker -H` or DOCKER_HOST. */
    readonly dockerHost: string;
    /** Its network namespace's name (`ip netns exec`, `ip -n`). */
    readonly netns: string;
    /** The holder process's PID: `nsenter --target PID` enters the host. */
    readonly holderPid: number;
    /** Where a path under one of HOST_PRIVATE_DIRS of this host is in the root namespace (to read or seed it). */
    pathOf(hostPath: string): string;
    /** Runs `docker ARGS` against this host's engine. */
    docker(args: string[], opts?: RunOptions): Promise<RunResult>;
    /** Runs a command inside the host's network, mount and UTS namespaces, DOCKER_HOST set to its engine. */
    exec(command: string, args: string[], opts?: RunOptions): Promise<RunResult>;
    /** PIDs of the processes started for this host that still run (holder, dockerd, sshd). */
    processes(): number[];
    /** Every process in the host's network namespace and its containers' cgroup (dockerd's containerd, shims, containers). */
    pids(): Promise<number[]>;
    /** Stops its dockerd (its containers stop with it). */
    stopDockerd(): Promise<void>;
    /** Starts its dockerd again (same data), after stopDockerd; does nothing while it runs. */
    startDockerd(): Promise<void>;
    /** "Host down": stops its sshd and its dockerd (the network stays: the address answers with refusals). */
    down(): Promise<void>;
    /** Brings the host back after `down()`: dockerd, then sshd. */
    up(): Promise<void>;
    /** Cuts the host off the test network (its veth's root end down): nothing reaches it, it reaches nothing. */
    disconnect(): Promise<void>;
    /** Undoes `disconnect()`. */
    reconnect(): Promise<void>;
}

/** The test network and its hosts. */
export interface FleetNetwork {
    /** The bridge in the root namespace. */
    bridge: string;
    /** The root namespace's address on it (where the hosts reach services of this machine). */
    rootAddress: string;
    /** The network's first three octets, e.g. "10.231.0". */
    prefix: string;
    /** The prefix length (24). */
    prefixLength: number;
    /** The network, e.g. "10.231.0.0/24". */
    subnet: string;
    /** The hosts, in the order of `names`. */
    hosts: FleetHost[];
    /** A host by name. */
    host(name: string): FleetHost;
    /** An address on the test network that no host has (e.g. a virtual IP for keepalived): .(100 + n), n from 0 to 99. */
    freeAddress(n?: number): string;
    /** known_hosts with every host's pinned key. */
    knownHostsFile: string;
    /** An ssh_config for every host's address: root, the client key, the pinned keys only, batch mode. */
    sshConfigFile: string;
    /**
     * A directory with an `ssh` that uses sshConfigFile: put it first on PATH for programs that run the
     * operator's `ssh` (docker's `ssh://` hosts, the Pulumi docker provider).
     */
    sshBinDir: string;
    /** Milliseconds of the start's phases, for reports. */
    timings: Record<string, number>;
    /** Stops every host and removes the network (as stopAll would, for this fleet only). Idempotent. */
    stop(): Promise<void>;
}

/** A teardown step of this fleet: its own action, or a process's stop. */
type Step = () => Promise<void>;

/**
 * Starts one host per name on a fresh test network, after removing what an interrupted run with the same
 * names left. Needs root, a running engine on this machine's default socket with `images` in it
 * (ensureDockerd, ensureImages), and the environment lock held.
 */
export async function startFleetHosts(opts: FleetOptions): Promise<FleetNetwork> {
    for (const name of opts.names) {
        // veth names have at most 15 characters; ours are FLEET_BRIDGE-i, the namespaces ep-NAME.
        if (!/^[a-z][a-z0-9-]{0,9}$/.test(name)) throw new Error(`fleet host name ${JSON.stringify(name)}: use [a-z][a-z0-9-]{0,9}`);
    }
    if (new Set(opts.names).size !== opts.names.length || opts.names.length > 20)
        throw new Error(`fleet host names must be distinct, at most 20: ${opts.names}`);
    const timings: Record<string, number> = {};
    const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
        const started = Date.now();
        try {
            return await work();
        } finally {
            timings[what] = Date.now() - started;
        }
    };
    const steps: Step[] = [];
    /** Registers a teardown action both with the process registry and with this fleet's stop(). */
    const addStep = (name: string, action: Step) => {
        let done = false;
        const once = async () => {
            if (done) return;
            done = true;
            unregister();
            await action();
        };
        const unregister = onCleanup(name, once);
        steps.push(once);
    };

    await timed("leftovers removed", async () => {
        await removeNetwork();
        await Promise.all(opts.names.map((name, i) => removeHost(name, i)));
    });
    await timed("previous files removed", async () => {
        fs.rmSync(opts.dir, { recursive: true, force: true });
        fs.mkdirSync(opts.dir, { recursive: true });
    });

    // The client key every host authorizes, and the mount points of the private directories in the root
    // file system (empty directories where this machine has none).
    const keyDir = path.join(opts.dir, "keys");
    fs.mkdirSync(keyDir, { mode: 0o700 });
    const clientKeyFile = opts.clientKeyFile ?? path.join(keyDir, "client_ed25519");
    if (opts.clientKeyFile === undefined) await generateKey(clientKeyFile, "edge-proxy-e2e fleet client");
    for (const dir of HOST_PRIVATE_DIRS) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

    await timed("network", async () => {
        await run("ip", ["link", "add", FLEET_BRIDGE, "type", "bridge"]);
        addStep("fleet network", removeNetwork);
        await run("ip", ["addr", "add", `${FLEET_PREFIX}.1/24`, "dev", FLEET_BRIDGE]);
        await run("ip", ["link", "set", FLEET_BRIDGE, "up"]);
        // br_netfilter is on and FORWARD's policy is DROP here: frames between two ports of the bridge pass
        // the root namespace's FORWARD chain, so the hosts could not talk to each other without this rule.
        await run("iptables", ["-I", "FORWARD", "-i", FLEET_BRIDGE, "-o", FLEET_BRIDGE, "-j", "ACCEPT"]);
    });

    // One `docker save` for every host's `docker load`.
    const images = opts.images ?? FLEET_IMAGES;
    const imagesTar = path.join(opts.dir, "images.tar");
    await timed("images saved", () => run("docker", ["save", "-o", imagesTar, ...images], { timeoutMs: 300_000 }));

    const settled = await Promise.allSettled(
        opts.names.map((name, i) =>
            startHost({ name, index: i, dir: path.join(opts.dir, name), clientKeyFile, imagesTar, timeoutMs: opts.timeoutMs ?? 60_000 }, addStep, steps, timed),
        ),
    );
    fs.rmSync(imagesTar, { force: true });
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    const hosts = settled.map((r) => (r as PromiseFulfilledResult<FleetHost>).value);

    const knownHostsFile = path.join(keyDir, "known_hosts");
    fs.writeFileSync(knownHostsFile, hosts.map((h) => `${h.knownHostsLine}\n`).join(""));
    const sshConfigFile = path.join(keyDir, "ssh_config");
    fs.writeFileSync(
        sshConfigFile,
        [
            `Host ${hosts.map((h) => h.address).join(" ")}`,
            "    User root",
            `    Port ${FLEET_SSH_PORT}`,
            `    IdentityFile "${clientKeyFile}"`,
            "    IdentitiesOnly yes",
            "    BatchMode yes",
            "    StrictHostKeyChecking yes",
            `    UserKnownHostsFile "${knownHostsFile}"`,
            "    GlobalKnownHostsFile /dev/null",
            "    ConnectTimeout 5",
            "",
        ].join("\n"),
    );
    const sshBinDir = path.join(opts.dir, "bin");
    fs.mkdirSync(sshBinDir);
    fs.writeFileSync(path.join(sshBinDir, "ssh"), `#!/bin/sh\nexec /usr/bin/ssh -F '${sshConfigFile.replace(/'/g, "'\\''")}' "$@"\n`, { mode: 0o755 });

    let stopping: Promise<void> | undefined;
    return {
        bridge: FLEET_BRIDGE,
        rootAddress: `${FLEET_PREFIX}.1`,
        prefix: FLEET_PREFIX,
        prefixLength: 24,
        subnet: `${FLEET_PREFIX}.0/24`,
        hosts,
        host(name) {
            const found = hosts.find((h) => h.name === name);
            if (!found) throw new Error(`no fleet host ${name}`);
            return found;
        },
        freeAddress(n = 0) {
            if (!Number.isInteger(n) || n < 0 || n > 99) throw new Error(`freeAddress(${n}): n from 0 to 99`);
            return `${FLEET_PREFIX}.${100 + n}`;
        },
        knownHostsFile,
        sshConfigFile,
        sshBinDir,
        timings,
        stop() {
            // Last registered first, as stopAll does: sshd and dockerd before their holder, the holder
            // before its namespace, every host before the network.
            stopping ??= (async () => {
                while (steps.length > 0) {
                    try {
                        await steps.pop()!();
                    } catch (err) {
                        console.error(`[e2e-env] fleet teardown step failed: ${(err as Error).message}`);
                    }
                }
            })();
            return stopping;
        },
    };
}

/** What {@link startHost} needs. */
interface HostSpec {
    name: string;
    index: number;
    dir: string;
    clientKeyFile: string;
    imagesTar: string;
    timeoutMs: number;
}

/** Sets up one host: namespace and veth, holder, dockerd (with the images), sshd. */
async function startHost(
    spec: HostSpec,
    addStep: (name: string, action: Step) => void,
    steps: Step[],
    timed: <T>(what: string, work: () => Promise<T>) => Promise<T>,
): Promise<FleetHost> {
    const { name, index, dir } = spec;
    const netns = netnsOf(name);
    const veth = vethOf(index);
    const address = `${FLEET_PREFIX}.${11 + index}`;
    const runDir = `/run/ep-${name}`;
    const dockerSocket = `${runDir}/docker.sock`;
    const filesDir = path.join(dir, "fs");
    const pathOf = (hostPath: string): string => {
        const normal = path.posix.normalize(hostPath);
        const base = HOST_PRIVATE_DIRS.find((d) => normal === d || normal.startsWith(`${d}/`));
        if (!base) throw new Error(`${hostPath} is not under a host's private directory (${HOST_PRIVATE_DIRS.join(", ")})`);
        return path.join(filesDir, normal);
    };
    for (const d of HOST_PRIVATE_DIRS) fs.mkdirSync(pathOf(d), { recursive: true, mode: 0o700 });
    fs.chmodSync(pathOf("/root/.ssh"), 0o700);
    fs.mkdirSync(runDir, { recursive: true });

    await timed(`${name}: namespace`, async () => {
        await run("ip", ["netns", "add", netns]);
        addStep(`fleet host ${name} (namespace)`, () => removeHost(name, index));
        await run("ip", ["link", "add", veth, "type", "veth", "peer", "name", FLEET_INTERFACE, "netns", netns]);
        await run("ip", ["link", "set", veth, "master", FLEET_BRIDGE, "up"]);
        for (const args of [
            ["link", "set", "lo", "up"],
            ["addr", "add", `${address}/24`, "dev", FLEET_INTERFACE],
            ["link", "set", FLEET_INTERFACE, "up"],
            // The root namespace routes, so a host reaches this machine's other addresses (the docker bridge,
            // where the end-to-end environment's Pebble and backends listen).
            ["route", "add", "default", "via", `${FLEET_PREFIX}.1`],
        ]) {
            await run("ip", ["-n", netns, ...args]);
        }
    });

    // The holder: enters the network namespace, makes new mount and UTS namespaces (slave propagation: a
    // namespace deleted in the root namespace goes here too; nothing mounted here goes back), mounts the
    // private directories and names the host, then sleeps; nsenter and unshare exec, so its PID is the
    // sleep's. Not `ip netns exec`: that remounts /sys, and dockerd then fails ("Devices cgroup isn't
    // mounted"). A tmpfs over /run/containerd hides a system containerd's socket, which dockerd would use
    // instead of starting its own (and with it share containers), and keeps the shims' sockets apart.
    const ready = path.join(dir, "holder.ready");
    const holderScript = [
        "set -eu",
        'ready=$1; echo "$2" > /proc/sys/kernel/hostname; shift 2',
        'while [ "$#" -gt 0 ]; do mount --bind "$1" "$2"; shift 2; done',
        "if [ -d /run/containerd ]; then mount -t tmpfs -o mode=0700 tmpfs /run/containerd; fi",
        ': > "$ready"',
        "exec sleep infinity",
    ].join("\n");
    const holder = await startProcess(
        "nsenter",
        [
            `--net=/run/netns/${netns}`,
            "--",
            "unshare",
            "--mount",
            "--uts",
            "--propagation",
            "slave",
            "--",
            "sh",
            "-c",
            holderScript,
            "fleet-holder",
            ready,
            name,
            ...HOST_PRIVATE_DIRS.flatMap((d) => [pathOf(d), d]),
        ],
        { name: `fleet host ${name} (namespaces)`, logFile: path.join(dir, "holder.log"), stopTimeoutMs: 5_000 },
    );
    steps.push(() => holder.stop());
    await timed(`${name}: holder`, () => waitFor(() => fs.existsSync(ready), { timeoutMs: 10_000, what: `host ${name}'s namespaces`, process: holder }));
    const enter = (command: string, args: string[]): [string, string[]] => [
        "nsenter",
        [`--target=${holder.pid}`, "--net", "--mount", "--uts", "--", command, ...args],
    ];

    // Each engine: its own docker0 (bip) and address pool for user networks, apart from the test network,
    // this machine's docker0 (172.17.0.0/16, which the hosts reach through the root namespace) and each
    // other; its containers' cgroups under /ep-NAME, where leftovers of a killed run can be found.
    fs.writeFileSync(
        pathOf("/etc/docker/daemon.json"),
        `${JSON.stringify(
            {
                bip: `172.31.${index + 1}.1/24`,
                "default-address-pools": [{ base: `10.${232 + index}.0.0/16`, size: 24 }],
                "cgroup-parent": `/ep-${name}`,
            },
            null,
            2,
        )}\n`,
    );
    const dockerArgs = [
        "--config-file",
        "/etc/docker/daemon.json",
        "--host",
        `unix://${dockerSocket}`,
        "--data-root",
        path.join(dir, "docker"),
        "--exec-root",
        `${runDir}/exec`,
        "--pidfile",
        `${runDir}/docker.pid`,
    ];
    const docker = (args: string[], runOpts: RunOptions = {}) => run("docker", ["-H", `unix://${dockerSocket}`, ...args], { timeoutMs: 120_000, ...runOpts });
    let dockerd: ManagedProcess | undefined;
    const startDockerd = async () => {
        if (dockerd && !dockerd.exited()) return;
        const started = await startProcess(...enter("/usr/sbin/dockerd", dockerArgs), {
            name: `fleet host ${name} (dockerd)`,
            logFile: path.join(dir, "dockerd.log"),
            // Its containers stop first (each within its stop timeout, 10 s unless given, in parallel).
            stopTimeoutMs: 30_000,
        });
        dockerd = started;
        await waitFor(async () => (await docker(["version", "--format", "{{.Server.Version}}"], { allowFailure: true, timeoutMs: 10_000 })).code === 0, {
            timeoutMs: spec.timeoutMs,
            what: `host ${name}'s dockerd to answer`,
            intervalMs: 250,
            process: started,
        });
    };
    const stopDockerd = async () => {
        await dockerd?.stop();
    };
    await timed(`${name}: dockerd`, startDockerd);
    // Registered as a step that stops whichever dockerd runs by then (startDockerd may start a new one).
    steps.push(stopDockerd);
    await timed(`${name}: images loaded`, () => docker(["load", "-q", "-i", spec.imagesTar], { timeoutMs: 300_000 }));

    const sshd = await timed(`${name}: sshd`, () =>
        startSshd({
            dir: path.join(dir, "sshd"),
            port: FLEET_SSH_PORT,
            listen: address,
            clientKeyFile: spec.clientKeyFile,
            // The host's own /root/.ssh (its private directory), as on a real host.
            authorizedKeys: { file: pathOf("/root/.ssh/authorized_keys"), configPath: ".ssh/authorized_keys" },
            // `docker` in a session, and `docker system dial-stdio` behind an ssh:// engine address, reach this
            // host's engine.
            extraConfig: [`SetEnv DOCKER_HOST=unix://${dockerSocket}`],
            launch: enter,
        }),
    );
    steps.push(() => sshd.stop());

    return {
        name,
        address,
        sshPort: FLEET_SSH_PORT,
        privateKey: sshd.privateKey,
        privateKeyFile: sshd.privateKeyFile,
        hostPublicKey: sshd.hostPublicKey,
        knownHostsLine: sshd.knownHostsLine,
        sshd,
        dockerSocket,
        dockerHost: `unix://${dockerSocket}`,
        netns,
        holderPid: holder.pid,
        pathOf,
        docker,
        // DOCKER_HOST as in an SSH session on the host: `docker` there is the host's engine.
        exec: (command, args, runOpts = {}) => run(...enter(command, args), { ...runOpts, env: { DOCKER_HOST: `unix://${dockerSocket}`, ...runOpts.env } }),
        processes: () => [holder, dockerd, sshd.process].filter((p): p is ManagedProcess => p !== undefined && !p.exited()).map((p) => p.pid),
        pids: () => namespacePids(name),
        stopDockerd,
        startDockerd,
        async down() {
            await sshd.stop();
            await stopDockerd();
        },
        async up() {
            await startDockerd();
            await sshd.start();
        },
        async disconnect() {
            await run("ip", ["link", "set", veth, "down"]);
        },
        async reconnect() {
            await run("ip", ["link", "set", veth, "up"]);
        },
    };
}

/** The network namespace of a host. */
function netnsOf(name: string): string {
    return `ep-${name}`;
}

/** The root end of host i's veth pair. */
function vethOf(index: number): string {
    return `${FLEET_BRIDGE}-${index}`;
}

/**
 * Every process in a host's network namespace (holder, dockerd, its containerd and shims, sshd and its
 * sessions, host-network containers) and in its containers' cgroup (containers on docker networks, which
 * have namespaces of their own).
 */
async function namespacePids(name: string): Promise<number[]> {
    const pids = new Set<number>();
    const inNetns = await run("ip", ["netns", "pids", netnsOf(name)], { allowFailure: true });
    if (inNetns.code === 0) for (const pid of inNetns.stdout.split(/\s+/).filter(Boolean)) pids.add(Number(pid));
    const cgroup = `/sys/fs/cgroup/pids/ep-${name}`;
    for (const dir of [cgroup, ...subdirs(cgroup)]) {
        try {
            for (const pid of fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split(/\s+/).filter(Boolean)) pids.add(Number(pid));
        } catch {
            // no such cgroup
        }
    }
    return [...pids];
}

/**
 * Removes what a host leaves: processes still in its namespaces (after a clean stop there are none; after
 * a killed run, those the run started: its holder, dockerd and sshd, and what they started), the
 * namespace (its end of the veth pair and the other end go with it), its /run directory and its
 * containers' cgroups.
 */
async function removeHost(name: string, index: number): Promise<void> {
    const leftovers = await namespacePids(name);
    for (const pid of leftovers) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            // already gone
        }
    }
    if (leftovers.length > 0) {
        console.error(`[e2e-env] fleet host ${name}: killed ${leftovers.length} leftover process(es): ${leftovers.join(" ")}`);
        await waitFor(async () => (await namespacePids(name)).length === 0, { timeoutMs: 10_000, what: `host ${name}'s leftover processes to end` });
    }
    await run("ip", ["netns", "del", netnsOf(name)], { allowFailure: true });
    await run("ip", ["link", "del", vethOf(index)], { allowFailure: true });
    fs.rmSync(`/run/ep-${name}`, { recursive: true, force: true });
    for (const controller of subdirs("/sys/fs/cgroup")) {
        const cgroup = path.join(controller, `ep-${name}`);
        // cgroupfs directories are removed with rmdir, children first, once empty.
        for (const dir of [...subdirs(cgroup), cgroup]) {
            try {
                fs.rmdirSync(dir);
            } catch {
                // absent
            }
        }
    }
}

/** Removes the bridge and every copy of the FORWARD rule (a killed run may have left one). */
async function removeNetwork(): Promise<void> {
    const rule = ["FORWARD", "-i", FLEET_BRIDGE, "-o", FLEET_BRIDGE, "-j", "ACCEPT"];
    for (let i = 0; i < 10 && (await run("iptables", ["-C", ...rule], { allowFailure: true })).code === 0; i++) {
        await run("iptables", ["-D", ...rule]);
    }
    await run("ip", ["link", "del", FLEET_BRIDGE], { allowFailure: true });
}

/** The subdirectories of a directory (none if it does not exist). */
function subdirs(dir: string): string[] {
    try {
        return fs
            .readdirSync(dir, { withFileTypes: true })
            .filter((e) => e.isDirectory())
            .map((e) => path.join(dir, e.name));
    } catch {
        return [];
    }
}
