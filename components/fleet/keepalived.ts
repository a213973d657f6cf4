/**
 * keepalived on one host of a fleet: virtual addresses that the healthy host of the highest priority holds,
 * moved by VRRP between the hosts over their shared network (unicast: most clouds drop multicast). A host
 * whose HAProxy stops answering gives the addresses up, not only a host that is down.
 */
import type * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { EdgeProxyConfig } from "../config/types";
import { type HostConnection, hostCommand } from "../hostCommand";
import { hostStatePath } from "../hostPaths";
import { authPasswordProblem, type KeepalivedView, renderKeepalivedCheck, renderKeepalivedConfig } from "../keepalived/render";
import { shellCommand } from "../quote";
import { renderTemplate } from "../templates";

/** How often keepalived asks HAProxy, and how many answers in a row count: the address leaves within about two seconds. */
const HEALTH_CHECK = { intervalSeconds: 1, timeoutSeconds: 1, fall: 2, rise: 2 };

/** keepalived's view of host `hostName` of the fleet (config.fleet is set, with vip). */
export function keepalivedView(config: EdgeProxyConfig, hostName: string, password?: string): KeepalivedView {
    const fleet = config.fleet!;
    const vip = fleet.vip!;
    const self = fleet.hosts.find((host) => host.name === hostName)!;
    return {
        hostName,
        interface: vip.interface,
        virtualRouterId: vip.routerId,
        priority: self.priority,
        unicastSource: self.privateAddress,
        unicastPeers: fleet.hosts.filter((host) => host !== self).map((host) => host.privateAddress),
        virtualAddresses: vip.addresses,
        authPassword: password,
        preempt: vip.preempt,
        advertIntervalSeconds: 1,
        check: { port: config.haproxy.httpPort, ...HEALTH_CHECK },
    };
}

/** Where keepalived's files live on a host, and its container's name. */
function keepalivedPaths(config: { haproxy: Pick<EdgeProxyConfig["haproxy"], "containerName"> }) {
    return {
        directory: `${hostStatePath(config.haproxy.containerName)}/keepalived`,
        containerName: `${config.haproxy.containerName}-keepalived`,
    };
}

/** What is wrong with vrrpPassword, led by its key (never its text), or undefined. */
export function vrrpPasswordProblem(password: string): string | undefined {
    const problem = authPasswordProblem(password);
    return problem && `vrrpPassword: the secret ${problem}`;
}

/** Writes keepalived's files on the host and has a running keepalived re-read them. */
export function installKeepalivedScript(config: EdgeProxyConfig, hostName: string, password?: string): string {
    const problem = password === undefined ? undefined : vrrpPasswordProblem(password);
    if (problem) {
        throw new Error(problem);
    }
    const view = keepalivedView(config, hostName, password);
    return renderTemplate("host/install-keepalived.sh.hbs", {
        ...keepalivedPaths(config),
        config: renderKeepalivedConfig(view),
        check: renderKeepalivedCheck(view),
    });
}

/** Arguments of Keepalived. */
export interface KeepalivedArgs {
    /** The validated configuration, with fleet.vip set. */
    config: pulumi.Output<EdgeProxyConfig>;
    /** This host's name among the fleet's hosts. */
    host: string;
    /** The HAProxy container's name (containerName), which keepalived's directory and container are named after. */
    containerName: string;
    /** vrrpPassword, a Pulumi secret (keepalived.conf then is one too). */
    password?: pulumi.Input<string>;
    /** The host's docker provider (DockerHost). */
    provider: docker.Provider;
    /** The host's SSH connection (DockerHost). */
    connection: HostConnection;
    /** What must run first: the host's HAProxy container. */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** keepalived on one host: its files, its image and its container (on the host's network, restarted with the host). */
export class Keepalived extends pulumi.ComponentResource {
    /** The step writing keepalived.conf and the health check (`<name>-config`). */
    readonly configuration: command.remote.Command;
    /** The keepalived container. */
    readonly container: docker.Container;

    constructor(name: string, args: KeepalivedArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:Keepalived", name, {}, opts);
        const script =
            args.password === undefined
                ? args.config.apply((config) => installKeepalivedScript(config, args.host))
                : pulumi.secret(pulumi.all([args.config, args.password])).apply(([config, password]) => installKeepalivedScript(config, args.host, password));
        const paths = keepalivedPaths({ haproxy: { containerName: args.containerName } });
        this.configuration = hostCommand(`${name}-config`, {
            connection: args.connection,
            script,
            repairToken: pulumi.output(""),
            delete: shellCommand("rm", "-rf", paths.directory),
            parent: this,
            dependsOn: args.dependsOn,
        });
        const image = new docker.RemoteImage(
            `${name}-image`,
            { name: args.config.apply((config) => config.fleet!.vip!.image), keepLocally: true },
            { parent: this, provider: args.provider, dependsOn: args.dependsOn },
        );
        this.container = new docker.Container(
            `${name}-container`,
            {
                name: paths.containerName,
                image: image.imageId,
                restart: "always",
                // VRRP and the addresses live on the host's own interfaces.
                networkMode: "host",
                capabilities: { adds: ["NET_ADMIN", "NET_BROADCAST", "NET_RAW"] },
                volumes: [{ hostPath: paths.directory, containerPath: "/etc/keepalived", readOnly: true }],
                command: ["keepalived", "--dont-fork", "--log-console", "--log-detail", "--vrrp"],
                logOpts: { "max-size": "10m", "max-file": "3" },
            },
            { parent: this, provider: args.provider, dependsOn: [this.configuration], deleteBeforeReplace: true },
        );
        this.registerOutputs({ container: this.container.name });
    }
}
