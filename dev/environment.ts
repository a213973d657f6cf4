/**
 * The end-to-end environment, shared by the tests (test/e2e/, test/engine/) and `npm run demo`: a Docker
 * engine, the "Debian host" (an sshd on loopback that the stack's remote commands log in to), Pebble with
 * its DNS, two backend web servers and a backend sshd, and the stack configuration that points the real
 * program at them.
 * Everything started here is stopped by its PID through the process registry (stopAll).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { hostStatePath } from "../components/hostPaths";
import { type Bind, startBind } from "./env/bind";
import { run } from "./env/command";
import { bridgeAddress, type Dockerd, ensureDockerd } from "./env/dockerd";
import { CERTBOT_IMAGE, ensureImages, HAPROXY_IMAGE } from "./env/images";
import { type Pebble, type PebbleProfile, startPebble } from "./env/pebble";
import { holdLock, onCleanup } from "./env/process";
import { type Sshd, startSshd } from "./env/sshd";

/** Ports of the environment, away from the usual ones so that nothing on the machine is in the way. */
export const PORTS = {
    hostSshd: 22022,
    backendSshd: 22023,
    http: 18080,
    https: 18443,
    sshService: 18022,
    challenge: 18888,
    webA: 19001,
    webB: 19002,
    metrics: 18404,
    /** named (bind.ts): the DNS-01 zone, and the resolver Pebble asks (challtestsrv stays on 8053). */
    dns: 8054,
};

/** The secret part of the alert command's webhook URL: it must appear in no process's arguments. */
export const ALERT_TOKEN = "e2e-alert-token-7d1c9a";

/** The metrics' basic authentication in the environment (the password is a secret of the stack). */
export const METRICS_AUTH = { user: "prometheus", password: "e2e metrics password" };

/** challtestsrv's DNS port (startPebble's default), named here because named forwards e2e.test to it. */
const CHALLTESTSRV_DNS_PORT = 8053;

/** Held while an environment runs (and by suites that use the machine's end-to-end resources otherwise, e.g. the fleet's). */
export const ENVIRONMENT_LOCK = "/var/tmp/edge-proxy-e2e/environment.lock";

/** The HAProxy container's name in the environment. */
export const CONTAINER = "edge-proxy-e2e";
/** The renewal job's script and cron entry on the host. */
export const RENEW_SCRIPT = `/usr/local/sbin/edge-proxy-renew-${CONTAINER}`;
export const RENEW_CRON = `/etc/cron.d/edge-proxy-renew-${CONTAINER}`;
/** The TLS session ticket keys on the host, and the job that makes them at boot and rotates them. */
export const TICKET_KEYS_DIR = `/run/edge-proxy/${CONTAINER}`;
export const TICKET_KEYS_SCRIPT = `/usr/local/sbin/edge-proxy-tls-keys-${CONTAINER}`;
export const TICKET_KEYS_CRON = `/etc/cron.d/edge-proxy-tls-keys-${CONTAINER}`;

/** The sites: name, domains and the body its backend answers with. */
export const SITES = [
    { name: "site-a", domains: ["a.e2e.test", "www.a.e2e.test"], port: PORTS.webA },
    { name: "site-b", domains: ["b.e2e.test"], port: PORTS.webB },
];

/** One entry of the stack's `sites`. */
export interface SiteValues {
    name: string;
    domains: string[];
    backends: string[];
}

/** The stack's settings, keyed as in a stack file without the `edge-proxy:` prefix. */
export type StackValues = Record<string, unknown> & { sites: SiteValues[] };

/** Stack settings as the Pulumi engine passes them to the program: `edge-proxy:key` to string (JSON for non-strings). */
export function engineConfig(values: StackValues): Record<string, string> {
    return Object.fromEntries(Object.entries(values).map(([key, value]) => [`edge-proxy:${key}`, typeof value === "string" ? value : JSON.stringify(value)]));
}

/** Names Pebble's DNS resolves to the bridge beyond the sites' own: what the scenarios add. */
export const EXTRA_DOMAINS = ["www.b.e2e.test", "c.e2e.test", "d.e2e.test"];

