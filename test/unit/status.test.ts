/**
 * `npm run status`: every rule of the report, pure. The probe script runs for real in
 * test/integration/status.test.ts; the SSH connection and the real container end to end (test/e2e/, test/engine/).
 */
import { expect } from "chai";
import type { EdgeProxyConfig } from "../../components/config/types";
import { fleetDifferences } from "../../components/status/check";
import { formatLifetime, lifetimeAttention } from "../../components/status/lifetime";
import { buildReport, formatFleetReport, formatReport, type Probe } from "../../components/status/report";
import { devConfigIn } from "../../dev/hostScripts";
import { statusFile } from "../support/status";

const NOW = new Date("2026-12-04T12:00:00Z");

/** A probe of the dev stack (sites www: www.example.com, example.com; wiki: wiki.example.com) where all is well. */
function wellProbe(digest: string): Probe {
    const certificate = (names: string[]) => ({
        serial: "0A1B",
        notBefore: "2026-11-29T12:00:00Z",
        notAfter: "2027-02-27T12:00:00Z",
        issuer: "CN=R11,O=Let's Encrypt,C=US",
        names,
    });
    return {
        container: { state: "running", restarts: 0, startedAt: "2026-12-01T12:00:00Z", image: "haproxy:1.7" },
        haproxyVersion: "HA-Proxy version 1.7.14 2021/03/31",
        configuration: { release: digest, content: digest },
        served: [
            { site: "www", name: "www.example.com", certificate: certificate(["www.example.com", "example.com"]) },
            { site: "www", name: "example.com", certificate: certificate(["www.example.com", "example.com"]) },
            { site: "wiki", name: "wiki.example.com", certificate: certificate(["wiki.example.com"]) },
        ],
        status: statusFile(),
    };
}

