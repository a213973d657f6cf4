/** Validation of the stack configuration: every problem at once, each with its key path. */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import {
    absolutePathProblem,
    acmeProfileProblem,
    cronLongestGapMinutes,
    cronProblem,
    defaultRenewSchedule,
    durationProblem,
    eabHmacKeyProblem,
    eabKidProblem,
    fractionProblem,
    healthCheckPathProblem,
    hostnameProblem,
    imageProblem,
    isPrivateAddress,
    PLAIN_SECRET,
    parseFraction,
    parseServerAddress,
    type RawConfig,
    SECRET_PRESENT,
    versionFromImage,
} from "../../components/config/checks";
import { CONFIG_KEYS } from "../../components/config/schema";
import { engineSecretKeys, rawConfigFromEngine, rawConfigFromStackFile } from "../../components/config/sources";
import { ConfigError, parseConfig } from "../../components/config/validate";
import { profileOf } from "../../components/hostScripts";
import { renderEverything } from "../../dev/hostScripts";

/** A minimal valid configuration; each case below changes it. */
/** A host key line of the right form (the dev stack's). */
const DEV_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheDevHost";

function base(): RawConfig {
    return {
        hostAddress: "192.0.2.10",
        sshHostKey: DEV_HOST_KEY,
        sshPrivateKey: SECRET_PRESENT,
        acmeEmail: "admin@example.com",
        sites: [{ domains: ["www.example.com"], backends: ["192.168.1.100:80"] }],
    };
}

/** The problems parseConfig reports for a configuration. */
function problemsOf(raw: RawConfig, options = {}): string[] {
    try {
        parseConfig(raw, options);
        return [];
    } catch (error) {
        expect(error).to.be.instanceOf(ConfigError);
        return (error as ConfigError).problems;
    }
}

