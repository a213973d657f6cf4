/**
 * The host scripts, rendered for representative stacks: each parses in dash; the renewal's cron entry and
 * its random delay, run for real with stand-ins for sleep and flock. test/integration/hostScripts.test.ts
 * runs shellcheck on them and runs the steps that need root for real.
 */

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { parseCertificateLine } from "../../components/certificates";
import { renewCron, renewScript } from "../../components/hostScripts";
import { loadStackFile } from "../../components/plan";
import { hostScriptsOf } from "../../dev/hostScripts";
import { PROJECT_DIR } from "../../dev/paths";
import { SCRIPT_STACKS } from "../support/stacks";

describe("host scripts", () => {
    for (const stack of SCRIPT_STACKS) {
        const config = loadStackFile(path.join(PROJECT_DIR, stack));
        for (const [name, script] of Object.entries(hostScriptsOf(config))) {
            it(`${stack}: ${name} parses in dash`, () => {
                const parsed = spawnSync("dash", ["-n"], { input: script, encoding: "utf8" });
                expect(parsed.status, parsed.stderr).to.equal(0);
            });
        }
    }

    it("writes a cron entry with the schedule and the script", () => {
        const config = loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
        expect(
            renewCron(config)
                .split("\n")
                .filter((line) => line && !line.startsWith("#")),
        ).to.deep.equal([
            "SHELL=/bin/sh",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "EDGE_PROXY_RENEW_DELAY=300",
            `${config.acme.renewSchedule} root /usr/local/sbin/edge-proxy-renew-edge-proxy >>/srv/letsencrypt/log/edge-proxy-renew.log 2>&1`,
        ]);
    });

    it("waits a random delay below EDGE_PROXY_RENEW_DELAY (cron's) before taking the host lock, and none when run by hand", () => {
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-delay-"));
        try {
            const config = loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
            config.acme.dataDir = path.join(scratch, "data");
            fs.mkdirSync(config.acme.dataDir);
            const bin = path.join(scratch, "bin");
            fs.mkdirSync(bin);
            // sleep records its argument and fails (ending the script under set -e); flock refuses the lock.
            fs.writeFileSync(path.join(bin, "sleep"), `#!/bin/sh\necho "$1" >>${path.join(scratch, "slept")}\nexit 7\n`, { mode: 0o755 });
            fs.writeFileSync(path.join(bin, "flock"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
            const run = (delay?: string) =>
                spawnSync("dash", ["-s"], {
                    input: renewScript(config),
                    encoding: "utf8",
                    timeout: 10_000,
                    env: { PATH: `${bin}:${process.env.PATH}`, ...(delay === undefined ? {} : { EDGE_PROXY_RENEW_DELAY: delay }) },
                });
            const slept = () =>
                fs.existsSync(path.join(scratch, "slept")) ? fs.readFileSync(path.join(scratch, "slept"), "utf8").trim().split("\n").map(Number) : [];
            const byHand = run();
            expect([byHand.status, slept()], byHand.stderr).to.deep.equal([1, []]);
            expect(byHand.stderr).to.contain("giving up");
            for (let i = 0; i < 20; i++) {
                const byCron = run("3");
                expect(byCron.status, byCron.stderr).to.equal(7);
                expect(byCron.stderr).to.match(/waiting [0-2]s \(random delay, at most 3s\) before renewing/);
            }
            expect(slept().every((seconds) => seconds >= 0 && seconds < 3)).to.equal(true);
            expect(new Set(slept()).size, "random").to.be.greaterThan(1);
            const bad = run("5; rm -rf /");
            expect([bad.status, bad.stderr.includes("is not a number of seconds: no delay")], bad.stderr).to.deep.equal([1, true]);
        } finally {
            fs.rmSync(scratch, { recursive: true, force: true });
        }
    });

    it("prints the schedule on no comment line of the renewal script (a comment ends at a newline, code follows)", () => {
        const config = loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
        config.acme.renewSchedule = "*/15 2-4 * * 1-5";
        const comments = renewScript(config)
            .split("\n")
            .filter((line) => /^\s*#/.test(line));
        expect(comments.filter((line) => line.includes(config.acme.renewSchedule))).to.deep.equal([]);
    });

    it("reports no certificate fields for a line of another form (an older edge-proxy's, a stand-in's) rather than failing", () => {
        for (const line of ["www serial=0A1B", "www done", "", "www serial=0A1B notAfter=soon issuer=CN=x"]) {
            expect(parseCertificateLine(line), line).to.deep.equal({});
        }
        expect(parseCertificateLine("site-a serial=0A1B notAfter=2027-02-27T12:00:00Z issuer=CN=Pebble Intermediate CA 1a2b3c\n")).to.deep.equal({
            serial: "0A1B",
            notAfter: "2027-02-27T12:00:00Z",
            issuer: "CN=Pebble Intermediate CA 1a2b3c",
        });
    });
});
