/** What a stack will put on its host, derived from the validated configuration without Pulumi. */
import * as fs from "node:fs";
import { rawConfigFromStackFile } from "./config/sources";
import type { EdgeProxyConfig } from "./config/types";
import { parseConfig } from "./config/validate";
import { CONTAINER_CERTS_DIR, pemPath } from "./haproxy/render";

/** One certificate to issue: a site's domains under the site's name. */
export interface CertificatePlan {
    /** certbot's `--cert-name`, the site name. */
    name: string;
    /** The certificate's names, primary first. */
    domains: string[];
    /** The PEM file HAProxy serves, as the container sees it. */
    pem: string;
}

/** The certificates a configuration needs, one per site. */
export function certificatesOf(config: EdgeProxyConfig): CertificatePlan[] {
    return config.sites.map((site) => ({ name: site.name, domains: site.domains, pem: pemPath(CONTAINER_CERTS_DIR, site) }));
}

/** The render tool's `--plan`: certificates to issue and the resolved settings. */
export function planOf(config: EdgeProxyConfig): { certificates: CertificatePlan[]; settings: EdgeProxyConfig } {
    return { certificates: certificatesOf(config), settings: config };
}

/**
 * Reads, validates and defaults a stack file for rendering (secrets need not be set, and are never
 * decrypted); throws ConfigError listing every problem.
 */
export function loadStackFile(file: string): EdgeProxyConfig {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (error) {
        throw new Error(`cannot read the stack file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    return parseConfig(rawConfigFromStackFile(text, file), { requireSecrets: false });
}
