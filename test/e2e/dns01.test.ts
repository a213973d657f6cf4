/**
 * End to end, DNS-01 and wildcard certificates: the stack of the environment plus two DNS-01 sites, a
 * wildcard and one with names that have no HTTP route, realized for real by the stand-in engine against a
 * Docker engine, an SSH host, Pebble and a real authoritative DNS server (named, taking the TSIG-signed
 * updates certbot's dns-rfc2136 plugin sends; Pebble resolves through it, so it validates the TXT records
 * certbot wrote). Checked from outside with curl, openssl and dig, in one operator's session.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { parseConfig } from "../../components/config/validate";
import { dnsCredentialsPaths } from "../../components/hostScripts";
import { run } from "../../dev/env/command";
import { stopAll } from "../../dev/env/process";
import { CONTAINER, type Environment, engineConfig, PORTS, phase, rfc2136Values, type StackValues, startEnvironment } from "../../dev/environment";
import { Realizer, up } from "../../dev/realize";
import { describeWith, ENVIRONMENT } from "../support/needs";
import { expectStatusAllWell, secretsPresent, servedCertificate } from "./checks";

const DIR = "/var/tmp/edge-proxy-e2e/dns01";
const RENEW_SCRIPT = `/usr/local/sbin/edge-proxy-renew-${CONTAINER}`;
/** A name the wildcard covers, its exact name under the wildcard, and a name with no HTTP route (no A record anywhere). */
const NAMES = { underWildcard: "x.w.dns01.test", exactUnderWildcard: "api.w.dns01.test", internal: "internal.dns01.test", twoLabels: "a.b.w.dns01.test" };

