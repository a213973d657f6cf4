/**
 * Every host step that writes a secret or a private key, killed at random points (its whole process
 * group, as a dropped SSH session ends it), then the next step that takes the host lock: no file holding
 * a secret may be left anywhere but its own place. Run for real in a scratch directory; `docker` is a
 * stand-in that accepts the configuration check. The seed is fixed, so a failure repeats.
 */

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import type { EdgeProxyConfig } from "../../components/config/types";
import { hostStatePath } from "../../components/hostPaths";
import { installDnsCredentialsScript, installPemScript, installRenewalScript, prepareHostScript, renewalPaths } from "../../components/hostScripts";
import { loadStackFile } from "../../components/plan";
import { writeSelfSigned } from "../../dev/haproxy";
import { PROJECT_DIR } from "../../dev/paths";
import { describeWith, ROOT } from "../support/needs";

/** Strings only the secrets hold: a file holding one outside its place is a leak. */
const ALERT_TOKEN = "killed-step-alert-token-51f0";
const TSIG_SECRET = "a2lsbGVkLXN0ZXAtdHNpZy1zZWNyZXQ=";
const KEY_MARKER = "PRIVATE KEY-----";

describeWith([ROOT], "host steps killed at random points leave no secret outside its place", () => {
    let scratch: string;
    let config: EdgeProxyConfig;

    /** The stack with a DNS provider, its directories (and its renewal job's files) in the scratch directory. */
    function scratchConfig(): EdgeProxyConfig {
        const next = loadStackFile(path.join(PROJECT_DIR, "test", "stacks", "wildcard-3.2.yaml"));
        next.haproxy.configDir = `${scratch}/cfg`;
        next.haproxy.certsDir = `${scratch}/certs`;
        next.acme.dataDir = `${scratch}/letsencrypt`;
        next.haproxy.containerName = `killed-${path.basename(scratch).replace(/[^a-zA-Z0-9]/g, "")}`;
        return next;
    }
    const env = () => ({ ...process.env, PATH: `${scratch}/bin:${process.env.PATH}` });
    const runToEnd = (script: string) => spawnSync("sh", ["-s"], { input: script, encoding: "utf8", env: env(), timeout: 30_000 });

    /** Starts `script` in a process group of its own and kills the group after `ms`. */
    async function killAfter(script: string, ms: number): Promise<void> {
        const child = spawn("sh", ["-s"], { env: env(), stdio: ["pipe", "ignore", "ignore"], detached: true });
        child.stdin!.end(script);
        const exited = new Promise((resolve) => child.once("exit", resolve));
        await new Promise((resolve) => setTimeout(resolve, ms));
        try {
            process.kill(-child.pid!, "SIGKILL");
        } catch {
            // It finished before its time was up: nothing to kill.
        }
        await exited;
    }

    /** Every file under the scratch directory and the renewal job's places that holds a secret, with where it may be. */
    function secretsOutsideTheirPlace(): string[] {
        const paths = renewalPaths(config);
        const allowed = new Set([
            paths.alertPath,
            `${scratch}/letsencrypt/etc/edge-proxy/dns-rfc2136.ini`,
            ...config.sites.flatMap((site) => [`${scratch}/certs/${site.name}.pem`, `${scratch}/certs/${site.name}-new.pem`]),
            ...config.sites.map((site) => `${scratch}/letsencrypt/etc/live/${site.name}/privkey.pem`),
        ]);
        const files = [
            ...fs.readdirSync(scratch, { recursive: true, encoding: "utf8" }).map((file) => path.join(scratch, file)),
            ...fs
                .readdirSync(path.dirname(paths.scriptPath))
                .filter((file) => file.startsWith(path.basename(paths.scriptPath)))
                .map((file) => path.join(path.dirname(paths.scriptPath), file)),
            ...fs
                .readdirSync(path.dirname(paths.cronPath))
                .filter((file) => file.startsWith(path.basename(paths.cronPath)))
                .map((file) => path.join(path.dirname(paths.cronPath), file)),
        ];
        return files
            .filter((file) => fs.statSync(file).isFile() && !allowed.has(file))
            .filter((file) => {
                const text = fs.readFileSync(file, "utf8");
                return text.includes(ALERT_TOKEN) || text.includes(TSIG_SECRET) || text.includes(KEY_MARKER);
            });
    }

    beforeEach(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-killed-"));
        config = scratchConfig();
        for (const dir of ["bin", "cfg", "certs", "letsencrypt"]) {
            fs.mkdirSync(`${scratch}/${dir}`);
        }
        fs.writeFileSync(`${scratch}/bin/docker`, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        for (const site of config.sites) {
            const live = `${scratch}/letsencrypt/etc/live/${site.name}`;
            fs.mkdirSync(live, { recursive: true });
            writeSelfSigned(`${live}/fullchain.pem`, `${live}/privkey.pem`, "Test R1", {
                names: site.domains.map((domain) => domain.replace(/^\*\./, "x.")),
                days: 30,
            });
        }
    });
    afterEach(() => {
        const paths = renewalPaths(config);
        for (const dir of [path.dirname(paths.scriptPath), path.dirname(paths.cronPath)]) {
            for (const file of fs
                .readdirSync(dir)
                .filter((name) => name.startsWith(path.basename(paths.scriptPath)) || name.startsWith(path.basename(paths.cronPath)))) {
                fs.rmSync(path.join(dir, file), { force: true });
            }
        }
        fs.rmSync(hostStatePath(config.haproxy.containerName), { recursive: true, force: true });
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    it("PEM assembly, the placeholders, the renewal job with its alert command, the DNS credentials: killed anywhere, then the next step", async function () {
        this.timeout(120_000);
        const steps: Record<string, string> = {
            pem: installPemScript(config, config.sites[0], `${config.sites[0].name} serial=00`),
            placeholders: prepareHostScript({ ...config, sites: config.sites.map((site) => ({ ...site, name: `${site.name}-new` })) }),
            alert: installRenewalScript(config, `curl -fsS -K - <<'EOF'\nurl = "https://hooks.example/${ALERT_TOKEN}"\nEOF`),
            credentials: installDnsCredentialsScript(config, TSIG_SECRET),
        };
        // Each step's full run first: the kill points then fall within its length.
        const lengths = Object.fromEntries(
            Object.entries(steps).map(([name, script]) => {
                const started = Date.now();
                const result = runToEnd(script);
                expect(result.status, `${name}: ${result.stderr}`).to.equal(0);
                return [name, Date.now() - started];
            }),
        );
        // Uniform points (fast-check's own doubles lean to their bounds).
        const points = fc.sample(
            fc.tuple(
                fc.constantFrom(...Object.keys(steps)),
                fc.noBias(fc.nat({ max: 999 })).map((n) => n / 1000),
            ),
            { seed: 5150, numRuns: 24 },
        );
        const leaks: string[] = [];
        for (const [name, at] of points) {
            await killAfter(steps[name], Math.floor(at * lengths[name]));
            // Whatever the kill left, the next step that holds the lock (here the PEM step) clears it.
            const next = runToEnd(steps.pem);
            expect(next.status, `the step after ${name} was killed: ${next.stderr}`).to.equal(0);
            leaks.push(...secretsOutsideTheirPlace().map((file) => `${name} killed at ${Math.floor(at * lengths[name])} ms: ${file}`));
        }
        expect(leaks).to.deep.equal([]);
    });
});
