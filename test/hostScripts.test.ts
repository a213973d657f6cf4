/**
 * The host scripts, rendered for representative stacks, read by the real shells and by shellcheck, and
 * run for real where they need no Docker (placeholder preparation, the cron entry).
 */
import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EdgeProxyConfig } from "../components/config/types";
import { installPemScript, prepareHostScript, renewCron, renewScript } from "../components/hostScripts";
import { loadStackFile } from "../components/plan";
import { writePlaceholderPem } from "./support/haproxy";
import { hostScriptsOf } from "./support/hostScripts";
import { PROJECT_DIR } from "./support/paths";

const STACKS = ["Pulumi.dev.yaml", "test/stacks/multi-site-2.8.yaml", "test/stacks/single-3.0.yaml"];

describe("host scripts", () => {
    for (const stack of STACKS) {
        const config = loadStackFile(path.join(PROJECT_DIR, stack));
        for (const [name, script] of Object.entries(hostScriptsOf(config))) {
            it(`${stack}: ${name} parses in dash and passes shellcheck`, () => {
                const parsed = spawnSync("dash", ["-n"], { input: script, encoding: "utf8" });
                expect(parsed.status, parsed.stderr).to.equal(0);
                const lint = spawnSync("shellcheck", ["--shell=sh", "--severity=warning", "-"], { input: script, encoding: "utf8" });
                expect(lint.error, "shellcheck is not installed (.ci/run installs it)").to.equal(undefined);
                expect(lint.status, lint.stdout).to.equal(0);
            });
        }
    }

    it("writes a cron entry with the schedule and the script", () => {
        const config = loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
        expect(renewCron(config).split("\n").filter((line) => line && !line.startsWith("#"))).to.deep.equal([
            "SHELL=/bin/sh",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "17 3 * * * root /usr/local/sbin/edge-proxy-renew-edge-proxy >>/srv/letsencrypt/log/edge-proxy-renew.log 2>&1",
        ]);
    });

    it("prints the schedule on no comment line of the renewal script (a comment ends at a newline, code follows)", () => {
        const config = loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
        config.acme.renewSchedule = "*/15 2-4 * * 1-5";
        const comments = renewScript(config).split("\n").filter((line) => /^\s*#/.test(line));
        expect(comments.filter((line) => line.includes(config.acme.renewSchedule))).to.deep.equal([]);
    });

    describe("PEM assembly, run for real on a certbot-like lineage", () => {
        let scratch: string;
        let config: EdgeProxyConfig;
        const install = () => spawnSync("sh", ["-s"], { input: installPemScript(config, config.sites[0]), encoding: "utf8" });
        /** Writes certbot's lineage files: a certificate (as fullchain) and its key, or another key. */
        function lineage(keyOf: "own" | "other") {
            const live = `${scratch}/letsencrypt/etc/live/www`;
            fs.mkdirSync(live, { recursive: true });
            writePlaceholderPem(`${scratch}/pair.pem`, "www.example.com");
            writePlaceholderPem(`${scratch}/other.pem`, "other");
            const [pair, other] = [`${scratch}/pair.pem`, `${scratch}/other.pem`].map((f) => fs.readFileSync(f, "utf8"));
            const keyOfPem = (pem: string) => pem.slice(pem.indexOf("-----BEGIN PRIVATE KEY-----"));
            fs.writeFileSync(`${live}/fullchain.pem`, pair.slice(0, pair.indexOf("-----BEGIN PRIVATE KEY-----")));
            fs.writeFileSync(`${live}/privkey.pem`, keyOfPem(keyOf === "own" ? pair : other));
            return fs.readFileSync(`${live}/fullchain.pem`, "utf8") + fs.readFileSync(`${live}/privkey.pem`, "utf8");
        }
        beforeEach(() => {
            scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-pem-"));
            config = loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
            config.haproxy.certsDir = `${scratch}/certs`;
            config.acme.dataDir = `${scratch}/letsencrypt`;
            fs.mkdirSync(`${scratch}/certs`);
            fs.mkdirSync(`${scratch}/letsencrypt`);
        });
        afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

        it("assembles fullchain and key into a 0640 PEM, and leaves it alone when nothing changed", () => {
            const expected = lineage("own");
            const first = install();
            expect(first.status, first.stderr).to.equal(0);
            expect(first.stdout).to.match(/^www serial=[0-9A-F]+\n$/);
            const pem = `${scratch}/certs/www.pem`;
            expect(fs.readFileSync(pem, "utf8")).to.equal(expected);
            expect((fs.statSync(pem).mode & 0o777).toString(8)).to.equal("640");
            const inode = fs.statSync(pem).ino;
            const second = install();
            expect(second.stdout).to.equal(first.stdout);
            expect(second.stderr, "a second run installs nothing").to.not.contain("installed");
            expect(fs.statSync(pem).ino).to.equal(inode);
            expect(fs.readdirSync(`${scratch}/certs`)).to.deep.equal(["www.pem"]);
        });

        it("refuses a key that does not belong to the certificate and keeps the live PEM", () => {
            lineage("own");
            expect(install().status).to.equal(0);
            const live = fs.readFileSync(`${scratch}/certs/www.pem`, "utf8");
            lineage("other");
            const result = install();
            expect(result.status).to.equal(1);
            expect(result.stderr).to.contain("do not make a certificate with its private key");
            expect(fs.readFileSync(`${scratch}/certs/www.pem`, "utf8")).to.equal(live);
            expect(fs.readdirSync(`${scratch}/certs`)).to.deep.equal(["www.pem"]);
        });

        it("fails when certbot has no such certificate", () => {
            const result = install();
            expect(result.status).to.equal(1);
            expect(result.stderr).to.contain("certbot has no certificate named www");
        });
    });

    describe("prepare, run for real in a scratch directory", () => {
        let scratch: string;
        let config: EdgeProxyConfig;
        const run = () => execFileSync("sh", ["-s"], { input: prepareHostScript(config), encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
        beforeEach(() => {
            scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-prepare-"));
            config = loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
            config.haproxy.configDir = `${scratch}/cfg`;
            config.haproxy.certsDir = `${scratch}/certs`;
            config.acme.dataDir = `${scratch}/letsencrypt`;
            config.acme.challengeAddress = "127.0.0.1"; // an address every machine has (docker0 may not exist here)
        });
        afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

        it("refuses an ACME challenge address the host does not have, before changing anything", () => {
            config.acme.challengeAddress = "192.0.2.77";
            const result = spawnSync("sh", ["-s"], { input: prepareHostScript(config), encoding: "utf8" });
            expect(result.status).to.equal(1);
            expect(result.stderr).to.match(/acmeChallengeAddress 192\.0\.2\.77 is not an address of this host; its IPv4 addresses are: .*lo=127\.0\.0\.1\/8/);
            expect(fs.readdirSync(scratch)).to.deep.equal([]);
        });

        it("creates the directories with their modes and a placeholder per certificate", () => {
            run();
            const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);
            expect([mode(`${scratch}/cfg`), mode(`${scratch}/certs`), mode(`${scratch}/letsencrypt`)]).to.deep.equal(["755", "750", "700"]);
            expect(fs.readdirSync(`${scratch}/letsencrypt`).sort()).to.deep.equal(["etc", "log", "var"]);
            expect(fs.readdirSync(`${scratch}/certs`).sort()).to.deep.equal(["wiki.pem", "www.pem"]);
            const pem = fs.readFileSync(`${scratch}/certs/www.pem`, "utf8");
            expect(pem).to.match(/^-----BEGIN CERTIFICATE-----[\s\S]*-----BEGIN PRIVATE KEY-----/);
            expect(mode(`${scratch}/certs/www.pem`)).to.equal("640");
            expect(execFileSync("openssl", ["x509", "-noout", "-subject", "-in", `${scratch}/certs/www.pem`], { encoding: "utf8" }))
                .to.contain("edge-proxy placeholder for www");
        });

        it("never overwrites an existing certificate", () => {
            run();
            fs.writeFileSync(`${scratch}/certs/www.pem`, "the real certificate\n");
            const placeholder = fs.readFileSync(`${scratch}/certs/wiki.pem`, "utf8");
            run();
            expect(fs.readFileSync(`${scratch}/certs/www.pem`, "utf8")).to.equal("the real certificate\n");
            expect(fs.readFileSync(`${scratch}/certs/wiki.pem`, "utf8")).to.equal(placeholder);
        });
    });
});
