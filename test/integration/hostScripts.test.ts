/**
 * The host scripts as they run on the host, as root: shellcheck on every rendered script, and run for real
 * in a scratch directory where they need no Docker: PEM assembly, the configuration delivery and the
 * preparation (they give files the container's group, record under /var/lib/edge-proxy, and one test fills a
 * tmpfs), and the renewal job's record of certificates not in service. Their parsing and the steps that need no root: test/unit/hostScripts.test.ts.
 */

import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { parseCertificateLine } from "../../components/certificates";
import type { EdgeProxyConfig } from "../../components/config/types";
import { renderHaproxyConfig } from "../../components/haproxy/render";
import { hostStatePath } from "../../components/hostPaths";
import { deliverConfigScript, installPemScript, prepareHostScript } from "../../components/hostScripts";
import { loadStackFile } from "../../components/plan";
import { renderPartial } from "../../components/templates";
import { writePlaceholderPem } from "../../dev/haproxy";
import { devConfigIn, hostScriptsOf } from "../../dev/hostScripts";
import { PROJECT_DIR } from "../../dev/paths";
import { describeWith, program, ROOT } from "../support/needs";
import { SCRIPT_STACKS } from "../support/stacks";

describeWith([program("shellcheck", "apt-get install shellcheck; tools/install.sh does")], "host scripts: shellcheck", () => {
    for (const stack of SCRIPT_STACKS) {
        const config = loadStackFile(path.join(PROJECT_DIR, stack));
        for (const [name, script] of Object.entries(hostScriptsOf(config))) {
            it(`${stack}: ${name} passes shellcheck`, () => {
                const lint = spawnSync("shellcheck", ["--shell=sh", "--severity=warning", "-"], { input: script, encoding: "utf8" });
                expect(lint.status, lint.stdout).to.equal(0);
            });
        }
    }
});

