/**
 * The stack under the real Pulumi engine and the real docker and command provider plugins, on the
 * end-to-end environment (Docker engine, SSH host, Pebble): what an operator does with `pulumi preview`,
 * `up`, `refresh` and `destroy`, each checked from outside. The changes are those of scenarios.ts, which
 * the stand-in engine (test/e2e/realize.ts) is held to as well, so the two cannot drift apart unseen.
 *
 * Runs whenever the CLI and the plugins at the pinned versions are installed; otherwise it says in one
 * line why it did not run and its tests are reported pending, never passed.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import {
    expectCertificates, expectEverySiteServed, expectMetricsBehindAuthentication, expectServedAfterRestart, expectStatusOfServed, haproxyPids, httpsGet, servedCertificate,
    servedCertificates,
} from "../e2e/checks";
import { run } from "../e2e/env/command";
import { stopAll } from "../e2e/env/process";
import { CONTAINER, Environment, METRICS_AUTH, PORTS, StackValues, phase, rfc2136Values, startEnvironment } from "../e2e/environment";
import { REPLACE_ON_CHANGES } from "../e2e/realize";
import { SCENARIOS, valuesAfter } from "../e2e/scenarios";
import { runProgram } from "../support/mocks";
import { PROJECT_DIR } from "../support/paths";
import { EdgeProxy } from "../../components";
import { stackFileSettings } from "../support/settings";
import { ENGINE_BIN, EngineStack, createEngineStack, engineUnavailable, requiredPlugins } from "./workspace";

const DIR = "/var/tmp/edge-proxy-e2e/engine";
const RENEW_SCRIPT = `/usr/local/sbin/edge-proxy-renew-${CONTAINER}`;
const RENEW_CRON = `/etc/cron.d/edge-proxy-renew-${CONTAINER}`;

describe("the real Pulumi engine with the docker and command provider plugins", function () {
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
        // The stand-in (test/e2e/realize.ts) replaces a resource exactly when one of these changes.
        const declared = await runProgram(() => new EdgeProxy("schema", { config: stackFileSettings(path.join(PROJECT_DIR, "Pulumi.dev.yaml")), sshPrivateKey: "key" }));
        for (const plugin of requiredPlugins()) {
            const schema = JSON.parse((await run(path.join(ENGINE_BIN, "pulumi"), ["package", "get-schema", plugin.file], {
                env: { PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" }, timeoutMs: 120_000,
            })).stdout);
            expect(schema.version, `${plugin.name}'s schema version`).to.equal(plugin.version);
            for (const [type, assumed] of Object.entries(REPLACE_ON_CHANGES).filter(([token]) => token.startsWith(`${plugin.name}:`))) {
                const used = new Set(declared.filter((r) => r.type === type).flatMap((r) => Object.keys(r.inputs)));
                // The command plugin marks them `replaceOnChanges`; the bridged docker plugin `willReplaceOnChanges`.
                const properties: Record<string, { replaceOnChanges?: boolean; willReplaceOnChanges?: boolean }> = schema.resources[type].inputProperties;
                const replacing = Object.entries(properties).filter(([, spec]) => spec.replaceOnChanges || spec.willReplaceOnChanges).map(([key]) => key);
                expect(replacing.filter((key) => used.has(key) || assumed.includes(key)).sort(), `${type}: replace-on-change inputs`)
                    .to.deep.equal([...assumed].sort());
            }
        }
    });

    it("fails preview and up on a docker endpoint whose host key is not the pinned one, before the host changes", async () => {
        // Another host's key pinned: the docker provider's ssh must refuse the host, as the commands would.
        engine.setValues({ ...env.stackValues(), sshHostKey: env.backendSshd.hostPublicKey });
        const attempts: [string, () => Promise<unknown>][] = [["preview", () => engine.stack.preview({ color: "never" })], ["up", () => engine.up()]];
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
        expect(operations.every((operation) => operation.startsWith("create ")), operations.join(", ")).to.equal(true);
        // 8 remote commands (preparation, configuration, certbot and PEM per site, reload, renewal), image, container.
        expect(operations.length, "custom resources created").to.equal(10);
        expect(resources, "preview's creates: those, 9 components, the stack and the docker provider").to.equal(10 + 9 + 2);
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
            cwd: path.join(engine.dir, "project"), env: { ...process.env, ...engine.cliEnv }, allowFailure: true, timeoutMs: 300_000,
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

    SCENARIOS.forEach((scenario, i) => {
        it(`${scenario.title}: ${scenario.operations.length} steps, ${scenario.orders} ACME order(s), every site served after a docker restart`, async () => {
            const before = valuesAfter(env, i);
            const after = valuesAfter(env, i + 1);
            const served = await servedCertificates(before);
            const orders = env.pebble.countNewOrders();
            engine.setValues(after);
            const operations = await phase(`pulumi up: ${scenario.title}`, () => engine.up());
            console.log(`      [engine] ${scenario.title}: ${operations.join(", ")}`);
            expect(operations, `steps of "${scenario.title}"`).to.deep.equal(scenario.operations);
            expect(env.pebble.countNewOrders() - orders, "new ACME orders").to.equal(scenario.orders);
            expectCertificates(served, await servedCertificates(after), scenario.newCertificates, scenario.title);
            await expectEverySiteServed(env, after, scenario.title);
            await expectServedAfterRestart(env, after, scenario.title);
        });
    });

    it("DNS-01 and a wildcard: created in place beside the others, served by SNI; a new TSIG secret updates its credentials step only", async () => {
        const values = { ...valuesAfter(env, SCENARIOS.length), ...rfc2136Values(env) } as StackValues;
        values.sites = [...values.sites, { name: "wild", challenge: "dns-01", domains: ["*.w.dns01.test"], backends: [`${env.bridge}:${PORTS.webA}`] } as StackValues["sites"][number]];
        await engine.stack.setConfig("edge-proxy:rfc2136KeySecret", { value: env.dns.tsig.secret, secret: true });
        engine.setValues(values);
        const orders = env.pebble.countNewOrders();
        const operations = await phase("pulumi up adding a DNS-01 wildcard site", () => engine.up());
        console.log(`      [engine] DNS-01 site added: ${operations.join(", ")}`);
        expect(operations, "steps").to.deep.equal([
            "create e2e-cert-wild-certbot", "create e2e-cert-wild-pem", "create e2e-dns-credentials-file",
            "update e2e-certificates-reload", "update e2e-config-delivery", "update e2e-prepare-directories", "update e2e-renewal-cron",
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
        const keyLines = env.host.privateKey.split("\n").filter((line) => /^[A-Za-z0-9+\/=]{40,}$/.test(line)).slice(2);
        expect(keyLines.length, "key lines to look for").to.be.greaterThan(0);
        const exported = await run(path.join(ENGINE_BIN, "pulumi"), ["stack", "export", "--stack", "e2e"], {
            cwd: path.join(engine.dir, "project"), env: engine.cliEnv,
        });
        const files = fs.readdirSync(path.join(engine.dir, "state"), { recursive: true, encoding: "utf8" })
            .map((file) => path.join(engine.dir, "state", file)).filter((file) => fs.statSync(file).isFile());
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

    it("destroys the container, the PEMs and the renewal job, and keeps certbot's data", async () => {
        const result = await phase("pulumi destroy", () => engine.stack.destroy({ color: "never" }));
        console.log(`      [engine] destroy: ${JSON.stringify(result.summary.resourceChanges)}`);
        expect((await run("docker", ["inspect", CONTAINER], { allowFailure: true })).code, "container after destroy").to.not.equal(0);
        expect(fs.existsSync(RENEW_CRON) || fs.existsSync(RENEW_SCRIPT), "renewal job after destroy").to.equal(false);
        expect(fs.readdirSync(env.paths.certsDir), "PEMs after destroy").to.deep.equal([]);
        expect(fs.readdirSync(path.join(env.paths.dataDir, "etc", "live")).sort(), "certbot lineages after destroy")
            .to.deep.equal(["README", "site-a", "site-b", "site-d", "wild"]);
    });
});
