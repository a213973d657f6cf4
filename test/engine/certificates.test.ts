/**
 * Certificates as CAs issue them from 2026 on, under the real Pulumi engine with the real docker and command
 * provider plugins, certbot 5.8 in its container, and Pebble 2.10 offering profiles (one of them issuing
 * 30-minute certificates), ACME Renewal Information, and in a second Pebble, external account binding:
 * profiles ordered and refused, renewal when the CA's window says (and not before), attention by lifetime,
 * a profile change, and EAB with the HMAC key nowhere in plain text. Every scenario counts the ACME orders
 * Pebble received.
 *
 * Runs whenever the CLI and the plugins at the pinned versions are installed; otherwise it says in one
 * line why it did not run and its tests are reported pending, never passed.
 */

import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { shellCommand } from "../../components/quote";
import { run } from "../../dev/env/command";
import { type Pebble, startPebble } from "../../dev/env/pebble";
import { stopAll } from "../../dev/env/process";
import { type Environment, PORTS, phase, RENEW_SCRIPT, type StackValues, startEnvironment } from "../../dev/environment";
import { createEngineStack, ENGINE_BIN, type EngineStack, engineUnavailable } from "../../dev/workspace";
import { argumentsSeenDuring, hostStatus, runOnTestHost, startLoad } from "../e2e/checks";
import { describeWith, ENVIRONMENT } from "../support/needs";

const DIR = "/var/tmp/edge-proxy-e2e/certificates";
/** The profiles the environment's Pebble offers: Let's Encrypt's default, and one of minutes (shortlived is 160 hours there). */
const PROFILES = {
    classic: { description: "90 days, as Let's Encrypt's classic today", validityPeriod: 90 * 86_400 },
    shortlived: { description: "30 minutes", validityPeriod: 1800 },
};
/** The key identifier and HMAC key (base64url) the EAB Pebble knows. */
const EAB = { kid: "kid-edge-proxy", hmacKey: "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W" };
/** A wrong one of the same form: the CA refuses it. */
const WRONG_HMAC_KEY = "qWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";

