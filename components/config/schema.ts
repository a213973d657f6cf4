/**
 * The stack's configuration keys: one table that the validator, the render tool, the README's reference
 * and `Pulumi.yaml`'s `config:` block all follow (a test keeps `Pulumi.yaml` and the README in step with it).
 */

/** The Pulumi config namespace of every key (the project name). */
export const CONFIG_NAMESPACE = "edge-proxy";

/** How a key's value is typed, as Pulumi.yaml declares it; `list` is a structured list of objects. */
export type ConfigKeyType = "string" | "integer" | "boolean" | "list";

/** One configuration key. */
export interface ConfigKeySpec {
    /** The key's name under the `edge-proxy:` namespace. */
    key: string;
    /** The value's type. */
    type: ConfigKeyType;
    /** What the key means, one sentence (also Pulumi.yaml's description). */
    description: string;
    /** The value used when a stack does not set the key; `""` and `[]` mean "not set". Absent for required keys. */
    default?: string | number | boolean | readonly [];
    /** Whether a stack must set the key. */
    required?: boolean;
    /**
     * Whether the value must be stored as a Pulumi secret (`pulumi config set --secret`). Pulumi.yaml says
     * `secret: true` only for required keys: the CLI would refuse an optional key's plain "" default.
     */
    secret?: boolean;
}

