/** A status.json as the renewal job writes it for the dev stack (sites www and wiki), all well. */
import type { StatusFile } from "../../components/status/statusFile";

export function statusFile(): StatusFile {
    const entry = (name: string) => ({
        name,
        names: [],
        serial: "0A1B",
        issuer: "CN=R11,O=Let's Encrypt,C=US",
        notBefore: "2026-11-29T12:00:00Z",
        notAfter: "2027-02-27T12:00:00Z",
        lifetimeSeconds: 90 * 86_400,
        daysLeft: 85,
        nextRenewal: "2027-01-28T12:00:00Z",
        nextRenewalSource: "lifetime" as const,
        renewalWindow: null,
        placeholder: false,
        lastAttempt: "2026-12-04T03:17:00Z",
        result: "ok" as const,
        failures: 0,
        retryAt: null,
        lastSuccess: "2026-12-04T03:17:00Z",
        error: "",
        attention: false,
    });
    return {
        container: "edge-proxy",
        updatedAt: "2026-12-04T03:17:00Z",
        alertLifetimeFraction: 0.166667,
        alertDaysBeforeExpiry: null,
        attention: false,
        certificates: [entry("www"), entry("wiki")],
    };
}
