/** A status.json as the renewal job writes it for the dev stack (sites www and wiki), all well. */
import type { StatusFile } from "../../components/status/statusFile";

export function statusFile(): StatusFile {
    const entry = (name: string) => ({
        name,
        names: [],
        serial: "0A1B",
        issuer: "CN=R11,O=Let's Encrypt,C=US",
        notAfter: "2027-02-27T12:00:00Z",
        daysLeft: 85,
        placeholder: false,
        lastAttempt: "2026-12-04T03:17:00Z",
        result: "ok" as const,
        failures: 0,
        lastSuccess: "2026-12-04T03:17:00Z",
        error: "",
        attention: false,
    });
    return {
        container: "edge-proxy",
        updatedAt: "2026-12-04T03:17:00Z",
        alertDaysBeforeExpiry: 14,
        attention: false,
        certificates: [entry("www"), entry("wiki")],
    };
}