/** The keys with their literal names (so that ConfigKeyName lists them); use CONFIG_KEYS. */
const KEY_TABLE = [
    // The Docker host.
    { key: "hostAddress", type: "string", required: true, description: "Address (DNS name or IP) of the Debian Docker host, as reached over SSH." },
    { key: "sshPort", type: "integer", default: 22, description: "SSH port of the Docker host (move the host's sshd off 22 when a TCP service publishes 22)." },
    { key: "sshUser", type: "string", default: "root", description: "SSH user on the Docker host; the host scripts need root (certbot's keys and the served PEM files are root's)." },
    { key: "sshPrivateKey", type: "string", required: true, secret: true, description: "SSH private key (PEM/OpenSSH text) for sshUser; set it with `pulumi config set --secret`." },
    { key: "sshHostKey", type: "string", default: "", description: "The host's public SSH key line (`ssh-ed25519 AAAA...`, as ssh-keyscan prints it after the host); connections to any other key are refused. Required unless sshTrustOnFirstUse is true." },
    { key: "sshTrustOnFirstUse", type: "boolean", default: false, description: "Without sshHostKey, pin the host key the first connection sees (in ~/.edge-proxy on the machine running Pulumi) and refuse any other afterwards; a warning prints the key to set as sshHostKey." },
    { key: "dockerHost", type: "string", default: "", description: "Docker endpoint for the docker provider; defaults to ssh://sshUser@hostAddress:sshPort, logging in with sshPrivateKey as the steps do." },
    { key: "detectDrift", type: "boolean", default: true, description: "Read the host over SSH in every preview and up, so that a file edited or removed there, or a container stopped or removed, shows as a change that up repairs; false skips the read (drift then goes unseen)." },
    // HAProxy.
    { key: "haproxyImage", type: "string", default: "haproxy:1.7", description: "HAProxy image with a pinned tag; its tag tells the HAProxy version unless haproxyVersion is set." },
    { key: "haproxyVersion", type: "string", default: "", description: "HAProxy version (major.minor) of haproxyImage, required when its tag does not tell it (e.g. lts, a digest)." },
    { key: "containerName", type: "string", default: "edge-proxy", description: "Name of the HAProxy container on the host." },
    { key: "httpPort", type: "integer", default: 80, description: "Host port published to HAProxy's HTTP frontend (ACME challenges and the redirect to HTTPS)." },
    { key: "httpsPort", type: "integer", default: 443, description: "Host port published to HAProxy's HTTPS frontend." },
    { key: "configDir", type: "string", default: "/srv/haproxy/cfg", description: "Host directory holding haproxy.cfg and its map files, mounted read-only at /usr/local/etc/haproxy." },
    { key: "certsDir", type: "string", default: "/srv/haproxy/certs", description: "Host directory holding the PEM files HAProxy serves, mounted read-only at /certs." },
    { key: "maxconn", type: "integer", default: 4000, description: "HAProxy's global maxconn." },
    { key: "timeoutConnect", type: "string", default: "5s", description: "HAProxy `timeout connect`: how long to wait for a backend to accept a connection." },
    { key: "timeoutClient", type: "string", default: "30s", description: "HAProxy `timeout client`: client inactivity timeout." },
    { key: "timeoutServer", type: "string", default: "30s", description: "HAProxy `timeout server`: backend inactivity timeout." },
    { key: "timeoutHttpRequest", type: "string", default: "10s", description: "HAProxy `timeout http-request`: time allowed to send a whole request (slowloris guard)." },
    { key: "timeoutHttpKeepAlive", type: "string", default: "10s", description: "HAProxy `timeout http-keep-alive`: idle time between two requests on one connection." },
    { key: "timeoutTunnel", type: "string", default: "1h", description: "HAProxy `timeout tunnel` and the TCP services' idle timeout (WebSockets, SSH sessions)." },
    // HAProxy's own metrics (off unless metricsAddress is set).
    { key: "metricsAddress", type: "string", default: "", description: "Host address the metrics port (stats page, and /metrics from 2.0) is published on; unset: no metrics. Loopback or private unless metricsPublic." },
    { key: "metricsPort", type: "integer", default: 8404, description: "Host port of the metrics (the container listens on the same port)." },
    { key: "metricsPublic", type: "boolean", default: false, description: "Allow a public (not loopback, not private) metricsAddress, such as 0.0.0.0." },
    { key: "metricsUser", type: "string", default: "", description: "User name of the metrics' basic authentication; unset: no authentication (needs metricsPassword)." },
    { key: "metricsPassword", type: "string", default: "", secret: true, description: "Password of metricsUser; set it with `pulumi config set --secret`. haproxy.cfg holds only its SHA-512 crypt hash." },
    // ACME (Let's Encrypt) and certbot.
    { key: "acmeEmail", type: "string", required: true, description: "Email address for the ACME account (expiry notices)." },
    { key: "acmeServer", type: "string", default: "staging", description: "ACME directory: `staging`, `production` (Let's Encrypt), or the https URL of another ACME server." },
    { key: "acmeCaBundle", type: "string", default: "", description: "Path on the host of a PEM CA bundle that certbot trusts for a private ACME server (REQUESTS_CA_BUNDLE)." },
    { key: "certbotImage", type: "string", default: "certbot/certbot:v2.11.0", description: "certbot image with a pinned tag; it runs certbot as its entrypoint." },
    { key: "acmeChallengePort", type: "integer", default: 8888, description: "Port certbot's standalone HTTP-01 server listens on behind HAProxy's ACME ACL." },
    { key: "acmeChallengeAddress", type: "string", default: "172.17.0.1", description: "Host address the HAProxy container reaches certbot on (the docker0 bridge address); certbot's port is published there only." },
    { key: "certbotDataDir", type: "string", default: "/srv/letsencrypt", description: "Host directory for certbot's accounts, lineages and logs (kept on destroy)." },
    { key: "acmePreflight", type: "boolean", default: true, description: "Before certbot places an order, check that each name reaches this host's ACME path (a token fetched by name from the host); a name that does not fails its site without asking the CA." },
    { key: "acmePreflightResolver", type: "string", default: "", description: "DNS server (IPv4 address, optionally :port) the pre-flight resolves names with; unset: the host's resolver." },
    { key: "acmeValidationPort", type: "integer", default: 80, description: "Port the CA fetches HTTP-01 tokens on, where the pre-flight fetches too: 80 for every public CA (another only for a test CA)." },
    { key: "acmeKeyType", type: "string", default: "ecdsa", description: "Certificate key type: `ecdsa` (P-256, cheaper handshakes) or `rsa` (2048)." },
    { key: "renewSchedule", type: "string", default: "", description: "cron schedule (five fields) of the renewal job; unset: twice a day at a minute and hours derived from hostAddress and containerName." },
    { key: "alertDaysBeforeExpiry", type: "integer", default: 14, description: "Days before a served certificate expires from which it needs attention: the status says so and alertCommand runs (certbot renews 30 days before)." },
    { key: "alertCommand", type: "string", default: "", secret: true, description: "Shell command the renewal job runs on the host, the status JSON on stdin, when a renewal failed or a certificate needs attention (e.g. a curl to a webhook); set it with `pulumi config set --secret`." },
    { key: "certificateMetricsFile", type: "string", default: "", description: "Host path of a Prometheus text file (node_exporter's textfile collector) with each certificate's expiry and renewal results; unset: none." },
    // DNS-01 (sites with challenge dns-01).
    { key: "dnsProvider", type: "string", default: "", description: "certbot DNS plugin of the sites whose challenge is dns-01: `rfc2136` (dynamic updates signed with a TSIG key: BIND, Knot, PowerDNS, ...); unset: no DNS-01." },
    { key: "dnsCertbotImage", type: "string", default: "", description: "certbot image with the DNS plugin, pinned; unset: the plugin's official image at certbotImage's tag (certbot/dns-rfc2136:v2.11.0)." },
    { key: "dnsPropagationSeconds", type: "integer", default: 60, description: "Seconds certbot waits after writing a TXT record before the CA checks it (time for the zone's secondaries)." },
    { key: "rfc2136Server", type: "string", default: "", description: "Address (IPv4 or IPv6) of the DNS server that takes the updates, as the certbot container on the host reaches it." },
    { key: "rfc2136Port", type: "integer", default: 53, description: "Port of rfc2136Server." },
    { key: "rfc2136KeyName", type: "string", default: "", description: "Name of the TSIG key the updates are signed with (e.g. `edge-proxy.`)." },
    { key: "rfc2136KeyAlgorithm", type: "string", default: "HMAC-SHA512", description: "Algorithm of the TSIG key: HMAC-SHA512, HMAC-SHA384, HMAC-SHA256, HMAC-SHA224, HMAC-SHA1 or HMAC-MD5." },
    { key: "rfc2136KeySecret", type: "string", default: "", secret: true, description: "The TSIG key's secret (base64); set it with `pulumi config set --secret`. It reaches only a root-only credentials file on the host." },
    // What is served.
    { key: "sites", type: "list", required: true, description: "The HTTPS sites: each with domains (one certificate), backends, health check and HSTS." },
    { key: "tcpServices", type: "list", default: [], description: "TCP services passed through as-is (SSH, ...): each with a name, a published port and backends." },
] as const satisfies readonly ConfigKeySpec[];

