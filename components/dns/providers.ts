/**
 * The DNS providers DNS-01 sites can use: each is one certbot DNS plugin, its image, and the credentials
 * file it reads. Adding a provider (Cloudflare, Route 53, ...) is one entry here, its keys in the schema,
 * and its secret passed to EdgeProxy (docs/dns-01.md).
 */
import { imageTag } from "../config/checks";
import type { DnsSettings } from "../config/types";

/** The settings of the RFC 2136 provider (dynamic updates signed with a TSIG key), as the schema gives them. */
export type Rfc2136Settings = DnsSettings["rfc2136"];

/** A certbot DNS plugin. */
export interface DnsProvider {
    /** certbot's plugin name (`--authenticator`), also the prefix of its options. */
    plugin: string;
    /** The official image that has the plugin, as `certbot/certbot`'s repository names it (same tags). */
    imageRepository: string;
    /** The credentials file's content (an INI file certbot reads), from the settings and the secret. */
    credentials(settings: Rfc2136Settings, secret: string): string;
}

/** The providers by the name `dnsProvider` takes. */
export const DNS_PROVIDERS: Record<string, DnsProvider> = {
    rfc2136: {
        plugin: "dns-rfc2136",
        imageRepository: "certbot/dns-rfc2136",
        credentials: (settings, secret) =>
            [
                `dns_rfc2136_server = ${settings.server}`,
                `dns_rfc2136_port = ${settings.port}`,
                `dns_rfc2136_name = ${settings.keyName}`,
                `dns_rfc2136_secret = ${secret}`,
                `dns_rfc2136_algorithm = ${settings.algorithm}`,
                "",
            ].join("\n"),
    },
};

/** The TSIG algorithms certbot's dns-rfc2136 plugin knows. */
export const TSIG_ALGORITHMS = ["HMAC-MD5", "HMAC-SHA1", "HMAC-SHA224", "HMAC-SHA256", "HMAC-SHA384", "HMAC-SHA512"];

/**
 * The plugin's image for a certbot image: `certbot/certbot:TAG` gives `<repository>:TAG` (certbot publishes
 * every plugin image at each release's tag); any other image gives undefined (dnsCertbotImage must say).
 */
export function providerImage(provider: DnsProvider, certbotImage: string): string | undefined {
    const tag = imageTag(certbotImage);
    return certbotImage.split(":")[0] === "certbot/certbot" && tag && !certbotImage.includes("@") ? `${provider.imageRepository}:${tag}` : undefined;
}
