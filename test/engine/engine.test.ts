/**
 * The stack under the real Pulumi engine and the real docker and command provider plugins, on the
 * end-to-end environment (Docker engine, SSH host, Pebble): what an operator does with `pulumi preview`,
 * `up`, `refresh` and `destroy`, each checked from outside. The changes are those of scenarios.ts, which
 * the stand-in engine (dev/realize.ts) is held to as well, so the two cannot drift apart unseen.
 *
 * Runs whenever the CLI and the plugins at the pinned versions are installed; otherwise it says in one
 * line why it did not run and its tests are reported pending, never passed.
 */

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { argsFromStackSettings, EdgeProxy } from "../../components";
import { run } from "../../dev/env/command";
import { stopAll } from "../../dev/env/process";
import { CONTAINER, type Environment, METRICS_AUTH, PORTS, phase, rfc2136Values, type StackValues, startEnvironment } from "../../dev/environment";
import { runProgram } from "../../dev/mocks";
import { PROJECT_DIR } from "../../dev/paths";
import { REPLACE_ON_CHANGES } from "../../dev/realize";
import { createEngineStack, ENGINE_BIN, type EngineStack, engineUnavailable, requiredPlugins } from "../../dev/workspace";
import {
    expectCertificates,
    expectEverySiteServed,
    expectMetricsBehindAuthentication,
    expectNothingLeftAfterDestroy,
    expectServedAfterRestart,
    expectStatusOfServed,
    haproxyPids,
    haproxyReloads,
    httpsGet,
    servedCertificate,
    servedCertificates,
    waitUntilServed,
} from "../e2e/checks";
import { DRIFTS, SCENARIOS, STEPS_NAMING_A_DIRECTORY, valuesAfter } from "../e2e/scenarios";
import { describeWith, ENVIRONMENT } from "../support/needs";
import { stackFileSettings } from "../support/settings";

const DIR = "/var/tmp/edge-proxy-e2e/engine";

