/**
 * Renders the HAProxy configuration: haproxy.cfg plus the SNI map and the certificate list it reads.
 * Pure: the same configuration always gives the same bytes, so Pulumi sees a change only when there is one.
 */
import { isLoopbackAddress } from "../config/checks";
import type { EdgeProxyConfig, ServerAddress, Site } from "../config/types";
import { renderTemplate } from "../templates";
import { haproxyFeatures } from "./features";
import { UNKNOWN_PASSWORD_HASH } from "./passwordHash";

/** Where the container sees the configuration directory (the official images' default). */
export const CONTAINER_CONFIG_DIR = "/usr/local/etc/haproxy";
/** Where the container sees the certificates directory (as in the seed). */
export const CONTAINER_CERTS_DIR = "/certs";

/**
 * The host's syslog socket, bind-mounted at the same path in the container for the versions that cannot log
 * to stdout (1.7 and 1.8): their traffic log goes to the host's syslog daemon.
 */
export const SYSLOG_SOCKET = "/dev/log";

/**
 * HAProxy's runtime API, where the host installs renewed certificates (templates/host/runtime.py): an
 * abstract socket, which exists in the container's network namespace only. Nothing on the host's network or
 * on Docker's reaches it; a process must join that namespace, which takes root on the host (Docker).
 */
export const RUNTIME_SOCKET_NAME = "edge-proxy-runtime";
/** The runtime API's address in haproxy.cfg. */
export const RUNTIME_SOCKET = `abns@${RUNTIME_SOCKET_NAME}`;

/**
 * Where the container sees the TLS session ticket keys: the host's ticket keys directory (hostPaths.ts), on
 * its /run, mounted read-only. HAProxy reads the file when it starts or reloads; the host rotates the keys
 * in the running HAProxy through the runtime API (templates/host/runtime.py).
 */
export const CONTAINER_TICKET_KEYS_DIR = "/run/edge-proxy-tls";
/** The ticket keys file's name in that directory. */
export const TICKET_KEYS_FILE = "tls-ticket-keys";

/** Whether HAProxy serves session tickets with keys the host rotates: tlsSessionTickets set, on 2.2 and later. */
export function rotatesTicketKeys(config: Pick<EdgeProxyConfig, "haproxy">): boolean {
    return config.haproxy.sessionTickets && haproxyFeatures(config.haproxy.version).rotatedTicketKeys;
}

/** File names inside the configuration directory. */
export const CONFIG_FILES = {
    cfg: "haproxy.cfg",
    sitesMap: "sites.map",
    certsList: "certs.list",
} as const;

/**
 * The file, next to the rendered ones, listing the addresses Docker's port publishing connects to the
 * container from. The host writes it (the addresses are the host's, not the configuration's), and HAProxy
 * accepts connections to a loopback-published metrics port from those addresses only.
 */
export const METRICS_SOURCES_FILE = "metrics-sources";

/** The rendered configuration files, keyed like CONFIG_FILES. */
export type HaproxyConfigFiles = Record<keyof typeof CONFIG_FILES, string>;

/** The PEM file of a site's certificate (fullchain followed by the private key) under `certsDir`. */
export function pemPath(certsDir: string, site: Pick<Site, "name">): string {
    return `${certsDir}/${site.name}.pem`;
}

/**
 * Whether the metrics listener takes connections from Docker's port publishing only: when the port is
 * published on a loopback address, only the host's own processes are meant to reach it, yet inside the
 * container the listener would also answer every other container on its network.
 */
export function metricsFromPublishingOnly(config: Pick<EdgeProxyConfig, "haproxy">): boolean {
    const address = config.haproxy.metrics?.address;
    return address !== undefined && isLoopbackAddress(address);
}

/** What follows the host name in the site's HTTPS URLs: nothing on 443, `:port` otherwise. */
export function httpsPortSuffix(config: EdgeProxyConfig): string {
    return config.haproxy.httpsPort === 443 ? "" : `:${config.haproxy.httpsPort}`;
}

/** The HAProxy backend serving a site. */
export function siteBackendName(site: Site): string {
    return `site_${site.name}`;
}

/** Whether a backend is given by DNS name (not an IPv4 or bracketed IPv6 address). */
function isName(server: ServerAddress): boolean {
    return !server.host.startsWith("[") && !/^[\d.]+$/.test(server.host);
}

