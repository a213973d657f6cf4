/** The validated, defaulted stack configuration that the renderer and the components consume. */
import { Rfc2136Settings } from "../dns/providers";

/** A HAProxy version as major.minor, which decides what the rendered configuration may use. */
export interface HaproxyVersion {
    /** Major version, e.g. 2. */
    major: number;
    /** Minor version, e.g. 6. */
    minor: number;
}

/** A backend server address. */
export interface ServerAddress {
    /** IPv4 address, bracketed IPv6 address, or DNS name. */
    host: string;
    /** TCP port. */
    port: number;
}

/** An HTTP health check. */
export interface HealthCheck {
    /** Path requested with GET. */
    path: string;
    /** Time between checks, HAProxy time format. */
    interval: string;
}

/** One HTTPS site: a set of domains served by one certificate and one backend. */
export interface Site {
    /** Identifier: backend name suffix, certbot `--cert-name`, PEM file name. */
    name: string;
    /** Lower-case hostnames (or `*.` wildcards, DNS-01 only), the first one being the certificate's primary name. */
    domains: string[];
    /** How the CA validates the names: through HAProxy's port 80, or TXT records through the DNS provider. */
    challenge: "http-01" | "dns-01";
    /** Backend servers. */
    backends: ServerAddress[];
    /** HTTP health check, or undefined for a TCP connect check. */
    healthCheck?: HealthCheck;
    /** Whether to send Strict-Transport-Security. */
    hsts: boolean;
    /** Whether to send X-Content-Type-Options and X-Frame-Options. */
    securityHeaders: boolean;
}

/** One TCP service passed through HAProxy (SSH and the like). */
export interface TcpService {
    /** Identifier: frontend and backend name suffix. */
    name: string;
    /** Published host port, also the port the container listens on. */
    port: number;
    /** Backend servers. */
    backends: ServerAddress[];
}

/** HAProxy timeouts, each in HAProxy time format (e.g. `30s`). */
export interface Timeouts {
    connect: string;
    client: string;
    server: string;
    httpRequest: string;
    httpKeepAlive: string;
    tunnel: string;
}

/** The Docker host and how to reach it. */
export interface HostSettings {
    /** SSH address. */
    address: string;
    /** SSH port. */
    sshPort: number;
    /** SSH user. */
    sshUser: string;
    /** Pinned host public key line; unset only with trustOnFirstUse. */
    sshHostKey?: string;
    /** Whether the key the first connection sees is pinned (on the machine running Pulumi) instead of sshHostKey. */
    trustOnFirstUse: boolean;
    /** Docker endpoint for the docker provider. */
    dockerHost: string;
    /** Whether preview and up read the host for drift before declaring the steps (hostState.ts). */
    detectDrift: boolean;
}

/** HAProxy's own metrics: the stats page (every version) and the Prometheus exporter (2.0+). */
export interface MetricsSettings {
    /** Host address the port is published on (validated: loopback or private unless explicitly public). */
    address: string;
    /** Host port, also the port the container listens on. */
    port: number;
    /** Basic authentication's user name; its password stays a Pulumi secret outside this configuration. */
    user?: string;
}

/** The HAProxy container and its configuration. */
export interface HaproxySettings {
    /** Image reference with a pinned tag. */
    image: string;
    /** Version of that image. */
    version: HaproxyVersion;
    /** Container name. */
    containerName: string;
    /** Published HTTP port. */
    httpPort: number;
    /** Published HTTPS port. */
    httpsPort: number;
    /** Host directory of haproxy.cfg. */
    configDir: string;
    /** Host directory of the PEM files. */
    certsDir: string;
    /** Global maxconn. */
    maxconn: number;
    /** Timeouts. */
    timeouts: Timeouts;
    /** The metrics endpoint, or undefined when off (the default). */
    metrics?: MetricsSettings;
}

/** The ACME account, server and certbot container. */
export interface AcmeSettings {
    /** Account email. */
    email: string;
    /** ACME directory URL. */
    server: string;
    /** Whether the server is Let's Encrypt's staging environment (its certificates are untrusted). */
    staging: boolean;
    /** Host path of a CA bundle certbot must trust, if any. */
    caBundle?: string;
    /** certbot image. */
    certbotImage: string;
    /** Port certbot's standalone server listens on. */
    challengePort: number;
    /** Host address HAProxy reaches certbot on. */
    challengeAddress: string;
    /** Host directory of certbot's data. */
    dataDir: string;
    /** Certificate key type. */
    keyType: "ecdsa" | "rsa";
    /** cron schedule of the renewal job. */
    renewSchedule: string;
    /** Whether the certificate steps run the pre-flight before certbot places an order. */
    preflight: boolean;
    /** The pre-flight's DNS server (`IPv4[:port]`), or undefined for the host's resolver. */
    preflightResolver?: string;
    /** The port the CA validates HTTP-01 on (80 but for test CAs). */
    validationPort: number;
    /** DNS-01's provider, when dnsProvider is set; its secret stays a Pulumi secret outside this configuration. */
    dns?: DnsSettings;
    /** Days before expiry from which a served certificate needs attention (status, alert command). */
    alertDaysBeforeExpiry: number;
    /** Host path of the Prometheus text file of the certificates and renewals, if any. */
    metricsFile?: string;
}

/** DNS-01 through a certbot DNS plugin (components/dns/providers.ts). */
export interface DnsSettings {
    /** The provider's name, a key of DNS_PROVIDERS. */
    provider: string;
    /** The certbot image with the provider's plugin. */
    image: string;
    /** Seconds certbot waits for the TXT record to propagate. */
    propagationSeconds: number;
    /** The RFC 2136 server and TSIG key (the only provider so far). */
    rfc2136: Rfc2136Settings;
}

/** The whole validated configuration. The SSH private key is not here: it stays a Pulumi secret. */
export interface EdgeProxyConfig {
    host: HostSettings;
    haproxy: HaproxySettings;
    acme: AcmeSettings;
    sites: Site[];
    tcpServices: TcpService[];
}
