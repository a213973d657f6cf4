/**
 * A fleet of two hosts under the real Pulumi engine and the real docker and command provider plugins
 * (dev/fleetEnvironment.ts: hosts `a`, the issuer, and `b`, each a machine of its own to the proxy, with a
 * virtual address that keepalived moves between them and every site's name at it). Each check is made from
 * outside: Pebble's order counter, the certificates each host serves by SNI at its own address, where the
 * virtual address is, the hosts' files and engines, and requests made throughout.
 *
 * Runs whenever the CLI and the plugins at the pinned versions are installed and the machine has what the
 * fleet's hosts need; otherwise it is one pending test saying why.
 */

import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { expect } from "chai";
import { hostStatePath } from "../../components/hostPaths";
import { parseStatusFile, type StatusFile } from "../../components/status/statusFile";
import type { FleetHost } from "../../dev/env/fleet";
import { stopAll, waitFor } from "../../dev/env/process";
import { CONTAINER, PORTS, phase, RENEW_CRON, RENEW_SCRIPT, SITES, type StackValues, TICKET_KEYS_DIR, TICKET_KEYS_SCRIPT } from "../../dev/environment";
import { type FleetEnvironment, startFleetEnvironment, VRRP_PASSWORD } from "../../dev/fleetEnvironment";
import { createEngineStack, type EngineStack, engineUnavailable } from "../../dev/workspace";
import { expectNothingLeftAfterDestroy, httpsGet, httpsRequest, servedCertificate, ticketKeysAsHeld, tls13Handshake } from "../e2e/checks";
import { describeWith, FLEET_ENVIRONMENT, type Need } from "../support/needs";

const DIR = "/var/tmp/edge-proxy-e2e/engine-fleet";

/** The real engine: the CLI and the provider plugins (dev/workspace.ts). */
const ENGINE: Need = () => engineUnavailable();

/**
 * The name of one of the issuer's steps: the issuer's proxy carries the fleet's name (the stack's, `e2e`),
 * as a one-host stack's EdgeProxy did; the other hosts' are named `e2e-<host>`.
 */
const ISSUER_STEP = (step: string) => `e2e-${step}`;

/** keepalived's container on each host. */
const KEEPALIVED = `${CONTAINER}-keepalived`;

/** The comment that marks the issuer's key in a receiving host's authorized_keys. */
const ISSUER_KEY_MARKER = `edge-proxy-certificates:${CONTAINER}`;

/** One request of a client (startClient): to which address, when, and how it ended. */
interface Attempt {
    address: string;
    started: number;
    ended: number;
    ok: boolean;
    error?: string;
}

/**
 * A client that sends `GET /` over HTTPS (SNI `domain`, verified against `ca`) to each address every
 * `intervalMs`, each on a new connection or, with `keepAlive`, on one connection per address kept open
 * across requests (where a reload can close an idle connection just as the client sends on it).
 * Bounded: it stops by itself after `maxMs`. `attempts` fills as requests end.
 */
function startClient(addresses: string[], opts: { domain: string; ca: string; intervalMs: number; timeoutMs: number; maxMs: number; keepAlive?: boolean }) {
    const attempts: Attempt[] = [];
    const inFlight = new Set<Promise<void>>();
    const agents = new Map<string, https.Agent | false>(
        addresses.map((address) => [address, opts.keepAlive ? new https.Agent({ keepAlive: true, maxSockets: 1, ca: opts.ca }) : false]),
    );
    const request = (address: string) => {
        const started = Date.now();
        const done = httpsRequest({ address, domain: opts.domain, ca: opts.ca, agent: agents.get(address)!, timeoutMs: opts.timeoutMs }).then((error) => {
            attempts.push({ address, started, ended: Date.now(), ok: error === undefined, error });
        });
        inFlight.add(done);
        void done.then(() => inFlight.delete(done));
    };
    const deadline = Date.now() + opts.maxMs;
    const timer = setInterval(() => {
        if (Date.now() > deadline) {
            clearInterval(timer);
            return;
        }
        for (const address of addresses) request(address);
    }, opts.intervalMs);
    return {
        attempts,
        async stop(): Promise<Attempt[]> {
            clearInterval(timer);
            await Promise.all([...inFlight]);
            for (const agent of agents.values()) if (agent) agent.destroy();
            return attempts;
        },
    };
}

