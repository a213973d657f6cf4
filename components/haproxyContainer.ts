/** The HAProxy image and container, as the seed's `docker run`, declared. */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { DeclaredConfig } from "./config/settings";
import { haproxyFeatures } from "./haproxy/features";
import { CONTAINER_CERTS_DIR, CONTAINER_CONFIG_DIR, SYSLOG_SOCKET } from "./haproxy/render";
import { CONTAINER_TOKEN_LABEL } from "./hostState";

/** Arguments of HaproxyImage and HaproxyContainer. */
export interface HaproxyContainerArgs {
    /** The validated configuration (image, name, ports, directories, TCP services). */
    config: Pick<DeclaredConfig, "haproxy" | "tcpServices">;
    /** The docker provider from DockerHost. */
    provider: docker.Provider;
}

/** The pinned HAProxy image, pulled once and kept on the host (its haproxy also checks configurations). */
export function haproxyImage(name: string, args: HaproxyContainerArgs, opts: pulumi.CustomResourceOptions): docker.RemoteImage {
    return new docker.RemoteImage(name, { name: args.config.haproxy.image, keepLocally: true }, { ...opts, provider: args.provider });
}

/**
 * The container's published ports: HTTP, HTTPS and every TCP service (container port = host port), and the
 * metrics port on metricsAddress only (Docker would publish a port without `ip` on every host address).
 */
export function publishedPorts(config: Pick<DeclaredConfig, "haproxy" | "tcpServices">): docker.types.input.ContainerPort[] {
    const { metrics } = config.haproxy;
    return [
        { internal: 80, external: config.haproxy.httpPort },
        { internal: 443, external: config.haproxy.httpsPort },
        ...config.tcpServices.map((service) => ({ internal: service.port, external: service.port })),
        ...(metrics ? [{ internal: metrics.port, external: metrics.port, ip: metrics.address }] : []),
    ];
}

/** Arguments of HaproxyContainer beyond the shared ones. */
export interface HaproxyContainerExtraArgs {
    /** The image resource; the container follows its id. */
    image: docker.RemoteImage;
    /** What must exist before the first start: a checked configuration and the placeholder certificates. */
    dependsOn: pulumi.Input<pulumi.Resource>[];
    /**
     * The container's repair token (hostState.ts), kept as a label: a new one, given when the container
     * was found missing, stopped or on another image, replaces it. "" sets no label.
     */
    repairToken: pulumi.Input<string>;
}

/**
 * The HAProxy container: ports published, configuration and certificates mounted read-only (and the host's
 * syslog socket for versions without stdout logging), restarted always. Replacement deletes the old
 * container first, so a published port is never "already allocated".
 */
export class HaproxyContainer extends pulumi.ComponentResource {
    /** The container resource. */
    readonly container: docker.Container;

    constructor(name: string, args: HaproxyContainerArgs & HaproxyContainerExtraArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:HaproxyContainer", name, {}, opts);
        const { haproxy } = args.config;
        const features = haproxyFeatures(haproxy.version);
        this.container = new docker.Container(`${name}-container`, {
            name: haproxy.containerName,
            image: args.image.imageId,
            restart: "always",
            ports: publishedPorts(args.config),
            volumes: [
                { hostPath: haproxy.configDir, containerPath: CONTAINER_CONFIG_DIR, readOnly: true },
                { hostPath: haproxy.certsDir, containerPath: CONTAINER_CERTS_DIR, readOnly: true },
                // 1.7 and 1.8 cannot log to stdout: they send the traffic log to the host's syslog socket
                // (writable: sending to a socket is a write).
                ...(features.logStdout ? [] : [{ hostPath: SYSLOG_SOCKET, containerPath: SYSLOG_SOCKET }]),
            ],
            // 2.4+ images run HAProxy as uid 99, which may bind ports below 1024 only with this.
            sysctls: features.unprivilegedImage ? { "net.ipv4.ip_unprivileged_port_start": "0" } : undefined,
            // 1.7's wrapper ignores the image's STOPSIGNAL (SIGUSR1); SIGTERM stops every version promptly.
            stopSignal: "SIGTERM",
            logOpts: { "max-size": "10m", "max-file": "3" },
            labels: pulumi.output(args.repairToken).apply((token) => (token === "" ? undefined : [{ label: CONTAINER_TOKEN_LABEL, value: token }])),
        }, { parent: this, provider: args.provider, dependsOn: args.dependsOn, deleteBeforeReplace: true });
        this.registerOutputs({ name: this.container.name });
    }
}
