/**
 * Who does what in a fleet (several hosts serving the same sites, `hosts` in the configuration): one host,
 * the issuer, runs certbot and the renewal job and sends each certificate to the others, the followers.
 * Pure: the roles and the paths on the hosts follow from the validated configuration.
 */
import { issuerOf, sshDockerEndpoint } from "../config/schema";
import type { AcmeSettings, EdgeProxyConfig, HaproxySettings } from "../config/types";
import { hostStatePath } from "../hostPaths";

/** A fleet's settings (absent for a one-host stack). */
export type FleetSettings = NonNullable<EdgeProxyConfig["fleet"]>;
/** One host of a fleet, its SSH port and user filled in. */
export type FleetHost = FleetSettings["hosts"][number];

/** The hosts that receive the issuer's certificates, in the fleet's order. */
export function followersOf(fleet: FleetSettings): FleetHost[] {
    return fleet.hosts.filter((host) => host.name !== fleet.issuer);
}

/** Where a fleet's certificate key and the record of what each host took live on a host. */
export function fleetPaths(config: { haproxy: Pick<HaproxySettings, "containerName">; acme: Pick<AcmeSettings, "dataDir"> }) {
    const state = hostStatePath(config.haproxy.containerName);
    return {
        /** The issuer's private key for sending certificates (its public half: `.pub` beside it). */
        key: `${state}/fleet/certificates-key`,
        /** What each other host took at the last distribution (status.json reads it). */
        stateDir: `${config.acme.dataDir}/edge-proxy/fleet`,
        /** The receiving script on a follower: the forced command of the issuer's key. */
        receiver: `${state}/receive-certificates`,
        /** The comment that marks the issuer's key in a follower's authorized_keys. */
        marker: `edge-proxy-certificates:${config.haproxy.containerName}`,
        /** What the host is in its fleet (`issuer` or `receiver`), as its last `up` made it: the issuer cannot move in place. */
        role: `${state}/fleet/role`,
    };
}

/** A host key line without its comment: the type and the key, as known_hosts takes them. */
export function hostKeyOnly(line: string): string {
    return line.trim().split(/\s+/).slice(0, 2).join(" ");
}

/**
 * The followers as the distribution's scripts address them: on the shared network, with their pinned keys,
 * and the tokens each records with the certificates it receives (`site:token ...`; by host, then site:
 * the drift check's, from `pulumi up`; none from the renewal job).
 */
export function distributionTargets(fleet: FleetSettings, tokens: Record<string, Record<string, string>> = {}) {
    return followersOf(fleet).map((host) => ({
        name: host.name,
        address: host.privateAddress,
        port: host.sshPort,
        user: host.sshUser,
        hostKey: hostKeyOnly(host.sshHostKey),
        tokens: Object.entries(tokens[host.name] ?? {})
            .filter(([, token]) => token !== "")
            .map(([site, token]) => `${site}:${token}`)
            .join(" "),
    }));
}

/** The configuration as the proxy of fleet host `host` has it: that host's SSH address, port, user and key. */
export function configForHost(config: EdgeProxyConfig, host: FleetHost): EdgeProxyConfig {
    const { address, sshPort, sshUser, sshHostKey } = host;
    return { ...config, host: { ...config.host, address, sshPort, sshUser, sshHostKey, dockerHost: sshDockerEndpoint(host) } };
}

/** The settings of the distribution (templates/partials/sh-distribute.hbs): the key, the record of each host, the sites. */
export function distributionSettings(config: Pick<EdgeProxyConfig, "haproxy" | "acme" | "sites" | "fleet">) {
    const paths = fleetPaths(config);
    return {
        fleetKey: paths.key,
        fleetStateDir: paths.stateDir,
        sites: config.sites.map((site) => site.name),
        issuerAddress: config.fleet ? issuerOf(config.fleet).privateAddress : "",
    };
}