describe("configuration validation", () => {
    it("accepts the minimal configuration and applies every default", () => {
        const config = parseConfig(base());
        expect(config.host).to.deep.equal({
            address: "192.0.2.10",
            sshPort: 22,
            sshUser: "root",
            sshHostKey: DEV_HOST_KEY,
            trustOnFirstUse: false,
            dockerHost: "ssh://root@192.0.2.10:22",
            detectDrift: true,
        });
        expect(config.haproxy.image).to.equal("haproxy:1.7");
        expect(config.haproxy.version).to.deep.equal({ major: 1, minor: 7 });
        expect(config.haproxy.timeouts).to.deep.equal({ connect: "5s", client: "30s", server: "30s", httpRequest: "10s", httpKeepAlive: "10s", tunnel: "1h" });
        expect(config.acme).to.include({
            server: "https://acme-staging-v02.api.letsencrypt.org/directory",
            staging: true,
            challengePort: 8888,
            keyType: "ecdsa",
        });
        expect(config.sites).to.deep.equal([
            {
                name: "www.example.com",
                domains: ["www.example.com"],
                backends: [{ host: "192.168.1.100", port: 80 }],
                challenge: "http-01",
                healthCheck: undefined,
                hsts: true,
                securityHeaders: true,
            },
        ]);
        expect(config.tcpServices).to.deep.equal([]);
        expect(config.acme.dns, "DNS-01 off").to.equal(undefined);
    });

    /** A configuration with the RFC 2136 provider and a wildcard site. */
    function withDns(r: RawConfig): void {
        Object.assign(r, { dnsProvider: "rfc2136", rfc2136Server: "192.0.2.53", rfc2136KeyName: "edge-proxy.", rfc2136KeySecret: SECRET_PRESENT });
        r.sites = [{ name: "apps", challenge: "dns-01", domains: ["*.Apps.example.com", "apps.example.com"], backends: ["10.0.0.1:80"] }];
    }

    it("accepts DNS-01 with RFC 2136: wildcards on its sites, the plugin's image from certbotImage's tag", () => {
        const raw = base();
        withDns(raw);
        const config = parseConfig(raw);
        expect(config.acme.dns).to.deep.equal({
            provider: "rfc2136",
            image: "certbot/dns-rfc2136:v5.8.0",
            propagationSeconds: 60,
            rfc2136: { server: "192.0.2.53", port: 53, keyName: "edge-proxy.", algorithm: "HMAC-SHA512" },
        });
        expect(config.sites[0]).to.include({ challenge: "dns-01" });
        expect(config.sites[0].domains).to.deep.equal(["*.apps.example.com", "apps.example.com"]);
        raw.rfc2136KeyAlgorithm = "hmac-sha256";
        raw.rfc2136Server = "2001:db8::53";
        raw.certbotImage = "registry.example.com/certbot:2.11";
        raw.dnsCertbotImage = "registry.example.com/certbot-dns:2.11";
        expect(parseConfig(raw).acme.dns)
            .to.deep.include({ image: "registry.example.com/certbot-dns:2.11" })
            .and.deep.include({ rfc2136: { server: "2001:db8::53", port: 53, keyName: "edge-proxy.", algorithm: "HMAC-SHA256" } });
    });

    const cases: [string, (raw: RawConfig) => void, string[]][] = [
        [
            "a hostname with a blank",
            (r) => {
                r.sites = [{ domains: ["exa mple.com"], backends: ["10.0.0.1:80"] }];
            },
            ['sites[0].domains[0]: "exa mple.com" is not a valid hostname'],
        ],
        [
            "a wildcard domain",
            (r) => {
                r.sites = [{ domains: ["*.example.com"], backends: ["10.0.0.1:80"] }];
            },
            ['sites[0].domains[0]: "*.example.com" is a wildcard; HTTP-01 validation cannot issue wildcard certificates'],
        ],
        [
            "a single-label domain",
            (r) => {
                r.sites = [{ domains: ["intranet"], backends: ["10.0.0.1:80"] }];
            },
            ['sites[0].domains[0]: "intranet" is not a fully qualified domain name'],
        ],
        [
            "a domain in two sites",
            (r) => {
                r.sites = [
                    { domains: ["a.example.com"], backends: ["10.0.0.1:80"] },
                    { name: "b", domains: ["b.example.com", "A.example.com"], backends: ["10.0.0.1:80"] },
                ];
            },
            ['sites[1].domains[1]: "a.example.com" is already served by sites[0].domains[0]'],
        ],
        [
            "two sites with one name",
            (r) => {
                r.sites = [
                    { name: "web", domains: ["a.example.com"], backends: ["10.0.0.1:80"] },
                    { name: "web", domains: ["b.example.com"], backends: ["10.0.0.1:80"] },
                ];
            },
            ['sites[1].name: "web" is already the name of sites[0].name'],
        ],
        [
            "no sites",
            (r) => {
                r.sites = [];
            },
            ["sites: must not be empty"],
        ],
        [
            "malformed backends",
            (r) => {
                r.sites = [{ domains: ["a.example.com"], backends: ["10.0.0.1", "10.0.0.300:80", "10.0.0.1:70000", "[zz::1]:80", "web_1:80"] }];
            },
            [
                'sites[0].backends[0]: "10.0.0.1" is not host:port (IPv6 addresses go in brackets: [2001:db8::1]:80)',
                'sites[0].backends[1]: "10.0.0.300:80" has a malformed IPv4 address',
                'sites[0].backends[2]: "10.0.0.1:70000" has port 70000 outside 1-65535',
                'sites[0].backends[3]: "[zz::1]:80" has a malformed IPv6 address',
                'sites[0].backends[4]: "web_1:80" has an invalid host name "web_1"',
            ],
        ],
        [
            "a port out of range and a port used twice",
            (r) => {
                r.httpPort = 0;
                r.httpsPort = 8888;
            },
            ["httpPort: must be a port number from 1 to 65535, got number 0", "acmeChallengePort: port 8888 is already used by httpsPort"],
        ],
        [
            "a TCP service on a port already published",
            (r) => {
                r.tcpServices = [{ name: "ssh", port: 443, backends: ["10.0.0.1:22"] }];
            },
            ["tcpServices[0].port: port 443 is the container's own HTTP(S) port", "tcpServices[0].port: port 443 is already used by httpsPort"],
        ],
        [
            "missing required keys",
            (r) => {
                delete r.acmeEmail;
                delete r.hostAddress;
            },
            [
                "hostAddress: is required: Address (DNS name or IP) of the Debian Docker host, as reached over SSH. Required unless `hosts` lists the hosts.",
                "acmeEmail: is required: Email address for the ACME account (expiry notices).",
            ],
        ],
        [
            "a malformed email",
            (r) => {
                r.acmeEmail = "admin";
            },
            ['acmeEmail: "admin" is not an email address'],
        ],
        [
            "typos in keys",
            (r) => {
                r.acmeEmial = "x@example.com";
                (r.sites as object[])[0] = { domains: ["a.example.com"], backend: ["10.0.0.1:80"] };
            },
            [
                'acmeEmial: unknown key (did you mean "acmeEmail"?)',
                'sites[0].backend: unknown key (did you mean "backends"?)',
                "sites[0].backends: must be a list, got nothing",
            ],
        ],
        [
            "an image tag that does not tell the version",
            (r) => {
                r.haproxyImage = "haproxy:lts";
            },
            ['haproxyVersion: is required: the tag of haproxyImage "haproxy:lts" does not tell the HAProxy version'],
        ],
        [
            "an unpinned image",
            (r) => {
                r.haproxyImage = "haproxy";
                r.certbotImage = "certbot/certbot:latest";
            },
            [
                'haproxyImage: "haproxy" must pin a version (a tag other than latest, or a digest)',
                'certbotImage: "certbot/certbot:latest" must pin a version (a tag other than latest, or a digest)',
            ],
        ],
        [
            "a version older than 1.7 and one that contradicts the tag",
            (r) => {
                r.haproxyImage = "haproxy:1.6";
                r.haproxyVersion = "1.5";
            },
            ['haproxyVersion: "1.5" contradicts the tag of haproxyImage "haproxy:1.6"', "haproxyVersion: HAProxy 1.5 is older than the oldest supported, 1.7"],
        ],
        [
            "TLS session tickets on a version whose runtime API cannot rotate their keys",
            (r) => {
                r.haproxyImage = "haproxy:2.1";
                r.tlsSessionTickets = true;
            },
            [
                "tlsSessionTickets: needs HAProxy 2.2 or newer, whose runtime API rotates the keys (this is HAProxy 2.1): without rotation a ticket key would undo forward secrecy",
            ],
        ],
        [
            "bad timeouts, schedule, server and key type",
            (r) => {
                r.timeoutClient = "30 seconds";
                r.timeoutTunnel = "25d";
                r.renewSchedule = "daily";
                r.acmeServer = "http://acme.example.com/dir";
                r.acmeKeyType = "dsa";
            },
            [
                'timeoutClient: "30 seconds" is not an HAProxy time such as 500ms, 30s, 5m or 1h',
                'timeoutTunnel: "25d" is longer than HAProxy\'s longest timer, about 24 days',
                'acmeServer: "http://acme.example.com/dir" is neither staging, production nor an https:// directory URL',
                'acmeKeyType: "dsa" is neither ecdsa nor rsa',
                'renewSchedule: "daily" is not a five-field cron schedule such as "17 3 * * *" (one space between fields)',
            ],
        ],
        [
            "unsafe paths",
            (r) => {
                r.configDir = "/srv/../etc";
                r.certsDir = "/srv/my certs";
                r.certbotDataDir = "relative";
            },
            [
                "configDir: \"/srv/../etc\" must not contain '..'",
                "certsDir: \"/srv/my certs\" is not an absolute path of letters, digits, '.', '_', '-' and '/'",
                "certbotDataDir: \"relative\" is not an absolute path of letters, digits, '.', '_', '-' and '/'",
            ],
        ],
        [
            "system directories, also as aliases",
            (r) => {
                r.configDir = "/etc/";
                r.certsDir = "//srv";
                r.certbotDataDir = "/var/lib/.";
                r.acmeCaBundle = "/usr/local";
            },
            [
                'configDir: "/etc/" is the system directory /etc: use a directory of its own, such as one under /srv',
                'certsDir: "//srv" is the system directory /srv: use a directory of its own, such as one under /srv',
                'acmeCaBundle: "/usr/local" is the system directory /usr/local: use a directory of its own, such as one under /srv',
                'certbotDataDir: "/var/lib/." is the system directory /var/lib: use a directory of its own, such as one under /srv',
            ],
        ],
        [
            "directories that overlap",
            (r) => {
                r.configDir = "/srv/haproxy";
                r.certsDir = "/srv/haproxy/certs";
                r.certbotDataDir = "/srv//haproxy/";
            },
            [
                'certsDir: "/srv/haproxy/certs" is inside configDir "/srv/haproxy" (configDir, certsDir and certbotDataDir must not overlap)',
                'certbotDataDir: "/srv/haproxy" is also configDir "/srv/haproxy" (configDir, certsDir and certbotDataDir must not overlap)',
                'certbotDataDir: "/srv/haproxy" contains certsDir "/srv/haproxy/certs" (configDir, certsDir and certbotDataDir must not overlap)',
            ],
        ],
        [
            "a private key in plain text",
            (r) => {
                r.sshPrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----";
            },
            ["sshPrivateKey: must be stored as a secret: pulumi config set --secret sshPrivateKey (never in plain text)"],
        ],
        [
            "wrong types",
            (r) => {
                r.sshPort = "22";
                r.sites = [{ domains: "a.example.com", backends: ["10.0.0.1:80"], hsts: "yes" }];
            },
            [
                'sshPort: must be a port number from 1 to 65535, got string "22"',
                'sites[0].domains: must be a list, got string "a.example.com"',
                'sites[0].hsts: must be true or false, got string "yes"',
            ],
        ],
        [
            "a bad health check",
            (r) => {
                r.sites = [{ domains: ["a.example.com"], backends: ["10.0.0.1:80"], healthCheck: { path: "health", interval: "often", method: "HEAD" } }];
            },
            [
                "sites[0].healthCheck.method: unknown key",
                'sites[0].healthCheck.path: "health" is not an absolute path of letters, digits and ._~/-',
                'sites[0].healthCheck.interval: "often" is not an HAProxy time such as 500ms, 30s, 5m or 1h',
            ],
        ],
        [
            "a schedule that ends in a newline (a second line of the cron file)",
            (r) => {
                r.renewSchedule = "17 3 * * *\n";
            },
            ['renewSchedule: "17 3 * * *\\n" is not a five-field cron schedule such as "17 3 * * *" (one space between fields)'],
        ],
        [
            "a schedule of five lines",
            (r) => {
                r.renewSchedule = "17\n3\n*\n*\n*";
            },
            ['renewSchedule: "17\\n3\\n*\\n*\\n*" is not a five-field cron schedule such as "17 3 * * *" (one space between fields)'],
        ],
        [
            "cron fields out of range",
            (r) => {
                r.renewSchedule = "99 99 99 99 99";
            },
            ['renewSchedule: "99 99 99 99 99" has minute 99 outside 0-59'],
        ],
        [
            "a zero cron step",
            (r) => {
                r.renewSchedule = "*/0 * * * *";
            },
            ['renewSchedule: "*/0 * * * *" has a minute step of 0 (at least 1)'],
        ],
        [
            "a cron range that runs backwards and a month 0",
            (r) => {
                r.renewSchedule = "0 5-1 * 0 *";
            },
            ['renewSchedule: "0 5-1 * 0 *" has an hour range 5-1 that runs backwards'],
        ],
        [
            "a cron field that is no number, range or step",
            (r) => {
                r.renewSchedule = "0 3 * * 1-2-3";
            },
            ['renewSchedule: "0 3 * * 1-2-3" has a day-of-week field "1-2-3" that is not *, n, a-b, */n or a-b/n (or a list of them)'],
        ],
        [
            "IPv6 backends that are no IPv6 address",
            (r) => {
                r.sites = [
                    {
                        domains: ["a.example.com"],
                        backends: ["[:]:80", "[::::::::::]:80", "[1:2:3:4:5:6:7:8:9]:80", "[fe80::1%eth0]:80", "[2001:db8::1]:80", "[::ffff:10.0.0.1]:80"],
                    },
                ];
            },
            [
                'sites[0].backends[0]: "[:]:80" has a malformed IPv6 address',
                'sites[0].backends[1]: "[::::::::::]:80" has a malformed IPv6 address',
                'sites[0].backends[2]: "[1:2:3:4:5:6:7:8:9]:80" has a malformed IPv6 address',
                'sites[0].backends[3]: "[fe80::1%eth0]:80" has a malformed IPv6 address',
            ],
        ],
        [
            "zero times",
            (r) => {
                r.timeoutHttpRequest = "0";
                r.timeoutConnect = "0ms";
                r.sites = [{ domains: ["a.example.com"], backends: ["10.0.0.1:80"], healthCheck: { path: "/", interval: "0s" } }];
            },
            [
                'timeoutConnect: "0ms" is zero: HAProxy would wait forever (or, for a health check, refuse the configuration)',
                'timeoutHttpRequest: "0" is zero: HAProxy would wait forever (or, for a health check, refuse the configuration)',
                'sites[0].healthCheck.interval: "0s" is zero: HAProxy would wait forever (or, for a health check, refuse the configuration)',
            ],
        ],
        [
            "an email that certbot would read as an option",
            (r) => {
                r.acmeEmail = "-admin@example.com";
            },
            ["acmeEmail: \"-admin@example.com\" starts with '-': certbot would read it as an option"],
        ],
        [
            "null values",
            (r) => {
                r.acmeEmail = null;
                r.hostAddress = null;
                r.httpPort = null;
                r.sites = null;
            },
            [
                "acmeEmail: is required: Email address for the ACME account (expiry notices).",
                "sites: is required: The HTTPS sites: each with domains (one certificate), backends, health check and HSTS.",
                "hostAddress: must be a string, got nothing",
                "httpPort: must be a port number from 1 to 65535, got nothing",
            ],
        ],
        [
            "a TCP service on the host's own SSH port",
            (r) => {
                r.sshPort = 22;
                r.tcpServices = [{ name: "ssh", port: 22, backends: ["10.0.0.1:22"] }];
            },
            ["tcpServices[0].port: port 22 is already used by sshPort (the host's own sshd: move it to another port and set sshPort to it)"],
        ],
        [
            "HTTP, HTTPS or the challenge port on the host's own SSH port",
            (r) => {
                r.sshPort = 2222;
                r.httpsPort = 2222;
                r.acmeChallengePort = 2222;
            },
            [
                "httpsPort: port 2222 is already used by sshPort (the host's own sshd: move it to another port and set sshPort to it)",
                "acmeChallengePort: port 2222 is already used by sshPort (the host's own sshd: move it to another port and set sshPort to it)",
            ],
        ],
        [
            "a metrics port that is the container's HTTPS port, the published one elsewhere (two binds on one port)",
            (r) => {
                r.httpsPort = 8443;
                r.metricsAddress = "127.0.0.1";
                r.metricsPort = 443;
            },
            ["metricsPort: port 443 is the container's own HTTP(S) port"],
        ],
        [
            "a metrics port on the host's own SSH port",
            (r) => {
                r.sshPort = 2222;
                r.metricsAddress = "127.0.0.1";
                r.metricsPort = 2222;
            },
            ["metricsPort: port 2222 is already used by sshPort (the host's own sshd: move it to another port and set sshPort to it)"],
        ],
        [
            "metrics settings without metricsAddress (the metrics are off)",
            (r) => {
                r.metricsUser = "prom";
                r.metricsPassword = SECRET_PRESENT;
                r.metricsPort = 9000;
            },
            [
                "metricsUser: has no effect: the metrics are off until metricsAddress is set",
                "metricsPassword: has no effect: the metrics are off until metricsAddress is set",
                "metricsPort: has no effect: the metrics are off until metricsAddress is set",
            ],
        ],
        [
            "a public metrics address without metricsPublic",
            (r) => {
                r.metricsAddress = "0.0.0.0";
            },
            [
                'metricsAddress: "0.0.0.0" is public: set metricsPublic to true to publish the metrics there (and set metricsUser and metricsPassword)',
                'metricsUser: is required when metricsAddress "0.0.0.0" is not a loopback address: set metricsUser and metricsPassword (basic authentication), or publish on 127.0.0.1',
            ],
        ],
        [
            "a public metrics address with metricsPublic but no authentication",
            (r) => {
                r.metricsAddress = "0.0.0.0";
                r.metricsPublic = true;
            },
            [
                'metricsUser: is required when metricsAddress "0.0.0.0" is not a loopback address: set metricsUser and metricsPassword (basic authentication), or publish on 127.0.0.1',
            ],
        ],
        [
            "a private metrics address without authentication (the docker bridge: every container reaches it)",
            (r) => {
                r.metricsAddress = "172.17.0.1";
            },
            [
                'metricsUser: is required when metricsAddress "172.17.0.1" is not a loopback address: set metricsUser and metricsPassword (basic authentication), or publish on 127.0.0.1',
            ],
        ],
        [
            "a link-local metrics address (every machine on the link reaches it)",
            (r) => {
                r.metricsAddress = "fe80::1";
                r.metricsPublic = false;
            },
            [
                'metricsAddress: "fe80::1" is public: set metricsPublic to true to publish the metrics there (and set metricsUser and metricsPassword)',
                'metricsUser: is required when metricsAddress "fe80::1" is not a loopback address: set metricsUser and metricsPassword (basic authentication), or publish on 127.0.0.1',
            ],
        ],
        [
            "a metrics address that is no address",
            (r) => {
                r.metricsAddress = "metrics.example.com";
            },
            ['metricsAddress: "metrics.example.com" is not an IPv4 or IPv6 address'],
        ],
        [
            "a metrics port already published, a user without password, a password in plain text",
            (r) => {
                r.metricsAddress = "10.0.0.5";
                r.metricsPort = 443;
                r.metricsUser = "prom user";
            },
            [
                "metricsUser: \"prom user\" is not a user name of letters, digits, '.', '_' and '-'",
                "metricsPort: port 443 is the container's own HTTP(S) port",
                "metricsPort: port 443 is already used by httpsPort",
            ],
        ],
        [
            "a metrics user without password and a password without user",
            (r) => {
                r.metricsAddress = "127.0.0.1";
                r.metricsUser = "prom";
            },
            ["metricsPassword: is required with metricsUser: pulumi config set --secret metricsPassword"],
        ],
        [
            "a metrics password in plain text, without a user",
            (r) => {
                r.metricsAddress = "::1";
                r.metricsPassword = PLAIN_SECRET;
            },
            [
                "metricsPassword: must be stored as a secret: pulumi config set --secret metricsPassword (never in plain text)",
                "metricsUser: is required with metricsPassword (the basic authentication's user name)",
            ],
        ],
        [
            "an alert command in plain text (it may carry a webhook's token)",
            (r) => {
                r.alertCommand = PLAIN_SECRET;
            },
            ["alertCommand: must be stored as a secret: pulumi config set --secret alertCommand (never in plain text)"],
        ],
        [
            "alert days out of range, a metrics file that node_exporter would not read",
            (r) => {
                r.alertDaysBeforeExpiry = -1;
                r.certificateMetricsFile = "/var/lib/prometheus/node-exporter/edge-proxy.txt";
            },
            [
                "alertDaysBeforeExpiry: must be a number of days from 0 to 3650, got number -1",
                'certificateMetricsFile: "/var/lib/prometheus/node-exporter/edge-proxy.txt" is not the path of a file named *.prom (node_exporter\'s textfile collector reads only those)',
            ],
        ],
        [
            "a metrics file that is a system directory, or relative",
            (r) => {
                r.certificateMetricsFile = "/var/lib";
                r.alertDaysBeforeExpiry = 3651;
            },
            [
                "alertDaysBeforeExpiry: must be a number of days from 0 to 3650, got number 3651",
                'certificateMetricsFile: "/var/lib" is the system directory /var/lib: use a directory of its own, such as one under /srv',
            ],
        ],
        [
            "a pre-flight resolver that is a name; a validation port 0; a pre-flight flag as text",
            (r) => {
                r.acmePreflightResolver = "dns.example.com";
                r.acmeValidationPort = 0;
                r.acmePreflight = "yes";
            },
            [
                'acmePreflight: must be true or false, got string "yes"',
                'acmePreflightResolver: "dns.example.com" is not an IPv4 address with an optional port, such as 192.0.2.53 or 127.0.0.1:5353',
                "acmeValidationPort: must be a port number from 1 to 65535, got number 0",
            ],
        ],
        [
            "a pre-flight resolver with a port out of range",
            (r) => {
                r.acmePreflightResolver = "192.0.2.53:65536";
            },
            ['acmePreflightResolver: "192.0.2.53:65536" is not an IPv4 address with an optional port, such as 192.0.2.53 or 127.0.0.1:5353'],
        ],
        [
            "a dns-01 site without dnsProvider, and DNS keys without it",
            (r) => {
                r.sites = [{ challenge: "dns-01", domains: ["*.example.com"], backends: ["10.0.0.1:80"] }];
                r.rfc2136Server = "192.0.2.53";
            },
            ["rfc2136Server: has no effect: DNS-01 is off until dnsProvider is set", "sites[0].challenge: dns-01 needs dnsProvider (and its keys) set"],
        ],
        [
            "an unknown challenge and DNS provider",
            (r) => {
                r.dnsProvider = "cloudflare";
                r.sites = [{ challenge: "dns", domains: ["a.example.com"], backends: ["10.0.0.1:80"] }];
            },
            ['dnsProvider: "cloudflare" is not a DNS provider edge-proxy knows (rfc2136)', 'sites[0].challenge: "dns" is neither http-01 nor dns-01'],
        ],
        [
            "rfc2136 without its server, key name and secret; a bad algorithm",
            (r) => {
                r.dnsProvider = "rfc2136";
                r.rfc2136KeyAlgorithm = "HMAC-SHA3";
            },
            [
                "rfc2136Server: is required with dnsProvider rfc2136: Address (IPv4 or IPv6) of the DNS server that takes the updates, as the certbot container on the host reaches it.",
                "rfc2136KeyName: is required with dnsProvider rfc2136: Name of the TSIG key the updates are signed with (e.g. `edge-proxy.`).",
                'rfc2136KeyAlgorithm: "HMAC-SHA3" is not one of HMAC-MD5, HMAC-SHA1, HMAC-SHA224, HMAC-SHA256, HMAC-SHA384, HMAC-SHA512',
                "rfc2136KeySecret: is required with dnsProvider rfc2136: pulumi config set --secret rfc2136KeySecret",
            ],
        ],
        [
            "a TSIG secret in plain text, a server that is a name, a key name with a blank",
            (r) => {
                withDns(r);
                r.rfc2136KeySecret = PLAIN_SECRET;
                r.rfc2136Server = "ns1.example.com";
                r.rfc2136KeyName = "edge proxy";
            },
            [
                "rfc2136KeySecret: must be stored as a secret: pulumi config set --secret rfc2136KeySecret (never in plain text)",
                'rfc2136Server: "ns1.example.com" is not an IPv4 or IPv6 address',
                'rfc2136KeyName: "edge proxy" is not a TSIG key name (a domain-style name such as edge-proxy.)',
            ],
        ],
        [
            "a certbot image the plugin's cannot be derived from (dnsCertbotImage unset, or its default)",
            (r) => {
                withDns(r);
                r.certbotImage = "registry.example.com/certbot:2.11";
                r.dnsCertbotImage = "";
            },
            [
                'dnsCertbotImage: is required: certbotImage "registry.example.com/certbot:2.11" is not certbot/certbot:<tag>, so the dns-rfc2136 image cannot be derived from it',
            ],
        ],
        [
            "wildcards that cover more than one label, or a top-level domain, on a dns-01 site",
            (r) => {
                withDns(r);
                r.sites = [{ challenge: "dns-01", domains: ["*.*.example.com", "*.com", "a.*.example.com"], backends: ["10.0.0.1:80"] }];
            },
            [
                'sites[0].domains[0]: "*.*.example.com" is not a wildcard TLS accepts: only the first label may be *, and it covers exactly one label',
                'sites[0].domains[1]: "*.com" is not a wildcard of a domain: com is not a fully qualified domain name',
                'sites[0].domains[2]: "a.*.example.com" is not a valid hostname',
            ],
        ],
        [
            "an ACME profile that is no profile name, for all sites and for one",
            (r) => {
                r.acmeProfile = "short lived";
                r.sites = [{ domains: ["a.example.com"], backends: ["10.0.0.1:80"], acmeProfile: "--server=x" }];
            },
            [
                "acmeProfile: \"short lived\" is not an ACME profile name (letters, digits, '.', '_' and '-', at most 64, such as shortlived)",
                "sites[0].acmeProfile: \"--server=x\" is not an ACME profile name (letters, digits, '.', '_' and '-', at most 64, such as shortlived)",
            ],
        ],
        [
            "an EAB key identifier without its HMAC key",
            (r) => {
                r.acmeEabKid = "kid-1";
            },
            ['acmeEabHmacKey: is required with acmeEabKid "kid-1": pulumi config set --secret acmeEabHmacKey'],
        ],
        [
            "an EAB HMAC key without its key identifier",
            (r) => {
                r.acmeEabHmacKey = SECRET_PRESENT;
            },
            ["acmeEabKid: is required with acmeEabHmacKey: the key identifier the CA gave with it"],
        ],
        [
            "an EAB HMAC key in plain text, a key identifier with a blank",
            (r) => {
                r.acmeEabKid = "kid 1";
                r.acmeEabHmacKey = PLAIN_SECRET;
            },
            [
                "acmeEabHmacKey: must be stored as a secret: pulumi config set --secret acmeEabHmacKey (never in plain text)",
                "acmeEabKid: \"kid 1\" is not an EAB key identifier (letters, digits, '.', '_', '~' and '-')",
            ],
        ],
        [
            "an alert fraction that is a whole lifetime",
            (r) => {
                r.alertLifetimeFraction = "1/1";
            },
            ['alertLifetimeFraction: "1/1" is not a part of the lifetime above 0 and below 1, written as 1/6 or 0.2'],
        ],
        [
            "a directive smuggled into a domain",
            (r) => {
                r.sites = [{ domains: ["a.example.com\n    bind :9999"], backends: ["10.0.0.1:80"] }];
            },
            ['sites[0].domains[0]: "a.example.com\\n    bind :9999" is not a valid hostname'],
        ],
    ];
    for (const [name, change, expected] of cases) {
        it(`reports ${name}`, () => {
            const raw = base();
            change(raw);
            expect(problemsOf(raw)).to.deep.equal(expected);
        });
    }

    it("reports every problem of a configuration at once", () => {
        const raw = base();
        for (const [, change] of cases.filter(([name]) => !/sites|domain|backends|health|typos|types|overlap/.test(name))) {
            change(raw);
        }
        const problems = problemsOf(raw);
        expect(problems.length).to.be.greaterThan(15);
        expect(problems.map((p) => p.split(":")[0])).to.include.members([
            "hostAddress",
            "acmeEmail",
            "httpPort",
            "haproxyVersion",
            "configDir",
            "renewSchedule",
            "sshPrivateKey",
        ]);
    });

    it("renews every three hours, at a minute and hours of the installation's own unless renewSchedule is set", () => {
        const schedule = defaultRenewSchedule("192.0.2.10", "edge-proxy");
        expect(parseConfig(base()).acme.renewSchedule).to.equal(schedule);
        expect(parseConfig({ ...base(), renewSchedule: "17 3 * * *" }).acme.renewSchedule).to.equal("17 3 * * *");
        expect(parseConfig({ ...base(), renewSchedule: "" }).acme.renewSchedule).to.equal(schedule);
        expect(defaultRenewSchedule("192.0.2.10", "edge-proxy"), "stable across ups").to.equal(schedule);
        expect(defaultRenewSchedule("192.0.2.11", "edge-proxy"), "another host").to.not.equal(schedule);
        expect(defaultRenewSchedule("192.0.2.10", "edge-proxy-2"), "another container").to.not.equal(schedule);
        expect(defaultRenewSchedule("PROXY.example.net", "edge-proxy"), "a host name in any case").to.equal(
            defaultRenewSchedule("proxy.example.net", "edge-proxy"),
        );
        const schedules = Array.from({ length: 500 }, (_, i) => defaultRenewSchedule(`10.0.${i >> 8}.${i & 255}`, "edge-proxy"));
        for (const each of schedules) {
            expect(cronProblem(each), each).to.equal(undefined);
            const [, minute, hours] = /^(\d+) ([\d,]+) \* \* \*$/.exec(each) ?? [];
            const list = hours.split(",").map(Number);
            // Eight runs a day, three hours apart: a 6-day certificate is looked at 48 times before certbot's half-life renewal.
            expect([Number(minute) < 60, list.length, list[0] < 3, ...list.slice(1).map((hour, i) => hour - list[i])], each).to.deep.equal([
                true,
                8,
                true,
                3,
                3,
                3,
                3,
                3,
                3,
                3,
            ]);
            expect(cronLongestGapMinutes(each), each).to.equal(180);
        }
        // Spread: 500 installations use most minutes and every one of the three hour offsets.
        expect(new Set(schedules.map((s) => s.split(" ")[0])).size).to.be.greaterThan(50);
        expect(new Set(schedules.map((s) => s.split(" ")[1])).size).to.equal(3);
    });

    it("orders with acmeProfile, a site's own in place of it; unset (Pulumi.yaml's \"\") the CA's default", () => {
        const sites = [
            { name: "www", domains: ["www.example.com"], backends: ["10.0.0.1:80"] },
            { name: "short", domains: ["short.example.com"], backends: ["10.0.0.1:80"], acmeProfile: "shortlived" },
        ];
        const config = parseConfig({ ...base(), acmeProfile: "classic", sites });
        expect(config.acme.profile).to.equal("classic");
        expect(config.sites.map((site) => [site.name, site.acmeProfile, profileOf(config, site)])).to.deep.equal([
            ["www", undefined, "classic"],
            ["short", "shortlived", "shortlived"],
        ]);
        const unset = parseConfig({ ...base(), acmeProfile: "", sites });
        expect(unset.acme.profile).to.equal(undefined);
        expect(unset.sites.map((site) => profileOf(unset, site))).to.deep.equal([undefined, "shortlived"]);
        expect(parseConfig(base()).acme.profile).to.equal(undefined);
    });

    it("reads alertLifetimeFraction as a fraction or a decimal, a sixth unless set; alertDaysBeforeExpiry is off unless set", () => {
        const fraction = (value?: string) => parseConfig(value === undefined ? base() : { ...base(), alertLifetimeFraction: value }).acme.alertLifetimeFraction;
        expect(fraction()).to.equal(1 / 6);
        expect([fraction("1/6"), fraction("0.25"), fraction(".5"), fraction("1/3"), fraction("0.000001")]).to.deep.equal([1 / 6, 0.25, 0.5, 1 / 3, 0.000001]);
        for (const bad of ["0", "1/1", "2/3x", "abc", "0/6", "7/6", "1/0", "1", "0.0", "1.5", "-1/6", "1 / 6", "1/6\n", "", "1e-1"]) {
            expect(problemsOf({ ...base(), alertLifetimeFraction: bad }), JSON.stringify(bad)).to.deep.equal([
                `alertLifetimeFraction: ${JSON.stringify(bad)} is not a part of the lifetime above 0 and below 1, written as 1/6 or 0.2`,
            ]);
        }
        expect(problemsOf({ ...base(), alertLifetimeFraction: 0.25 })).to.deep.equal(["alertLifetimeFraction: must be a string, got number 0.25"]);
        const acme = parseConfig(base()).acme;
        expect(acme).to.include({ alertDaysBeforeExpiry: 0, certbotImage: "certbot/certbot:v5.8.0" });
        expect(parseConfig({ ...base(), alertDaysBeforeExpiry: 14 }).acme.alertDaysBeforeExpiry).to.equal(14);
    });

    it("holds the EAB key identifier only, the HMAC key staying a Pulumi secret; the render tool takes the identifier alone", () => {
        expect(parseConfig(base()).acme.eab).to.equal(undefined);
        expect(parseConfig({ ...base(), acmeEabKid: "" }).acme.eab, 'Pulumi.yaml\'s "" default').to.equal(undefined);
        const config = parseConfig({ ...base(), acmeEabKid: "kid_1-x.y~z", acmeEabHmacKey: SECRET_PRESENT });
        expect(config.acme.eab).to.deep.equal({ kid: "kid_1-x.y~z" });
        expect(JSON.stringify(config)).to.not.contain("acmeEabHmacKey").and.not.contain("hmacKey");
        // The render tool cannot decrypt: an identifier without the key is fine there, a key without the identifier is not.
        expect(parseConfig({ ...base(), acmeEabKid: "kid-1" }, { requireSecrets: false }).acme.eab).to.deep.equal({ kid: "kid-1" });
        expect(problemsOf({ ...base(), acmeEabHmacKey: SECRET_PRESENT }, { requireSecrets: false })).to.deep.equal([
            "acmeEabKid: is required with acmeEabHmacKey: the key identifier the CA gave with it",
        ]);
    });

    it("holds the metrics settings only when metricsAddress is set, public addresses only with metricsPublic", () => {
        expect(parseConfig(base()).haproxy.metrics).to.equal(undefined);
        expect(parseConfig({ ...base(), metricsAddress: "127.0.0.1" }).haproxy.metrics).to.deep.equal({ address: "127.0.0.1", port: 8404, user: undefined });
        expect(
            parseConfig({ ...base(), metricsAddress: "0.0.0.0", metricsPublic: true, metricsPort: 9101, metricsUser: "prom", metricsPassword: SECRET_PRESENT })
                .haproxy.metrics,
        ).to.deep.equal({ address: "0.0.0.0", port: 9101, user: "prom" });
        // The render tool cannot decrypt: a user without the password is fine there.
        expect(parseConfig({ ...base(), metricsAddress: "127.0.0.1", metricsUser: "prom" }, { requireSecrets: false }).haproxy.metrics?.user).to.equal("prom");
        const privateOnes = ["127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.10", "100.64.0.1", "::1", "fd00::5"];
        const publicOnes = ["0.0.0.0", "::", "172.32.0.1", "192.169.0.1", "8.8.8.8", "100.128.0.1", "2001:db8::1", "fe80::1", "169.254.1.1"];
        expect(privateOnes.filter((a) => !isPrivateAddress(a))).to.deep.equal([]);
        expect(publicOnes.filter(isPrivateAddress)).to.deep.equal([]);
    });

    it("holds the SSH host key trimmed, as it checked it", () => {
        const config = parseConfig({ ...base(), sshHostKey: "  ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB root@host\n" });
        expect(config.host.sshHostKey).to.equal("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB root@host");
    });

    it("holds host paths normalized: no '//', no '.' segment, no trailing '/'", () => {
        const raw = {
            ...base(),
            configDir: "/srv//edge/./cfg/",
            certsDir: "/srv/edge/certs/.",
            certbotDataDir: "/srv/edge//le",
            acmeCaBundle: "/etc/ssl//ca.pem",
        };
        const config = parseConfig(raw);
        expect([config.haproxy.configDir, config.haproxy.certsDir, config.acme.dataDir, config.acme.caBundle]).to.deep.equal([
            "/srv/edge/cfg",
            "/srv/edge/certs",
            "/srv/edge/le",
            "/etc/ssl/ca.pem",
        ]);
    });

    it("does not require the secret key when only rendering", () => {
        const raw = base();
        delete raw.sshPrivateKey;
        expect(problemsOf(raw)).to.deep.equal([
            "sshPrivateKey: is required: SSH private key (PEM/OpenSSH text) for sshUser; set it with `pulumi config set --secret`.",
        ]);
        expect(problemsOf(raw, { requireSecrets: false })).to.deep.equal([]);
    });

    it("tells the HAProxy version from image tags", () => {
        expect(versionFromImage("haproxy:1.7")).to.deep.equal({ major: 1, minor: 7 });
        expect(versionFromImage("registry.local:5000/haproxy:2.8.5-alpine")).to.deep.equal({ major: 2, minor: 8 });
        expect(versionFromImage("haproxy:3.0-bookworm")).to.deep.equal({ major: 3, minor: 0 });
        expect(versionFromImage("haproxy:lts")).to.equal(undefined);
        expect(versionFromImage("registry.local:5000/haproxy")).to.equal(undefined);
    });

    it("parses backend addresses", () => {
        expect(parseServerAddress("[2001:db8::1]:443")).to.deep.equal({ host: "[2001:db8::1]", port: 443 });
        expect(parseServerAddress("Web.Internal:8080")).to.deep.equal({ host: "web.internal", port: 8080 });
    });
});