describe("npm run status", () => {
    describe("the report's rules", () => {
        let config: EdgeProxyConfig;
        beforeEach(() => {
            config = devConfigIn("/srv/test");
        });

        it("all well: nothing needs attention, and the text says so", () => {
            const report = buildReport(config, "abc", wellProbe("abc"), NOW);
            expect(report.attention).to.deep.equal([]);
            expect(report.container).to.deep.equal({
                name: "edge-proxy",
                state: "running",
                image: "haproxy:1.7",
                haproxyVersion: "HA-Proxy version 1.7.14 2021/03/31",
                startedAt: "2026-12-01T12:00:00Z",
                uptimeSeconds: 3 * 86_400,
                restarts: 0,
            });
            expect(report.configuration).to.deep.equal({ expected: "abc", live: "abc", liveContent: "abc", current: true });
            expect(report.sites[0].names[0]).to.deep.equal({
                name: "www.example.com",
                serial: "0A1B",
                issuer: "CN=R11,O=Let's Encrypt,C=US",
                notBefore: "2026-11-29T12:00:00Z",
                notAfter: "2027-02-27T12:00:00Z",
                daysLeft: 85,
                placeholder: false,
                staging: false,
            });
            expect(report.sites[0].renewal).to.deep.equal({
                lastAttempt: "2026-12-04T03:17:00Z",
                result: "ok",
                failures: 0,
                lastSuccess: "2026-12-04T03:17:00Z",
                error: "",
                nextRenewal: "2027-01-28T12:00:00Z",
                nextRenewalSource: "lifetime",
                retryAt: null,
            });
            const text = formatReport(report);
            expect(text)
                .to.contain("container edge-proxy: running, haproxy:1.7 (HA-Proxy version 1.7.14 2021/03/31), up 3d 0h, 0 restarts\n")
                .and.contain("configuration: abc (the stack's)\n")
                .and.contain(
                    "  www.example.com: serial 0A1B, issuer CN=R11,O=Let's Encrypt,C=US, expires 2027-02-27T12:00:00Z (85 days of a 90-day lifetime)\n",
                )
                .and.contain("  last certbot run: ok at 2026-12-04T03:17:00Z\n  next renewal: 2027-01-28T12:00:00Z (by its lifetime)\n");
            expect(text.endsWith("all well\n")).to.equal(true);
        });

        const cases: [string, (probe: Probe, config: EdgeProxyConfig) => void, string[]][] = [
            [
                "the container stopped",
                (p) => {
                    p.container!.state = "exited";
                },
                ["container edge-proxy is exited: run pulumi up"],
            ],
            [
                "no container",
                (p) => {
                    delete p.container;
                },
                ["container edge-proxy is missing: run pulumi up"],
            ],
            [
                "another configuration live",
                (p) => {
                    p.configuration = { release: "old", content: "old" };
                },
                ["the live configuration old is not the stack's abc: run pulumi up (or pulumi preview --diff to see why)"],
            ],
            [
                "the live files edited in place",
                (p) => {
                    p.configuration!.content = "edited";
                },
                ["the live configuration files differ from release abc (edited on the host?): run pulumi up to restore them"],
            ],
            [
                "no configuration",
                (p) => {
                    delete p.configuration;
                },
                ["no configuration is installed: run pulumi up"],
            ],
            [
                "a placeholder served",
                (p) => {
                    p.served[2].certificate = { serial: "01", notAfter: "2027-01-01T00:00:00Z", issuer: "CN=edge-proxy placeholder for wiki", names: [] };
                },
                ["site wiki: wiki.example.com is served the self-signed placeholder (no certificate issued yet)"],
            ],
            [
                "no handshake for a name",
                (p) => {
                    delete p.served[1].certificate;
                },
                ["site www: example.com is served no certificate (no TLS handshake with that name)"],
            ],
            [
                "another site's certificate served",
                (p) => {
                    p.served[2].certificate!.names = ["www.example.com", "example.com"];
                },
                ["site wiki: wiki.example.com is served a certificate for www.example.com, example.com"],
            ],
            [
                "a certificate with less than a sixth of its lifetime left",
                (p) => {
                    Object.assign(p.served[2].certificate!, { notBefore: "2026-09-15T12:00:00Z", notAfter: "2026-12-14T12:00:00Z" });
                },
                [
                    "site wiki: wiki.example.com's certificate expires in 10 days, 11% of its 90-day lifetime left (alertLifetimeFraction 0.167) (2026-12-14T12:00:00Z)",
                ],
            ],
            [
                "a 6-day certificate with 20 hours left (a sixth is a day)",
                (p) => {
                    Object.assign(p.served[2].certificate!, { notBefore: "2026-11-29T08:00:00Z", notAfter: "2026-12-05T08:00:00Z" });
                },
                [
                    "site wiki: wiki.example.com's certificate expires in 0 days, 14% of its 6-day lifetime left (alertLifetimeFraction 0.167) (2026-12-05T08:00:00Z)",
                ],
            ],
            [
                "a certificate within alertDaysBeforeExpiry, when it is set",
                (p, c) => {
                    c.acme.alertDaysBeforeExpiry = 30;
                    Object.assign(p.served[2].certificate!, { notBefore: "2026-09-25T12:00:00Z", notAfter: "2026-12-24T12:00:00Z" });
                },
                ["site wiki: wiki.example.com's certificate expires in 20 days (alertDaysBeforeExpiry 30) (2026-12-24T12:00:00Z)"],
            ],
            [
                "an expired certificate",
                (p) => {
                    Object.assign(p.served[2].certificate!, { notBefore: "2026-09-02T12:00:00Z", notAfter: "2026-12-01T12:00:00Z" });
                },
                [
                    "site wiki: wiki.example.com's certificate expired 3 days ago, 0% of its 90-day lifetime left (alertLifetimeFraction 0.167) (2026-12-01T12:00:00Z)",
                ],
            ],
            [
                "a staging certificate where the stack asks production's",
                (p, c) => {
                    c.acme.staging = false;
                    p.served[2].certificate!.issuer = "CN=(STAGING) Ersatz Edamame E1,O=(STAGING) Let's Encrypt,C=US";
                },
                ["site wiki: wiki.example.com is served a Let's Encrypt staging certificate, which browsers do not trust"],
            ],
            [
                "the last certbot run failed",
                (p) => {
                    Object.assign(p.status!.certificates[1], {
                        result: "failed",
                        failures: 2,
                        lastAttempt: "2026-12-04T03:17:00Z",
                        error: "Domain: wiki.example.com Type: dns",
                    });
                },
                ["site wiki: the last certbot run failed (2 in a row, at 2026-12-04T03:17:00Z): Domain: wiki.example.com Type: dns"],
            ],
            [
                "no status.json",
                (p) => {
                    delete p.status;
                },
                ["the host has no status.json yet (written by the certificate steps and the renewal job of this edge-proxy version): run pulumi up"],
            ],
        ];
        for (const [title, change, attention] of cases) {
            it(`needs attention: ${title}`, () => {
                const probe = wellProbe("abc");
                change(probe, config);
                const report = buildReport(config, "abc", probe, NOW);
                expect(report.attention).to.deep.equal(attention);
                expect(formatReport(report)).to.contain(`needs attention:\n${attention.map((item) => `  - ${item}`).join("\n")}\n`);
            });
        }

        it("nothing for a 6-day certificate issued an hour ago, nor for a 90-day one with 20 days left (alertDaysBeforeExpiry 0)", () => {
            const probe = wellProbe("abc");
            Object.assign(probe.served[2].certificate!, { notBefore: "2026-12-04T11:00:00Z", notAfter: "2026-12-10T11:00:00Z" });
            Object.assign(probe.served[0].certificate!, { notBefore: "2026-09-25T12:00:00Z", notAfter: "2026-12-24T12:00:00Z" });
            const report = buildReport(config, "abc", probe, NOW);
            expect(report.attention).to.deep.equal([]);
            expect(formatReport(report)).to.contain(
                "wiki.example.com: serial 0A1B, issuer CN=R11,O=Let's Encrypt,C=US, expires 2026-12-10T11:00:00Z (5 days of a 6-day lifetime)",
            );
        });

        it("says when a certificate is renewed: in the CA's window when it gave one, and when a failed one is tried again", () => {
            const probe = wellProbe("abc");
            Object.assign(probe.status!.certificates[0], {
                nextRenewal: "2027-01-20T08:00:00Z",
                nextRenewalSource: "ari",
                renewalWindow: { start: "2027-01-20T08:00:00Z", end: "2027-01-21T08:00:00Z" },
            });
            Object.assign(probe.status!.certificates[1], {
                result: "failed",
                failures: 3,
                lastAttempt: "2026-12-04T03:17:00Z",
                retryAt: "2026-12-04T11:17:00Z",
                error: "Type: connection",
            });
            const report = buildReport(config, "abc", probe, NOW);
            expect(report.sites[0].renewal).to.include({ nextRenewal: "2027-01-20T08:00:00Z", nextRenewalSource: "ari", retryAt: null });
            expect(report.sites[1].renewal).to.include({ failures: 3, retryAt: "2026-12-04T11:17:00Z", nextRenewalSource: "lifetime" });
            const text = formatReport(report);
            expect(text).to.contain("  last certbot run: ok at 2026-12-04T03:17:00Z\n  next renewal: 2027-01-20T08:00:00Z (the CA's renewal window)\n");
            expect(text).to.contain(
                "  last certbot run: failed at 2026-12-04T03:17:00Z (3 failures in a row, next try 2026-12-04T11:17:00Z)\n  next renewal: 2027-01-28T12:00:00Z (by its lifetime)\n",
            );
        });

        it("the staging flag on a staging stack is no problem", () => {
            const probe = wellProbe("abc");
            probe.served[2].certificate!.issuer = "CN=(STAGING) Ersatz Edamame E1,O=(STAGING) Let's Encrypt,C=US";
            const report = buildReport(config, "abc", probe, NOW);
            expect(config.acme.staging).to.equal(true);
            expect(report.attention).to.deep.equal([]);
            expect(report.sites[1].names[0].staging).to.equal(true);
        });
    });

    describe("the lifetime rules (lifetime.ts), which the host's status shares", () => {
        const HOUR = 3_600_000;
        const DAY = 24 * HOUR;
        const T0 = Date.parse("2026-12-01T00:00:00Z");
        const SIXTH = { lifetimeFraction: 1 / 6 };

        it("a 6-day certificate needs attention from a sixth of its lifetime left (a day), not before", () => {
            const notAfter = T0 + 6 * DAY;
            expect(lifetimeAttention(T0, notAfter, T0 + HOUR, SIXTH), "just issued").to.equal(undefined);
            expect(lifetimeAttention(T0, notAfter, notAfter - DAY, SIXTH), "a day left exactly").to.equal(undefined);
            expect(lifetimeAttention(T0, notAfter, notAfter - DAY + 1000, SIXTH)).to.equal(
                "expires in 0 days, 17% of its 6-day lifetime left (alertLifetimeFraction 0.167)",
            );
            expect(lifetimeAttention(T0, notAfter, notAfter - 6 * HOUR, { lifetimeFraction: 0.1 })).to.equal(
                "expires in 0 days, 4% of its 6-day lifetime left (alertLifetimeFraction 0.100)",
            );
            expect(lifetimeAttention(T0, notAfter, notAfter - 15 * HOUR, { lifetimeFraction: 0.1 }), "15 hours: more than a tenth (14.4)").to.equal(undefined);
        });

        it("a 90-day certificate needs attention with 15 days left, or from alertDaysBeforeExpiry when it is set", () => {
            const notAfter = T0 + 90 * DAY;
            expect(lifetimeAttention(T0, notAfter, notAfter - 20 * DAY, SIXTH), "20 days left").to.equal(undefined);
            expect(lifetimeAttention(T0, notAfter, notAfter - 15 * DAY, SIXTH), "15 days left exactly").to.equal(undefined);
            expect(lifetimeAttention(T0, notAfter, notAfter - 15 * DAY + 60_000, SIXTH)).to.equal(
                "expires in 14 days, 17% of its 90-day lifetime left (alertLifetimeFraction 0.167)",
            );
            const withDays = { ...SIXTH, daysBeforeExpiry: 30 };
            expect(lifetimeAttention(T0, notAfter, notAfter - 30 * DAY, withDays), "30 days left exactly").to.equal(undefined);
            expect(lifetimeAttention(T0, notAfter, notAfter - 30 * DAY + 1000, withDays)).to.equal("expires in 29 days (alertDaysBeforeExpiry 30)");
            // Both: the lifetime's reason, which says more.
            expect(lifetimeAttention(T0, notAfter, notAfter - 10 * DAY, withDays)).to.equal(
                "expires in 10 days, 11% of its 90-day lifetime left (alertLifetimeFraction 0.167)",
            );
            expect(lifetimeAttention(T0, notAfter, notAfter + 3 * DAY, SIXTH)).to.equal(
                "expired 3 days ago, 0% of its 90-day lifetime left (alertLifetimeFraction 0.167)",
            );
        });

        it("names a lifetime in days from two days, else hours from two hours, else minutes", () => {
            expect([6 * DAY, 90 * DAY, 160 * HOUR, 2 * DAY, 47 * HOUR, 2 * HOUR, 119 * 60_000, 30 * 60_000].map(formatLifetime)).to.deep.equal([
                "6-day",
                "90-day",
                "7-day",
                "2-day",
                "47-hour",
                "2-hour",
                "119-minute",
                "30-minute",
            ]);
        });
    });

    describe("a fleet's report", () => {
        const config = devConfigIn("/srv/test");
        const withSerial = (probe: Probe, serial: string): Probe => ({
            ...probe,
            served: probe.served.map((entry) => ({ ...entry, certificate: entry.certificate && { ...entry.certificate, serial } })),
        });

        it("a host that receives certificates answers for no renewal job, status.json or certbot run", () => {
            const { status, renewalJob, ...probe } = wellProbe("abc");
            const report = buildReport(config, "abc", probe, NOW, "receiver");
            expect(report.attention).to.deep.equal([]);
            expect(report.sites[0].renewal).to.equal(undefined);
            expect(formatReport(report)).to.contain("renewal job: none here (the fleet's issuer renews, and sends the certificates)");
            expect(buildReport(config, "abc", probe, NOW).attention, "the same probe from an issuer").to.include(
                "the host has no status.json yet (written by the certificate steps and the renewal job of this edge-proxy version): run pulumi up",
            );
        });

        it("the issuer names a host that missed the last distribution", () => {
            const probe = wellProbe("abc");
            probe.status = { ...statusFile(), hosts: [{ name: "b", state: "failed", at: "2026-12-04T03:17:05Z", behind: true }] };
            const report = buildReport(config, "abc", probe, NOW);
            expect(report.attention).to.deep.equal([
                "host b missed the distribution of the certificates at 2026-12-04T03:17:05Z: it may serve older ones until the next renewal run or pulumi up",
            ]);
            expect(formatReport(report)).to.contain("host b: behind (last distribution failed at 2026-12-04T03:17:05Z)");
        });

        it("the issuer names a host that did not take the TLS session ticket keys, and one that took them needs nothing", () => {
            const probe = wellProbe("abc");
            const took = { name: "b", state: "ok", at: "2026-12-04T03:17:05Z", behind: false };
            probe.status = {
                ...statusFile(),
                hosts: [
                    { ...took, ticketKeys: { state: "ok", at: "2026-12-04T12:41:02Z", behind: false } },
                    { ...took, name: "c", ticketKeys: { state: "failed", at: "2026-12-04T12:41:09Z", behind: true } },
                    { ...took, name: "d", ticketKeys: { state: "none", at: "", behind: true } },
                ],
            };
            const report = buildReport(config, "abc", probe, NOW);
            expect(report.attention).to.deep.equal([
                "host c did not take the TLS session ticket keys at 2026-12-04T12:41:09Z: sessions begun on other hosts do not resume there until it takes them (the next renewal run sends them again)",
                "host d was never sent the TLS session ticket keys: sessions begun on other hosts do not resume there until it takes them (the next renewal run sends them again)",
            ]);
            const text = formatReport(report);
            expect(text).to.contain(
                "host b: took every certificate (last distribution ok at 2026-12-04T03:17:05Z)\n  TLS session ticket keys: the issuer's (last sent: ok at 2026-12-04T12:41:02Z)",
            );
            expect(text).to.contain(
                "host c: took every certificate (last distribution ok at 2026-12-04T03:17:05Z)\n  TLS session ticket keys: not the issuer's (last sent: failed at 2026-12-04T12:41:09Z)",
            );
            expect(text).to.contain("host d: took every certificate (last distribution ok at 2026-12-04T03:17:05Z)\n  TLS session ticket keys: never sent");
        });

        it("hosts that serve a name different certificates need attention, and a host on another configuration says so", () => {
            const a = buildReport(config, "abc", wellProbe("abc"), NOW);
            const b = buildReport(config, "abc", withSerial(wellProbe("abc"), "0C0D"), NOW, "receiver");
            expect(fleetDifferences({ a, b: buildReport(config, "abc", wellProbe("abc"), NOW, "receiver") })).to.deep.equal([]);
            expect(fleetDifferences({ a, b })).to.deep.equal([
                "site www: hosts serve www.example.com different certificates (a: 0A1B, b: 0C0D)",
                "site www: hosts serve example.com different certificates (a: 0A1B, b: 0C0D)",
                "site wiki: hosts serve wiki.example.com different certificates (a: 0A1B, b: 0C0D)",
            ]);
            // A host left on another configuration says so itself (each host's expected digest is its own).
            const c = buildReport(config, "abc", wellProbe("def"), NOW, "receiver");
            expect(fleetDifferences({ a, c })).to.deep.equal([]);
            expect(c.attention).to.deep.equal(["the live configuration def is not the stack's abc: run pulumi up (or pulumi preview --diff to see why)"]);
            const text = formatFleetReport({ issuer: "a", hosts: { a, b }, attention: fleetDifferences({ a, b }) });
            expect(text).to.match(/^host a \(issuer\)\n {2}container edge-proxy: running/);
            expect(text).to.contain("host b\n  container edge-proxy: running");
            expect(text).to.contain("needs attention:\n  - site www: hosts serve www.example.com different certificates (a: 0A1B, b: 0C0D)");
        });
    });
});