describeWith([ROOT], "host scripts, run for real as root", () => {
    describe("PEM assembly, run for real on a certbot-like lineage", () => {
        let scratch: string;
        let config: EdgeProxyConfig;
        const install = () => spawnSync("sh", ["-s"], { input: installPemScript(config, config.sites[0], "www serial=00"), encoding: "utf8" });
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
            config = devConfigIn(scratch);
            fs.mkdirSync(`${scratch}/certs`);
            fs.mkdirSync(`${scratch}/letsencrypt`);
        });
        afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

        it("assembles fullchain and key into a 0640 PEM, and leaves it alone when nothing changed", () => {
            const expected = lineage("own");
            const first = install();
            expect(first.status, first.stderr).to.equal(0);
            // The certificate's line: what the reload's script carries and the stack's outputs are parsed from.
            const serial = execFileSync("openssl", ["x509", "-noout", "-serial", "-in", `${scratch}/certs/www.pem`], { encoding: "utf8" }).trim();
            const notAfter = new Date(
                execFileSync("openssl", ["x509", "-noout", "-enddate", "-in", `${scratch}/certs/www.pem`], { encoding: "utf8" })
                    .trim()
                    .replace(/^notAfter=/, ""),
            )
                .toISOString()
                .replace(/\.000Z$/, "Z");
            expect(first.stdout).to.equal(`www ${serial} notAfter=${notAfter} issuer=CN=www.example.com\n`);
            expect(parseCertificateLine(first.stdout)).to.deep.equal({ serial: serial.slice("serial=".length), notAfter, issuer: "CN=www.example.com" });
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

        it("removes what a killed run left beside the PEMs (a half-written PEM may hold a private key)", () => {
            lineage("own");
            fs.writeFileSync(`${scratch}/certs/.www.pem.k1LLed`, "half a private key", { mode: 0o600 });
            fs.writeFileSync(`${scratch}/certs/.wiki.pem.k1LLed.key`, "a placeholder's key", { mode: 0o600 });
            // A killed renewal job installation and DNS credentials step: the alert command's token, the TSIG secret.
            fs.mkdirSync(`${scratch}/letsencrypt/edge-proxy`, { recursive: true });
            fs.mkdirSync(`${scratch}/letsencrypt/etc/edge-proxy`, { recursive: true });
            fs.writeFileSync(`${scratch}/letsencrypt/edge-proxy/alert.sh.k1LLed`, "curl https://hooks.example/T0KEN", { mode: 0o600 });
            fs.writeFileSync(`${scratch}/letsencrypt/etc/edge-proxy/.credentials.k1LLed`, "dns_rfc2136_secret = c2VjcmV0", { mode: 0o600 });
            const result = install();
            expect(result.status, result.stderr).to.equal(0);
            expect(fs.readdirSync(`${scratch}/certs`)).to.deep.equal(["www.pem"]);
            expect(fs.readdirSync(`${scratch}/letsencrypt/etc/edge-proxy`), "the DNS credentials' leftovers").to.deep.equal([]);
            expect(
                fs.readdirSync(`${scratch}/letsencrypt/edge-proxy`).filter((name) => name.startsWith("alert")),
                "the alert command's leftovers",
            ).to.deep.equal([]);
        });

        it("says the disk is full when it is, keeps the live PEM and leaves no temporary file", () => {
            lineage("own");
            expect(install().status).to.equal(0);
            const live = fs.readFileSync(`${scratch}/certs/www.pem`, "utf8");
            // certsDir on a tiny tmpfs, filled up: as a full disk during a renewal.
            execFileSync("mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", `${scratch}/certs`]);
            try {
                fs.writeFileSync(`${scratch}/certs/www.pem`, live);
                spawnSync("dd", ["if=/dev/zero", `of=${scratch}/certs/filler`, "bs=1k", "count=64"]);
                lineage("own"); // a renewed certificate waiting to be installed
                const result = install();
                expect(result.status).to.equal(1);
                expect(result.stderr).to.contain("cannot write the new PEM for www").and.contain("(disk full?)").and.contain("is unchanged");
                expect(fs.readFileSync(`${scratch}/certs/www.pem`, "utf8")).to.equal(live);
                expect(fs.readdirSync(`${scratch}/certs`).sort()).to.deep.equal(["filler", "www.pem"]);
            } finally {
                execFileSync("umount", [`${scratch}/certs`]);
            }
        });

        it("says openssl is missing when it is", () => {
            lineage("own");
            const tools = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-tools-"));
            for (const tool of ["sh", "cat", "mktemp", "rm", "flock", "date", "cmp", "chmod", "chgrp", "mv"]) {
                fs.symlinkSync(execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim(), path.join(tools, tool));
            }
            const result = spawnSync(path.join(tools, "sh"), ["-s"], {
                input: installPemScript(config, config.sites[0], "www serial=00"),
                encoding: "utf8",
                env: { PATH: tools },
            });
            fs.rmSync(tools, { recursive: true, force: true });
            expect(result.status).to.equal(1);
            expect(result.stderr).to.contain("the host has no openssl");
        });

        it("fails when certbot has no such certificate", () => {
            const result = install();
            expect(result.status).to.equal(1);
            expect(result.stderr).to.contain("certbot has no certificate named www");
        });
    });

    describe("configuration delivery, run for real in a scratch directory", () => {
        // The script's file handling runs for real; `docker` is a stand-in that only answers the
        // configuration check as told (the end-to-end tests run the same script with the real engine and
        // the image's own haproxy -c).
        let scratch: string;
        let config: EdgeProxyConfig;
        const DOCKER_STANDIN = `#!/bin/sh
case "$1" in
    run) case "$CHECK" in accept) exit 0 ;; reject) echo "[ALERT] rejected by the test" >&2; exit 1 ;; hang) exec sleep 60 ;; esac ;;
    network) echo br-edge ;;
esac
exit 0
`;
        function deliver(check: "accept" | "reject" | "hang", change?: (c: EdgeProxyConfig) => void) {
            const next = structuredClone(config);
            change?.(next);
            const files = renderHaproxyConfig(next);
            const script = deliverConfigScript(next, files);
            const env = { PATH: `${scratch}/bin:${process.env.PATH}`, CHECK: check };
            return {
                files,
                run: () => spawnSync("sh", ["-s"], { input: script, encoding: "utf8", env, timeout: 20_000 }),
                start: () => spawn("sh", ["-s"], { env, stdio: ["pipe", "ignore", "ignore"], detached: true }),
                script,
            };
        }
        /** The live set as HAProxy reads it through the configuration directory's links. */
        const live = () =>
            Object.fromEntries(["haproxy.cfg", "sites.map", "certs.list"].map((name) => [name, fs.readFileSync(`${scratch}/cfg/${name}`, "utf8")]));
        beforeEach(() => {
            scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-deliver-"));
            config = devConfigIn(scratch);
            for (const dir of ["bin", "cfg", "certs", "letsencrypt"]) {
                fs.mkdirSync(`${scratch}/${dir}`);
            }
            fs.writeFileSync(`${scratch}/bin/docker`, DOCKER_STANDIN, { mode: 0o755 });
        });
        afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

        it("installs the three files as one release that `current` names, linked from the configuration directory", () => {
            const first = deliver("accept");
            const result = first.run();
            expect(result.status, result.stderr).to.equal(0);
            const release = /^configuration ([0-9a-f]{16})$/m.exec(result.stdout)![1];
            expect(fs.readlinkSync(`${scratch}/cfg/current`)).to.equal(`releases/${release}`);
            for (const name of ["haproxy.cfg", "sites.map", "certs.list"]) {
                expect(fs.readlinkSync(`${scratch}/cfg/${name}`), name).to.equal(`current/${name}`);
            }
            expect(live()).to.deep.equal({ "haproxy.cfg": first.files.cfg, "sites.map": first.files.sitesMap, "certs.list": first.files.certsList });
            expect(fs.readdirSync(`${scratch}/cfg`).sort()).to.deep.equal(["certs.list", "current", "haproxy.cfg", "releases", "sites.map"]);
            // HAProxy runs as uid 99 in 2.4+ images: the way to the release is open, the release itself to its group only.
            for (const dir of ["releases", `releases/${release}`]) {
                expect((fs.statSync(`${scratch}/cfg/${dir}`).mode & 0o777).toString(8), dir).to.equal(dir === "releases" ? "755" : "750");
            }
            // The metrics password's hash is in haproxy.cfg: root and HAProxy's group only (the dev stack's 1.7 runs as root: group 0).
            expect((fs.statSync(`${scratch}/cfg/current/haproxy.cfg`).mode & 0o777).toString(8)).to.equal("640");
            expect(fs.statSync(`${scratch}/cfg/current/haproxy.cfg`).gid).to.equal(0);
        });

        it("with the metrics on loopback, lists the host's addresses on the container's bridge in the release; a bridge without one changes nothing", () => {
            // \`ip -o addr show dev br-edge scope global\` as iproute2 prints it, for the bridge \`docker network inspect\` names.
            const IP_STANDIN = (lines: string) => `#!/bin/sh\n[ "$*" = "-o addr show dev br-edge scope global" ] || exit 1\nprintf '${lines}'\n`;
            const loopbackMetrics = (c: EdgeProxyConfig) => {
                c.haproxy.metrics = { address: "127.0.0.1", port: 8404, user: undefined };
            };
            fs.writeFileSync(
                `${scratch}/bin/ip`,
                IP_STANDIN("7: br-edge    inet 172.18.0.1/16 brd 172.18.255.255 scope global br-edge\\n" + "7: br-edge    inet6 fd00:e::1/64 scope global \\n"),
                { mode: 0o755 },
            );
            const first = deliver("accept", loopbackMetrics);
            expect(first.files.cfg).to.contain("tcp-request connection reject unless { src -f /usr/local/etc/haproxy/metrics-sources }");
            const result = first.run();
            expect(result.status, result.stderr).to.equal(0);
            expect(fs.readlinkSync(`${scratch}/cfg/metrics-sources`)).to.equal("current/metrics-sources");
            expect(fs.readFileSync(`${scratch}/cfg/metrics-sources`, "utf8")).to.equal("172.18.0.1\nfd00:e::1\n");
            const before = live();
            fs.writeFileSync(`${scratch}/bin/ip`, IP_STANDIN(""), { mode: 0o755 });
            const second = deliver("accept", (c) => {
                loopbackMetrics(c);
                c.sites[0].backends[0].port = 8099;
            });
            const failed = second.run();
            expect(failed.status).to.equal(1);
            expect(failed.stderr).to.contain("the Docker bridge br-edge has no address");
            expect(live(), "the running configuration").to.deep.equal(before);
            expect(
                fs.readdirSync(`${scratch}/cfg`).filter((name) => name.startsWith(".staging")),
                "staging left behind",
            ).to.deep.equal([]);
            // The metrics off: the release has no source list, and its link goes with the swap.
            const off = deliver("accept", (c) => {
                c.haproxy.metrics = undefined;
            }).run();
            expect(off.status, off.stderr).to.equal(0);
            expect(fs.readdirSync(`${scratch}/cfg`).sort()).to.deep.equal(["certs.list", "current", "haproxy.cfg", "releases", "sites.map"]);
        });

        it("swaps whole releases, keeps the previous one, and changes nothing when nothing changed", () => {
            const releases = [8081, 8082, 8083].map((port) => {
                const delivery = deliver("accept", (c) => {
                    c.sites[0].backends[0].port = port;
                });
                expect(delivery.run().status).to.equal(0);
                expect(live()["haproxy.cfg"]).to.equal(delivery.files.cfg);
                return fs.readlinkSync(`${scratch}/cfg/current`);
            });
            expect(
                fs
                    .readdirSync(`${scratch}/cfg/releases`)
                    .map((r) => `releases/${r}`)
                    .sort(),
            ).to.deep.equal([releases[1], releases[2]].sort());
            const again = deliver("accept", (c) => {
                c.sites[0].backends[0].port = 8083;
            }).run();
            expect(again.stderr, "a delivery of the same files").to.not.contain("installed");
            expect(fs.readlinkSync(`${scratch}/cfg/current`)).to.equal(releases[2]);
        });

        it("turns the plain files of an older edge-proxy into links", () => {
            for (const name of ["haproxy.cfg", "sites.map", "certs.list"]) {
                fs.writeFileSync(`${scratch}/cfg/${name}`, `old ${name}\n`);
            }
            const delivery = deliver("accept");
            expect(delivery.run().status).to.equal(0);
            expect(live()["sites.map"]).to.equal(delivery.files.sitesMap);
            expect(fs.readlinkSync(`${scratch}/cfg/sites.map`)).to.equal("current/sites.map");
        });

        it("keeps the live set when HAProxy rejects the new one", () => {
            expect(deliver("accept").run().status).to.equal(0);
            const before = live();
            const rejected = deliver("reject", (c) => {
                c.sites[0].backends[0].port = 9999;
            }).run();
            expect(rejected.status).to.equal(1);
            expect(rejected.stderr).to.contain("[ALERT] rejected by the test").and.contain("the running configuration is unchanged");
            expect(live()).to.deep.equal(before);
            expect(fs.readdirSync(`${scratch}/cfg`).filter((name) => name.startsWith("."))).to.deep.equal([]);
        });

        it("leaves the live set whole when killed half-way, and the next run clears what it left", async () => {
            expect(deliver("accept").run().status).to.equal(0);
            const before = live();
            const killed = deliver("hang", (c) => {
                c.sites[0].backends[0].port = 9999;
            });
            const child = killed.start();
            child.stdin!.end(killed.script);
            // Killed while the new files wait for their check: the whole process group, as a dropped SSH session would be.
            for (let i = 0; i < 100 && !fs.readdirSync(`${scratch}/cfg`).some((name) => name.startsWith(".staging.")); i++) {
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
            await new Promise((resolve) => setTimeout(resolve, 300));
            process.kill(-child.pid!, "SIGKILL");
            expect(live()).to.deep.equal(before);
            expect(fs.readdirSync(`${scratch}/cfg`).filter((name) => name.startsWith(".staging.")).length, "left by the killed run").to.equal(1);
            const next = deliver("accept", (c) => {
                c.sites[0].backends[0].port = 9999;
            });
            expect(next.run().status).to.equal(0);
            expect(live()["haproxy.cfg"]).to.equal(next.files.cfg);
            expect(fs.readdirSync(`${scratch}/cfg`).filter((name) => name.startsWith("."))).to.deep.equal([]);
        });
    });

    describe("prepare, run for real in a scratch directory", () => {
        let scratch: string;
        let config: EdgeProxyConfig;
        const run = () => execFileSync("sh", ["-s"], { input: prepareHostScript(config), encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
        beforeEach(() => {
            scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-prepare-"));
            config = devConfigIn(scratch);
            config.acme.challengeAddress = "127.0.0.1"; // an address every machine has (docker0 may not exist here)
            // The preparation records the directories under /var/lib/edge-proxy/<container>: a name of this test's own.
            config.haproxy.containerName = `prepare-${path.basename(scratch).replace(/[^a-zA-Z0-9]/g, "")}`;
        });
        afterEach(() => {
            fs.rmSync(scratch, { recursive: true, force: true });
            fs.rmSync(hostStatePath(config.haproxy.containerName), { recursive: true, force: true });
        });

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
            // edge-proxy/: the step ledger, where the preparation records itself for the next drift check.
            expect(fs.readdirSync(`${scratch}/letsencrypt`).sort()).to.deep.equal([".edge-proxy.lock", "edge-proxy", "etc", "log", "var"]);
            expect(fs.readFileSync(`${scratch}/letsencrypt/edge-proxy/steps/prepare`, "utf8")).to.equal("token \n");
            expect(fs.readdirSync(`${scratch}/certs`).sort()).to.deep.equal(["wiki.pem", "www.pem"]);
            const pem = fs.readFileSync(`${scratch}/certs/www.pem`, "utf8");
            expect(pem).to.match(/^-----BEGIN CERTIFICATE-----[\s\S]*-----BEGIN PRIVATE KEY-----/);
            expect(mode(`${scratch}/certs/www.pem`)).to.equal("640");
            expect(execFileSync("openssl", ["x509", "-noout", "-subject", "-ext", "subjectAltName", "-in", `${scratch}/certs/www.pem`], { encoding: "utf8" }))
                .to.contain("edge-proxy placeholder for www")
                .and.contain("DNS:www.example.com, DNS:example.com");
        });

        it("waits for the host lock (as during a renewal), saying so, then proceeds", () => {
            fs.mkdirSync(`${scratch}/letsencrypt`, { recursive: true });
            const holder = spawn("flock", [`${scratch}/letsencrypt/.edge-proxy.lock`, "sleep", "2"], { stdio: "ignore" });
            try {
                spawnSync("sleep", ["0.3"]);
                const started = Date.now();
                const result = spawnSync("sh", ["-s"], { input: prepareHostScript(config), encoding: "utf8" });
                expect(result.status, result.stderr).to.equal(0);
                expect(result.stderr).to.contain("waiting for another edge-proxy step on this host");
                expect(Date.now() - started, "prepare waited for the lock").to.be.greaterThan(1000);
                expect(fs.readdirSync(`${scratch}/certs`).sort()).to.deep.equal(["wiki.pem", "www.pem"]);
            } finally {
                holder.kill();
            }
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

describeWith([program("dash", "Debian's dash")], "the renewal job's certificates not in service, run for real by dash", () => {
    let scratch: string;
    beforeEach(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-unapplied-"));
        fs.mkdirSync(`${scratch}/edge-proxy`);
    });
    afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

    /**
     * The renewal job's functions (sh-unapplied-certificates.hbs) for the sites www and wiki, with an
     * apply_certificates that records its arguments and succeeds or fails as `applies` says, after `changed`.
     */
    function run(changed: string, applies: boolean) {
        const functions = renderPartial("sh-unapplied-certificates", { dataDir: scratch });
        const script = `set -eu
log() { printf '%s\\n' "$*" >&2; }
apply_certificates() { echo "applied $*"; ${applies ? "return 0" : "return 1"}; }
${functions}
changed="${changed}"
with_unapplied www wiki
if apply_changed; then echo ok; else echo failed; fi
`;
        const result = spawnSync("dash", ["-c", script], { encoding: "utf8" });
        expect(result.status, result.stderr).to.equal(0);
        return result.stdout;
    }
    const recorded = () =>
        fs.existsSync(`${scratch}/edge-proxy/unapplied-certificates`) ? fs.readFileSync(`${scratch}/edge-proxy/unapplied-certificates`, "utf8") : null;

    it("records what a run could not put in service, puts it in service with the next run's, then forgets it", () => {
        expect(run(" www", false)).to.equal("applied www\nfailed\n");
        expect(recorded()).to.equal("www\n");
        expect(run(" wiki", true), "the next run's and the one recorded").to.equal("applied wiki www\nok\n");
        expect(recorded()).to.equal(null);
    });

    it("keeps the record across a run with nothing new that fails again, and drops a name that is no longer a site", () => {
        fs.writeFileSync(`${scratch}/edge-proxy/unapplied-certificates`, "gone\nwww\nwww\n");
        expect(run("", false)).to.equal("applied www\nfailed\n");
        expect(recorded()).to.equal("www\n");
    });
});