describeWith(ENVIRONMENT, "end to end: DNS-01 through RFC 2136 and wildcard certificates", function () {
    this.timeout(600_000);
    let env: Environment;
    let realizer: Realizer;

    /**
     * The environment's stack with the RFC 2136 provider (named on the bridge, its TSIG key) and the DNS-01
     * sites: `wild` (*.w.dns01.test, backend A) and `internal` (internal.dns01.test and api.w.dns01.test,
     * backend B), beside the environment's HTTP-01 site-a.
     */
    function dnsValues(change?: (values: StackValues) => void): StackValues {
        return env.stackValues((values) => {
            Object.assign(values, rfc2136Values(env));
            values.sites = [
                values.sites[0],
                { name: "wild", challenge: "dns-01", domains: ["*.w.dns01.test"], backends: [`${env.bridge}:${PORTS.webA}`] },
                { name: "internal", challenge: "dns-01", domains: [NAMES.internal, NAMES.exactUnderWildcard], backends: [`${env.bridge}:${PORTS.webB}`] },
            ] as StackValues["sites"];
            change?.(values);
        });
    }

    /** The DNS provider's credentials file on the host, as the stack's validated configuration places it. */
    function credentialsFile(): string {
        return dnsCredentialsPaths(parseConfig({ ...dnsValues(), ...secretsPresent(dnsValues()) }))!.path;
    }

    /** GET https://name/ through HAProxy, trusting only Pebble's root (or anything, with `insecure`): status and body. */
    async function get(name: string, insecure = false): Promise<string> {
        const result = await run(
            "curl",
            [
                "-sS",
                "--max-time",
                "10",
                ...(insecure ? ["-k"] : ["--cacert", env.rootCaFile]),
                "--resolve",
                `${name}:${PORTS.https}:127.0.0.1`,
                "-o",
                "-",
                "-w",
                " %{http_code}",
                `https://${name}:${PORTS.https}/`,
            ],
            { allowFailure: true },
        );
        return result.code === 0 ? result.stdout.replace(/\s+/g, " ").trim() : `curl failed: ${result.stderr.trim()}`;
    }

    /** Every _acme-challenge TXT record left in the zone for the DNS-01 names. */
    async function leftoverTxt(): Promise<string[]> {
        const names = ["_acme-challenge.w.dns01.test", "_acme-challenge.internal.dns01.test", "_acme-challenge.api.w.dns01.test"];
        return (await Promise.all(names.map(async (name) => (await env.dns.txtRecords(name)).map((record) => `${name} ${record}`)))).flat();
    }

    before(async () => {
        env = await startEnvironment(DIR);
        realizer = new Realizer(path.join(DIR, "state.json"), DIR);
    });

    after(async () => {
        await phase("stop everything started", () => stopAll());
    });

    it("issues the wildcard and the DNS-only certificates through TXT records Pebble validates, and serves each name by SNI", async () => {
        const orders = env.pebble.countNewOrders();
        await phase("first pulumi up with DNS-01 sites", () => up(realizer, engineConfig(dnsValues())));
        expect(env.pebble.countNewOrders() - orders, "ACME orders: site-a, wild, internal").to.equal(3);
        const wildcard = await servedCertificate(NAMES.underWildcard);
        const internal = await servedCertificate(NAMES.internal);
        console.log(`      [e2e] served for ${NAMES.underWildcard}: ${wildcard.replace(/\s+/g, " ").trim()}`);
        console.log(`      [e2e] served for ${NAMES.internal}: ${internal.replace(/\s+/g, " ").trim()}`);
        expect(wildcard, "the wildcard certificate").to.match(/DNS:\*\.w\.dns01\.test/);
        expect(internal, "the DNS-only site's certificate").to.contain(`DNS:${NAMES.internal}`).and.contain(`DNS:${NAMES.exactUnderWildcard}`);
        expect(await servedCertificate(NAMES.exactUnderWildcard), "the exact name under the wildcard gets its own site's certificate").to.equal(internal);
        // Verified against Pebble's root, each name routed to its own site's backend.
        expect(await get(NAMES.underWildcard), "a name under the wildcard").to.match(/^site-a proto=https .* 200$/);
        expect(await get("other.w.dns01.test"), "another name under the wildcard").to.match(/^site-a proto=https .* 200$/);
        expect(await get(NAMES.exactUnderWildcard), "the exact name wins over the wildcard").to.match(/^site-b proto=https .* 200$/);
        expect(await get(NAMES.internal), "the name with no HTTP route").to.match(/^site-b proto=https .* 200$/);
        expect(await get("a.e2e.test"), "the HTTP-01 site").to.match(/^site-a proto=https .* 200$/);
        // A request for the exact name over a connection opened for a name the wildcard covers (HTTP/2 reuse).
        const reused = await run("curl", [
            "-sS",
            "--max-time",
            "10",
            "--cacert",
            env.rootCaFile,
            "--resolve",
            `${NAMES.underWildcard}:${PORTS.https}:127.0.0.1`,
            "-H",
            `Host: ${NAMES.exactUnderWildcard}`,
            `https://${NAMES.underWildcard}:${PORTS.https}/`,
        ]);
        expect(reused.stdout, "the exact name's request on the wildcard's connection").to.match(/^site-b proto=https/);
        expect(await get(NAMES.twoLabels, true), "two labels under the wildcard: no site").to.match(/(^| )421$/);
    });

    it("cleans up the TXT records, keeps the TSIG secret in a root-only file, and no secret in any step but that one", async () => {
        expect(await leftoverTxt(), "TXT records left in the zone").to.deep.equal([]);
        const credentials = credentialsFile();
        const stat = fs.statSync(credentials);
        expect([(stat.mode & 0o777).toString(8), stat.uid], "the credentials file's mode and owner").to.deep.equal(["600", 0]);
        expect(fs.readFileSync(credentials, "utf8")).to.contain(`dns_rfc2136_secret = ${env.dns.tsig.secret}\n`);
        for (const name of ["e2e-cert-wild-certbot", "e2e-cert-internal-certbot", "e2e-renewal-cron", "e2e-config-delivery"]) {
            expect(JSON.stringify(realizer.outputsOf(name)), `${name}'s inputs and outputs`).to.not.contain(env.dns.tsig.secret);
        }
    });

    it("npm run status sees every name's certificate, the wildcard's through a name it covers: all well", async () => {
        const report = await expectStatusAllWell(dnsValues(), "after the DNS-01 up");
        expect(
            report.sites.find((site) => site.name === "wild")?.names.map((n) => [n.name, n.placeholder]),
            "the wildcard site",
        ).to.deep.equal([["*.w.dns01.test", false]]);
    });

    it("does nothing on a second up: no step, no ACME order", async () => {
        const orders = env.pebble.countNewOrders();
        await phase("second pulumi up, nothing changed", () => up(realizer, engineConfig(dnsValues())));
        expect(realizer.operations, "steps").to.deep.equal([]);
        expect(env.pebble.countNewOrders() - orders, "ACME orders").to.equal(0);
    });

    it("renews the DNS-01 lineages with the plugin they were issued with, and cleans up again", async () => {
        const before = [await servedCertificate(NAMES.underWildcard), await servedCertificate(NAMES.internal)];
        const renewal = await phase("renewal job with --force-renewal", () =>
            run("sh", ["-c", `${RENEW_SCRIPT} --force-renewal`], { allowFailure: true, timeoutMs: 300_000 }),
        );
        expect(renewal.code, `renewal job:\n${renewal.stderr}`).to.equal(0);
        const after = [await servedCertificate(NAMES.underWildcard), await servedCertificate(NAMES.internal)];
        expect(after[0], "the wildcard renewed").to.not.equal(before[0]);
        expect(after[0], "the wildcard renewed").to.match(/DNS:\*\.w\.dns01\.test/);
        expect(after[1], "the DNS-only certificate renewed").to.not.equal(before[1]);
        expect(after[1], "the DNS-only certificate renewed").to.contain(`DNS:${NAMES.internal}`);
        expect(await leftoverTxt(), "TXT records left after the renewal").to.deep.equal([]);
    });

    it("a wrong TSIG key: only the credentials step changes; a new DNS-01 site then fails with certbot's error, the others keep serving; the right key converges", async () => {
        const wrongKey = Buffer.from("not the zone's key, but base64 all the same").toString("base64");
        const withOther = (values: StackValues) => {
            values.sites.push({
                name: "other",
                challenge: "dns-01",
                domains: ["other.dns01.test"],
                backends: [`${env.bridge}:${PORTS.webB}`],
            } as StackValues["sites"][number]);
        };
        await phase("pulumi up with a wrong TSIG key", () =>
            up(
                realizer,
                engineConfig(
                    dnsValues((v) => {
                        v.rfc2136KeySecret = wrongKey;
                    }),
                ),
            ),
        );
        expect(realizer.operations, "a new secret: the credentials step only").to.deep.equal(["update e2e-dns-credentials-file"]);
        let error: Error | undefined;
        try {
            await phase("pulumi up adding a DNS-01 site with the wrong key", () =>
                up(
                    realizer,
                    engineConfig(
                        dnsValues((v) => {
                            v.rfc2136KeySecret = wrongKey;
                            withOther(v);
                        }),
                    ),
                ),
            );
        } catch (e) {
            error = e as Error;
        }
        expect(error?.message, `the failed up: ${error?.message}`)
            .to.contain("e2e-cert-other-certbot failed")
            .and.contain("The peer didn't like the signature we sent");
        expect(await get(NAMES.underWildcard), "the wildcard site while the key is wrong").to.match(/^site-a proto=https .* 200$/);
        expect(await get(NAMES.internal), "the DNS-only site while the key is wrong").to.match(/^site-b proto=https .* 200$/);
        await phase("pulumi up with the right key", () => up(realizer, engineConfig(dnsValues(withOther))));
        expect(await get("other.dns01.test"), "the new DNS-01 site").to.match(/^site-b proto=https .* 200$/);
        expect(await leftoverTxt(), "TXT records left").to.deep.equal([]);
    });

    it("destroys the stack, the credentials file with it", async () => {
        await phase("pulumi destroy", () => realizer.destroy());
        expect(fs.existsSync(credentialsFile()), "the credentials file after destroy").to.equal(false);
    });
});
