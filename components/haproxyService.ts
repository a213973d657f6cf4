/** HAProxy on the host: its pinned image, its checked configuration and its container. */

import type * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DeclaredConfig } from "./config/settings";
import { haproxyFeatures } from "./haproxy/features";
import { CONTAINER_CERTS_DIR, CONTAINER_CONFIG_DIR, CONTAINER_TICKET_KEYS_DIR, rotatesTicketKeys, SYSLOG_SOCKET } from "./haproxy/render";
import { formerParent, type HostStepArgs, hostCommand, repairTokenOf } from "./hostCommand";
import { ticketKeysPaths } from "./hostScripts";
import { CONTAINER_TOKEN_LABEL } from "./hostState";
import { STEP } from "./hostSteps";

/**
 * The container's published ports: HTTP, HTTPS and every TCP service (container port = host port), and the
 * metrics port on metricsAddress only (Docker would publish a port without `ip` on every host address).
 */
function publishedPorts(config: Pick<DeclaredConfig, "haproxy" | "tcpServices">): docker.types.input.ContainerPort[] {
    const { metrics } = config.haproxy;
    return [
        { internal: 80, external: config.haproxy.httpPort },
        { internal: 443, external: config.haproxy.httpsPort },
        ...config.tcpServices.map((service) => ({ internal: service.port, external: service.port })),
        ...(metrics ? [{ internal: metrics.port, external: metrics.port, ip: metrics.address }] : []),
    ];
}

/** Arguments of HaproxyService. */
export interface HaproxyServiceArgs extends HostStepArgs {
    /** The EdgeProxy's name, which the image's and the configuration step's names start with. */
    proxyName: string;
    /** The validated configuration (image, name, ports, directories, TCP services, certbotDataDir for the ticket keys' paths). */
    config: Pick<DeclaredConfig, "haproxy" | "tcpServices" | "acme">;
    /** The docker provider from DockerHost. */
    provider: docker.Provider;
    /**
     * The rendered delivery script, carrying haproxy.cfg and its map files (hostScripts.deliverConfigScript);
     * a secret Output when haproxy.cfg carries the metrics password's hash.
     */
    deliverScript: pulumi.Input<string>;
    /** What `pulumi destroy` runs for the configuration: removes what it wrote (hostScripts.removeCommand). */
    deliverDelete: string;
    /** What must be done before the image is pulled: the host's preparation (DockerHost). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/**
 * HAProxy on the host, in the order a first `up` needs: the pinned image, pulled once and kept (its own
 * haproxy checks the configuration); the configuration, written to a staging directory, checked with
 * `haproxy -c`, and only then swapped in and the running container reloaded (a rejected configuration fails
 * `pulumi up` with HAProxy's message and changes nothing; the step runs again only when the files change);
 * then the container, as the seed's `docker run`.
 */
export class HaproxyService extends pulumi.ComponentResource {
    /** The pinned HAProxy image on the host (`<proxy>-image`). */
    readonly image: docker.RemoteImage;
    /**
     * The checked delivery of haproxy.cfg and its map files (`<proxy>-config-delivery`); its stdout names the
     * installed configuration's digest.
     */
    readonly configuration: command.remote.Command;
    /**
     * The HAProxy container (`<name>-container`): ports published, configuration, certificates and TLS session
     * ticket keys mounted read-only (and the host's syslog socket for versions without stdout logging),
     * restarted always.
     * Replacement deletes the old container first, so a published port is never "already allocated".
     */
    readonly container: docker.Container;

    constructor(name: string, args: HaproxyServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        // Up to 5e141f8 this component held the container only, as HaproxyContainer; the container, whose
        // name starts with this component's, follows the alias by itself.
        super("edge-proxy:index:HaproxyService", name, {}, { ...opts, aliases: [...(opts?.aliases ?? []), { type: "edge-proxy:index:HaproxyContainer" }] });
        const { haproxy } = args.config;
        const proxy = opts?.parent;
        this.image = new docker.RemoteImage(
            `${args.proxyName}-image`,
            { name: haproxy.image, keepLocally: true },
            {
                parent: this,
                provider: args.provider,
                dependsOn: args.dependsOn,
                aliases: [{ parent: proxy }],
            },
        );
        this.configuration = hostCommand(`${args.proxyName}-config-delivery`, {
            connection: args.connection,
            script: args.deliverScript,
            repairToken: repairTokenOf(args.repairTokens, STEP.config),
            delete: args.deliverDelete,
            dependsOn: [...args.dependsOn, this.image],
            parent: this,
            aliases: [formerParent(`${args.proxyName}-config`, "edge-proxy:index:HaproxyConfiguration", proxy)],
        });
        const features = haproxyFeatures(haproxy.version);
        // The container's repair token (hostState.ts), kept as a label: a new one, given when the container
        // was found missing, stopped or on another image, replaces it. "" sets no label.
        const repairToken = repairTokenOf(args.repairTokens, STEP.container);
        this.container = new docker.Container(
            `${name}-container`,
            {
                name: haproxy.containerName,
                image: this.image.imageId,
                restart: "always",
                ports: publishedPorts(args.config),
                volumes: [
                    { hostPath: haproxy.configDir, containerPath: CONTAINER_CONFIG_DIR, readOnly: true },
                    { hostPath: haproxy.certsDir, containerPath: CONTAINER_CERTS_DIR, readOnly: true },
                    // The TLS session ticket keys, on the host's /run (a tmpfs); the host rotates them.
                    ...(rotatesTicketKeys(args.config)
                        ? [{ hostPath: ticketKeysPaths(args.config).dir, containerPath: CONTAINER_TICKET_KEYS_DIR, readOnly: true }]
                        : []),
                    // 1.7 and 1.8 cannot log to stdout: they send the traffic log to the host's syslog socket
                    // (writable: sending to a socket is a write).
                    ...(features.logStdout ? [] : [{ hostPath: SYSLOG_SOCKET, containerPath: SYSLOG_SOCKET }]),
                ],
                // 2.4+ images run HAProxy as uid 99, which may bind ports below 1024 only with this.
                sysctls: features.unprivilegedImage ? { "net.ipv4.ip_unprivileged_port_start": "0" } : undefined,
                // 1.7's wrapper ignores the image's STOPSIGNAL (SIGUSR1); SIGTERM stops every version promptly.
                stopSignal: "SIGTERM",
                logOpts: { "max-size": "10m", "max-file": "3" },
                labels: repairToken.apply((token) => (token === "" ? undefined : [{ label: CONTAINER_TOKEN_LABEL, value: token }])),
            },
            {
                // What must exist before the first start: a checked configuration (after the placeholder certificates).
                parent: this,
                provider: args.provider,
                dependsOn: [this.configuration],
                deleteBeforeReplace: true,
            },
        );
        this.registerOutputs({ name: this.container.name });
    }
}
