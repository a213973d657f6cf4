/**
 * The host scripts of a fleet: the issuer's certificate key, the followers' receiver, and the distribution
 * that `pulumi up` runs (the renewal job runs the same, renew.sh.hbs). Pure, as hostScripts.ts.
 */

import { issuerOf } from "../config/schema";
import type { EdgeProxyConfig } from "../config/types";
import { haproxyFeatures } from "../haproxy/features";
import { scriptSettings } from "../hostScripts";
import { renderTemplate } from "../templates";
import { distributionSettings, distributionTargets, type FleetSettings, fleetPaths, hostKeyOnly } from "./roles";

/** The longest PEM a receiver takes: a chain of a few certificates and a key fit many times over. */
const MAX_PEM_BYTES = 262_144;

/** An OpenSSH ed25519 public key line, as ssh-keygen writes it. */
const PUBLIC_KEY = /^ssh-ed25519 [A-Za-z0-9+/]+={0,2}( [!-~]+)?$/;

/** The fleet of a configuration, which the fleet's scripts need. */
function fleetOf(config: EdgeProxyConfig): FleetSettings {
    if (!config.fleet) {
        throw new Error("edge-proxy: a fleet's script was asked for a configuration without hosts");
    }
    return config.fleet;
}

/** Makes the issuer's certificate key once; prints its public line. */
export function fleetKeyScript(config: EdgeProxyConfig): string {
    return renderTemplate("host/fleet-key.sh.hbs", {
        ...scriptSettings(config),
        fleetKey: fleetPaths(config).key,
        comment: fleetPaths(config).marker,
        rolePath: fleetPaths(config).role,
    });
}

/** The issuer's public key line from the key step's output, checked: it goes into the followers' authorized_keys. */
export function parsePublicKey(stdout: string): string {
    const line = stdout.trim().split("\n").pop() ?? "";
    if (!PUBLIC_KEY.test(line)) {
        throw new Error("edge-proxy: the issuer's certificate key step printed no ed25519 public key");
    }
    return hostKeyOnly(line);
}

/** The receiving script a follower runs for each request of the issuer's key. */
export function receiverScript(config: EdgeProxyConfig): string {
    return renderTemplate("host/receive-certificates.sh.hbs", {
        ...scriptSettings(config),
        maxBytes: MAX_PEM_BYTES,
        sites: config.sites.map((site) => ({ name: site.name, names: site.domains.join(" ") })),
    });
}

/**
 * The follower's authorized_keys line for the issuer's key: from the issuer's address on the shared
 * network only, no terminal, forwarding or agent (restrict), the receiver as its forced command.
 */
export function authorizedKeyLine(config: EdgeProxyConfig, publicKey: string): string {
    const paths = fleetPaths(config);
    const issuer = issuerOf(fleetOf(config));
    // Every part is checked: an IPv4 address, a path of a container name, the key as ssh-keygen wrote it.
    if (!PUBLIC_KEY.test(publicKey) || !/^[A-Za-z0-9._/-]+$/.test(paths.receiver) || !/^[0-9.]+$/.test(issuer.privateAddress)) {
        throw new Error("edge-proxy: refusing to write an authorized_keys line from unchecked parts");
    }
    return `restrict,from="${issuer.privateAddress}",command="/bin/sh ${paths.receiver}" ${publicKey} ${paths.marker}\n`;
}

/** Installs the receiver and authorizes the issuer's key for it. */
export function installReceiverScript(config: EdgeProxyConfig, publicKey: string): string {
    const paths = fleetPaths(config);
    return renderTemplate("host/install-receiver.sh.hbs", {
        // The host lock's settings: the step records itself in the ledger, which another step's lock cleans.
        ...scriptSettings(config),
        // Its python3 speaks to HAProxy's runtime API (2.2+): the receiver runs no certbot, but installs
        // certificates and ticket keys as the issuer does.
        runtimeImage: haproxyFeatures(config.haproxy.version).runtimeCertificates ? config.acme.certbotImage : null,
        receiverPath: paths.receiver,
        receiver: receiverScript(config),
        marker: paths.marker,
        authorizedKey: authorizedKeyLine(config, publicKey),
        rolePath: paths.role,
    });
}

/** What the receiver step's delete runs: the key line and the receiver go. */
export function removeReceiverScript(config: Parameters<typeof fleetPaths>[0]): string {
    const paths = fleetPaths(config);
    return renderTemplate("host/remove-receiver.sh.hbs", { marker: paths.marker, receiverPath: paths.receiver, rolePath: paths.role });
}

/**
 * The issuer's distribution in `pulumi up`: every certificate to every other host. `served` holds the
 * issuer's PEM steps' lines, so the step runs again exactly when a certificate changed; `tokens` each
 * other host's drift tokens of its PEMs (by host, then site), which it records with them, so it runs
 * again exactly when one drifted there.
 */
export function distributeScript(config: EdgeProxyConfig, served: string[], tokens: Record<string, Record<string, string>> = {}): string {
    return renderTemplate("host/distribute.sh.hbs", {
        ...scriptSettings(config),
        ...distributionSettings(config),
        followers: distributionTargets(fleetOf(config), tokens),
        served,
    });
}

/** What a host serves, by host name, from the distribution step's output (`<host> <certificate line>`). */
export function parseDistribution(stdout: string): Record<string, string[]> {
    const served: Record<string, string[]> = {};
    for (const line of stdout.split("\n").filter((l) => l.trim() !== "")) {
        const [host, ...rest] = line.split(" ");
        served[host] = [...(served[host] ?? []), rest.join(" ")];
    }
    return served;
}

/** How long the issuer waits for the fleet to serve before it gives up (and certbot does not run). */
const FLEET_WAIT_SECONDS = 120;

/** Waits until every host's HTTP port and every IPv4 virtual address take connections (templates/host/wait-for-fleet.sh.hbs). */
export function waitForFleetScript(config: EdgeProxyConfig): string {
    const fleet = fleetOf(config);
    const virtual = (fleet.vip?.addresses ?? []).map((address) => address.split("/")[0]).filter((address) => !address.includes(":"));
    return renderTemplate("host/wait-for-fleet.sh.hbs", {
        addresses: [...fleet.hosts.map((host) => host.privateAddress), ...virtual],
        port: config.haproxy.httpPort,
        seconds: FLEET_WAIT_SECONDS,
    });
}
