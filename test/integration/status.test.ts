/**
 * `npm run status`'s probe script run for real on this machine as the host, as root (dash, openssl,
 * sha256sum; a real TLS server, openssl s_server, answering the SNI handshakes on loopback; `docker` a
 * stand-in that reports a container; the configuration delivered by the real delivery script, which gives
 * it the container's group). The report's rules: test/unit/status.test.ts.
 */

import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import type { EdgeProxyConfig } from "../../components/config/types";
import { renderHaproxyConfig } from "../../components/haproxy/render";
import { deliverConfigScript, statusProbeScript } from "../../components/hostScripts";
import { expectedConfigurationDigest } from "../../components/status/check";
import { buildReport, parseProbe } from "../../components/status/report";
import { writeSelfSigned } from "../../dev/haproxy";
import { devConfigIn } from "../../dev/hostScripts";
import { describeWith, ROOT } from "../support/needs";
import { statusFile } from "../support/status";

describeWith([ROOT], "npm run status", () => {
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
                const probeServer = net
                    .createServer()
                    .once("error", reject)
                    .listen(0, "127.0.0.1", () => {
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
            fs.writeFileSync(
                `${scratch}/bin/docker`,
                [
                    "#!/bin/sh",
                    "case $1 in",
                    "  inspect) printf 'running\\t1\\t2026-12-01T12:00:00.123456789Z\\thaproxy:2.6\\n' ;;",
                    "  exec) echo 'HAProxy version 2.6.12-1+deb12u1 2023/12/16 - https://haproxy.org/' ;;",
                    "esac",
                    "exit 0",
                ].join("\n"),
                { mode: 0o755 },
            );
            // A certificate for www's names, served for every SNI name by a real TLS server on loopback.
            writeSelfSigned(`${scratch}/cert.pem`, `${scratch}/key.pem`, "Test R1", { names: ["www.example.com", "example.com"], days: 90 });
            config.haproxy.httpsPort = await freePort();
            server = spawn(
                "openssl",
                [
                    "s_server",
                    "-accept",
                    `127.0.0.1:${config.haproxy.httpsPort}`,
                    "-cert",
                    `${scratch}/cert.pem`,
                    "-key",
                    `${scratch}/key.pem`,
                    "-www",
                    "-quiet",
                ],
                { stdio: "ignore" },
            );
            for (
                let i = 0;
                i < 100 &&
                !(await new Promise((resolve) => {
                    const socket = net
                        .connect(config.haproxy.httpsPort, "127.0.0.1")
                        .once("connect", () => {
                            socket.destroy();
                            resolve(true);
                        })
                        .once("error", () => resolve(false));
                }));
                i++
            ) {
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
            expect(read.configuration, "the release and its files' content, hashed on the host as the stack does").to.deep.equal({
                release: digest,
                content: digest,
            });
            const serial = execFileSync("openssl", ["x509", "-noout", "-serial", "-in", `${scratch}/cert.pem`], { encoding: "utf8" })
                .trim()
                .slice("serial=".length);
            expect(read.served.map((s) => [s.site, s.name, s.certificate?.serial, s.certificate?.issuer, s.certificate?.names])).to.deep.equal([
                ["www", "www.example.com", serial, "CN=Test R1", ["www.example.com", "example.com"]],
                ["www", "example.com", serial, "CN=Test R1", ["www.example.com", "example.com"]],
                ["wiki", "wiki.example.com", serial, "CN=Test R1", ["www.example.com", "example.com"]],
            ]);
            expect(read.status).to.deep.equal(statusFile());
            const report = buildReport(config, digest, read, new Date("2026-12-06T06:00:00Z"));
            expect(report.attention).to.deep.equal(["site wiki: wiki.example.com is served a certificate for www.example.com, example.com"]);
            expect(report.renewalJob).to.deep.equal({ installed: true, drift: undefined, lastRun: "2026-12-06T03:17:00Z", overdue: false });
            // The job silent for more than twice its schedule's longest gap (3 h here, the default), plus cron's delay.
            expect(buildReport(config, digest, read, new Date("2026-12-06T12:00:00Z")).attention).to.include(
                `the renewal job has not run since 2026-12-06T03:17:00Z, though its schedule "${config.acme.renewSchedule}" runs it more often (is cron running?)`,
            );
            fs.rmSync(`${scratch}/renew`);
            expect(buildReport(config, digest, probe(), new Date("2026-12-06T12:00:00Z")).attention).to.include(
                `the renewal job is not as pulumi up installed it (${scratch}/renew is missing): run pulumi up to reinstall it`,
            );

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