describeWith(ENVIRONMENT, "the real Pulumi engine with the docker and command provider plugins", function () {
    this.timeout(900_000);
    let env: Environment;
    let engine: EngineStack;
    let resources: number;

    before(async function () {
        const unavailable = engineUnavailable();
        if (unavailable) {
            console.log(`      real-engine suite did not run: ${unavailable}`);
            this.skip();
        }
        env = await startEnvironment(path.join(DIR, "env"));
        engine = await createEngineStack(env, path.join(DIR, "stack"));
        engine.setValues(env.stackValues());
    });

    after(async () => {
        if (env) {
            await phase("stop everything started", () => stopAll());
        }
    });

    it("has the replace-on-change inputs the stand-in engine assumes, in the plugins' own schemas", async () => {
        // The stand-in (dev/realize.ts) replaces a resource exactly when one of these changes.
        const declared = await runProgram(
            () =>
                new EdgeProxy(
                    "schema",
                    argsFromStackSettings({ ...stackFileSettings(path.join(PROJECT_DIR, "Pulumi.dev.yaml")), detectDrift: false, sshPrivateKey: "key" }),
                ),
        );
        for (const plugin of requiredPlugins()) {
            const schema = JSON.parse(
                (
                    await run(path.join(ENGINE_BIN, "pulumi"), ["package", "get-schema", plugin.file], {
                        env: { PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" },
                        timeoutMs: 120_000,
                    })
                ).stdout,
            );
            expect(schema.version, `${plugin.name}'s schema version`).to.equal(plugin.version);
            for (const [type, assumed] of Object.entries(REPLACE_ON_CHANGES).filter(([token]) => token.startsWith(`${plugin.name}:`))) {
                const used = new Set(declared.filter((r) => r.type === type).flatMap((r) => Object.keys(r.inputs)));
                // The command plugin marks them `replaceOnChanges`; the bridged docker plugin `willReplaceOnChanges`.
                const properties: Record<string, { replaceOnChanges?: boolean; willReplaceOnChanges?: boolean }> = schema.resources[type].inputProperties;
                const replacing = Object.entries(properties)
                    .filter(([, spec]) => spec.replaceOnChanges || spec.willReplaceOnChanges)
                    .map(([key]) => key);
                expect(replacing.filter((key) => used.has(key) || assumed.includes(key)).sort(), `${type}: replace-on-change inputs`).to.deep.equal(
                    [...assumed].sort(),
                );
            }
        }
    });

    it("fails preview and up on a docker endpoint whose host key is not the pinned one, before the host changes", async () => {
        // Another host's key pinned: the docker provider's ssh must refuse the host, as the commands would.
        engine.setValues({ ...env.stackValues(), sshHostKey: env.backendSshd.hostPublicKey });
        const attempts: [string, () => Promise<unknown>][] = [
            ["preview", () => engine.stack.preview({ color: "never" })],
            ["up", () => engine.up()],
        ];
        for (const [what, operation] of attempts) {
            let error: Error | undefined;
            try {
                await phase(`pulumi ${what} with the wrong host key`, operation);
            } catch (e) {
                error = e as Error;
            }
            expect(error?.message, `${what}'s error`).to.contain("Host key verification failed");
            expect(fs.existsSync(env.paths.configDir) || fs.existsSync(env.paths.certsDir), `host directories after the failed ${what}`).to.equal(false);
        }
        // The failed up recorded the components it had registered: an empty stack again for the next test.
        engine.setValues(env.stackValues());
        await engine.stack.destroy({ color: "never" });
    });

    it("sshTrustOnFirstUse: the first preview pins the key the host presents; another host at the address is refused before it receives anything", async () => {
        const trusting: StackValues = { ...env.stackValues(), sshTrustOnFirstUse: true };
        delete trusting.sshHostKey;
        engine.setValues(trusting);
        const first = await phase("pulumi preview trusting on first use", () => engine.preview());
        expect(first.warnings.join("\n"), "the warning with the key to pin").to.contain(`pulumi config set sshHostKey '${env.host.hostPublicKey}'`);
        // The same stack now reaching another sshd (another host key) at the host's address: refused.
        engine.setValues({ ...trusting, hostAddress: env.bridge, sshPort: PORTS.backendSshd });
        let error: Error | undefined;
        try {
            await phase("pulumi up against a host with another key", () => engine.up());
        } catch (e) {
            error = e as Error;
        }
        expect(error?.message, "up's error").to.contain("Host key verification failed");
        expect(fs.existsSync(env.paths.configDir) || fs.existsSync(env.paths.certsDir), "host directories after the refused up").to.equal(false);
        engine.setValues(env.stackValues());
        await engine.stack.destroy({ color: "never" });
    });

    it("previews a first up: every resource a create, nothing touched on the host", async () => {
        const preview = await phase("pulumi preview", () => engine.stack.preview({ color: "never" }));
        const summary = preview.changeSummary;
        console.log(`      [engine] preview: ${JSON.stringify(summary)}`);
        expect(Object.keys(summary), "only creates").to.deep.equal(["create"]);
        resources = summary.create!;
        expect(fs.existsSync(env.paths.certsDir), "certs directory after preview").to.equal(false);
    });

    it("converges with one up: every site served with its certificate, after a docker restart too", async () => {
        const operations = await phase("pulumi up on an empty host", () => engine.up());
        console.log(`      [engine] first up: ${operations.length} creates`);
        expect(
            operations.every((operation) => operation.startsWith("create ")),
            operations.join(", "),
        ).to.equal(true);
        // 8 remote commands (preparation, configuration, certbot and PEM per site, reload, renewal), image, container.
        expect(operations.length, "custom resources created").to.equal(10);
        expect(resources, "preview's creates: those, 5 components, the stack and the docker provider").to.equal(10 + 5 + 2);
        await expectEverySiteServed(env, env.stackValues(), "first up");
        await expectServedAfterRestart(env, env.stackValues(), "first up");
    });

    it("serves HAProxy's metrics behind the basic authentication whose password is a stack secret", async () => {
        await expectMetricsBehindAuthentication(env);
    });

    it("exports each site's served certificate as the PEM step reported it, in plain view (no secret in it)", async () => {
        const outputs = await engine.stack.outputs();
        expect(outputs.sites.secret, "the sites output is not a secret").to.equal(false);
        const served = await servedCertificates(env.stackValues());
        for (const site of env.stackValues().sites) {
            const exported = outputs.sites.value[site.name];
            expect(served[site.name], `${site.name}: served`).to.contain(`serial=${exported.serial}\n`);
            expect(new Date(exported.notAfter).getTime(), `${site.name}: notAfter`).to.be.greaterThan(Date.now());
            expect(exported.issuer, `${site.name}: issuer`).to.match(/^CN=Pebble Intermediate CA [0-9a-f]+$/);
            expect(exported.names, `${site.name}: names`).to.deep.equal(site.domains);
        }
    });

    it("npm run status, with the stack's configuration and secrets read through the real CLI: all well, exit 0", async () => {
        const status = await run("node", [path.join(PROJECT_DIR, "bin", "tools", "status.js"), "--stack", "e2e", "--json"], {
            cwd: path.join(engine.dir, "project"),
            env: { ...process.env, ...engine.cliEnv },
            allowFailure: true,
            timeoutMs: 300_000,
        });
        expect(status.code, `status:\n${status.stdout}\n${status.stderr}`).to.equal(0);
        const report = JSON.parse(status.stdout);
        expect(report.attention).to.deep.equal([]);
        expect(report.configuration.current, "the live configuration is the stack's").to.equal(true);
        expect(report.configuration.live).to.equal((await engine.stack.outputs()).configurationDigest.value);
        const served = await servedCertificates(env.stackValues());
        for (const site of report.sites) {
            expect(served[site.name], `${site.name}: served`).to.contain(`serial=${site.names[0].serial}\n`);
            expect(site.renewal.result, `${site.name}: the last certbot run`).to.equal("ok");
        }
        await expectStatusOfServed(env, env.stackValues(), "after the first up");
    });

    it("does nothing on a second up: no step, no ACME order, HAProxy's processes left alone", async () => {
        const orders = env.pebble.countNewOrders();
        const pids = await haproxyPids();
        const operations = await phase("pulumi up, nothing changed", () => engine.up());
        expect(operations, "steps of a no-op up").to.deep.equal([]);
        expect(env.pebble.countNewOrders(), "new ACME orders").to.equal(orders);
        expect(await haproxyPids(), "HAProxy processes").to.equal(pids);
    });

    it("refreshes without a change", async () => {
        const refresh = await phase("pulumi refresh", () => engine.stack.refresh({ color: "never" }));
        console.log(`      [engine] refresh: ${JSON.stringify(refresh.summary.resourceChanges)}`);
        expect(Object.keys(refresh.summary.resourceChanges ?? {}), "refresh").to.deep.equal(["same"]);
    });

    it("an up killed while certbot runs (the operator's machine gone): the next up converges, no PEM lost, then nothing to do", async () => {
        const base = env.stackValues();
        const widened = structuredClone(base);
        widened.sites.find((site) => site.name === "site-b")!.domains.push("www.b.e2e.test");
        engine.setValues(widened);
        const before = await servedCertificates(base);
        // The CLI, its language host and its plugins in a process group of their own, killed together.
        const cli = spawn(path.join(ENGINE_BIN, "pulumi"), ["up", "--yes", "--skip-preview", "--non-interactive", "--color", "never", "--stack", "e2e"], {
            cwd: path.join(engine.dir, "project"),
            env: { ...process.env, ...engine.cliEnv },
            detached: true,
            stdio: "ignore",
        });
        let certbotSeen = false;
        for (let attempt = 0; attempt < 600 && !certbotSeen && cli.exitCode === null; attempt++) {
            certbotSeen = (await run("docker", ["ps", "--quiet", "--filter", `name=^${CONTAINER}-certbot$`])).stdout.trim() !== "";
            if (!certbotSeen) {
                await new Promise((resolve) => setTimeout(resolve, 200));
            }
        }
        expect(certbotSeen, "certbot running when the up is killed").to.equal(true);
        process.kill(-cli.pid!, "SIGKILL");
        await new Promise((resolve) => cli.once("exit", resolve));
        await expectEverySiteServed(env, base, "right after the killed up");
        // The killed CLI left the stack's lock: the operator removes it, as the next up's error says.
        const cancel = await run(path.join(ENGINE_BIN, "pulumi"), ["cancel", "--yes", "--stack", "e2e", "--non-interactive"], {
            cwd: path.join(engine.dir, "project"),
            env: { ...process.env, ...engine.cliEnv },
            allowFailure: true,
        });
        console.log(`      [engine] pulumi cancel: exit ${cancel.code}: ${`${cancel.stdout}${cancel.stderr}`.trim().split("\n")[0]}`);
        const operations = await phase("pulumi up after the killed one", () => engine.up());
        console.log(`      [engine] up after the killed one: ${operations.join(", ")}`);
        expect(
            operations.every((operation) => operation.startsWith("update ")),
            `in place only: ${operations.join(", ")}`,
        ).to.equal(true);
        expect(operations).to.include.members(["update e2e-cert-site-b-certbot", "update e2e-cert-site-b-pem"]);
        expectCertificates(before, await servedCertificates(widened), ["site-b"], "after the killed up and the next");
        await expectEverySiteServed(env, widened, "after the killed up and the next");
        expect(await phase("pulumi up again", () => engine.up()), "a third up").to.deep.equal([]);
        // Back to the stack the later tests start from.
        engine.setValues(base);
        await phase("pulumi up back to the base stack", () => engine.up());
        await expectEverySiteServed(env, base, "back to the base stack");
    });

    /**
     * Drift (scenarios.ts): something on the host changed by someone else. `preview` must announce, as a
     * change of the step that owns it, exactly what drifted, with a warning saying what; `up` must carry out
     * just that, with no ACME order unless a lineage is gone, and every site must then serve its certificate
     * (serials compared with before); a second preview must announce nothing.
     */
    DRIFTS.forEach((drift) => {
        it(`drift: ${drift.title}: preview announces ${drift.operations.length} steps, up runs them, a second preview none`, async () => {
            const values = env.stackValues();
            const served = await servedCertificates(values);
            await drift.make(env);
            const preview = await phase(`pulumi preview after ${drift.title}`, () => engine.preview());
            console.log(`      [engine] ${drift.title}: preview ${preview.operations.join(", ")}; warnings: ${preview.warnings.join(" | ")}`);
            expect(preview.operations, `preview after ${drift.title}`).to.deep.equal(drift.operations);
            for (const warning of drift.warnings) {
                expect(preview.warnings.join("\n"), `preview's warnings after ${drift.title}`).to.match(warning);
            }
            const orders = env.pebble.countNewOrders();
            const operations = await phase(`pulumi up after ${drift.title}`, () => engine.up());
            console.log(`      [engine] ${drift.title}: up ${operations.join(", ")}`);
            expect(operations, `up after ${drift.title}`).to.deep.equal(drift.operations);
            expect(env.pebble.countNewOrders() - orders, `ACME orders after ${drift.title}`).to.equal(drift.orders);
            expectCertificates(served, await servedCertificates(values), drift.newCertificates, drift.title);
            await expectEverySiteServed(env, values, drift.title);
            drift.check?.(env);
            expect(
                (await phase(`pulumi preview once ${drift.title} is repaired`, () => engine.preview())).operations,
                `a second preview after ${drift.title}`,
            ).to.deep.equal([]);
        });
    });

    it("drift then refresh: a container removed and refreshed away is created again by up, no other step", async () => {
        await run("docker", ["rm", "-f", CONTAINER]);
        const refresh = await phase("pulumi refresh after the container was removed", () => engine.stack.refresh({ color: "never" }));
        console.log(`      [engine] refresh: ${JSON.stringify(refresh.summary.resourceChanges)}`);
        expect(refresh.summary.resourceChanges?.delete, "the container, gone from the state").to.equal(1);
        expect((await engine.preview()).operations, "preview").to.deep.equal(["create e2e-haproxy-container"]);
        expect(await phase("pulumi up after the refresh", () => engine.up()), "up").to.deep.equal(["create e2e-haproxy-container"]);
        await expectEverySiteServed(env, env.stackValues(), "after refresh and up");
        expect((await engine.preview()).operations, "a second preview").to.deep.equal([]);
    });

    it("the Docker engine restarted: the container serves again, and preview and up find nothing to do", async function () {
        if (!(await phase("dockerd restart", () => env.restartDockerd()))) {
            console.log("      [engine] the Docker engine was not started by this test: not restarting it");
            this.skip();
        }
        await waitUntilServed(env, env.stackValues());
        expect((await engine.preview()).operations, "preview after the engine's restart").to.deep.equal([]);
        expect(await phase("pulumi up after the engine's restart", () => engine.up()), "up").to.deep.equal([]);
        await expectEverySiteServed(env, env.stackValues(), "after the engine's restart");
    });

    it("rotates the SSH key with one configuration change and up; the docker provider logs in with the new key too", async () => {
        const keyDir = fs.mkdtempSync(path.join(DIR, "rotated-"));
        const keyFile = path.join(keyDir, "id");
        await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "rotated", "-f", keyFile]);
        const authorizedKeys = path.join(path.dirname(env.host.privateKeyFile), "authorized_keys");
        const oldKeys = fs.readFileSync(authorizedKeys, "utf8");
        fs.appendFileSync(authorizedKeys, fs.readFileSync(`${keyFile}.pub`, "utf8"));
        await engine.stack.setConfig("edge-proxy:sshPrivateKey", { value: fs.readFileSync(keyFile, "utf8"), secret: true });
        const orders = env.pebble.countNewOrders();
        const operations = await phase("pulumi up with a new sshPrivateKey", () => engine.up());
        console.log(`      [engine] key rotated: ${operations.join(", ")}`);
        // Every step's connection changed: each runs once in place, and finds nothing to do.
        // Every host step: the same list as the steps that name a directory.
        expect(operations, "steps of a key rotation").to.deep.equal(STEPS_NAMING_A_DIRECTORY);
        expect(env.pebble.countNewOrders() - orders, "ACME orders").to.equal(0);
        // The old key no longer opens the host: the drift check, the commands and the docker provider use the new one.
        fs.writeFileSync(authorizedKeys, fs.readFileSync(`${keyFile}.pub`, "utf8"));
        try {
            expect(await phase("pulumi up with only the new key authorized", () => engine.up()), "steps").to.deep.equal([]);
            expect((await engine.preview()).operations, "preview").to.deep.equal([]);
        } finally {
            fs.writeFileSync(authorizedKeys, oldKeys);
            await engine.stack.setConfig("edge-proxy:sshPrivateKey", { value: env.host.privateKey, secret: true });
        }
        expect(await phase("pulumi up with the first key again", () => engine.up()), "steps").to.have.length(8);
    });

    SCENARIOS.forEach((scenario, i) => {
        it(`${scenario.title}: ${scenario.operations.length} steps, ${scenario.orders} ACME order(s), every site served after a docker restart`, async () => {
            const before = valuesAfter(env, i);
            const after = valuesAfter(env, i + 1);
            const served = await servedCertificates(before);
            const orders = env.pebble.countNewOrders();
            const reloads = await haproxyReloads();
            engine.setValues(after);
            const operations = await phase(`pulumi up: ${scenario.title}`, () => engine.up());
            console.log(`      [engine] ${scenario.title}: ${operations.join(", ")}`);
            expect(operations, `steps of "${scenario.title}"`).to.deep.equal(scenario.operations);
            expect(env.pebble.countNewOrders() - orders, "new ACME orders").to.equal(scenario.orders);
            if (scenario.reloads !== undefined) {
                expect((await haproxyReloads()) - reloads, "HAProxy reloads").to.equal(scenario.reloads);
            }
            expectCertificates(served, await servedCertificates(after), scenario.newCertificates, scenario.title);
            await expectEverySiteServed(env, after, scenario.title);
            await expectServedAfterRestart(env, after, scenario.title);
            scenario.check?.(after, env);
        });
    });

    it("DNS-01 and a wildcard: created in place beside the others, served by SNI; a new TSIG secret updates its credentials step only", async () => {
        const values = { ...valuesAfter(env, SCENARIOS.length), ...rfc2136Values(env) } as StackValues;
        values.sites = [
            ...values.sites,
            { name: "wild", challenge: "dns-01", domains: ["*.w.dns01.test"], backends: [`${env.bridge}:${PORTS.webA}`] } as StackValues["sites"][number],
        ];
        await engine.stack.setConfig("edge-proxy:rfc2136KeySecret", { value: env.dns.tsig.secret, secret: true });
        engine.setValues(values);
        const orders = env.pebble.countNewOrders();
        const operations = await phase("pulumi up adding a DNS-01 wildcard site", () => engine.up());
        console.log(`      [engine] DNS-01 site added: ${operations.join(", ")}`);
        expect(operations, "steps").to.deep.equal([
            "create e2e-cert-wild-certbot",
            "create e2e-cert-wild-pem",
            "create e2e-dns-credentials-file",
            "update e2e-certificates-reload",
            "update e2e-config-delivery",
            "update e2e-prepare-directories",
            "update e2e-renewal-cron",
        ]);
        expect(env.pebble.countNewOrders() - orders, "ACME orders").to.equal(1);
        expect(await servedCertificate("x.w.dns01.test"), "the wildcard certificate").to.match(/DNS:\*\.w\.dns01\.test/);
        expect(await httpsGet(env, "x.w.dns01.test"), "a name under the wildcard").to.match(/^200 site-a proto=https/);
        await expectEverySiteServed(env, { ...values, sites: values.sites.filter((site) => site.name !== "wild") }, "beside the DNS-01 site");

        await engine.stack.setConfig("edge-proxy:rfc2136KeySecret", { value: Buffer.from("another key").toString("base64"), secret: true });
        expect(await phase("pulumi up with a new TSIG secret", () => engine.up()), "steps of a new secret").to.deep.equal(["update e2e-dns-credentials-file"]);
        await engine.stack.setConfig("edge-proxy:rfc2136KeySecret", { value: env.dns.tsig.secret, secret: true });
        expect(await phase("pulumi up with the zone's TSIG secret again", () => engine.up()), "steps").to.deep.equal(["update e2e-dns-credentials-file"]);
    });

    it("keeps the private key, the metrics password, the alert command and the TSIG secret out of the state", async () => {
        // Lines of the key's body that only this key has (every OpenSSH key starts alike).
        const keyLines = env.host.privateKey
            .split("\n")
            .filter((line) => /^[A-Za-z0-9+/=]{40,}$/.test(line))
            .slice(2);
        expect(keyLines.length, "key lines to look for").to.be.greaterThan(0);
        const exported = await run(path.join(ENGINE_BIN, "pulumi"), ["stack", "export", "--stack", "e2e"], {
            cwd: path.join(engine.dir, "project"),
            env: engine.cliEnv,
        });
        const files = fs
            .readdirSync(path.join(engine.dir, "state"), { recursive: true, encoding: "utf8" })
            .map((file) => path.join(engine.dir, "state", file))
            .filter((file) => fs.statSync(file).isFile());
        for (const [what, text] of [["pulumi stack export", exported.stdout], ...files.map((file) => [file, fs.readFileSync(file, "utf8")])]) {
            for (const line of keyLines) {
                expect(text, what).to.not.contain(line);
            }
            expect(text, `${what}: the metrics password`).to.not.contain(METRICS_AUTH.password);
            expect(text, `${what}: the alert command`).to.not.contain(String(env.stackValues().alertCommand));
            expect(text, `${what}: the TSIG secret`).to.not.contain(env.dns.tsig.secret);
        }
        expect(exported.stdout, "the connection, kept as a secret").to.contain("4dabf18193072939515e22adb298388d");
    });

    let servedBeforeDestroy: Record<string, string>;
    it("destroys every file the stack wrote on the host, and keeps certbot's data", async () => {
        servedBeforeDestroy = await servedCertificates(valuesAfter(env, SCENARIOS.length));
        const result = await phase("pulumi destroy", () => engine.stack.destroy({ color: "never" }));
        console.log(`      [engine] destroy: ${JSON.stringify(result.summary.resourceChanges)}`);
        await expectNothingLeftAfterDestroy(env, ["site-a", "site-b", "site-d", "site-e", "wild"]);
    });

    it("up after destroy converges again from certbot's kept lineages: no ACME order, the same certificates served", async () => {
        const values = valuesAfter(env, SCENARIOS.length);
        await engine.stack.removeConfig("edge-proxy:rfc2136KeySecret");
        engine.setValues(values);
        const orders = env.pebble.countNewOrders();
        const operations = await phase("pulumi up after destroy", () => engine.up());
        expect(
            operations.every((operation) => operation.startsWith("create ")),
            operations.join(", "),
        ).to.equal(true);
        expect(env.pebble.countNewOrders() - orders, "ACME orders").to.equal(0);
        expectCertificates(servedBeforeDestroy, await servedCertificates(values), [], "up after destroy");
        await expectEverySiteServed(env, values, "up after destroy");
        await phase("pulumi destroy again", () => engine.stack.destroy({ color: "never" }));
    });
});
