/**
 * An upgrade under the real engine: a stack brought up by the previous release of edge-proxy (its program
 * taken from the repository's history), then `pulumi up` with this one. What an operator who upgrades
 * expects: no resource replaced, created or deleted, no ACME order, the same certificates served, the
 * container never restarted (a reload at most); in-place updates only, each listed (and documented in docs/architecture.md, "Upgrading").
 *
 * Needs the real engine (as engine.test.ts) and the previous release's commit in the repository's history:
 * a shallow clone lacks it, and the suite then says so in one line and is reported pending.
 */

import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { run } from "../../dev/env/command";
import { stopAll } from "../../dev/env/process";
import { CONTAINER, type Environment, phase, startEnvironment } from "../../dev/environment";
import { PROJECT_DIR } from "../../dev/paths";
import { createEngineStack, type EngineStack, engineUnavailable, PROGRAM_ENTRIES } from "../../dev/workspace";
import { expectCertificates, expectEverySiteServed, servedCertificates } from "../e2e/checks";

/** The release this one upgrades: the newest commit of main that landed before this change. */
const PREVIOUS_RELEASE = "e6869a78175f8a040309d5ea0293b832efc90c1a";

/**
 * The in-place updates an upgrade from PREVIOUS_RELEASE may make, each with why: a step's script changed, so
 * the step runs once again and leaves what is already right as it is. Anything else fails the test.
 */
const EXPECTED_UPDATES: Record<string, string> = {
    // None of these changes anything on a converged host; certbot's steps place no order (valid and not due).
    "update e2e-config-delivery":
        "haproxy.cfg checks only backends of several servers or with a healthCheck (a lone server gets every request anyway): the release is delivered again and HAProxy reloaded gracefully",
    "update e2e-cert-site-a-certbot":
        "the certificate script checks an ACME profile with the CA before ordering (acmeProfile), names the EAB file (acmeEabKid), and decides by certbot's lifetime rule whether an order is due",
    "update e2e-cert-site-b-certbot":
        "the certificate script checks an ACME profile with the CA before ordering (acmeProfile), names the EAB file (acmeEabKid), and decides by certbot's lifetime rule whether an order is due",
    "update e2e-cert-site-a-pem":
        "the status the PEM step writes (templates/partials/sh-status.hbs) gives each certificate's lifetime, next renewal and retry time, and attention by lifetime",
    "update e2e-cert-site-b-pem":
        "the status the PEM step writes (templates/partials/sh-status.hbs) gives each certificate's lifetime, next renewal and retry time, and attention by lifetime",
    "update e2e-renewal-cron":
        "the renewal job backs off failing certificates, asks the CA for renewal windows (ARI), runs every three hours, and writes the new status",
};

/**
 * What preview may announce beyond what up does, each with why: a step whose script carries another
 * step's output, when that step updates (its output is unknown until it ran).
 */
const PREVIEW_ONLY: Record<string, string> = {
    "update e2e-certificates-reload":
        "the reload's script carries the PEM steps' output, unknown to preview while they update; they print the same lines, so up leaves it",
};

const DIR = "/var/tmp/edge-proxy-e2e/upgrade";

/** The container's ID and when it last started: both stay when it is neither replaced nor restarted. */
async function containerStarted(): Promise<string> {
    return (await run("docker", ["inspect", "--format", "{{.Id}} {{.State.StartedAt}}", CONTAINER])).stdout.trim();
}

/** Why the previous release cannot be read from the repository, or undefined when it can. */
function previousReleaseUnavailable(): string | undefined {
    const found = spawnSync("git", ["-C", PROJECT_DIR, "cat-file", "-e", `${PREVIOUS_RELEASE}^{commit}`]);
    return found.status === 0 ? undefined : `the previous release ${PREVIOUS_RELEASE.slice(0, 12)} is not in this clone's history (a shallow clone?)`;
}

describe("an upgrade from the previous release under the real engine", function () {
    this.timeout(900_000);
    let env: Environment;
    let engine: EngineStack;

    before(async function () {
        const unavailable = engineUnavailable() ?? previousReleaseUnavailable();
        if (unavailable) {
            console.log(`      upgrade suite did not run: ${unavailable}`);
            this.skip();
        }
        const previous = path.join(DIR, "previous");
        fs.rmSync(previous, { recursive: true, force: true });
        fs.mkdirSync(previous, { recursive: true });
        const archive = execFileSync("git", ["-C", PROJECT_DIR, "archive", PREVIOUS_RELEASE, ...PROGRAM_ENTRIES], { maxBuffer: 64 * 1024 * 1024 });
        execFileSync("tar", ["-x", "-C", previous], { input: archive });
        env = await startEnvironment(path.join(DIR, "env"));
        engine = await createEngineStack(env, path.join(DIR, "stack"), previous);
        engine.setValues(env.stackValues());
    });

    after(async () => {
        if (env) {
            await phase("stop everything started", () => stopAll());
        }
    });

    it("the previous release converges the host", async () => {
        await phase("pulumi up with the previous release", () => engine.up());
        await expectEverySiteServed(env, env.stackValues(), "after the previous release's up");
    });

    it("this release's up replaces nothing, orders no certificate, keeps HAProxy running and the certificates served", async () => {
        const values = env.stackValues();
        const before = await servedCertificates(values);
        const started = await containerStarted();
        const orders = env.pebble.countNewOrders();
        engine.useProgram(PROJECT_DIR);
        const preview = await phase("pulumi preview with this release", () => engine.preview());
        const operations = await phase("pulumi up with this release", () => engine.up());
        console.log(`      [upgrade] ${operations.length === 0 ? "no step" : operations.join(", ")}`);
        expect(
            preview.operations.filter((operation) => !(operation in PREVIEW_ONLY)),
            "what preview announced",
        ).to.deep.equal(operations);
        expect(
            operations.filter((operation) => !(operation in EXPECTED_UPDATES)),
            "steps other than the expected in-place updates",
        ).to.deep.equal([]);
        expect(env.pebble.countNewOrders() - orders, "ACME orders").to.equal(0);
        expect(await containerStarted(), "the HAProxy container's start").to.equal(started);
        expectCertificates(before, await servedCertificates(values), [], "after the upgrade");
        await expectEverySiteServed(env, values, "after the upgrade");
        expect(await phase("pulumi up again", () => engine.up()), "a second up").to.deep.equal([]);
    });
});
