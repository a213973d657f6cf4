/**
 * End to end: test/consumer/program.ts, the program that uses edge-proxy as a package, converged by the
 * stand-in engine (dev/realize.ts) on the end-to-end environment, with the host's address printed by the
 * resource that "makes the host" and the backends read from another stack's outputs; then every site is
 * served over HTTPS with its own certificate, and destroy removes what it put on the host.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { argsFromStackSettings, type EdgeProxySettings } from "../../components";
import { run } from "../../dev/env/command";
import { stopAll } from "../../dev/env/process";
import { CONTAINER, type Environment, phase, startEnvironment } from "../../dev/environment";
import { Realizer, up } from "../../dev/realize";
import { consumerProgram } from "../consumer/program";
import { describeWith, ENVIRONMENT } from "../support/needs";
import { expectEverySiteServed } from "./checks";

const DIR = "/var/tmp/edge-proxy-e2e/consumer";
const APPS_STACK = "acme/apps/e2e";

describeWith(ENVIRONMENT, "end to end: a program that uses edge-proxy as a package", function () {
    this.timeout(600_000);
    let env: Environment;
    let realizer: Realizer;

    before(async () => {
        env = await startEnvironment(path.join(DIR, "env"));
        realizer = new Realizer(path.join(DIR, "state.json"), DIR);
    });

    after(async () => {
        await phase("stop everything started", () => stopAll());
    });

    it("converges from Outputs and serves every site", async () => {
        // The consumer program passes no metrics password (its proxy serves the metrics without authentication)
        // and no alert command (the secrets are EdgeProxy's arguments, not settings).
        const { hostAddress, sshPrivateKey, metricsUser, metricsPassword, alertCommand, sites, ...settings } = env.stackValues();
        const {
            host: { address, ...host },
            sites: _,
            ...proxy
        } = argsFromStackSettings(settings as unknown as EdgeProxySettings);
        realizer.otherStacks.set(APPS_STACK, { backends: Object.fromEntries(sites.map((site) => [site.name, site.backends])) });
        await phase("pulumi up of the consumer program", () =>
            up(realizer, {}, "e2e", () =>
                consumerProgram({
                    proxy: { ...proxy, host },
                    sites: sites.map(({ name, domains }) => ({ name, domains })),
                    createHost: `printf '%s\\n' ${hostAddress}`,
                    appsStack: APPS_STACK,
                    sshPrivateKey: sshPrivateKey as string,
                }),
            ),
        );
        expect(realizer.operations).to.include.members([
            "create vm",
            "create edge-config-delivery",
            "create edge-haproxy-container",
            "create edge-renewal-cron",
        ]);
        await expectEverySiteServed(env, env.stackValues(), "after the consumer's up");
    });

    it("destroys what it put on the host", async () => {
        await realizer.destroy();
        expect(fs.existsSync(`/usr/local/sbin/edge-proxy-renew-${CONTAINER}`)).to.equal(false);
        expect((await run("docker", ["inspect", CONTAINER], { allowFailure: true })).code, "the container is gone").to.not.equal(0);
    });
});
