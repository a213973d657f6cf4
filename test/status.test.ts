/**
 * `npm run status`: the probe script run for real on this machine as the host (dash, openssl, sha256sum; a
 * real TLS server, openssl s_server, answering the SNI handshakes on loopback; `docker` a stand-in that
 * reports a container), and every rule of the report, pure. The SSH connection and the real container
 * are exercised end to end (test/e2e/, test/engine/).
 */
import { expect } from "chai";
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { EdgeProxyConfig } from "../components/config/types";
import { renderHaproxyConfig } from "../components/haproxy/render";
import { deliverConfigScript, statusProbeScript } from "../components/hostScripts";
import { expectedConfigurationDigest } from "../components/status/check";
import { Probe, buildReport, formatReport, parseProbe } from "../components/status/report";
import { StatusFile } from "../components/status/statusFile";
import { writeSelfSigned } from "./support/haproxy";
import { devConfigIn } from "./support/hostScripts";

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

function statusFile(): StatusFile {
    const entry = (name: string) => ({
        name, names: [], serial: "0A1B", issuer: "CN=R11,O=Let's Encrypt,C=US", notAfter: "2027-02-27T12:00:00Z", daysLeft: 85, placeholder: false,
        lastAttempt: "2026-12-04T03:17:00Z", result: "ok" as const, failures: 0, lastSuccess: "2026-12-04T03:17:00Z", error: "", attention: false,
    });
    return { container: "edge-proxy", updatedAt: "2026-12-04T03:17:00Z", alertDaysBeforeExpiry: 14, attention: false, certificates: [entry("www"), entry("wiki")] };
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
                name: "edge-proxy", state: "running", image: "haproxy:1.7", haproxyVersion: "HA-Proxy version 1.7.14 2021/03/31",
                startedAt: "2026-12-01T12:00:00Z", uptimeSeconds: 3 * 86_400, restarts: 0,
            });
            expect(report.configuration).to.deep.equal({ expected: "abc", live: "abc", liveContent: "abc", current: true });
            expect(report.sites[0].names[0]).to.deep.equal({
                name: "www.example.com", serial: "0A1B", issuer: "CN=R11,O=Let's Encrypt,C=US", notAfter: "2027-02-27T12:00:00Z", daysLeft: 85, placeholder: false, staging: false,
            });
            expect(report.sites[0].renewal).to.deep.equal({ lastAttempt: "2026-12-04T03:17:00Z", result: "ok", failures: 0, lastSuccess: "2026-12-04T03:17:00Z", error: "" });
            const text = formatReport(report);
            expect(text).to.contain("container edge-proxy: running, haproxy:1.7 (HA-Proxy version 1.7.14 2021/03/31), up 3d 0h, 0 restarts\n")
                .and.contain("configuration: abc (the stack's)\n")
                .and.contain("  www.example.com: serial 0A1B, issuer CN=R11,O=Let's Encrypt,C=US, expires 2027-02-27T12:00:00Z (85 days)\n")
                .and.contain("  last certbot run: ok at 2026-12-04T03:17:00Z\n");
            expect(text.endsWith("all well\n")).to.equal(true);
        });

        const cases: [string, (probe: Probe, config: EdgeProxyConfig) => void, string[]][] = [
            ["the container stopped", (p) => { p.container!.state = "exited"; }, ["container edge-proxy is exited: run pulumi up"]],
            ["no container", (p) => { delete p.container; }, ["container edge-proxy is missing: run pulumi up"]],
            ["another configuration live", (p) => { p.configuration = { release: "old", content: "old" }; }, [
                "the live configuration old is not the stack's abc: run pulumi up (or pulumi preview --diff to see why)"]],
            ["the live files edited in place", (p) => { p.configuration!.content = "edited"; }, [
                "the live configuration files differ from release abc (edited on the host?): run pulumi up to restore them"]],
            ["no configuration", (p) => { delete p.configuration; }, ["no configuration is installed: run pulumi up"]],
            ["a placeholder served", (p) => { p.served[2].certificate = { serial: "01", notAfter: "2027-01-01T00:00:00Z", issuer: "CN=edge-proxy placeholder for wiki", names: [] }; }, [
                "site wiki: wiki.example.com is served the self-signed placeholder (no certificate issued yet)"]],
            ["no handshake for a name", (p) => { delete p.served[1].certificate; }, ["site www: example.com is served no certificate (no TLS handshake with that name)"]],
            ["another site's certificate served", (p) => { p.served[2].certificate!.names = ["www.example.com", "example.com"]; }, [
                "site wiki: wiki.example.com is served a certificate for www.example.com, example.com"]],
            ["a certificate within alertDaysBeforeExpiry", (p) => { p.served[2].certificate!.notAfter = "2026-12-14T12:00:00Z"; }, [
                "site wiki: wiki.example.com's certificate expires in 10 days (2026-12-14T12:00:00Z)"]],
            ["an expired certificate", (p) => { p.served[2].certificate!.notAfter = "2026-12-01T12:00:00Z"; }, [
                "site wiki: wiki.example.com's certificate expired 3 days ago (2026-12-01T12:00:00Z)"]],
            ["a staging certificate where the stack asks production's", (p, c) => {
                c.acme.staging = false;
                p.served[2].certificate!.issuer = "CN=(STAGING) Ersatz Edamame E1,O=(STAGING) Let's Encrypt,C=US";
            }, ["site wiki: wiki.example.com is served a Let's Encrypt staging certificate, which browsers do not trust"]],
            ["the last certbot run failed", (p) => {
                Object.assign(p.status!.certificates[1], { result: "failed", failures: 2, lastAttempt: "2026-12-04T03:17:00Z", error: "Domain: wiki.example.com Type: dns" });
            }, ["site wiki: the last certbot run failed (2 in a row, at 2026-12-04T03:17:00Z): Domain: wiki.example.com Type: dns"]],
            ["no status.json", (p) => { delete p.status; }, [
                "the host has no status.json yet (written by the certificate steps and the renewal job of this edge-proxy version): run pulumi up"]],
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

    describe("the probe, run for real in a scratch directory", () => {
        let scratch: string;
        let config: EdgeProxyConfig;
        let server: ChildProcess | undefined;
        const env = () => ({ ...process.env, PATH: `${scratch}/bin:${process.env.PATH}` });
        const probe = () => {
            const result = spawnSync("sh", ["-s"], { input: statusProbeScript(config), encoding: "utf8", env: env(), timeout: 60_000 });
            expect(result.status, result.stderr).to.equal(0);
            return parseProbe(result.stdout);
        };

        /** A free loopback port for the TLS server. */
        async function freePort(): Promise<number> {
            return new Promise((resolve, reject) => {
                const probeServer = net.createServer().once("error", reject).listen(0, "127.0.0.1", () => {
                    const { port } = probeServer.address() as net.AddressInfo;
                    probeServer.close(() => resolve(port));
                });
            });
        }

        beforeEach(async () => {
            scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-probe-"));
            config = devConfigIn(scratch);
            for (const dir of ["bin", "cfg", "certs", "letsencrypt/edge-proxy"]) {
                fs.mkdirSync(`${scratch}/${dir}`, { recursive: true });
            }
            // docker: the configuration check passes; the container runs haproxy:2.6, restarted once.
            fs.writeFileSync(`${scratch}/bin/docker`, [
                "#!/bin/sh",
                "case $1 in",
                "  inspect) printf 'running\\t1\\t2026-12-01T12:00:00.123456789Z\\thaproxy:2.6\\n' ;;",
                "  exec) echo 'HAProxy version 2.6.12-1+deb12u1 2023/12/16 - https://haproxy.org/' ;;",
                "esac",
                "exit 0",
            ].join("\n"), { mode: 0o755 });
            // A certificate for www's names, served for every SNI name by a real TLS server on loopback.
            writeSelfSigned(`${scratch}/cert.pem`, `${scratch}/key.pem`, "Test R1", { names: ["www.example.com", "example.com"], days: 90 });
            config.haproxy.httpsPort = await freePort();
            server = spawn("openssl", ["s_server", "-accept", `127.0.0.1:${config.haproxy.httpsPort}`, "-cert", `${scratch}/cert.pem`,
                "-key", `${scratch}/key.pem`, "-www", "-quiet"], { stdio: "ignore" });
            for (let i = 0; i < 100 && !(await new Promise((resolve) => {
                const socket = net.connect(config.haproxy.httpsPort, "127.0.0.1").once("connect", () => { socket.destroy(); resolve(true); })
                    .once("error", () => resolve(false));
            })); i++) {
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
        });
        afterEach(() => {
            if (server?.pid !== undefined && server.exitCode === null) {
                process.kill(server.pid);
            }
            fs.rmSync(scratch, { recursive: true, force: true });
        });

        it("reads the container, the live configuration's digest, each name's served certificate and status.json", () => {
            const delivery = spawnSync("sh", ["-s"], { input: deliverConfigScript(config, renderHaproxyConfig(config)), encoding: "utf8", env: env() });
            expect(delivery.status, delivery.stderr).to.equal(0);
            fs.writeFileSync(`${scratch}/letsencrypt/edge-proxy/status.json`, JSON.stringify(statusFile()));
            // The renewal job as its installation records it (sh-ledger.hbs), its script here in the scratch directory.
            fs.writeFileSync(`${scratch}/renew`, "#!/bin/sh\n");
            const sha = execFileSync("sha256sum", [`${scratch}/renew`], { encoding: "utf8" }).split(" ")[0];
            fs.writeFileSync(`${scratch}/letsencrypt/edge-proxy/steps/renewal`, `token 1a2b\nfile ${sha} ${scratch}/renew\n`);
            fs.writeFileSync(`${scratch}/letsencrypt/edge-proxy/last-renewal-run`, "2026-12-06T03:17:00Z\n");
            const installed = new Date("2026-12-01T10:00:00Z");
            fs.utimesSync(`${scratch}/letsencrypt/edge-proxy/steps/renewal`, installed, installed);
            const read = probe();
            const digest = expectedConfigurationDigest(config);
            expect(read.container).to.deep.equal({ state: "running", restarts: 1, startedAt: "2026-12-01T12:00:00.123456789Z", image: "haproxy:2.6" });
            expect(read.haproxyVersion).to.equal("HAProxy version 2.6.12-1+deb12u1 2023/12/16 - https://haproxy.org/");
            expect(read.configuration, "the release and its files' content, hashed on the host as the stack does").to.deep.equal({ release: digest, content: digest });
            const serial = execFileSync("openssl", ["x509", "-noout", "-serial", "-in", `${scratch}/cert.pem`], { encoding: "utf8" }).trim().slice("serial=".length);
            expect(read.served.map((s) => [s.site, s.name, s.certificate?.serial, s.certificate?.issuer, s.certificate?.names])).to.deep.equal([
                ["www", "www.example.com", serial, "CN=Test R1", ["www.example.com", "example.com"]],
                ["www", "example.com", serial, "CN=Test R1", ["www.example.com", "example.com"]],
                ["wiki", "wiki.example.com", serial, "CN=Test R1", ["www.example.com", "example.com"]],
            ]);
            expect(read.status).to.deep.equal(statusFile());
            const report = buildReport(config, digest, read, new Date("2026-12-06T12:00:00Z"));
            expect(report.attention).to.deep.equal(["site wiki: wiki.example.com is served a certificate for www.example.com, example.com"]);
            expect(report.renewalJob).to.deep.equal({ installed: true, drift: undefined, lastRun: "2026-12-06T03:17:00Z", overdue: false });
            // The job silent for more than twice its schedule's longest gap (12 h here, twice a day), plus cron's delay.
            expect(buildReport(config, digest, read, new Date("2026-12-07T04:00:00Z")).attention)
                .to.include(`the renewal job has not run since 2026-12-06T03:17:00Z, though its schedule "${config.acme.renewSchedule}" runs it more often (is cron running?)`);
            fs.rmSync(`${scratch}/renew`);
            expect(buildReport(config, digest, probe(), new Date("2026-12-06T12:00:00Z")).attention)
                .to.include(`the renewal job is not as pulumi up installed it (${scratch}/renew is missing): run pulumi up to reinstall it`);

            fs.appendFileSync(`${scratch}/cfg/haproxy.cfg`, "# edited on the host\n");
            expect(probe().configuration).to.deep.include({ release: digest }).and.not.deep.include({ content: digest });
        });

        it("says what is missing on a host the stack never reached: no configuration, no handshake, no status.json", () => {
            process.kill(server!.pid!);
            fs.writeFileSync(`${scratch}/bin/docker`, "#!/bin/sh\nexit 1\n", { mode: 0o755 });
            const read = probe();
            expect(read).to.deep.equal({ served: read.served, renewalJob: { drift: "no record of this step on the host", lastRun: "", installedAt: "" } });
            expect(read.served.every((s) => s.certificate === undefined)).to.equal(true);
            expect(buildReport(config, "abc", read, new Date()).attention).to.deep.equal([
                "container edge-proxy is missing: run pulumi up",
                "no configuration is installed: run pulumi up",
                "the renewal job is not as pulumi up installed it (no record of this step on the host): run pulumi up to reinstall it",
                "the host has no status.json yet (written by the certificate steps and the renewal job of this edge-proxy version): run pulumi up",
                "site www: www.example.com is served no certificate (no TLS handshake with that name)",
                "site www: example.com is served no certificate (no TLS handshake with that name)",
                "site wiki: wiki.example.com is served no certificate (no TLS handshake with that name)",
            ]);
        });
    });
});