export const CONFIG_KEYS: readonly ConfigKeySpec[] = KEY_TABLE;

/** Every key's name, as a type: EdgeProxySettings is held to it at compile time. */
export type ConfigKeyName = (typeof KEY_TABLE)[number]["key"];

/** Keys allowed on each entry of `sites`, with their meaning (for the README and unknown-key errors). */
export const SITE_KEYS = {
    name: "Identifier of the site: backend, certificate and PEM file name (default: the first domain, a wildcard's `*.` written `wildcard.`).",
    domains: "Hostnames served by the site; one certificate covers them all. Wildcards (`*.example.com`) only with challenge dns-01.",
    challenge: "How the CA validates the names: `http-01` (default, through HAProxy's port 80) or `dns-01` (TXT records through dnsProvider).",
    backends: "Backend servers as `host:port` (IPv4, [IPv6] or DNS name).",
    healthCheck: "Optional `{ path, interval }`: HTTP health check (GET path) instead of a TCP connect check.",
    hsts: "Send Strict-Transport-Security (max-age two years); default true.",
    securityHeaders: "Send X-Content-Type-Options: nosniff and X-Frame-Options: SAMEORIGIN; default true.",
} as const;

/** Keys allowed in a site's `healthCheck`. */
export const HEALTH_CHECK_KEYS = {
    path: "Absolute path requested with GET; a 2xx or 3xx answer means healthy.",
    interval: "Time between checks (HAProxy time, e.g. 5s); default 2s.",
} as const;

/** Keys allowed on each entry of `tcpServices`. */
export const TCP_SERVICE_KEYS = {
    name: "Identifier of the service (frontend and backend names).",
    port: "Host port published for it; the container listens on the same port.",
    backends: "Backend servers as `host:port`.",
} as const;

/** The key's spec, or undefined for an unknown key. */
export function configKey(key: string): ConfigKeySpec | undefined {
    return CONFIG_KEYS.find((spec) => spec.key === key);
}
