/**
 * `npm run status`: every rule of the report, pure. The probe script runs for real in
 * test/integration/status.test.ts; the SSH connection and the real container end to end (test/e2e/, test/engine/).
 */
import { expect } from "chai";
import type { EdgeProxyConfig } from "../../components/config/types";
import { fleetDifferences } from "../../components/status/check";
import { buildReport, formatFleetReport, formatReport, type Probe } from "../../components/status/report";
import { devConfigIn } from "../../dev/hostScripts";
import { statusFile } from "../support/status";

const NOW = new Date("2026-12-04T12:00:00Z");

/** A probe of the dev stack (sites www: www.example.com, example.com; wiki: wiki.example.com) where all is well. */
function wellProbe(digest: string): Probe {
    const certificate = (names: string[]) => ({ serial: "0A1B", notAfter: "2027-02-27T12:00:00Z", issuer: "CN=R11,O=Let's Encrypt,C=US", names });
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
            });
            const text = formatReport(report);
            expect(text)
                .to.contain("container edge-proxy: running, haproxy:1.7 (HA-Proxy version 1.7.14 2021/03/31), up 3d 0h, 0 restarts\n")
                .and.contain("configuration: abc (the stack's)\n")
                .and.contain("  www.example.com: serial 0A1B, issuer CN=R11,O=Let's Encrypt,C=US, expires 2027-02-27T12:00:00Z (85 days)\n")
                .and.contain("  last certbot run: ok at 2026-12-04T03:17:00Z\n");
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
                "a certificate within alertDaysBeforeExpiry",
                (p) => {
                    p.served[2].certificate!.notAfter = "2026-12-14T12:00:00Z";
                },
                ["site wiki: wiki.example.com's certificate expires in 10 days (2026-12-14T12:00:00Z)"],
            ],
            [
                "an expired certificate",
                (p) => {
                    p.served[2].certificate!.notAfter = "2026-12-01T12:00:00Z";
                },
                ["site wiki: wiki.example.com's certificate expired 3 days ago (2026-12-01T12:00:00Z)"],
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

        it("the staging flag on a staging stack is no problem", () => {
            const probe = wellProbe("abc");
            probe.served[2].certificate!.issuer = "CN=(STAGING) Ersatz Edamame E1,O=(STAGING) Let's Encrypt,C=US";
            const report = buildReport(config, "abc", probe, NOW);
            expect(config.acme.staging).to.equal(true);
            expect(report.attention).to.deep.equal([]);
            expect(report.sites[1].names[0].staging).to.equal(true);
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
