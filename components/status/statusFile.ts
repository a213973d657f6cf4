/**
 * status.json, the certificates' status the certificate steps and the renewal job write on the host
 * (templates/partials/sh-status.hbs): read by `npm run status`, by monitoring, and by the alert command on
 * its stdin. docs/operations.md: Monitoring and alerts.
 */

/** One served certificate (one PEM in certsDir). */
export interface CertificateStatus {
    /** The certificate's (and its site's) name. */
    name: string;
    /** The DNS names the served certificate covers (a placeholder names its site's domains). */
    names: string[];
    /** Its serial, hex as openssl prints it; "" when the PEM could not be read. */
    serial: string;
    /** Its issuer, RFC 2253. */
    issuer: string;
    /** Its start of validity, UTC ISO 8601, or null when the PEM could not be read. */
    notBefore: string | null;
    /** Its end of validity, UTC ISO 8601, or null when the PEM could not be read. */
    notAfter: string | null;
    /** notAfter minus notBefore, in seconds, or null. */
    lifetimeSeconds: number | null;
    /** Whole days until notAfter (negative once expired), or null. */
    daysLeft: number | null;
    /**
     * When it is due for renewal, UTC ISO 8601: the start of the CA's renewal window (ARI) when the CA gave
     * one for it, else certbot's rule (half its lifetime left under 10 days of lifetime, a third otherwise);
     * null for a placeholder or an unreadable PEM.
     */
    nextRenewal: string | null;
    /** Where nextRenewal comes from: `ari` (the CA's window) or `lifetime`; null with it. */
    nextRenewalSource: "ari" | "lifetime" | null;
    /** The CA's renewal window (ARI) for this certificate, when it gave one. */
    renewalWindow: { start: string; end: string } | null;
    /** Whether the served file is edge-proxy's self-signed placeholder (or unreadable): no issued certificate. */
    placeholder: boolean;
    /** When certbot last ran for it (up's certificate step or the renewal job), or null if never recorded. */
    lastAttempt: string | null;
    /** That run's result, `ok` or `failed`, or null. */
    result: "ok" | "failed" | null;
    /** Failed runs since the last success. */
    failures: number;
    /** After failed runs, when the renewal job tries again (the delay doubles with each failure, at most a day); null after a success. */
    retryAt: string | null;
    /** When certbot last succeeded for it (issued, renewed or found it not due), or null. */
    lastSuccess: string | null;
    /** The lines of certbot's output that say why the last run failed; "" after a success. */
    error: string;
    /** Whether it needs attention: last run failed, placeholder, less than alertLifetimeFraction of its lifetime left, or fewer than alertDaysBeforeExpiry days. */
    attention: boolean;
}

/** The whole file. */
export interface StatusFile {
    /** The HAProxy container the certificates are served by. */
    container: string;
    /** When the file was written, UTC ISO 8601. */
    updatedAt: string;
    /** The thresholds the `attention` flags were computed with (alertDaysBeforeExpiry null when unset). */
    alertLifetimeFraction: number;
    alertDaysBeforeExpiry: number | null;
    /** Whether any certificate needs attention. */
    attention: boolean;
    /** Every served certificate. */
    certificates: CertificateStatus[];
    /** On a fleet's issuer: each other host as the last distribution of the certificates left it. */
    hosts?: FleetHostStatus[];
}

/** What another host of a fleet made of the last thing the issuer sent it (templates/partials/sh-fleet-ssh.hbs records it). */
export interface FleetHostRecord {
    /** `ok`: it took them; `failed`: it could not be reached or refused them; `none`: nothing sent yet. */
    state: string;
    /** When, UTC ISO 8601 (empty when nothing was sent yet). */
    at: string;
    /** Whether it did not take them. */
    behind: boolean;
}

/** One other host of a fleet, as the issuer's last distribution of the certificates left it (`behind`: it may serve older ones). */
export interface FleetHostStatus extends FleetHostRecord {
    /** The host's name among the fleet's hosts. */
    name: string;
    /**
     * With tlsSessionTickets: what it made of the last TLS session ticket keys sent (by a distribution, a
     * rotation, or a renewal run to a host that missed them).
     */
    ticketKeys?: FleetHostRecord;
}

/** Reads status.json's text; throws naming what is missing when it is not such a file. */
export function parseStatusFile(text: string, source = "status.json"): StatusFile {
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (error) {
        throw new Error(`${source} is not JSON: ${(error as Error).message}`);
    }
    const file = parsed as Partial<StatusFile> | null;
    if (typeof file !== "object" || file === null || !Array.isArray(file.certificates) || typeof file.attention !== "boolean") {
        throw new Error(`${source} is not an edge-proxy status (no certificates list or attention flag)`);
    }
    return file as StatusFile;
}