/** "N ok, M failed (first errors)" of some attempts. */
function tally(attempts: Attempt[]): { ok: number; failed: number; summary: string } {
    const failed = attempts.filter((attempt) => !attempt.ok);
    const errors = [...new Set(failed.map((attempt) => `${attempt.address}: ${attempt.error}`))].slice(0, 5).join("; ");
    return {
        ok: attempts.length - failed.length,
        failed: failed.length,
        summary: `${attempts.length - failed.length} ok, ${failed.length} failed${errors ? ` (${errors})` : ""}`,
    };
}

/** The serial in `openssl x509 -serial` output (servedCertificate), or "". */
function serialOf(served: string): string {
    return /serial=([0-9A-F]+)/.exec(served)?.[1] ?? "";
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWith([...FLEET_ENVIRONMENT, ENGINE], "a fleet of two hosts under the real Pulumi engine: issued once, served alike, moved by keepalived", function () {
    this.timeout(600_000);
    let env: FleetEnvironment;
    let engine: EngineStack;
    let a: FleetHost;
    let b: FleetHost;
    let values: StackValues;
    let ca: string;
    /** The digest each host's configuration had after the first up, from the stack's output. */
    let digests: Record<string, string>;
    const started = Date.now();

    before(async function () {
        this.timeout(20 * 60_000);
        env = await startFleetEnvironment(path.join(DIR, "env"));
        ({ a, b } = env);
        ca = fs.readFileSync(env.rootCaFile, "utf8");
        engine = await phase("engine stack", () => createEngineStack(env, path.join(DIR, "stack")));
        values = env.stackValues();
        engine.setValues(values);
    });

    after(async () => {
        if (env) {
            await phase("stop everything started", () => stopAll());
            console.log(`      [fleet] suite: ${((Date.now() - started) / 1000).toFixed(0)} s`);
        }
    });

    /** Each site's serial served by `host` at its own address, for every name of the site; the names must agree. */
    async function servedSerials(host: FleetHost, stack: StackValues = values): Promise<Record<string, string>> {
        const serials: Record<string, string> = {};
        for (const site of stack.sites) {
            for (const domain of site.domains) {
                const served = await servedCertificate(domain, host.address);
                for (const name of site.domains) expect(served, `${host.name}: the certificate served for ${domain}`).to.contain(`DNS:${name}`);
                const serial = serialOf(served);
                expect(serials[site.name] ?? serial, `${host.name}: ${site.name}'s names served with one certificate`).to.equal(serial);
                serials[site.name] = serial;
            }
        }
        return serials;
    }

    /** Every name answers 200 from its site's backend over HTTPS at `host`'s address, verified against Pebble's root. */
    async function expectServedBy(host: FleetHost, when: string): Promise<void> {
        for (const site of values.sites) {
            // The backend answers with the name of the site it was started for (SITES): site-c shares site-b's.
            const backend = SITES.find((each) => site.backends[0].endsWith(`:${each.port}`))!.name;
            for (const domain of site.domains) {
                expect(await httpsGet(env, domain, "/", host.address), `${when}: https://${domain}/ at ${host.name}`).to.match(
                    new RegExp(`^200 ${backend} proto=https`),
                );
            }
        }
    }

    /** Runs the issuer's renewal job on the issuer, as cron would (the script's arguments after it). */
    async function renewOnIssuer(...args: string[]) {
        return a.exec(RENEW_SCRIPT, args, { allowFailure: true, timeoutMs: 300_000 });
    }

    /** The issuer's status.json. */
    function issuerStatus(): StatusFile {
        return parseStatusFile(fs.readFileSync(a.pathOf(path.posix.join(env.paths.dataDir, "edge-proxy", "status.json")), "utf8"));
    }

    /** The issuer's metrics file's line of `metric` for host `name`. */
    function hostMetric(metric: string, name: string): string | undefined {
        return fs
            .readFileSync(a.pathOf(env.paths.metricsFile), "utf8")
            .split("\n")
            .find((line) => line.startsWith(`${metric}{`) && line.includes(`host="${name}"`));
    }
    /** The TLS session ticket keys on `host`. */
    const keysOn = (host: FleetHost) => fs.readFileSync(host.pathOf(path.posix.join(TICKET_KEYS_DIR, "tls-ticket-keys")), "utf8");
    const behindMetric = (name: string) => hostMetric("edge_proxy_fleet_host_behind", name);
    const keysBehindMetric = (name: string) => hostMetric("edge_proxy_fleet_host_ticket_keys_behind", name);

    /** The release the live configuration of `host` is (`current` names releases/<digest>). */
    function liveDigest(host: FleetHost): string {
        return path.basename(fs.readlinkSync(host.pathOf(path.posix.join(env.paths.configDir, "current"))));
    }

    /** Waits until `holders` hold the virtual address (e.g. "b"), at most `timeoutMs`. */
    async function waitForVip(holders: string, what: string, timeoutMs = 20_000): Promise<void> {
        let seen = "";
        const holding = async () => {
            seen = await env.vipHolders();
            return seen === holders;
        };
        await waitFor(holding, { timeoutMs, intervalMs: 200, what }).catch((err: Error) => {
            throw new Error(`${err.message}; held by: ${seen || "no host"}`);
        });
    }

    /** What `host`'s keepalived logged since `since` (it logs to the console: both streams). */
    async function keepalivedLog(host: FleetHost, since?: string): Promise<string> {
        const logs = await host.docker(["logs", ...(since ? ["--since", since] : []), KEEPALIVED], { allowFailure: true });
        return logs.stdout + logs.stderr;
    }

    /** Waits until `host`'s keepalived says it is a backup (after `since`). */
    async function waitForBackup(host: FleetHost, since: string): Promise<void> {
        await waitFor(async () => /Entering BACKUP STATE/.test(await keepalivedLog(host, since)), {
            timeoutMs: 20_000,
            what: `${host.name}'s keepalived to be a backup`,
        }).catch(async (err: Error) => {
            throw new Error(`${err.message}\n${(await keepalivedLog(host)).slice(-2000)}`);
        });
    }

    it("first up: one ACME order per certificate in all, every host serving the same serial for every name, as the output hosts says", async () => {
        const orders = env.pebble.countNewOrders();
        const operations = await phase("pulumi up on two empty hosts", () => engine.up());
        console.log(`      [fleet] first up: ${operations.length} creates`);
        expect(
            operations.every((operation) => operation.startsWith("create ")),
            operations.join(", "),
        ).to.equal(true);
        const list = operations.join(", ");
        for (const step of ["e2e-b-certificate-receiver", "e2e-certificate-distribution", ISSUER_STEP("fleet-key")]) {
            expect(operations, `the fleet's steps: ${list}`).to.include(`create ${step}`);
        }
        expect(operations.filter((operation) => operation.endsWith("-certbot")).sort(), `certbot on the issuer only: ${list}`).to.deep.equal(
            values.sites.map((site) => `create ${ISSUER_STEP(`cert-${site.name}-certbot`)}`).sort(),
        );
        const placed = env.pebble.countNewOrders() - orders;
        console.log(`      [fleet] ACME orders in the first up: ${placed} for ${values.sites.length} certificates`);
        expect(placed, "ACME orders: one per certificate, for both hosts").to.equal(values.sites.length);

        const onA = await servedSerials(a);
        const onB = await servedSerials(b);
        expect(onB, "b serves a's certificates").to.deep.equal(onA);
        await expectServedBy(a, "first up");
        await expectServedBy(b, "first up");

        const hosts = (await engine.stack.outputs()).hosts.value;
        expect(Object.keys(hosts), "hosts output").to.have.members(["a", "b"]);
        for (const host of [a, b]) {
            for (const site of values.sites) {
                expect(hosts[host.name].certificates[site.name]?.serial, `hosts.${host.name}.certificates.${site.name}.serial`).to.equal(onA[site.name]);
                expect(hosts[host.name].certificates[site.name]?.issuer).to.match(/^CN=Pebble Intermediate CA [0-9a-f]+$/);
            }
            expect(hosts[host.name].configurationDigest, `hosts.${host.name}.configurationDigest`).to.equal(liveDigest(host));
        }
        expect(hosts.a.configurationDigest, "one configuration on both hosts").to.equal(hosts.b.configurationDigest);
        digests = { a: hosts.a.configurationDigest, b: hosts.b.configurationDigest };

        // keepalived runs on both; one host holds the address: a (the first to run keepalived, with the higher priority).
        for (const host of [a, b]) {
            expect((await host.docker(["inspect", "-f", "{{.State.Running}}", KEEPALIVED])).stdout.trim(), `${host.name}'s keepalived`).to.equal("true");
        }
        await waitForVip("a", "the virtual address on a alone");

        // Converged: the drift check reads every host, and nothing is left to do on either.
        const preview = await phase("pulumi preview after the first up", () => engine.preview());
        expect(preview.operations, "preview after the first up").to.deep.equal([]);
        expect(
            preview.warnings.filter((warning) => warning.includes("drift")),
            "drift warnings after the first up",
        ).to.deep.equal([]);
        expect(await phase("pulumi up again", () => engine.up()), "a second up").to.deep.equal([]);

        // The issuer cannot move in place: b would take over a's resources, a those of a receiving host.
        engine.setValues(env.stackValues((v) => Object.assign(v, { issuerHost: "b" })));
        const moved = await phase("pulumi preview moving the issuer to b", () => engine.preview()).then(
            () => "",
            (error: Error) => error.message,
        );
        expect(moved, "preview with issuerHost b").to.contain("cannot move to another host in place");
        engine.setValues(values);
    });

    it("shares the TLS session ticket keys: b holds the issuer's, a rotation on a reaches b with no reload, a session begun on a resumes on b", async () => {
        expect(keysOn(b), "b's keys after the first up").to.equal(keysOn(a));
        expect(issuerStatus().hosts?.[0].ticketKeys, "the issuer's status: b took the keys").to.include({ state: "ok", behind: false });
        expect(keysBehindMetric("b"), "metrics: b").to.equal(`edge_proxy_fleet_host_ticket_keys_behind{container="${CONTAINER}",host="b"} 0`);
        const before = keysOn(a);
        const workersOnB = (await b.docker(["top", CONTAINER, "-o", "pid"])).stdout;
        const rotation = await phase("the ticket keys' job on the issuer, rotate", () => a.exec(TICKET_KEYS_SCRIPT, ["rotate"], { allowFailure: true }));
        expect(rotation.code, rotation.stderr).to.equal(0);
        expect(keysOn(a), "a's keys rotated").to.not.equal(before);
        expect(keysOn(b), "b's keys after the rotation").to.equal(keysOn(a));
        for (const host of [a, b]) {
            const held = await ticketKeysAsHeld(host);
            expect(held.stdout, `${host.name}'s HAProxy holds the keys: ${held.stderr}`).to.equal("unchanged\n");
        }
        expect((await b.docker(["top", CONTAINER, "-o", "pid"])).stdout, "b's HAProxy processes").to.equal(workersOnB);
        const session = path.join(DIR, "fleet.session");
        const domain = values.sites[0].domains[0];
        expect(await tls13Handshake(domain, { save: session, address: a.address }), "a first handshake on a").to.equal(false);
        expect(await tls13Handshake(domain, { resume: session, address: b.address }), "the session resumed on b").to.equal(true);
    });

    it("repairs a certificate replaced and the issuer's key removed by hand on b: preview names both, up restores them, then nothing is left to do", async () => {
        const pemOnB = b.pathOf(path.posix.join(env.paths.certsDir, "site-a.pem"));
        const original = fs.readFileSync(pemOnB, "utf8");
        fs.copyFileSync(b.pathOf(path.posix.join(env.paths.certsDir, "site-b.pem")), pemOnB);
        const authorizedOnB = b.pathOf("/root/.ssh/authorized_keys");
        const authorized = fs.readFileSync(authorizedOnB, "utf8");
        fs.writeFileSync(
            authorizedOnB,
            authorized
                .split("\n")
                .filter((line) => !line.includes(ISSUER_KEY_MARKER))
                .join("\n"),
        );
        const repairs = ["update e2e-b-certificate-receiver", `update ${ISSUER_STEP("certificate-distribution")}`];
        const preview = await phase("pulumi preview after site-a.pem was replaced and the issuer's key removed on b", () => engine.preview());
        expect(preview.operations, "preview").to.deep.equal(repairs);
        expect(preview.warnings.join("\n"), "preview's warnings").to.match(/drift on the host: pem-site-a: \S+site-a\.pem was changed/);
        expect(preview.warnings.join("\n"), "preview's warnings").to.match(/drift on the host: receiver: the issuer's key is not in \S+authorized_keys/);
        const orders = env.pebble.countNewOrders();
        expect(await phase("pulumi up repairing b", () => engine.up()), "up").to.deep.equal(repairs);
        expect(fs.readFileSync(authorizedOnB, "utf8"), "b's authorized_keys").to.contain(ISSUER_KEY_MARKER);
        expect(fs.readFileSync(pemOnB, "utf8"), "b's site-a.pem").to.equal(original);
        expect(await servedSerials(b), "b serves a's certificates").to.deep.equal(await servedSerials(a));
        expect(env.pebble.countNewOrders() - orders, "ACME orders").to.equal(0);
        expect(await phase("pulumi up again", () => engine.up()), "the next up").to.deep.equal([]);
    });

    it("validates HTTP-01 through the virtual address on b, the host that is not the issuer: a forced renewal reaches b too, no request to either host failing", async () => {
        // a's keepalived stops: it gives the address up, and b, the other healthy host, takes it.
        await a.docker(["stop", KEEPALIVED]);
        await waitForVip("b", "the virtual address to move to b once a's keepalived stopped");
        const before = await servedSerials(a);
        const since = new Date(Date.now() - 1000).toISOString();
        const fresh = startClient([a.address, b.address], { domain: "a.e2e.test", ca, intervalMs: 50, timeoutMs: 5000, maxMs: 240_000 });
        const kept = startClient([a.address, b.address], { domain: "b.e2e.test", ca, intervalMs: 50, timeoutMs: 5000, maxMs: 240_000, keepAlive: true });
        const orders = env.pebble.countNewOrders();
        const renewal = await phase("renewal job with --force-renewal on a, the address on b", () => renewOnIssuer("--force-renewal"));
        await sleep(500);
        const requests = tally([...(await fresh.stop()), ...(await kept.stop())]);
        console.log(`      [fleet] requests to a and b during the renewal: ${requests.summary}`);
        expect(renewal.code, `renewal job:\n${renewal.stderr.slice(-3000)}`).to.equal(0);
        expect(env.pebble.countNewOrders() - orders, "ACME orders of the renewal").to.equal(values.sites.length);

        // Pebble (at this machine's address on the test network) fetched every name's token from b's HAProxy,
        // which sent it on to a's certbot; a's HAProxy saw none of it.
        const challenges = async (host: FleetHost) =>
            (await host.docker(["logs", "--since", since, CONTAINER])).stdout
                .split("\n")
                .filter((line) => line.startsWith(`${env.fleet.rootAddress}:`) && line.includes("/.well-known/acme-challenge/"));
        const onB = await challenges(b);
        console.log(`      [fleet] HTTP-01 requests from Pebble logged by b's HAProxy: ${onB.length}`);
        expect(onB.length, "Pebble's HTTP-01 requests through b").to.be.at.least(values.sites.flatMap((site) => site.domains).length);
        expect(
            onB.every((line) => / 200 /.test(line)),
            `b's answers to Pebble:\n${onB.join("\n")}`,
        ).to.equal(true);
        expect(await challenges(a), "Pebble's HTTP-01 requests through a").to.deep.equal([]);

        const afterA = await servedSerials(a);
        expect(await servedSerials(b), "b serves a's renewed certificates").to.deep.equal(afterA);
        for (const site of values.sites) expect(afterA[site.name], `${site.name} renewed`).to.not.equal(before[site.name]);
        expect(requests.ok, "requests during the renewal").to.be.at.least(100);
        expect(requests.failed, `failed requests: ${requests.summary}`).to.equal(0);

        // a's keepalived back: the address stays on b although a has the higher priority (vrrpPreempt false).
        const restarted = new Date().toISOString();
        await a.docker(["start", KEEPALIVED]);
        await waitForBackup(a, restarted);
        await sleep(2000);
        expect(await env.vipHolders(), "the virtual address once a's keepalived runs again").to.equal("b");
    });

    it("fails over within seconds when HAProxy stops on the host holding the address, and keeps it there once that HAProxy serves again", async () => {
        const holder = await env.vipHolders();
        expect(holder, "the holder before").to.be.oneOf(["a", "b"]);
        const [from, to] = holder === "a" ? [a, b] : [b, a];
        // A client opening a new connection to the virtual address every 50 ms.
        const client = startClient([env.vip], { domain: "a.e2e.test", ca, intervalMs: 50, timeoutMs: 1000, maxMs: 60_000 });
        await sleep(1000);
        await from.docker(["stop", CONTAINER]);
        const stopped = Date.now();
        const answered = () => client.attempts.filter((attempt) => attempt.ok && attempt.started >= stopped).sort((x, y) => x.ended - y.ended)[0];
        await waitFor(answered, { timeoutMs: 20_000, intervalMs: 50, what: `an answer at ${env.vip} from ${to.name}` });
        await waitForVip(to.name, `the virtual address on ${to.name}`);
        await sleep(2000);
        const attempts = await client.stop();
        const first = answered();
        const seconds = (first.ended - stopped) / 1000;
        const failedBefore = attempts.filter((attempt) => !attempt.ok && attempt.started < first.started).length;
        const failedAfter = attempts.filter((attempt) => !attempt.ok && attempt.started >= first.started);
        console.log(
            `      [fleet] failover: ${seconds.toFixed(1)} s, ${failedBefore} failed before the move, ${failedAfter.length} after ` +
                `(${from.name} -> ${to.name}; ${tally(attempts).summary})`,
        );
        expect(seconds, "time until the other host answered").to.be.below(3);
        expect(
            failedAfter.map((attempt) => attempt.error),
            "failed requests after the move",
        ).to.deep.equal([]);

        // HAProxy back on the old holder: it serves at its own address again; the address stays where it is.
        const since = new Date().toISOString();
        await from.docker(["start", CONTAINER]);
        await waitFor(async () => (await httpsGet(env, "a.e2e.test", "/", from.address)).startsWith("200"), {
            timeoutMs: 30_000,
            what: `${from.name} to serve again`,
        });
        await waitForBackup(from, since);
        await sleep(3000);
        expect(await env.vipHolders(), "the virtual address (vrrpPreempt false)").to.equal(to.name);
        expect(await httpsGet(env, "a.e2e.test", "/", env.vip), "through the virtual address").to.match(/^200 site-a proto=https/);
    });

    it("records a host that is down during a renewal as behind, and brings it up to date at the next run", async () => {
        expect(await env.vipHolders(), "the address away from b").to.equal("a");
        const before = await servedSerials(b);
        await phase("b down", () => b.down());
        const renewal = await phase("renewal job with --force-renewal, b down", () => renewOnIssuer("--force-renewal"));
        expect(renewal.code, `the renewal with b down:\n${renewal.stderr.slice(-2000)}`).to.not.equal(0);
        expect(renewal.stderr).to.match(/renewal failed for:.*hosts: b/);
        const renewed = await servedSerials(a);
        for (const site of values.sites) expect(renewed[site.name], `${site.name} renewed on a`).to.not.equal(before[site.name]);
        expect(
            issuerStatus().hosts?.find((host) => host.name === "b"),
            "status.json: b",
        ).to.include({ state: "failed", behind: true });
        expect(behindMetric("b"), "metrics: b").to.equal(`edge_proxy_fleet_host_behind{container="${CONTAINER}",host="b"} 1`);
        // A rotation of the ticket keys while b is down: b misses it, and the status says so.
        const rotation = await phase("the ticket keys' job on the issuer, rotate, b down", () =>
            a.exec(TICKET_KEYS_SCRIPT, ["rotate"], { allowFailure: true }),
        );
        expect(rotation.code, "the rotation with b down").to.equal(1);
        expect(issuerStatus().hosts?.find((host) => host.name === "b")?.ticketKeys, "status.json: b's keys").to.include({ state: "failed", behind: true });

        await phase("b up", () => b.up());
        // Its engine starts its containers again: b serves what it had.
        await waitFor(async () => (await httpsGet(env, "a.e2e.test", "/", b.address)).startsWith("200"), { timeoutMs: 30_000, what: "b to serve again" });
        expect(await servedSerials(b), "b's certificates before the next run").to.deep.equal(before);
        const next = await phase("renewal job, b back", () => renewOnIssuer());
        expect(next.code, `the next renewal:\n${next.stderr.slice(-2000)}`).to.equal(0);
        expect(await servedSerials(b), "b after the next run").to.deep.equal(renewed);
        expect(
            issuerStatus().hosts?.find((host) => host.name === "b"),
            "status.json: b",
        ).to.include({ state: "ok", behind: false });
        expect(behindMetric("b"), "metrics: b").to.equal(`edge_proxy_fleet_host_behind{container="${CONTAINER}",host="b"} 0`);
        // The renewal run sent b the keys it missed.
        expect(keysOn(b), "b's keys after the next run").to.equal(keysOn(a));
        expect(keysBehindMetric("b"), "metrics: b's keys").to.equal(`edge_proxy_fleet_host_ticket_keys_behind{container="${CONTAINER}",host="b"} 0`);
        await expectServedBy(b, "b caught up");
    });

    it("stops a configuration HAProxy rejects at the issuer, b's configuration and certificates unchanged, b serving; then rolls the change out to both", async () => {
        const certsDir = env.paths.certsDir;
        const servedByB = await servedSerials(b);
        const liveOnB = fs.readFileSync(b.pathOf(path.posix.join(env.paths.configDir, "haproxy.cfg")), "utf8");
        expect(liveDigest(b), "b's configuration before").to.equal(digests.b);
        // A stray, broken PEM on the issuer where a new site's certificate will go.
        fs.writeFileSync(a.pathOf(path.posix.join(certsDir, "site-c.pem")), "not a certificate\n");
        const withSiteC = env.stackValues((v) =>
            v.sites.push({ name: "site-c", domains: ["c.e2e.test"], backends: [`${env.fleet.rootAddress}:${PORTS.webB}`] }),
        );
        engine.setValues(withSiteC);
        const orders = env.pebble.countNewOrders();
        let error: Error | undefined;
        try {
            await phase("pulumi up with a configuration HAProxy rejects", () => engine.up());
        } catch (e) {
            error = e as Error;
        }
        expect(error?.message, "the failed up's message")
            .to.contain(`Command (${ISSUER_STEP("config-delivery")}):`)
            .and.contain("site-c.pem")
            .and.contain("HAProxy rejected the new configuration; the running configuration is unchanged");
        expect(env.pebble.countNewOrders() - orders, "ACME orders").to.equal(0);
        expect(liveDigest(a), "a's live configuration").to.equal(digests.a);
        expect(liveDigest(b), "b's live configuration").to.equal(digests.b);
        expect(fs.readFileSync(b.pathOf(path.posix.join(env.paths.configDir, "haproxy.cfg")), "utf8"), "b's haproxy.cfg").to.equal(liveOnB);
        expect(fs.existsSync(b.pathOf(path.posix.join(certsDir, "site-c.pem"))), "site-c's placeholder on b: b untouched").to.equal(false);
        expect(await servedSerials(b), "b's certificates").to.deep.equal(servedByB);
        await expectServedBy(b, "after the rejected change");
        await expectServedBy(a, "after the rejected change");

        // The stray file gone, the same change rolls out: site-c issued once on the issuer, then b configured and sent it.
        fs.rmSync(a.pathOf(path.posix.join(certsDir, "site-c.pem")));
        const ordersBefore = env.pebble.countNewOrders();
        await phase("pulumi up adding site-c", () => engine.up());
        expect(env.pebble.countNewOrders() - ordersBefore, "ACME orders for site-c").to.equal(1);
        values = withSiteC;
        const onA = await servedSerials(a);
        expect(await servedSerials(b), "b serves a's certificates, site-c's too").to.deep.equal(onA);
        const hosts = (await engine.stack.outputs()).hosts.value;
        expect(hosts.b.configurationDigest, "b's configuration: the new one, a's").to.equal(hosts.a.configurationDigest).and.not.equal(digests.b);
        expect(liveDigest(b)).to.equal(hosts.b.configurationDigest);
        expect(hosts.b.certificates["site-c"]?.serial, "hosts.b.certificates.site-c").to.equal(onA["site-c"]);
        await expectServedBy(b, "site-c added");
    });

    it("destroy: nothing of the stack left on either host but certbot's lineages on the issuer", async () => {
        await phase("pulumi destroy", () => engine.stack.destroy({ color: "never" }));
        for (const host of [a, b]) {
            const containers = (await host.docker(["ps", "-a", "--format", "{{.Names}}"])).stdout.split("\n").filter(Boolean);
            expect(
                containers.filter((name) => name.startsWith(CONTAINER)),
                `${host.name}'s containers`,
            ).to.deep.equal([]);
            expect(
                [env.paths.configDir, env.paths.certsDir, hostStatePath(CONTAINER), RENEW_SCRIPT, RENEW_CRON].filter((file) =>
                    fs.existsSync(host.pathOf(file)),
                ),
                `${host.name}: what the stack wrote`,
            ).to.deep.equal([]);
        }
        expect(await env.vipHolders(), "the virtual address after destroy").to.equal("");
        await expectNothingLeftAfterDestroy(
            env,
            values.sites.map((site) => site.name),
            a,
        );
        const authorized = fs.readFileSync(b.pathOf("/root/.ssh/authorized_keys"), "utf8");
        expect(authorized, "b's authorized_keys: the issuer's key").to.not.contain(ISSUER_KEY_MARKER);
        expect(authorized.trim(), "b's authorized_keys: the operator's key stays").to.equal(fs.readFileSync(`${b.privateKeyFile}.pub`, "utf8").trim());
        // b never ran certbot: no file in its certbotDataDir (its preparation made certbot's empty directories there).
        const dataDirOnB = b.pathOf(env.paths.dataDir);
        const filesOnB = fs.existsSync(dataDirOnB)
            ? fs
                  .readdirSync(dataDirOnB, { recursive: true, withFileTypes: true })
                  .filter((entry) => !entry.isDirectory())
                  .map((entry) => path.join(entry.parentPath, entry.name))
            : [];
        expect(filesOnB, "files in b's certbotDataDir").to.deep.equal([]);
    });

    it("turns a one-host stack into a fleet in place: the host's resources updated, none replaced, no order, no request to it failed", async () => {
        // One host first: a, as a one-host stack has it (its own docker0 for certbot, the names at its address).
        const docker0 = /inet ([0-9.]+)\//.exec((await a.exec("ip", ["-4", "-o", "addr", "show", "docker0"])).stdout)?.[1];
        expect(docker0, "a's docker0 address").to.be.a("string");
        const { hosts, virtualAddresses, vrrpInterface, vrrpPassword, keepalivedImage, ...shared } = values;
        const oneHost: StackValues = {
            ...shared,
            hostAddress: a.address,
            sshPort: a.sshPort,
            sshHostKey: a.hostPublicKey,
            acmeChallengeAddress: docker0,
        };
        const names = values.sites.flatMap((site) => site.domains);
        for (const domain of names) await env.pebble.addARecord(domain, a.address);
        await engine.stack.removeConfig("edge-proxy:vrrpPassword");
        engine.setValues(oneHost);
        await phase("pulumi up of a one-host stack on a", () => engine.up());
        await expectServedBy(a, "one host");
        const servedByA = await servedSerials(a);
        const containerOnA = async () => (await a.docker(["inspect", "--format", "{{.Id}} {{.State.StartedAt}}", CONTAINER])).stdout.trim();
        const startedBefore = await containerOnA();

        // The same stack with hosts a (the issuer, first) and b, and the virtual address.
        for (const domain of names) await env.pebble.addARecord(domain, env.vip);
        await engine.stack.setConfig("edge-proxy:vrrpPassword", { value: VRRP_PASSWORD, secret: true });
        engine.setValues(values);
        const orders = env.pebble.countNewOrders();
        const client = startClient([a.address], { domain: names[0], ca, intervalMs: 50, timeoutMs: 5000, maxMs: 240_000 });
        const operations = await phase("pulumi up turning it into a fleet", () => engine.up());
        const requests = tally(await client.stop());
        console.log(`      [fleet] one host to a fleet: ${operations.length} steps; requests to a meanwhile: ${requests.summary}`);
        expect(
            operations.filter((operation) => !operation.startsWith("create ") && !operation.startsWith("update ")),
            `neither replaced nor deleted: ${operations.join(", ")}`,
        ).to.deep.equal([]);
        // Created: the fleet itself (`e2e`, of the fleet's type), b's proxy, keepalived, and the fleet's steps on a.
        const fleetOnly = /^create e2e(|-b(-.*)?|-[ab]-keepalived(-.*)?|-fleet-key|-fleet-serving|-certificate-distribution)$/;
        expect(
            operations.filter((operation) => operation.startsWith("create ") && !fleetOnly.test(operation)),
            "a's resources: none created anew (the issuer's proxy took them over)",
        ).to.deep.equal([]);
        expect(env.pebble.countNewOrders() - orders, "ACME orders").to.equal(0);
        expect(await containerOnA(), "a's HAProxy container: neither replaced nor restarted").to.equal(startedBefore);
        expect(requests.failed, `requests to a during the up: ${requests.summary}`).to.equal(0);
        expect(await servedSerials(a), "a's certificates").to.deep.equal(servedByA);
        expect(await servedSerials(b), "b serves a's certificates").to.deep.equal(servedByA);
        await expectServedBy(b, "the fleet");
        expect(await phase("pulumi up again", () => engine.up()), "the next up").to.deep.equal([]);
        await phase("pulumi destroy", () => engine.stack.destroy({ color: "never" }));
    });
});
