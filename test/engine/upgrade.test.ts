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
const PREVIOUS_RELEASE = "936097c7a3aefb0dcc0462109ab66bb9070e4524";

/**
 * The in-place updates an upgrade from PREVIOUS_RELEASE may make, each with why: a step's script changed, so
 * the step runs once again and leaves what is already right as it is. Anything else fails the test.
 */
const EXPECTED_UPDATES: Record<string, string> = {
    // None from 936097c: what changed since is a fleet's status of the ticket keys (its issuer's scripts
    // only) and the tests; a one-host stack's scripts are the same.
};

/**
 * What preview may announce beyond what up does, each with why: a step whose script carries another
 * step's output, when that step updates (its output is unknown until it ran).
 */
const PREVIEW_ONLY: Record<string, string> = {
    // None from 936097c, d4147ba or 2a3bf74: no PEM step updates. From a6aaf0a to e6869a7 the reload step was one (its script carries the PEM steps' output).
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
