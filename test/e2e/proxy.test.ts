/**
 * End to end: the resources index.ts declares, realized for real against a Docker engine, an SSH host
 * and Pebble (Let's Encrypt's test CA, validating HTTP-01 through HAProxy) by the stand-in engine of
 * dev/realize.ts, then checked from outside with curl, openssl and ssh as a browser, Let's Encrypt and an
 * SSH user would. The checks run in order: together they are one operator's session (first up, no-op up,
 * the changes of scenarios.ts each followed by a `docker restart`, renewal, a rejected change, a new
 * site, destroy). test/engine/ runs the same scenarios with the real engine and provider plugins.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { parseCertificateLine } from "../../components/certificates";
import { defaultRenewSchedule } from "../../components/config/checks";
import { shellCommand } from "../../components/quote";
import { type RunResult, run } from "../../dev/env/command";
import { stopAll } from "../../dev/env/process";
import { pinnedSshArgs } from "../../dev/env/sshd";
import {
    ALERT_TOKEN,
    CONTAINER,
    type Environment,
    engineConfig,
    PORTS,
    phase,
    RENEW_CRON,
    RENEW_SCRIPT,
    SITES,
    type StackValues,
    startEnvironment,
    TICKET_KEYS_CRON,
    TICKET_KEYS_DIR,
    TICKET_KEYS_SCRIPT,
} from "../../dev/environment";
import type { Registration } from "../../dev/mocks";
import { Realizer, up } from "../../dev/realize";
import { describeWith, ENVIRONMENT } from "../support/needs";
import {
    argumentsSeenDuring,
    expectCertificates,
    expectEverySiteServed,
    expectMetricsBehindAuthentication,
    expectNothingLeftAfterDestroy,
    expectServedAfterRestart,
    expectStatusAllWell,
    expectStatusOfServed,
    haproxyPids,
    haproxyReloads,
    hostStatus,
    httpsGet,
    operatorStatus,
    receivedAlerts,
    runOnTestHost,
    servedCertificate,
    servedCertificates,
    startLoad,
    ticketKeysAsHeld,
    tls13Handshake,
    waitUntilServed,
} from "./checks";
import { DRIFTS, SCENARIOS, valuesAfter } from "./scenarios";

const DIR = "/var/tmp/edge-proxy-e2e/run";

describeWith(ENVIRONMENT, "end to end: the stack on a real Docker host, SSH host and ACME CA", function () {
    this.timeout(600_000);
    let env: Environment;
    let realizer: Realizer;
    let firstUp: Registration[];
    let firstOperations: string[];

    /** A command on the stack's host, over SSH as the stack's commands run. */
    const onHost = (command: string) => runOnTestHost(env, DIR, command);

    before(async () => {
        env = await startEnvironment(DIR);
        realizer = new Realizer(path.join(DIR, "state.json"), DIR);
        firstUp = await phase("first pulumi up on an empty host", () => up(realizer, env.stackConfig()));
        firstOperations = realizer.operations;
    });

    /** The settings after every scenario, with site-c added. */
    function valuesWithSiteC(): StackValues {
        return withSite(valuesAfter(env, SCENARIOS.length), { name: "site-c", domains: ["c.e2e.test"], backends: [`${env.bridge}:${PORTS.webB}`] });
    }

    after(async () => {
        await phase("stop everything started", () => stopAll());
    });

    it("created the declared resources in dependency order", () => {
        const created = firstOperations.map((op) => op.replace(/^create /, ""));
        expect(created.length, firstOperations.join(", ")).to.equal(firstUp.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:")).length);
        const position = (name: string) => created.indexOf(name);
        const order = [
            "e2e-prepare-directories",
            "e2e-image",
            "e2e-config-delivery",
            "e2e-haproxy-container",
            "e2e-cert-site-a-certbot",
            "e2e-cert-site-a-pem",
            "e2e-certificates-reload",
            "e2e-renewal-cron",
        ];
        for (let i = 1; i < order.length; i++) {
            expect(position(order[i]), `${order[i]} ran after ${order[i - 1]}: ${created.join(", ")}`).to.be.greaterThan(position(order[i - 1]));
        }
    });

    it("runs the container with the published ports, read-only mounts and restart policy always", async () => {
        const [inspect] = JSON.parse((await run("docker", ["inspect", CONTAINER])).stdout);
        expect(inspect.State.Running, "container running").to.equal(true);
        expect(inspect.HostConfig.RestartPolicy.Name, "restart policy").to.equal("always");
        const ports = Object.fromEntries(Object.entries(inspect.HostConfig.PortBindings).map(([k, v]: [string, any]) => [k, v[0].HostPort]));
        expect(ports, "published ports").to.deep.equal({
            "80/tcp": `${PORTS.http}`,
            "443/tcp": `${PORTS.https}`,
            [`${PORTS.sshService}/tcp`]: `${PORTS.sshService}`,
            [`${PORTS.metrics}/tcp`]: `${PORTS.metrics}`,
        });
        expect(inspect.HostConfig.PortBindings[`${PORTS.metrics}/tcp`][0].HostIp, "the metrics' address").to.equal("127.0.0.1");
        // The image runs HAProxy as uid 99, as the official 2.4+ images do: it bound 80 and 443 thanks to
        // the stack's sysctl and reads the certificates through group 99.
        const uids = (await run("docker", ["top", CONTAINER, "-o", "pid,uid"])).stdout
            .trim()
            .split("\n")
            .slice(1)
            .map((line) => line.trim().split(/\s+/)[1]);
        expect(uids.length, "HAProxy processes").to.be.at.least(2);
        expect(new Set(uids), "HAProxy's uid").to.deep.equal(new Set(["99"]));
        expect(inspect.HostConfig.Sysctls, "sysctls").to.deep.equal({ "net.ipv4.ip_unprivileged_port_start": "0" });
        const mounts = Object.fromEntries(inspect.Mounts.map((m: any) => [m.Destination, { source: m.Source, rw: m.RW }]));
        expect(mounts, "mounts").to.deep.equal({
            "/usr/local/etc/haproxy": { source: env.paths.configDir, rw: false },
            "/certs": { source: env.paths.certsDir, rw: false },
        });
    });

    it("wrote the certificates' status and the Prometheus file: each served certificate, the last certbot run a success", async () => {
        await expectStatusOfServed(env, env.stackValues(), "after the first up");
        expect(receivedAlerts(env), "alerts (only the renewal job sends them, and nothing needs attention)").to.deep.equal([]);
    });

    it("npm run status: the container, the stack's configuration live, each name's served certificate, all well", async () => {
        const report = await expectStatusAllWell(env.stackValues(), "after the first up");
        const image = (await run("docker", ["inspect", "--format", "{{.Config.Image}}", CONTAINER])).stdout.trim();
        expect(report.container.image, "the container's image, read over SSH").to.equal(image);
        expect(report.container.haproxyVersion, "haproxy -v in the container").to.match(/^HAProxy version \d+\.\d+/);
        expect(
            report.sites.flatMap((site) => site.names.map((n) => n.daysLeft! >= 88 && !n.placeholder && site.renewal?.result === "ok")),
            "certificates and renewals",
        ).to.not.include(false);
    });

    it("redirects plain HTTP to HTTPS, keeping the path and the HTTPS port", async () => {
        const result = await run("curl", [
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            "--resolve",
            `a.e2e.test:${PORTS.http}:127.0.0.1`,
            `http://a.e2e.test:${PORTS.http}/some/page?x=1`,
        ]);
        expect(result.stdout, "redirect to HTTPS").to.equal(`301 https://a.e2e.test:${PORTS.https}/some/page?x=1`);
    });

    it("sent Let's Encrypt's HTTP-01 requests through HAProxy's ACME ACL to the certbot container", async () => {
        const logs = (await run("docker", ["logs", CONTAINER])).stderr + (await run("docker", ["logs", CONTAINER])).stdout;
        const challenges = logs.split("\n").filter((line) => line.includes("acme_challenge/certbot") && line.includes("/.well-known/acme-challenge/"));
        expect(challenges.length, `challenge requests in HAProxy's log:\n${logs.slice(-2000)}`).to.be.at.least(SITES.length);
        expect(
            challenges.every((line) => / 200 /.test(line)),
            challenges.join("\n"),
        ).to.equal(true);
    });

    it("serves every site over HTTPS by SNI with its own certificate, for each of its names", async () => {
        for (const site of SITES) {
            for (const domain of site.domains) {
                expect(await httpsGet(env, domain), `GET https://${domain}`).to.match(new RegExp(`^200 ${site.name} proto=https for=`));
                const certificate = await servedCertificate(domain);
                for (const name of site.domains) {
                    expect(certificate, `certificate served for ${domain}`).to.contain(`DNS:${name}`);
                }
            }
        }
        const headers = await run("curl", [
            "-sS",
            "-D",
            "-",
            "-o",
            "/dev/null",
            "--cacert",
            env.rootCaFile,
            "--resolve",
            `b.e2e.test:${PORTS.https}:127.0.0.1`,
            `https://b.e2e.test:${PORTS.https}/`,
        ]);
        expect(headers.stdout.toLowerCase()).to.contain("strict-transport-security: max-age=63072000").and.contain("x-content-type-options: nosniff");
    });

    it("reports each served certificate's serial, notAfter and issuer, and the installed configuration, in the steps' output", async () => {
        // What the stack's outputs are parsed from (EdgeProxy.sites, .configurationDigest).
        for (const site of SITES) {
            const reported = parseCertificateLine(realizer.outputsOf(`e2e-cert-${site.name}-pem`).stdout);
            const served = /serial=([0-9A-F]+)/.exec(await servedCertificate(site.domains[0]))?.[1];
            expect(reported.serial, `${site.name}'s reported serial`).to.equal(served).and.not.equal(undefined);
            expect(Date.parse(reported.notAfter ?? ""), `${site.name}'s notAfter ${reported.notAfter}`).to.be.greaterThan(Date.now());
            expect(reported.issuer, `${site.name}'s issuer`).to.match(/^CN=Pebble Intermediate CA [0-9a-f]+$/);
        }
        const digest = /^configuration ([0-9a-f]+)$/m.exec(realizer.outputsOf("e2e-config-delivery").stdout)?.[1];
        expect(fs.readlinkSync(path.join(env.paths.configDir, "current")), "the live release").to.equal(`releases/${digest}`);
    });

    it("serves HAProxy's metrics on metricsAddress, behind basic authentication", async () => {
        await expectMetricsBehindAuthentication(env);
    });

    it("passes SSH through HAProxy's TCP frontend to the backend sshd", async () => {
        const knownHosts = path.join(DIR, "known_hosts_backend");
        fs.writeFileSync(knownHosts, `[127.0.0.1]:${PORTS.sshService} ${env.backendSshd.hostPublicKey}\n`);
        const result = await run(
            "ssh",
            pinnedSshArgs({ keyFile: env.backendSshd.privateKeyFile, port: PORTS.sshService, knownHosts, target: "root@127.0.0.1" }, "echo through-haproxy"),
            { allowFailure: true, timeoutMs: 30_000 },
        );
        expect(result.stdout.trim(), `ssh through HAProxy: ${result.stderr}`).to.equal("through-haproxy");
    });

    it("does nothing on a second up of the unchanged stack: no order, no command, HAProxy left alone", async () => {
        const orders = env.pebble.countNewOrders();
        const pids = await haproxyPids();
        await phase("second pulumi up, nothing changed", () => up(realizer, env.stackConfig()));
        expect(realizer.operations, "operations of a no-op up").to.deep.equal([]);
        expect(env.pebble.countNewOrders(), "new ACME orders").to.equal(orders);
        expect(await haproxyPids(), "HAProxy processes").to.equal(pids);
    });

    DRIFTS.forEach((drift) => {
        it(`drift: ${drift.title}: up runs the ${drift.operations.length} steps that own it, ${drift.orders} ACME order(s)`, async () => {
            const values = env.stackValues();
            const served = await servedCertificates(values);
            await drift.make(env);
            const orders = env.pebble.countNewOrders();
            await phase(`pulumi up after ${drift.title}`, () => up(realizer, env.stackConfig()));
            expect([...realizer.operations].sort(), `operations after ${drift.title}`).to.deep.equal(drift.operations);
            expect(env.pebble.countNewOrders() - orders, "new ACME orders").to.equal(drift.orders);
            expectCertificates(served, await servedCertificates(values), drift.newCertificates, drift.title);
            await expectEverySiteServed(env, values, drift.title);
            drift.check?.(env);
            await phase("pulumi up once repaired", () => up(realizer, env.stackConfig()));
            expect(realizer.operations, `a second up after ${drift.title}`).to.deep.equal([]);
        });
    });

    SCENARIOS.forEach((scenario, i) => {
        it(`${scenario.title}: ${scenario.operations.length} steps, ${scenario.orders} ACME order(s), every site still served after a docker restart`, async () => {
            const before = valuesAfter(env, i);
            const after = valuesAfter(env, i + 1);
            const served = await servedCertificates(before);
            const orders = env.pebble.countNewOrders();
            const reloads = await haproxyReloads();
            await phase(`pulumi up: ${scenario.title}`, () => up(realizer, engineConfig(after)));
            expect([...realizer.operations].sort(), `operations of "${scenario.title}"`).to.deep.equal(scenario.operations);
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

    it("renews with the installed job: new serials served into the running HAProxy, no reload, no failed request", async () => {
        const values = valuesAfter(env, SCENARIOS.length);
        const before = await servedCertificates(values);
        const schedule = defaultRenewSchedule(String(values.hostAddress), CONTAINER);
        expect(fs.readFileSync(RENEW_CRON, "utf8"), "cron entry").to.contain(`${schedule} root ${RENEW_SCRIPT}`);
        const reloads = await haproxyReloads();
        const processes = await haproxyPids();
        const load = startLoad("a.e2e.test", fs.readFileSync(env.rootCaFile, "utf8"));
        const renewal = await phase("renewal job with --force-renewal, under load", () => onHost(`${RENEW_SCRIPT} --force-renewal`));
        const { ok, failed, errors } = await load.stop();
        console.log(`      [e2e] load during renewal: ${ok} requests ok, ${failed} failed`);
        expect(renewal.code, `renewal job:\n${renewal.stderr}`).to.equal(0);
        expect(renewal.stderr).to.match(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ updated \/certs\/site-a\.pem in the running HAProxy \(no reload\)/);
        expect(await haproxyReloads(), "HAProxy reloads during the renewal").to.equal(reloads);
        expect(await haproxyPids(), "HAProxy's master and worker processes").to.deep.equal(processes);
        expectCertificates(
            before,
            await servedCertificates(values),
            values.sites.map((site) => site.name),
            "after renewal",
        );
        expect(ok, "requests during the renewal").to.be.at.least(200);
        expect(failed, `failed requests during the renewal: ${errors.slice(0, 5).join("; ")}`).to.equal(0);
        await expectStatusOfServed(env, values, "after the renewal");
        expect(receivedAlerts(env), "alerts after a successful renewal").to.deep.equal([]);
    });

    it("rotates the TLS session ticket keys with the installed job: into the running HAProxy, no reload, a session from before resumes", async () => {
        const cron = fs.readFileSync(TICKET_KEYS_CRON, "utf8");
        expect(cron, "cron entries").to.contain(`@reboot root ${TICKET_KEYS_SCRIPT} >>`).and.contain(`41 */12 * * * root ${TICKET_KEYS_SCRIPT} rotate >>`);
        const [inspect] = JSON.parse((await run("docker", ["inspect", CONTAINER])).stdout);
        const mount = inspect.Mounts.find((m: { Destination: string }) => m.Destination === "/run/edge-proxy-tls");
        expect(mount && { source: mount.Source, rw: mount.RW }, "the keys' mount").to.deep.equal({ source: TICKET_KEYS_DIR, rw: false });
        const keysFile = path.join(TICKET_KEYS_DIR, "tls-ticket-keys");
        const before = fs.readFileSync(keysFile, "utf8").trim().split("\n");
        const session = path.join(DIR, "before-rotation.session");
        expect(await tls13Handshake("a.e2e.test", { save: session }), "a first handshake").to.equal(false);
        expect(await tls13Handshake("a.e2e.test", { resume: session }), "resumed with the ticket").to.equal(true);
        const reloads = await haproxyReloads();
        const processes = await haproxyPids();
        const rotation = await phase("the ticket keys' job, rotate", () => onHost(`${TICKET_KEYS_SCRIPT} rotate`));
        expect(rotation.code, rotation.stderr).to.equal(0);
        expect(rotation.stderr).to.match(/ TLS session ticket keys updated in the running HAProxy \(no reload\)/);
        const after = fs.readFileSync(keysFile, "utf8").trim().split("\n");
        expect(after.slice(0, 2), "the two newest kept").to.deep.equal(before.slice(1));
        expect(after[2]).to.not.be.oneOf(before);
        const held = await ticketKeysAsHeld();
        expect(held.stdout, `HAProxy holds the file's keys: ${held.stderr}`).to.equal("unchanged\n");
        expect(await haproxyReloads(), "HAProxy reloads during the rotation").to.equal(reloads);
        expect(await haproxyPids(), "HAProxy's master and worker processes").to.deep.equal(processes);
        expect(await tls13Handshake("a.e2e.test", { resume: session }), "a ticket from before the rotation").to.equal(true);
        expect(fs.statSync(keysFile).mode & 0o777, "the keys' mode").to.equal(0o640);
    });

    it("refuses a configuration HAProxy rejects, with HAProxy's message, and keeps serving the old one", async () => {
        // A stray, broken PEM where a new site's certificate will go: the configuration that serves it fails the check.
        fs.writeFileSync(path.join(env.paths.certsDir, "site-c.pem"), "not a certificate\n");
        const liveConfig = fs.readFileSync(path.join(env.paths.configDir, "haproxy.cfg"), "utf8");
        const withSiteC = engineConfig(valuesWithSiteC());
        let error: Error | undefined;
        try {
            await phase("pulumi up with a configuration HAProxy rejects", () => up(realizer, withSiteC));
        } catch (e) {
            error = e as Error;
        }
        expect(error?.message, "the failed up's message")
            .to.contain("e2e-config-delivery failed")
            .and.contain("site-c.pem")
            .and.contain("HAProxy rejected the new configuration; the running configuration is unchanged");
        expect(fs.readFileSync(path.join(env.paths.configDir, "haproxy.cfg"), "utf8"), "live haproxy.cfg").to.equal(liveConfig);
        expect(await httpsGet(env, "a.e2e.test"), "site-a after the rejected change").to.match(/^200 site-a proto=https/);

        fs.rmSync(path.join(env.paths.certsDir, "site-c.pem"));
        const orders = env.pebble.countNewOrders();
        await phase("pulumi up adding site-c", () => up(realizer, withSiteC));
        expect(
            realizer.operations.filter((op) => op.includes("certbot")),
            "certificates requested",
        ).to.deep.equal(["create e2e-cert-site-c-certbot"]);
        expect(env.pebble.countNewOrders() - orders, "new ACME orders").to.equal(1);
        expect(await httpsGet(env, "c.e2e.test"), "site-c served").to.match(/^200 site-b proto=https/);
        expect(await servedCertificate("c.e2e.test")).to.contain("DNS:c.e2e.test");
    });

    describe("faults, each checked from outside", () => {
        const siteX = () => ({ name: "site-x", domains: ["x.e2e.test"], backends: [`${env.bridge}:${PORTS.webA}`] });

        it("one site's name does not resolve: the pre-flight fails that site without asking the CA, the others keep serving, the next up converges", async () => {
            const values = valuesWithSiteC();
            const withX = withSite(values, siteX());
            const orders = env.pebble.countNewOrders();
            let error: Error | undefined;
            try {
                await phase("pulumi up, x.e2e.test not resolvable", () => up(realizer, engineConfig(withX)));
            } catch (e) {
                error = e as Error;
            }
            // challtestsrv answers a name it has no record of with no address (not NXDOMAIN).
            expect(error?.message, `the failed up: ${error?.message}`)
                .to.contain("e2e-cert-site-x-certbot failed")
                .and.contain("x.e2e.test does not resolve: it has no IPv4 address (A record)")
                .and.contain("pre-flight failed: certbot was not run and the CA was not asked (acmePreflight)");
            expect(env.pebble.countNewOrders() - orders, "ACME orders placed").to.equal(0);
            await expectEverySiteServed(env, values, "while site-x cannot be validated");
            const failed = hostStatus(env).certificates.find((c) => c.name === "site-x");
            expect(failed, "site-x in status.json").to.include({ result: "failed", failures: 1, placeholder: true, attention: true });
            expect(failed?.error, "certbot's reason in status.json").to.contain("x.e2e.test");
            expect(failed?.error, "the pre-flight's reason in status.json").to.contain("pre-flight: x.e2e.test does not resolve");
            const report = await operatorStatus(withX);
            expect(
                report.attention.filter((item) => item.startsWith("site site-x: ")).map((item) => item.replace(/\(1 in a row, at .*/, "")),
                "npm run status's attention",
            ).to.deep.equal([
                "site site-x: x.e2e.test is served the self-signed placeholder (no certificate issued yet)",
                "site site-x: the last certbot run failed ",
            ]);
            expect(
                report.attention.filter((item) => !item.startsWith("site site-x: ")),
                "nothing else needs attention",
            ).to.deep.equal([]);
            await env.pebble.addARecord("x.e2e.test", env.bridge);
            await phase("pulumi up after the DNS fix", () => up(realizer, engineConfig(withX)));
            expect(realizer.outputsOf("e2e-cert-site-x-certbot").stderr, "the pre-flight's report").to.contain("x.e2e.test reaches this host");
            expect(env.pebble.countNewOrders() - orders, "ACME orders placed").to.equal(1);
            await expectEverySiteServed(env, withX, "after the DNS fix");
            await expectStatusOfServed(env, withX, "after the DNS fix");
            await expectStatusAllWell(withX, "after the DNS fix");
        });

        it("the SSH connection drops in the middle of an up (during certbot): no PEM lost, the next up converges", async () => {
            const values = withSite(valuesWithSiteC(), siteX());
            const wider = structuredClone(values);
            wider.sites.find((site) => site.name === "site-x")!.domains.push("www.x.e2e.test");
            await env.pebble.addARecord("www.x.e2e.test", env.bridge);
            const served = await servedCertificates(values);
            const interrupted = up(realizer, engineConfig(wider)).then(
                () => undefined,
                (error: Error) => error,
            );
            const certbotRuns = async () => (await run("docker", ["ps", "-q", "--filter", `name=^/${CONTAINER}-certbot$`])).stdout.trim() !== "";
            for (let i = 0; i < 300 && !(await certbotRuns()); i++) {
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            expect(await certbotRuns(), "certbot running on the host").to.equal(true);
            await env.host.dropConnectionsAndRestart();
            expect(await interrupted, "the up whose connection dropped").to.be.instanceOf(Error);
            expectCertificates(served, await servedCertificates(values), [], "after the dropped connection");
            await expectEverySiteServed(env, values, "after the dropped connection");
            await phase("pulumi up after the dropped connection", () => up(realizer, engineConfig(wider)));
            await expectEverySiteServed(env, wider, "after the next up");
        });

        it("HAProxy's process killed: the container comes back by itself and serves", async () => {
            const values = finalValues();
            const pid = Number((await run("docker", ["inspect", "-f", "{{.State.Pid}}", CONTAINER])).stdout.trim());
            const restarts = async () => Number((await run("docker", ["inspect", "-f", "{{.RestartCount}}", CONTAINER])).stdout.trim());
            const before = await restarts();
            process.kill(pid, "SIGKILL");
            for (let i = 0; i < 100 && (await restarts()) === before; i++) {
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            expect(await restarts(), "restarts by the restart policy").to.equal(before + 1);
            await waitUntilServed(env, values);
            await expectEverySiteServed(env, values, "after the kill");
        });

        it("the Docker engine restarted: the container comes back and serves", async function () {
            const values = finalValues();
            if (!(await phase("dockerd restart", () => env.restartDockerd()))) {
                console.log("      [e2e] the Docker engine was not started by this test: not restarting it");
                this.skip();
            }
            await waitUntilServed(env, values);
            await expectEverySiteServed(env, values, "after the engine's restart");
        });

        it("a reboot emptied /run: the container cannot start without its ticket keys until the boot job makes them, then serves", async () => {
            const values = finalValues();
            await run("docker", ["stop", CONTAINER]);
            fs.rmSync(TICKET_KEYS_DIR, { recursive: true, force: true });
            await run("docker", ["start", CONTAINER], { allowFailure: true });
            await new Promise((resolve) => setTimeout(resolve, 2_000));
            expect((await httpsGet(env, values.sites[0].domains[0])).startsWith("200"), "served without keys").to.equal(false);
            const boot = await phase("the ticket keys' job, at boot", () => onHost(TICKET_KEYS_SCRIPT));
            expect(boot.code, boot.stderr).to.equal(0);
            expect(boot.stderr).to.contain(`made new TLS session ticket keys in ${TICKET_KEYS_DIR}/tls-ticket-keys`);
            // Docker's restart policy starts the container again, after a delay that doubles with each failure.
            for (let attempt = 0; attempt < 300 && !(await httpsGet(env, values.sites[0].domains[0])).startsWith("200"); attempt++) {
                await new Promise((resolve) => setTimeout(resolve, 200));
            }
            await expectEverySiteServed(env, values, "after the keys were made");
            const held = await ticketKeysAsHeld();
            expect(held.stdout, held.stderr).to.equal("unchanged\n");
            const again = await onHost(TICKET_KEYS_SCRIPT);
            expect(again.code, again.stderr).to.equal(0);
            expect(again.stderr, "keys that exist are kept").to.not.contain("made new");
        });

        it("the certs directory full during a renewal: the job fails saying so, the live PEMs stay and are served", async () => {
            const values = finalValues();
            const served = await servedCertificates(values);
            const pems = Object.fromEntries(fs.readdirSync(env.paths.certsDir).map((file) => [file, fs.readFileSync(path.join(env.paths.certsDir, file))]));
            // A small file system over the certs directory, holding the PEMs and filled up; HAProxy's own
            // mount still shows the real directory, whose files must come out untouched.
            await run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", env.paths.certsDir]);
            let renewal: RunResult;
            try {
                for (const [file, content] of Object.entries(pems)) {
                    fs.writeFileSync(path.join(env.paths.certsDir, file), content);
                }
                await run("dd", ["if=/dev/zero", `of=${path.join(env.paths.certsDir, "filler")}`, "bs=1k", "count=128"], { allowFailure: true });
                renewal = await phase("renewal job on a full disk", () => onHost(`${RENEW_SCRIPT} --force-renewal`));
            } finally {
                await run("umount", [env.paths.certsDir]);
            }
            expect(renewal.code, "the renewal job's exit status").to.not.equal(0);
            expect(renewal.stderr).to.contain("(disk full?)").and.contain("is unchanged").and.contain("renewal failed for:");
            for (const [file, content] of Object.entries(pems)) {
                expect(fs.readFileSync(path.join(env.paths.certsDir, file)).equals(content), `${file} after the failed renewal`).to.equal(true);
            }
            expectCertificates(served, await servedCertificates(values), [], "after the failed renewal");
            await expectServedAfterRestart(env, values, "after the failed renewal");
        });

        it("a renewal fails: the alert command gets the status with the site and certbot's reason, the metrics count it; the next renewal clears it", async () => {
            const values = finalValues();
            const served = await servedCertificates(values);
            const alerts = receivedAlerts(env).length;
            const failuresBefore = hostStatus(env).certificates.find((c) => c.name === "site-b")!.failures;
            await env.pebble.clearARecord("b.e2e.test");
            // Every process's arguments while the renewal and its alert run.
            let renewal: RunResult;
            let seen: string[];
            try {
                ({ result: renewal, seen } = await argumentsSeenDuring(() =>
                    phase("renewal job with --force-renewal, b.e2e.test not resolvable by the CA", () => onHost(`${RENEW_SCRIPT} --force-renewal`)),
                ));
            } finally {
                await env.pebble.addARecord("b.e2e.test", env.bridge);
            }
            expect(seen.filter((line) => line.includes(`sh ${env.paths.dataDir}/edge-proxy/alert.sh`)).length, "the alert seen running").to.be.greaterThan(0);
            expect(
                seen.filter((line) => line.includes(ALERT_TOKEN)),
                "processes whose arguments hold the alert command's token",
            ).to.deep.equal([]);
            expect(renewal.code, "the renewal job's exit status").to.equal(1);
            expect(renewal.stderr).to.contain("renewal failed for: site-b\n").and.contain("running the alert command");
            const received = receivedAlerts(env);
            expect(received.length, "alerts sent").to.equal(alerts + 1);
            const alert = received[received.length - 1];
            const siteB = alert.certificates.find((c) => c.name === "site-b");
            expect(alert.attention, "the alert's attention").to.equal(true);
            expect(siteB, "site-b in the alert").to.include({ result: "failed", failures: failuresBefore + 1, attention: true, placeholder: false });
            expect(siteB?.error, "certbot's reason").to.contain("b.e2e.test");
            expect(
                alert.certificates.filter((c) => c.name !== "site-b").map((c) => [c.name, c.result, c.attention]),
                "the other sites",
            ).to.deep.equal(
                values.sites
                    .filter((s) => s.name !== "site-b")
                    .map((s) => [s.name, "ok", false])
                    .sort(),
            );
            expect(fs.readFileSync(env.paths.metricsFile, "utf8")).to.contain(
                `edge_proxy_renewal_failures{container="${CONTAINER}",name="site-b"} ${failuresBefore + 1}\n`,
            );
            expect(
                (await operatorStatus(values)).attention.map((item) => item.replace(/ \(\d+ in a row, at .*/, "")),
                "npm run status's attention",
            ).to.deep.equal(["site site-b: the last certbot run failed"]);
            expectCertificates(
                served,
                await servedCertificates(values),
                values.sites.map((s) => s.name).filter((name) => name !== "site-b"),
                "after the failed renewal",
            );
            await expectEverySiteServed(env, values, "after the failed renewal");

            // The failed certificate waits before its next try (README: rate limits); the operator who fixed DNS tries now.
            const next = await phase("renewal job after the DNS fix", () => onHost(`EDGE_PROXY_RETRY_NOW=1 ${RENEW_SCRIPT}`));
            expect(next.code, `renewal job:\n${next.stderr}`).to.equal(0);
            expect(receivedAlerts(env).length, "no alert once nothing needs attention").to.equal(alerts + 1);
            await expectStatusOfServed(env, values, "after the next renewal");
            await expectStatusAllWell(values, "after the next renewal");
        });

        it("a certificate near expiry: a raised alertDaysBeforeExpiry updates only the renewal job, the status says so at once, the renewal job alerts", async () => {
            const values = finalValues();
            const daysLeft = Math.min(...hostStatus(env).certificates.map((c) => c.daysLeft ?? Infinity));
            const near = { ...values, alertDaysBeforeExpiry: daysLeft + 1 };
            await phase("pulumi up, alertDaysBeforeExpiry above the days left", () => up(realizer, engineConfig(near)));
            expect(realizer.operations, "steps").to.deep.equal(["update e2e-renewal-cron"]);
            const status = hostStatus(env);
            expect(status, "status.json").to.include({ attention: true, alertDaysBeforeExpiry: daysLeft + 1 });
            expect(
                status.certificates.filter((c) => c.daysLeft === daysLeft).every((c) => c.attention),
                "the nearest certificate needs attention",
            ).to.equal(true);
            const alerts = receivedAlerts(env).length;
            const renewal = await phase("renewal job, a certificate near expiry", () => onHost(RENEW_SCRIPT));
            expect(renewal.code, `renewal job:\n${renewal.stderr}`).to.equal(0);
            const received = receivedAlerts(env);
            expect(received.length, "alerts sent").to.equal(alerts + 1);
            expect(received[received.length - 1].attention, "the alert's attention").to.equal(true);
            expect(
                received[received.length - 1].certificates.every((c) => c.result === "ok"),
                "every renewal itself succeeded",
            ).to.equal(true);
            await phase("pulumi up, alertDaysBeforeExpiry back to its default", () => up(realizer, engineConfig(values)));
            expect(realizer.operations, "steps").to.deep.equal(["update e2e-renewal-cron"]);
            expect(hostStatus(env).attention, "status.json's attention").to.equal(false);
        });

        it("an up while the renewal job holds the host lock waits, says so, then proceeds", async () => {
            const holder = onHost(`flock ${shellCommand(path.join(env.paths.dataDir, ".edge-proxy.lock"))} sleep 6`);
            await new Promise((resolve) => setTimeout(resolve, 1000));
            const started = Date.now();
            const values = { ...finalValues(), acmeEmail: "lock@e2e.test" };
            await phase("pulumi up while the lock is held", () => up(realizer, engineConfig(values)));
            expect(Date.now() - started, "the up waited for the lock").to.be.greaterThan(3000);
            expect(realizer.outputsOf("e2e-cert-site-a-certbot").stderr).to.contain("waiting for another edge-proxy step on this host");
            expect((await holder).code, "the lock holder").to.equal(0);
            await expectEverySiteServed(env, values, "after the wait");
        });

        /** The settings at the end of the drills: site-c, and site-x with both its names. */
        function finalValues(): StackValues {
            const values = withSite(valuesWithSiteC(), siteX());
            values.sites.find((site) => site.name === "site-x")!.domains.push("www.x.e2e.test");
            return values;
        }
    });

    // Last, after the fault drills (mocha runs a suite's own tests before its nested suites).
    describe("destroy", () => {
        it("destroys every file the stack wrote on the host, and keeps certbot's data", async () => {
            await phase("pulumi destroy", () => realizer.destroy());
            await expectNothingLeftAfterDestroy(env, ["site-a", "site-b", "site-c", "site-d", "site-e", "site-x"]);
        });
    });
});

/** The settings with one more site. */
function withSite(values: StackValues, site: StackValues["sites"][number]): StackValues {
    return { ...values, sites: [...values.sites, site] };
}