/**
 * The `server` lines of a backend; those given by name use the `resolvers` section when there is one.
 * Servers are health-checked where a check changes what HAProxy does: a backend of several servers (a
 * server found down gets no requests while another is up) or one with a `healthCheck`. A lone server
 * gets every request whatever a check says, so checking it costs CPU for nothing: at 10,000 sites, TCP
 * checks every 2 s took 13% of a core of an idle HAProxy 2.6, none without them.
 */
function servers(backends: ServerAddress[], healthCheck: { interval: string } | null, resolvers: boolean) {
    const check = backends.length > 1 || healthCheck !== null;
    return backends.map((server, i) => ({
        name: `s${i + 1}`,
        address: `${server.host}:${server.port}`,
        check,
        interval: healthCheck?.interval ?? null,
        resolvers: resolvers && isName(server),
    }));
}

/** Where the stats page is served on the metrics port (every version); /metrics is the Prometheus exporter's (2.0+). */
export const METRICS_PATHS = { stats: "/stats", prometheus: "/metrics" } as const;

/** What the rendering needs beyond the configuration: values derived from secrets. */
export interface RenderSecrets {
    /**
     * The metrics password's crypt hash (passwordHash.metricsPasswordHash), when metricsUser is set. Without
     * it (the render tool and the golden files never decrypt secrets) the userlist carries a hash no
     * password is known to give.
     */
    metricsPasswordHash?: string;
}

/** Renders all three files for a validated configuration. */
export function renderHaproxyConfig(config: EdgeProxyConfig, secrets: RenderSecrets = {}): HaproxyConfigFiles {
    const { haproxy, acme } = config;
    const features = haproxyFeatures(haproxy.version);
    const byName = [...config.sites, ...config.tcpServices].some((proxy) => proxy.backends.some(isName));
    // Re-resolving backends given by name at run time (1.9+) needs a resolvers section, rendered only for them.
    const resolvers = features.resolvConf && byName;
    const view = {
        features,
        resolvers,
        maxconn: haproxy.maxconn,
        syslogSocket: SYSLOG_SOCKET,
        runtimeSocket: RUNTIME_SOCKET,
        ticketKeys: rotatesTicketKeys(config) ? `${CONTAINER_TICKET_KEYS_DIR}/${TICKET_KEYS_FILE}` : null,
        timeouts: haproxy.timeouts,
        acme: { challengeAddress: acme.challengeAddress, challengePort: acme.challengePort },
        httpsPortSuffix: httpsPortSuffix(config),
        wildcards: config.sites.some((site) => site.domains.some((domain) => domain.startsWith("*."))),
        metrics: haproxy.metrics
            ? {
                  port: haproxy.metrics.port,
                  paths: METRICS_PATHS,
                  user: haproxy.metrics.user ?? null,
                  passwordHash: secrets.metricsPasswordHash ?? UNKNOWN_PASSWORD_HASH,
                  sourcesFile: metricsFromPublishingOnly(config) ? `${CONTAINER_CONFIG_DIR}/${METRICS_SOURCES_FILE}` : null,
              }
            : null,
        paths: {
            certsList: `${CONTAINER_CONFIG_DIR}/${CONFIG_FILES.certsList}`,
            sitesMap: `${CONTAINER_CONFIG_DIR}/${CONFIG_FILES.sitesMap}`,
        },
        sites: config.sites.map((site) => ({
            backendName: siteBackendName(site),
            domains: site.domains,
            pemPath: pemPath(CONTAINER_CERTS_DIR, site),
            healthCheck: site.healthCheck ?? null,
            hsts: site.hsts,
            securityHeaders: site.securityHeaders,
            servers: servers(site.backends, site.healthCheck ?? null, resolvers),
        })),
        tcpServices: config.tcpServices.map((service) => ({
            proxyName: `tcp_${service.name}`,
            port: service.port,
            servers: servers(service.backends, null, resolvers),
        })),
    };
    return {
        cfg: renderTemplate("haproxy.cfg.hbs", view),
        sitesMap: renderTemplate("sites.map.hbs", view),
        certsList: renderTemplate("certs.list.hbs", view),
    };
}