/** A running environment. */
export interface Environment {
    /** The work directory (host directories, state file, logs). */
    dir: string;
    /** The docker bridge address: backends listen there, Pebble and certbot are reached there. */
    bridge: string;
    /** The stack's host. */
    host: Sshd;
    /** The backend sshd behind the TCP service. */
    backendSshd: Sshd;
    /** The ACME CA. */
    pebble: Pebble;
    /**
     * The authoritative DNS server (named) of the zone `dns01.test`, which takes TSIG-signed dynamic
     * updates (certbot's dns-rfc2136 plugin), on 127.0.0.1 and the bridge address at `dns.port`.
     * Pebble resolves every name through it, so it validates DNS-01 against what certbot wrote;
     * names under e2e.test are forwarded to challtestsrv (`pebble.addARecord`).
     */
    dns: Bind;
    /** Pebble's issuing root, written to a file for curl --cacert. */
    rootCaFile: string;
    /** The stack's settings as a stack file holds them (keys without `edge-proxy:`), after `change`. */
    stackValues(change?: (values: StackValues) => void): StackValues;
    /** The same as the Pulumi engine passes them to the program (`edge-proxy:key` to string). */
    stackConfig(change?: (values: StackValues) => void): Record<string, string>;
    /**
     * Stops the Docker engine and starts it again (its containers stop with it), when this environment
     * started it; returns false, doing nothing, for an engine it found running.
     */
    restartDockerd(): Promise<boolean>;
    /** Host paths the stack uses; `alertsDir` receives each alert's status (the stack's alertCommand). */
    paths: { configDir: string; certsDir: string; dataDir: string; metricsFile: string; alertsDir: string };
}

