/**
 * The end-to-end environment of a fleet (several proxy hosts: `hosts` in the stack): two hosts `a` and `b`
 * that are machines of their own to the proxy (dev/env/fleet.ts: network namespace, Docker engine, sshd,
 * private host directories), on a test network with a free address for keepalived's virtual address, and
 * around them what the single-host environment has (dev/environment.ts, whose pieces this shares): Pebble
 * with named and challtestsrv as its DNS, and the sites' web backends.
 *
 * Everything listens on this machine's address on the test network (FleetNetwork.rootAddress): the hosts'
 * containers reach it through their engine's NAT, and the hosts themselves (the pre-flight, which runs on
 * the issuer's network) directly. Pebble's DNS points every site's names at the virtual address, so the CA
 * validates HTTP-01 through whichever host holds it. Everything started here is stopped by its PID through
 * the process registry (stopAll).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FLEET_INTERFACE, type FleetHost, type FleetNetwork, startFleetHosts } from "./env/fleet";
import { KEEPALIVED_IMAGE } from "./env/images";
import {
    type Acme,
    claimMachine,
    EXTRA_DOMAINS,
    engineConfig,
    hostPaths,
    phase,
    proxyStackValues,
    SITES,
    type StackValues,
    startAcme,
    startWebBackends,
} from "./environment";

/** The hosts' names: `a` is the issuer (the first host), `b` receives its certificates. */
export const FLEET_HOST_NAMES = ["a", "b"];

/**
 * Where the stack's host directories are on each host: a directory private to each host (HOST_PRIVATE_DIRS),
 * so the two hosts' configurations, certificates and certbot data are apart, as on two machines.
 */
export const FLEET_ROOT = "/srv/edge-proxy-fleet";

/** The VRRP password of the fleet's stack (a secret of the stack, 1 to 8 characters). */
export const VRRP_PASSWORD = "e2e-vrrp";

/** A running fleet environment. */
export interface FleetEnvironment extends Acme {
    /** The work directory (the hosts' files, Pebble, named, logs). */
    dir: string;
    /** The test network and its hosts. */
    fleet: FleetNetwork;
    /** The issuer. */
    a: FleetHost;
    /** The host that receives the issuer's certificates. */
    b: FleetHost;
    /** keepalived's virtual address (without its prefix length); every site's name resolves to it. */
    vip: string;
    /** The stack's host paths (the same on each host, each host its own copy), and where each host has Pebble's listener CA. */
    paths: ReturnType<typeof hostPaths> & { caBundle: string };
    /** The fleet stack's settings as a stack file holds them (keys without `edge-proxy:`), after `change`. */
    stackValues(change?: (values: StackValues) => void): StackValues;
    /** The same as the Pulumi engine passes them to the program (`edge-proxy:key` to string). */
    stackConfig(change?: (values: StackValues) => void): Record<string, string>;
    /** The hosts holding the virtual address now, by name, joined with commas ("" for none). */
    vipHolders(): Promise<string>;
}

/**
 * Starts everything; `dir` is emptied first. Holds the environment lock, as startEnvironment does: the
 * two cannot run at once (ports, the machine's engine and its images).
 */
export async function startFleetEnvironment(dir: string): Promise<FleetEnvironment> {
    await claimMachine(path.join(dir, "..", "dockerd"));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    // The hosts first: the services below listen on this machine's address on their network.
    const fleet = await phase("fleet hosts a and b", () => startFleetHosts({ dir: path.join(dir, "hosts"), names: FLEET_HOST_NAMES }));
    console.log(
        `      [e2e] fleet start: ${Object.entries(fleet.timings)
            .map(([what, ms]) => `${what} ${(ms / 1000).toFixed(1)} s`)
            .join(", ")}`,
    );
    const [a, b] = fleet.hosts;
    const acme = await startAcme(dir, fleet.rootAddress);
    await startWebBackends(fleet.rootAddress);
    const vip = fleet.freeAddress(0);
    // Every name at the virtual address: the CA, and the pre-flight, reach the host that holds it.
    for (const domain of [...SITES.flatMap((site) => site.domains), ...EXTRA_DOMAINS]) {
        await acme.pebble.addARecord(domain, vip);
    }
    const paths = { ...hostPaths(FLEET_ROOT), caBundle: path.posix.join(FLEET_ROOT, "pebble-listener-ca.pem") };
    // certbot trusts Pebble's listener by this file, which must be on the host (the issuer's, and any host
    // that may become the issuer).
    for (const host of fleet.hosts) {
        fs.copyFileSync(acme.pebble.listenerCaPem, host.pathOf(paths.caBundle));
    }

    const stackValues = (change?: (values: StackValues) => void): StackValues => {
        const values: StackValues = {
            // One key logs in to every host; each host's own key is pinned.
            sshPrivateKey: a.privateKey,
            hosts: fleet.hosts.map((host) => ({
                name: host.name,
                address: host.address,
                sshPort: host.sshPort,
                sshHostKey: host.hostPublicKey,
                privateAddress: host.address,
            })),
            ...proxyStackValues({
                pebble: acme.pebble,
                caBundle: paths.caBundle,
                // named on this machine's address on the test network: the pre-flight runs on the issuer's network.
                preflightResolver: `${fleet.rootAddress}:${acme.dns.port}`,
                paths,
                backendAddress: fleet.rootAddress,
            }),
            virtualAddresses: [`${vip}/${fleet.prefixLength}`],
            vrrpInterface: FLEET_INTERFACE,
            vrrpPassword: VRRP_PASSWORD,
            keepalivedImage: KEEPALIVED_IMAGE,
            // Shared across the hosts: the fleet's own path (the issuer sends every rotation).
            tlsSessionTickets: true,
        };
        change?.(values);
        return values;
    };
    const vipHolders = async () => {
        const holding: string[] = [];
        for (const host of fleet.hosts) {
            const addresses = (await host.exec("ip", ["-o", "-4", "addr", "show", FLEET_INTERFACE])).stdout;
            if (addresses.includes(` ${vip}/`)) holding.push(host.name);
        }
        return holding.join(",");
    };
    return {
        dir,
        fleet,
        a,
        b,
        vip,
        ...acme,
        paths,
        stackValues,
        stackConfig: (change) => engineConfig(stackValues(change)),
        vipHolders,
    };
}