describe("resource bounds", () => {
    /** Runs `work`, printing how long it took (figures only: the assertions are on the outcome). */
    function timed<T>(what: string, work: () => T): T {
        const started = process.hrtime.bigint();
        try {
            return work();
        } finally {
            console.log(`      (${what}: ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)} ms)`);
        }
    }

    it("lists 20 unknown keys of a 4 MB configuration and counts the rest, suggesting nothing for long keys", () => {
        const raw = base();
        for (let i = 0; i < 1000; i++) {
            raw[`${"k".repeat(4000)}${i}`] = i;
        }
        raw.acmeEmial = "x@example.com";
        const problems = timed("4 MB of unknown keys", () => problemsOf(raw));
        const longKey = (i: number) => `"${"k".repeat(80)}"… (${4000 + String(i).length} characters)`;
        expect(problems).to.deep.equal([
            ...Array.from({ length: 20 }, (_, i) => `${longKey(i)}: unknown key`),
            `${longKey(20)}: unknown key (and 980 more unknown keys not listed)`,
        ]);
    });

    it("refuses a 50 MB value by its length, from the raw configuration and from the engine", () => {
        const huge = "a".repeat(50_000_000);
        expect(
            timed("a 50 MB string", () => problemsOf({ ...base(), hostAddress: huge, sites: [{ domains: [huge], backends: ["10.0.0.1:80"] }] })),
        ).to.deep.equal(["hostAddress: is too long: 50000000 characters, at most 4096", "sites[0].domains[0]: is too long: 50000000 characters, at most 4096"]);
        const engine = {
            "edge-proxy:hostAddress": "192.0.2.10",
            "edge-proxy:sshHostKey": DEV_HOST_KEY,
            "edge-proxy:acmeEmail": huge,
            "edge-proxy:sites": `[${huge}]`,
            "edge-proxy:httpPort": huge,
        };
        expect(
            timed("50 MB values from the engine", () =>
                problemsOf(
                    rawConfigFromEngine(engine, () => false),
                    { requireSecrets: false },
                ),
            ),
        ).to.deep.equal([
            "httpPort: is too long: 50000000 characters, at most 4096",
            "acmeEmail: is too long: 50000000 characters, at most 4096",
            "sites: is too long: 50000002 characters, at most 8388608",
        ]);
    });

    it("names an unknown key that is not a plain word as a JSON string", () => {
        expect(problemsOf({ ...base(), "a b\nc": 1, sites: [{ domains: ["a.example.com"], backends: ["10.0.0.1:80"], 'x"y': 2 }] })).to.deep.equal([
            '"a b\\nc": unknown key',
            'sites[0]."x\\"y": unknown key',
        ]);
    });
});