describeWith(ENVIRONMENT, "certificates as CAs issue them from 2026 on, under the real Pulumi engine", function () {
    this.timeout(900_000);
    let env: Environment;
    let engine: EngineStack;
    let values: StackValues;

    /** A site of the stack on one of the environment's names, answered by backend A. */
    const site = (name: string, domain: string, acmeProfile?: string) => ({
        name,
        domains: [domain],
        backends: [`${env.bridge}:${PORTS.webA}`],
        ...(acmeProfile ? { acmeProfile } : {}),
    });
    /** The certificate HAProxy serves for `domain`, parsed. */
    async function served(domain: string): Promise<X509Certificate> {
        const pem = await run(
            "sh",
            [
                "-c",
                `${shellCommand("openssl", "s_client", "-connect", `127.0.0.1:${PORTS.https}`, "-servername", domain)} </dev/null 2>/dev/null | openssl x509`,
            ],
            { allowFailure: true },
        );
        return new X509Certificate(pem.stdout);
    }
    const lifetimeSeconds = (certificate: X509Certificate) => (Date.parse(certificate.validTo) - Date.parse(certificate.validFrom)) / 1000;
    /** The lineage certbot keeps for a site on the host. */
    const lineagePem = (name: string) => fs.readFileSync(path.join(env.paths.dataDir, "etc", "live", name, "cert.pem"), "utf8");
    const onHost = (command: string) => runOnTestHost(env, DIR, command);
    /** Orders `pebble` receives while `work` runs. */
    async function ordersDuring<T>(pebble: Pebble, work: () => Promise<T>): Promise<{ orders: number; result: T }> {
        const before = pebble.countNewOrders();
        const result = await work();
        return { orders: pebble.countNewOrders() - before, result };
    }
    async function failingUp(): Promise<string> {
        try {
            await engine.up();
        } catch (error) {
            return (error as Error).message;
        }
        throw new Error("pulumi up succeeded where it should have failed");
    }

    before(async function () {
        const unavailable = engineUnavailable();
        if (unavailable) {
            console.log(`      certificates suite did not run: ${unavailable}`);
            this.skip();
        }
        env = await startEnvironment(path.join(DIR, "env"), { pebbleProfiles: PROFILES });
        engine = await createEngineStack(env, path.join(DIR, "stack"));
        values = env.stackValues((v) => {
            v.acmeProfile = "classic";
            v.sites = [site("long", "a.e2e.test"), site("early", "c.e2e.test", "shortlived"), site("late", "d.e2e.test", "shortlived")];
        });
        engine.setValues(values);
    });

    after(async () => {
        if (env) {
            await phase("stop everything started", () => stopAll());
        }
    });

    it("orders each site's certificate with its profile: one order per certificate, lifetimes as the profiles say, the status with lifetime and next renewal", async () => {
        const { orders } = await ordersDuring(env.pebble, () => phase("pulumi up, three sites, two profiles", () => engine.up()));
        expect(orders, "ACME orders of the first up").to.equal(3);
        expect(lifetimeSeconds(await served("a.e2e.test")), "classic: 90 days").to.be.closeTo(90 * 86_400, 1);
        for (const domain of ["c.e2e.test", "d.e2e.test"]) {
            expect(lifetimeSeconds(await served(domain)), `${domain}: shortlived, 30 minutes`).to.be.closeTo(1800, 1);
        }
        const status = hostStatus(env);
        const early = status.certificates.find((c) => c.name === "early")!;
        expect(early.lifetimeSeconds).to.be.closeTo(1800, 1);
        // Before the CA was asked for a window: certbot's rule, half the lifetime of a certificate under 10 days
        // (Pebble's notAfter is the period's last second: 1,799 s, half of it 899 s in whole seconds).
        expect([early.nextRenewalSource, (Date.parse(early.nextRenewal!) - Date.parse(early.notBefore!)) / 1000]).to.deep.equal([
            "lifetime",
            Math.floor(early.lifetimeSeconds! / 2),
        ]);
        const renewal = fs.readFileSync(path.join(env.paths.dataDir, "etc", "renewal", "early.conf"), "utf8");
        expect(renewal, "certbot keeps the profile for its renewals").to.match(/^required_profile = shortlived$/m);
    });

    it("the renewal job renews a certificate whose ARI window has come, not one whose window is ahead, with 0 failed requests; a run with nothing due and an up order nothing", async () => {
        // Pebble's own window for a 30-minute certificate is its whole lifetime, at a random time in it: set
        // both, before certbot first asks (it asks again only after the CA's Retry-After, 6 hours).
        const now = Date.now();
        await env.pebble.setRenewalInfo(lineagePem("late"), { start: new Date(now + 20 * 60_000), end: new Date(now + 21 * 60_000) });
        await env.pebble.setRenewalInfo(lineagePem("early"), { start: new Date(now - 10 * 60_000), end: new Date(now - 9 * 60_000) });
        const before = { early: (await served("c.e2e.test")).serialNumber, late: (await served("d.e2e.test")).serialNumber };
        // A minute between late's issuance and early's renewal: the ages that attention by lifetime tells apart below.
        const lateIssued = Date.parse((await served("d.e2e.test")).validFrom);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, lateIssued + 60_000 - Date.now())));
        const load = startLoad(["c.e2e.test", "d.e2e.test"], fs.readFileSync(env.rootCaFile, "utf8"));
        const { orders, result } = await ordersDuring(env.pebble, () =>
            phase("renewal job: early's window has come, late's is ahead", () => onHost(RENEW_SCRIPT)),
        );
        const { ok, failed, errors } = await load.stop();
        expect(result.code, result.stderr).to.equal(0);
        expect(orders, "ACME orders of the renewal run").to.equal(1);
        expect((await served("c.e2e.test")).serialNumber, "early renewed and served").to.not.equal(before.early);
        expect((await served("d.e2e.test")).serialNumber, "late kept").to.equal(before.late);
        expect(failed, `failed requests during the renewal: ${errors.slice(0, 5).join("; ")}`).to.equal(0);
        expect(ok).to.be.above(50);

        const status = hostStatus(env);
        const late = status.certificates.find((c) => c.name === "late")!;
        const renewedEarly = status.certificates.find((c) => c.name === "early")!;
        console.log(
            `      [e2e] observed: early renewed by its window (issued ${renewedEarly.notBefore}, lifetime ${renewedEarly.lifetimeSeconds} s, next ${renewedEarly.nextRenewal} by ${renewedEarly.nextRenewalSource}); ` +
                `late kept (next ${late.nextRenewal} by ${late.nextRenewalSource}); ${ok} requests ok, ${failed} failed during the run`,
        );
        expect([late.nextRenewalSource, late.renewalWindow, late.nextRenewal], "late's next renewal: the CA's window").to.deep.equal([
            "ari",
            { start: iso(now + 20 * 60_000), end: iso(now + 21 * 60_000) },
            iso(now + 20 * 60_000),
        ]);
        const metrics = fs.readFileSync(env.paths.metricsFile, "utf8");
        expect(metrics).to.contain(
            `edge_proxy_certificate_next_renewal_timestamp_seconds{container="edge-proxy-e2e",name="late"} ${Math.floor((now + 20 * 60_000) / 1000)}\n`,
        );

        const again = await ordersDuring(env.pebble, () => phase("renewal job, nothing due", () => onHost(RENEW_SCRIPT)));
        expect(again.result.code, again.result.stderr).to.equal(0);
        expect(again.orders, "ACME orders of a run with nothing due").to.equal(0);

        // Attention by lifetime: a part of the lifetime between what late (issued minutes ago) and early (just
        // renewed) have left; a new alertLifetimeFraction updates the renewal job's step only, which rewrites the status.
        const ageOf = async (domain: string) => (Date.now() - Date.parse((await served(domain)).validFrom)) / 1000;
        const [lateAge, earlyAge] = [await ageOf("d.e2e.test"), await ageOf("c.e2e.test")];
        expect(lateAge - earlyAge, "seconds between late's issuance and early's renewal").to.be.above(50);
        // Halfway between the two ages as the up below writes the status (a few seconds from now).
        const threshold = (lateAge + earlyAge) / 2 + 5;
        values = { ...values, alertLifetimeFraction: (1 - threshold / 1799).toFixed(4) };
        engine.setValues(values);
        const thresholds = await ordersDuring(env.pebble, () => phase("pulumi up, another alertLifetimeFraction", () => engine.up()));
        expect([thresholds.orders, thresholds.result], "ACME orders and steps of new thresholds").to.deep.equal([0, ["update e2e-renewal-cron"]]);
        const attention = Object.fromEntries(hostStatus(env).certificates.map((c) => [c.name, c.attention]));
        expect(attention, `attention with ${values.alertLifetimeFraction} of the lifetime left`).to.deep.equal({ early: false, late: true, long: false });

        const up = await ordersDuring(env.pebble, () => phase("pulumi up, nothing changed", () => engine.up()));
        expect(up.orders, "ACME orders of an up with every certificate valid and not due").to.equal(0);
    });

    it("an unknown profile fails its site before any order, naming the profiles the CA offers, while the others serve", async () => {
        const withOdd = { ...values, sites: [...values.sites, site("odd", "b.e2e.test", "nope")] };
        engine.setValues(withOdd);
        const servedBefore = (await served("a.e2e.test")).serialNumber;
        const { orders, result: message } = await ordersDuring(env.pebble, () => phase("pulumi up with an unknown profile", failingUp));
        expect(orders, "ACME orders").to.equal(0);
        expect(message).to.contain(`does not offer the ACME profile "nope"; it offers: classic (${PROFILES.classic.description}), shortlived (30 minutes)`);
        expect((await served("a.e2e.test")).serialNumber, "the other sites serve as before").to.equal(servedBefore);
        const odd = hostStatus(env).certificates.find((c) => c.name === "odd")!;
        expect(odd).to.include({ result: "failed", attention: true, placeholder: true });
        expect(odd.error).to.contain('does not offer the ACME profile "nope"');
        engine.setValues(values);
        await phase("pulumi up without the site", () => engine.up());
    });

    it("a new profile re-issues that site's certificate once, in place", async () => {
        const before = { long: (await served("a.e2e.test")).serialNumber, early: (await served("c.e2e.test")).serialNumber };
        values = { ...values, sites: values.sites.map((s) => (s.name === "early" ? site("early", "c.e2e.test", "classic") : s)) };
        engine.setValues(values);
        const { orders, result: steps } = await ordersDuring(env.pebble, () => phase("pulumi up, early to classic", () => engine.up()));
        expect(orders, "ACME orders of the profile change").to.equal(1);
        expect(
            steps.filter((step) => step.startsWith("replace") || step.startsWith("delete")),
            "no replacement",
        ).to.deep.equal([]);
        expect(lifetimeSeconds(await served("c.e2e.test")), "early is a 90-day certificate now").to.be.closeTo(90 * 86_400, 1);
        expect((await served("a.e2e.test")).serialNumber, "another site kept its certificate").to.equal(before.long);
        const again = await ordersDuring(env.pebble, () => phase("pulumi up again", () => engine.up()));
        expect(again.orders, "once: the next up orders nothing").to.equal(0);
    });

    describe("external account binding", () => {
        let eabPebble: Pebble;
        before(async () => {
            await phase("pulumi destroy", () => engine.stack.destroy({ color: "never" }));
            eabPebble = await phase("pebble requiring EAB", () =>
                startPebble({
                    dir: path.join(DIR, "eab-pebble"),
                    httpPort: PORTS.http,
                    listenAddress: env.bridge,
                    acmePort: 14100,
                    managementPort: 15100,
                    dnsPort: 8153,
                    challManagementPort: 8155,
                    resolverPort: env.pebble.resolverPort,
                    profiles: { classic: PROFILES.classic },
                    externalAccountBinding: { [EAB.kid]: EAB.hmacKey },
                }),
            );
            values = {
                ...values,
                acmeServer: eabPebble.directoryUrl,
                acmeCaBundle: eabPebble.listenerCaPem,
                acmeEabKid: EAB.kid,
                acmeProfile: "classic",
                sites: [site("long", "a.e2e.test")],
            };
            engine.setValues(values);
        });

        it("a wrong HMAC key fails with the CA's message and creates no account; the right one creates it and issues", async () => {
            await engine.stack.setConfig("edge-proxy:acmeEabHmacKey", { value: WRONG_HMAC_KEY, secret: true });
            const wrong = await ordersDuring(eabPebble, () => phase("pulumi up, wrong EAB key", failingUp));
            expect(wrong.orders, "ACME orders with the wrong key").to.equal(0);
            expect(wrong.result, "the CA's own message").to.contain("external account binding JWS verification error");
            expect(fs.readFileSync(eabPebble.logFile, "utf8")).to.not.contain("Successful newAccount Binding");

            await engine.stack.setConfig("edge-proxy:acmeEabHmacKey", { value: EAB.hmacKey, secret: true });
            const others = env.pebble.countNewOrders();
            // Every process's arguments while certbot creates the account and issues.
            const { result: right, seen } = await argumentsSeenDuring(() =>
                ordersDuring(eabPebble, () => phase("pulumi up, right EAB key", () => engine.up())),
            );
            expect(seen.filter((line) => line.includes("certbot")).length, "certbot seen running").to.be.greaterThan(0);
            expect(
                seen.filter((line) => line.includes(EAB.hmacKey)),
                "processes whose arguments hold the HMAC key",
            ).to.deep.equal([]);
            expect([right.orders, env.pebble.countNewOrders() - others], "ACME orders with the right key: at the EAB CA, none elsewhere").to.deep.equal([1, 0]);
            expect(fs.readFileSync(eabPebble.logFile, "utf8")).to.contain(`Successful newAccount Binding with CA using kid "${EAB.kid}"`);
            expect(lifetimeSeconds(await served("a.e2e.test")), "the EAB CA's certificate is served").to.be.closeTo(90 * 86_400, 1);
            const eabFile = path.join(env.paths.dataDir, "etc", "edge-proxy", "eab.ini");
            expect((fs.statSync(eabFile).mode & 0o777).toString(8), "the binding's file: root's only").to.equal("600");
        });

        it("the HMAC key is in no state, log, renewal configuration or other file in plain text", async () => {
            // The CLI's export, which shows secrets as ciphertext (the Automation API's exportStack decrypts them).
            const state = (
                await run(path.join(ENGINE_BIN, "pulumi"), ["stack", "export", "--stack", "e2e"], { cwd: path.join(engine.dir, "project"), env: engine.cliEnv })
            ).stdout;
            expect(state, "the binding's step is in the state").to.contain("acme-eab-file");
            expect(state, "the stack's state").to.not.contain(EAB.hmacKey).and.not.contain(WRONG_HMAC_KEY);
            const eabFile = path.join(env.paths.dataDir, "etc", "edge-proxy", "eab.ini");
            const holding = (
                await run("grep", ["-rlF", "-e", EAB.hmacKey, "-e", WRONG_HMAC_KEY, env.paths.dataDir, engine.dir, DIR], { allowFailure: true })
            ).stdout
                .split("\n")
                // The CA's own configuration holds the key it issued; nothing of the stack's may.
                .filter((file) => file !== "" && file !== eabFile && !file.startsWith(path.join(DIR, "eab-pebble")));
            expect(holding, "files holding the HMAC key besides the binding's file").to.deep.equal([]);
        });

        after(async () => {
            await engine.stack.destroy({ color: "never" }).catch(() => undefined);
            await eabPebble?.stop();
        });
    });
});

function iso(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