/** Prints one line with the elapsed time of a phase. */
export async function phase<T>(name: string, work: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const result = await work();
    console.log(`      [e2e] ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
}

/** A web backend that answers every request with its site name and the proxy headers it saw. */
async function startWebBackend(name: string, address: string, port: number): Promise<void> {
    const server = http.createServer((request, response) => {
        response.setHeader("content-type", "text/plain");
        response.end(`${name} proto=${request.headers["x-forwarded-proto"] ?? "-"} for=${request.headers["x-forwarded-for"] ?? "-"}\n`);
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, address, resolve));
    onCleanup(`web backend ${name}`, () => new Promise((resolve) => server.close(() => resolve())));
}

/** Starts the sites' web backends (SITES) on `address`, where the proxy's containers reach them. */
export async function startWebBackends(address: string): Promise<void> {
    for (const site of SITES) {
        await startWebBackend(site.name, address, site.port);
    }
}

/**
 * What every end-to-end environment takes of the machine first: the environment lock (registered first
 * with the process registry, so released last), the Docker engine (the one running, or one started here
 * with its files in `dockerdWorkDir`) and the images, built once and then reused.
 */
export async function claimMachine(dockerdWorkDir: string): Promise<Dockerd> {
    // One environment at a time on this machine (the tests, the real-engine suites, the demo): they share
    // ports, the container's name and the Docker engine.
    fs.mkdirSync(path.dirname(ENVIRONMENT_LOCK), { recursive: true });
    const release = await holdLock(ENVIRONMENT_LOCK, "another end-to-end environment (a test run or the demo) to stop");
    onCleanup("the end-to-end environment lock", async () => release());
    const dockerd = await phase("docker engine", () => ensureDockerd({ workDir: dockerdWorkDir }));
    await phase("images (built once, then reused)", () => ensureImages({ verbose: false }));
    return dockerd;
}

/** The ACME side of an environment (startAcme). */
export interface Acme {
    /** named: the DNS-01 zone, and the resolver Pebble asks (names under e2e.test forwarded to challtestsrv). */
    dns: Bind;
    /** Pebble, its API on the given address, validating HTTP-01 on PORTS.http. */
    pebble: Pebble;
    /** Pebble's issuing root, written to a file for curl --cacert. */
    rootCaFile: string;
}

/**
 * named and Pebble in `dir`: named on loopback and `address` (where certbot's dns-rfc2136 plugin and the
 * pre-flight reach it), forwarding e2e.test to challtestsrv; Pebble's API on `address` (where certbot in
 * its container reaches it), resolving every name through named. Pebble offers `profiles` (default: one,
 * so that every order gets the same).
 */
export async function startAcme(dir: string, address: string, profiles?: Record<string, PebbleProfile>): Promise<Acme> {
    // named before Pebble, which resolves through it. It forwards e2e.test to challtestsrv, which
    // startPebble starts: forwarding happens at query time, so the order does not matter there.
    const dns = await phase("dns (named)", () =>
        startBind({
            dir: path.join(dir, "dns"),
            port: PORTS.dns,
            listen: ["127.0.0.1", address],
            forwardZone: "e2e.test",
            forwardTo: { address: "127.0.0.1", port: CHALLTESTSRV_DNS_PORT },
        }),
    );
    const pebble = await phase("pebble", () =>
        startPebble({
            dir: path.join(dir, "pebble"),
            httpPort: PORTS.http,
            listenAddress: address,
            dnsPort: CHALLTESTSRV_DNS_PORT,
            resolverPort: dns.port,
            profiles,
        }),
    );
    const rootCaFile = path.join(dir, "pebble-root.pem");
    fs.writeFileSync(rootCaFile, await pebble.issuingRootPem());
    return { dns, pebble, rootCaFile };
}

/** The host paths of a stack in the environment, under `root`. */
export function hostPaths(root: string) {
    return {
        configDir: path.join(root, "haproxy", "cfg"),
        certsDir: path.join(root, "haproxy", "certs"),
        dataDir: path.join(root, "letsencrypt"),
        metricsFile: path.join(root, "node-exporter", "edge-proxy.prom"),
    };
}

/** What {@link proxyStackValues} needs to know of an environment. */
export interface ProxyStackOptions {
    /** The ACME CA. */
    pebble: Pebble;
    /** acmeCaBundle: where the host has Pebble's listener CA. */
    caBundle: string;
    /** acmePreflightResolver: a DNS server that resolves names as Pebble does, reached from the host. */
    preflightResolver: string;
    /** The host directories (hostPaths). */
    paths: ReturnType<typeof hostPaths>;
    /** Where the host's containers reach the sites' backends (startWebBackends). */
    backendAddress: string;
}

/**
 * The settings every environment's stack has alike, whatever its hosts: the images and the container, the
 * ports, Pebble and certbot, the host directories, and the sites with their backends.
 */
export function proxyStackValues(opts: ProxyStackOptions): StackValues {
    return {
        haproxyImage: HAPROXY_IMAGE,
        containerName: CONTAINER,
        httpPort: PORTS.http,
        httpsPort: PORTS.https,
        configDir: opts.paths.configDir,
        certsDir: opts.paths.certsDir,
        acmeEmail: "admin@e2e.test",
        acmeServer: opts.pebble.directoryUrl,
        acmeCaBundle: opts.caBundle,
        certbotImage: CERTBOT_IMAGE,
        acmeChallengePort: PORTS.challenge,
        certbotDataDir: opts.paths.dataDir,
        certificateMetricsFile: opts.paths.metricsFile,
        // The pre-flight resolves names as Pebble does, and fetches on the port Pebble validates on.
        acmePreflightResolver: opts.preflightResolver,
        acmeValidationPort: PORTS.http,
        sites: SITES.map((site) => ({ name: site.name, domains: [...site.domains], backends: [`${opts.backendAddress}:${site.port}`] })),
    };
}

/** What may differ between environments. */
export interface EnvironmentOptions {
    /** The ACME profiles Pebble offers (startPebble's default: one). */
    pebbleProfiles?: Record<string, PebbleProfile>;
}

/** Starts everything; `dir` is emptied first (a previous run's host directories and state). */
export async function startEnvironment(dir: string, options: EnvironmentOptions = {}): Promise<Environment> {
    const dockerdOptions = { workDir: path.join(dir, "..", "dockerd") };
    let dockerd = await claimMachine(dockerdOptions.workDir);
    // Leftovers of an interrupted run: its container, host directories and the host's record of them (which
    // would otherwise move the old run's certbot data into this run's directories, as for a moved certbotDataDir).
    await run("docker", ["rm", "-f", CONTAINER, `${CONTAINER}-certbot`], { allowFailure: true });
    fs.rmSync(hostStatePath(CONTAINER), { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    // If a run stops half-way, what the stack put on this "host" goes too (a full run destroys it itself).
    onCleanup("stack leftovers", async () => {
        await run("docker", ["rm", "-f", CONTAINER, `${CONTAINER}-certbot`], { allowFailure: true });
        fs.rmSync(`/etc/cron.d/edge-proxy-renew-${CONTAINER}`, { force: true });
        fs.rmSync(`/usr/local/sbin/edge-proxy-renew-${CONTAINER}`, { force: true });
        fs.rmSync(hostStatePath(CONTAINER), { recursive: true, force: true });
    });
    const bridge = await bridgeAddress();

    const host = await phase("host sshd", () => startSshd({ dir: path.join(dir, "host-sshd"), port: PORTS.hostSshd }));
    const backendSshd = await startSshd({ dir: path.join(dir, "backend-sshd"), port: PORTS.backendSshd, listen: bridge });
    // named and Pebble on the bridge too: certbot's dns-rfc2136 plugin sends its updates from a container.
    const { dns, pebble, rootCaFile } = await startAcme(dir, bridge, options.pebbleProfiles);
    await startWebBackends(bridge);
    const paths = { ...hostPaths(path.join(dir, "host")), alertsDir: path.join(dir, "alerts") };
    fs.mkdirSync(paths.alertsDir);

    const stackValues = (change?: (values: StackValues) => void): StackValues => {
        const { sites, ...proxy } = proxyStackValues({
            pebble,
            caBundle: pebble.listenerCaPem,
            preflightResolver: `127.0.0.1:${pebble.dnsPort}`,
            paths,
            backendAddress: bridge,
        });
        const values: StackValues = {
            hostAddress: host.host,
            sshPort: host.port,
            sshPrivateKey: host.privateKey,
            metricsAddress: "127.0.0.1",
            metricsPort: PORTS.metrics,
            metricsUser: METRICS_AUTH.user,
            metricsPassword: METRICS_AUTH.password,
            sshHostKey: host.hostPublicKey,
            ...proxy,
            acmeChallengeAddress: bridge,
            // Each alert's stdin (the status) kept in a file of its own, as a webhook would receive it; then the
            // README's webhook pattern, the URL with its token in curl's configuration on its stdin, never
            // in a process's arguments (the alert test scans them while the alert runs).
            alertCommand: [
                `cat >"$(mktemp ${paths.alertsDir}/alert.XXXXXX)"`,
                "sleep 1",
                `curl -fsS -m 10 -o /dev/null -H 'Content-Type: application/json' --data-binary @"$EDGE_PROXY_STATUS_FILE" -K - <<'EOF'`,
                `url = "http://${bridge}:${PORTS.webA}/hook/${ALERT_TOKEN}"`,
                "EOF",
            ].join("\n"),
            sites,
            tcpServices: [{ name: "ssh", port: PORTS.sshService, backends: [`${bridge}:${PORTS.backendSshd}`] }],
        };
        change?.(values);
        return values;
    };
    const stackConfig = (change?: (values: StackValues) => void) => engineConfig(stackValues(change));
    // Pebble resolves every name through its DNS: all sites point at the bridge, where HAProxy's
    // published HTTP port answers.
    for (const domain of [...SITES.flatMap((site) => site.domains), ...EXTRA_DOMAINS]) {
        await pebble.addARecord(domain, bridge);
    }
    const restartDockerd = async () => {
        if (!dockerd.owned) {
            return false; // another engine: not ours to stop
        }
        await dockerd.stop();
        dockerd = await ensureDockerd(dockerdOptions);
        return true;
    };
    return { dir, bridge, host, backendSshd, pebble, dns, rootCaFile, stackValues, stackConfig, paths, restartDockerd };
}

/**
 * The stack settings of the RFC 2136 provider in an environment: its named on the bridge (as the certbot
 * container reaches it) with its TSIG key, and the environment's certbot image, which has Debian's
 * dns-rfc2136 plugin. One authoritative server and no secondaries: a second of propagation is enough.
 */
export function rfc2136Values(env: Environment): Record<string, unknown> {
    return {
        dnsProvider: "rfc2136",
        dnsCertbotImage: CERTBOT_IMAGE,
        dnsPropagationSeconds: 1,
        rfc2136Server: env.bridge,
        rfc2136Port: env.dns.port,
        rfc2136KeyName: env.dns.tsig.name,
        rfc2136KeyAlgorithm: env.dns.tsig.algorithm.toUpperCase(),
        rfc2136KeySecret: env.dns.tsig.secret,
    };
}