describe("value checks", () => {
    /** A check, values it accepts and refuses, and where a value goes in a configuration. */
    const table: [string, (value: string) => string | undefined, string[], string[], (raw: RawConfig, value: string) => void][] = [
        [
            "hostnames",
            (v) => hostnameProblem(v, { needsDot: true }),
            ["example.com", "a-b.c.example", "xn--bcher-kva.example", `${"a".repeat(63)}.com`],
            ["example", "-a.com", "a-.com", "a..com", "exa_mple.com", "*.example.com", "1.2.3.4", `${"a".repeat(64)}.com`, "a.com."],
            (r, v) => {
                r.sites = [{ domains: [v], backends: ["10.0.0.1:80"] }];
            },
        ],
        [
            "HAProxy times",
            durationProblem,
            ["1", "500ms", "30s", "5m", "1h", "24d", "100us"],
            ["", "0", "0s", "000ms", "0us", "1.5s", "30 s", "1w", "25d", "-1s"],
            (r, v) => {
                for (const key of ["timeoutConnect", "timeoutClient", "timeoutServer", "timeoutHttpRequest", "timeoutHttpKeepAlive", "timeoutTunnel"]) {
                    r[key] = v;
                }
                r.sites = [{ domains: ["a.example.com"], backends: ["10.0.0.1:80"], healthCheck: { path: "/", interval: v } }];
            },
        ],
        [
            "absolute paths",
            absolutePathProblem,
            ["/srv/haproxy", "/a/b.c_d-e", "/srv//haproxy/./cfg/", "/etc/haproxy", "/var/lib/edge-proxy"],
            ["/", "//", "/.", "srv", "/srv/../etc", "/srv/a b", "/srv/$x", "/srv/a\nb", "/etc", "/etc/", "/usr/local", "/var/lib/.", "/tmp", "/home", "/root"],
            (r, v) => {
                r.configDir = v;
                r.certsDir = "/var/lib/edge-proxy-test/certs";
                r.certbotDataDir = "/var/lib/edge-proxy-test/letsencrypt";
                r.acmeCaBundle = `${v}/ca.pem`;
            },
        ],
        [
            "images",
            imageProblem,
            ["haproxy:1.7", "registry.local:5000/team/haproxy:2.8.5-alpine", `haproxy@sha256:${"a".repeat(64)}`],
            ["haproxy", "haproxy:latest", "HAProxy:1.7", "haproxy:1.7 --privileged", "haproxy:"],
            (r, v) => {
                r.certbotImage = v;
            },
        ],
        [
            "cron schedules",
            cronProblem,
            ["17 3 * * *", "*/15 * * * 1-5", "@daily", "0,30 8-18/2 1-31 1-12 0-7", "59 23 31 12 7"],
            [
                "17 3 * *",
                "daily",
                "17 3 * * * rm",
                "@reboot",
                "17 3 * * *\n",
                "17\n3\n*\n*\n*",
                " 17 3 * * *",
                "17  3 * * *",
                "17\t3 * * *",
                "99 99 99 99 99",
                "60 * * * *",
                "* 24 * * *",
                "* * 0 * *",
                "* * 32 * *",
                "* * * 0 *",
                "* * * 13 *",
                "* * * * 8",
                "*/0 * * * *",
                "5/10 * * * *",
                "1-2-3 * * * *",
                "1,,2 * * * *",
                ",1 * * * *",
                "-1 * * * *",
                "9-3 * * * *",
                "*/ * * * *",
            ],
            (r, v) => {
                r.renewSchedule = v;
            },
        ],
        [
            "ACME profile names",
            acmeProfileProblem,
            ["classic", "shortlived", "tlsserver", "a", "Profile_2.v-1", "9", "a".repeat(64)],
            ["", "short lived", "-x", ".x", "_x", "a/b", "a\nb", "shortlived\n", "a'b", "$(id)", "a".repeat(65)],
            (r, v) => {
                r.acmeProfile = v;
                r.sites = [{ domains: ["a.example.com"], backends: ["10.0.0.1:80"], acmeProfile: v }];
            },
        ],
        [
            "EAB key identifiers",
            eabKidProblem,
            ["kid-1", "f_4b~x.Y", "a".repeat(256)],
            ["", "kid 1", "-kid", "kid\n", "kid=1", "kid#1", "a".repeat(257)],
            (r, v) => {
                r.acmeEabKid = v;
                r.acmeEabHmacKey = SECRET_PRESENT;
            },
        ],
        [
            "parts of a lifetime",
            fractionProblem,
            ["1/6", "1/3", "99999/100000", "0.2", ".5", "0.000001", "000001/3"],
            ["0", "1", "1/1", "2/1", "0/3", "1/0", "2/3x", "abc", "0.0", "1.0", "0.0000001", "1//6", " 1/6", "1/6 ", "0x1/6"],
            (r, v) => {
                r.alertLifetimeFraction = v;
            },
        ],
        [
            "health-check paths",
            healthCheckPathProblem,
            ["/", "/healthz", "/~health", "/a-b/c_d.e~f"],
            ["", "health", "/a b", "/a?b=1", "/a#b", "/%20", "/a\nb"],
            (r, v) => {
                r.sites = [{ domains: ["a.example.com"], backends: ["10.0.0.1:80"], healthCheck: { path: v } }];
            },
        ],
    ];
    for (const [name, check, good, bad] of table) {
        it(`accepts good ${name} and names what is wrong with bad ones`, () => {
            expect(
                good.filter((value) => check(value) !== undefined),
                "refused",
            ).to.deep.equal([]);
            expect(
                bad.filter((value) => check(value) === undefined),
                "accepted",
            ).to.deep.equal([]);
        });
    }

    it("reads a fraction's value, and NaN for what is neither a fraction nor a decimal", () => {
        expect([parseFraction("1/6"), parseFraction("2/8"), parseFraction("0.25"), parseFraction(".5")]).to.deep.equal([1 / 6, 0.25, 0.25, 0.5]);
        for (const text of ["abc", "1/6x", "1.5.2", "", "1e-1", "-0.5", "1/1234567"]) {
            expect(parseFraction(text), text).to.be.NaN;
        }
    });

    it("takes an EAB HMAC key in base64url only, never naming its text", () => {
        for (const good of ["abcdefghijklmnop", "AZaz09_-AZaz09_-AZaz09_-", "abcdefghijklmnopqrstuv==", "a".repeat(512)]) {
            expect(eabHmacKeyProblem(good), good).to.equal(undefined);
        }
        for (const bad of [
            "T0KEN-short",
            "T0KEN+abcdefghijklmnop",
            "T0KEN/abcdefghijklmnop",
            "T0KEN abcdefghijklmnop",
            "T0KENabcdefghijklmnop===",
            `T0KEN${"a".repeat(508)}`,
        ]) {
            expect(eabHmacKeyProblem(bad), bad)
                .to.equal("acmeEabHmacKey: the secret is not a base64url HMAC key (as the CA's EAB credentials give it)")
                .and.not.contain("T0KEN");
        }
    });

    it("renders every value a check accepts: haproxy.cfg, its maps, every host script and the cron file", () => {
        for (const [name, , good, , use] of table) {
            for (const value of good) {
                const raw = base();
                use(raw, value);
                expect(() => renderEverything(parseConfig(raw)), `${name}: ${JSON.stringify(value)}`).not.to.throw();
            }
        }
    });
});

describe("configuration sources", () => {
    it("decodes the engine's strings by each key's type and never reads a secret key's value", () => {
        const raw = rawConfigFromEngine(
            {
                "edge-proxy:sshPort": "2222",
                "edge-proxy:hostAddress": "1234",
                "edge-proxy:sites": JSON.stringify([{ domains: ["a.example.com"] }]),
                "edge-proxy:sshPrivateKey": "-----BEGIN",
                "docker:host": "unix:///var/run/docker.sock",
            },
            () => false,
        );
        expect(raw).to.deep.equal({ sshPort: 2222, hostAddress: "1234", sites: [{ domains: ["a.example.com"] }], sshPrivateKey: SECRET_PRESENT });
    });

    it('takes an optional secret key\'s plain "" default as unset, any other plain value as PLAIN_SECRET, never its text', () => {
        const engine = (value: string, secret: boolean) => rawConfigFromEngine({ "edge-proxy:metricsPassword": value }, () => secret);
        expect(engine("", false)).to.deep.equal({});
        expect(engine("hunter2", false)).to.deep.equal({ metricsPassword: PLAIN_SECRET });
        expect(engine("hunter2", true)).to.deep.equal({ metricsPassword: SECRET_PRESENT });
    });

    it("reads a stack file's own keys, secrets left encrypted", () => {
        const raw = rawConfigFromStackFile(
            ["config:", "  edge-proxy:sshPort: 2222", "  edge-proxy:sshPrivateKey:", "    secure: AAABAHkz", "  aws:region: eu-west-1"].join("\n"),
            "Pulumi.x.yaml",
        );
        expect(raw).to.deep.equal({ sshPort: 2222, sshPrivateKey: SECRET_PRESENT });
        expect(() => rawConfigFromStackFile("config: [", "Pulumi.bad.yaml")).to.throw(/^Pulumi.bad.yaml: not valid YAML/);
        // A key pasted where YAML cannot take it: the error says where, and quotes nothing of the file.
        const pasted = "config:\n  edge-proxy:acmeEmail: -----BEGIN OPENSSH PRIVATE KEY: b3BlbnNzaC1rZXktdjEAAAAA\n";
        expect(() => rawConfigFromStackFile(pasted, "Pulumi.bad.yaml")).to.throw(
            "Pulumi.bad.yaml: not valid YAML: Nested mappings are not allowed in compact mappings at line 2, column 25",
        );
        try {
            rawConfigFromStackFile(pasted, "Pulumi.bad.yaml");
        } catch (error) {
            expect((error as Error).message)
                .to.not.contain("b3BlbnNzaC1rZXktdjEAAAAA")
                .and.not.contain("BEGIN");
        }
    });

    const SECRET_PROBLEM =
        "is a secret, but edge-proxy writes this value into host scripts and command lines that the stack's state shows in plain text: set it without --secret";

    it("refuses a non-secret key the engine holds as a secret, and never echoes its value", () => {
        const all = {
            "edge-proxy:hostAddress": "192.0.2.10",
            "edge-proxy:sshHostKey": DEV_HOST_KEY,
            "edge-proxy:acmeEmail": "s3cr3t-value@example.com",
            "edge-proxy:httpPort": "s3cr3t-port",
            "edge-proxy:sshPrivateKey": "-----BEGIN",
            "edge-proxy:sites": JSON.stringify(base().sites),
            "edge-proxy:acmeEmial": "s3cr3t",
        };
        const secretKeys = ["edge-proxy:acmeEmail", "edge-proxy:httpPort", "edge-proxy:sshPrivateKey", "edge-proxy:acmeEmial"];
        const raw = rawConfigFromEngine(all, (key) => secretKeys.includes(key));
        expect(raw).to.include({ acmeEmail: SECRET_PRESENT, httpPort: SECRET_PRESENT, sshPrivateKey: SECRET_PRESENT, acmeEmial: SECRET_PRESENT });
        const problems = problemsOf(raw);
        expect(problems).to.deep.equal(['acmeEmial: unknown key (did you mean "acmeEmail"?)', `httpPort: ${SECRET_PROBLEM}`, `acmeEmail: ${SECRET_PROBLEM}`]);
        expect(problems.join("\n")).not.to.contain("s3cr3t");
    });

    it("learns the secret keys from the list the language host passes in PULUMI_CONFIG_SECRET_KEYS, and refuses to run without it", () => {
        try {
            pulumi.runtime.setAllConfig({ "edge-proxy:acmeEmail": "ops@example.com", "edge-proxy:hostAddress": "192.0.2.10" }, ["edge-proxy:acmeEmail"]);
            const secretKeys = engineSecretKeys({ PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(["edge-proxy:acmeEmail"]) });
            expect(rawConfigFromEngine(pulumi.runtime.allConfig(), secretKeys)).to.deep.equal({ acmeEmail: SECRET_PRESENT, hostAddress: "192.0.2.10" });
        } finally {
            pulumi.runtime.setAllConfig({}, []);
        }
        expect(() => engineSecretKeys({})).to.throw("PULUMI_CONFIG_SECRET_KEYS holds no list of keys");
    });

    it("refuses a stack file's encrypted value under a non-secret key, also inside a list", () => {
        const raw = rawConfigFromStackFile(
            [
                "config:",
                "  edge-proxy:hostAddress: 192.0.2.10",
                `  edge-proxy:sshHostKey: ${DEV_HOST_KEY}`,
                "  edge-proxy:acmeEmail:",
                "    secure: AAABAHkzc2VjcmV0",
                "  edge-proxy:sites:",
                "    - domains: [a.example.com]",
                "      backends:",
                "        - secure: AAABAHkzc2VjcmV0",
            ].join("\n"),
            "Pulumi.x.yaml",
        );
        const problems = problemsOf(raw, { requireSecrets: false });
        expect(problems).to.deep.equal([`acmeEmail: ${SECRET_PROBLEM}`, `sites[0].backends[0]: ${SECRET_PROBLEM}`]);
        expect(problems.join("\n")).not.to.contain("AAAB");
    });

    it("reads only plain decimal integers as numbers, from a stack file and from the engine", () => {
        const raw = rawConfigFromStackFile(
            [
                "config:",
                "  edge-proxy:httpPort: 080",
                "  edge-proxy:httpsPort: 0x1BB",
                "  edge-proxy:acmeChallengePort: 1e3",
                "  edge-proxy:sshPort: +22",
                "  edge-proxy:maxconn: 4000",
                "  edge-proxy:tcpServices:",
                '    - { name: git, port: 0o11362, backends: ["10.0.0.1:9418"] }',
            ].join("\n"),
            "Pulumi.x.yaml",
        );
        expect(raw).to.deep.equal({
            httpPort: "080",
            httpsPort: "0x1BB",
            acmeChallengePort: "1e3",
            sshPort: "+22",
            maxconn: 4000,
            tcpServices: [{ name: "git", port: "0o11362", backends: ["10.0.0.1:9418"] }],
        });
        expect(problemsOf({ ...base(), ...raw })).to.deep.equal([
            'sshPort: must be a port number from 1 to 65535, got string "+22"',
            'httpPort: must be a port number from 1 to 65535, got string "080"',
            'httpsPort: must be a port number from 1 to 65535, got string "0x1BB"',
            'acmeChallengePort: must be a port number from 1 to 65535, got string "1e3"',
            'tcpServices[0].port: must be a port number from 1 to 65535, got string "0o11362"',
        ]);
        expect(rawConfigFromEngine({ "edge-proxy:httpPort": "1e3", "edge-proxy:httpsPort": "443", "edge-proxy:maxconn": "-0" }, () => false)).to.deep.equal({
            httpPort: "1e3",
            httpsPort: 443,
            maxconn: "-0",
        });
    });

    it("reads a fraction or a decimal in a stack file as the text written, which alertLifetimeFraction reads", () => {
        const raw = rawConfigFromStackFile(
            ["config:", "  edge-proxy:alertLifetimeFraction: 0.25", "  edge-proxy:acmeProfile: shortlived"].join("\n"),
            "Pulumi.x.yaml",
        );
        expect(raw).to.deep.equal({ alertLifetimeFraction: "0.25", acmeProfile: "shortlived" });
        expect(parseConfig({ ...base(), ...raw }).acme).to.include({ alertLifetimeFraction: 0.25, profile: "shortlived" });
        expect(rawConfigFromStackFile("config:\n  edge-proxy:alertLifetimeFraction: 1/6\n", "Pulumi.x.yaml")).to.deep.equal({ alertLifetimeFraction: "1/6" });
        expect(rawConfigFromEngine({ "edge-proxy:alertLifetimeFraction": "0.25" }, () => false)).to.deep.equal({ alertLifetimeFraction: "0.25" });
    });

    it("echoes at most 80 characters of a value", () => {
        const problems = problemsOf({
            ...base(),
            acmeEmail: "x".repeat(1000),
            sites: [{ domains: ["a.example.com"], backends: [`${"b".repeat(500)}:80`], hsts: { deep: "y".repeat(300) } }],
        });
        expect(problems).to.deep.equal([
            `acmeEmail: "${"x".repeat(80)}"… (1000 characters) is not an email address`,
            `sites[0].backends[0]: "${"b".repeat(80)}"… (503 characters) has an invalid host name "${"b".repeat(80)}"… (500 characters)`,
            `sites[0].hsts: must be true or false, got object ${JSON.stringify({ deep: "y".repeat(300) }).slice(0, 80)}… (311 characters)`,
        ]);
    });

    it("refuses a stack file larger than 2 MiB before parsing it", () => {
        const text = `config:\n${Array.from({ length: 1000 }, (_, i) => `  edge-proxy:${"k".repeat(4000)}${i}: 1`).join("\n")}\n`;
        expect(() => rawConfigFromStackFile(text, "Pulumi.big.yaml")).to.throw(
            `Pulumi.big.yaml: ${Buffer.byteLength(text)} bytes; a stack file may have at most 2 MiB (5,000 sites take about 1 MiB)`,
        );
    });

    it("declares every key once", () => {
        const keys = CONFIG_KEYS.map((spec) => spec.key);
        expect(new Set(keys).size).to.equal(keys.length);
    });
});
