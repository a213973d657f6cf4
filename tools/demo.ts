/**
 * `npm run demo`: the end-to-end environment on this machine (Docker engine, SSH host, Pebble, two
 * sites and an SSH service), the real stack converged onto it, left running with the commands to try.
 * With the Pulumi CLI and the provider plugins installed (docs/testing.md, "The real engine") the real engine runs
 * it and prints its own progress; without them the stand-in of dev/realize.ts does, one line per
 * resource. Ctrl-C destroys the stack and stops everything it started. Needs root and what `.ci/run`
 * installs.
 */
import * as path from "node:path";
import { onCleanup, stopAll } from "../dev/env/process";
import { PORTS, SITES, startEnvironment } from "../dev/environment";
import { Realizer, up } from "../dev/realize";
import { createEngineStack, engineUnavailable } from "../dev/workspace";

const DIR = "/var/tmp/edge-proxy-e2e/demo";

async function main(): Promise<void> {
    const env = await startEnvironment(path.join(DIR, "env"));
    const unavailable = engineUnavailable();
    if (unavailable) {
        console.log(`The stand-in engine converges the stack (the real one is not installed: ${unavailable}).`);
        const realizer = new Realizer(path.join(DIR, "state.json"), DIR, (operation) => console.log(`  ${operation}`));
        // Registered last, so run first on Ctrl-C: the stack goes before the services it runs on.
        onCleanup("the stack (stand-in destroy)", () => realizer.destroy());
        await up(realizer, env.stackConfig());
    } else {
        console.log("The real Pulumi engine converges the stack:");
        const engine = await createEngineStack(env, path.join(DIR, "stack"));
        engine.setValues(env.stackValues());
        onCleanup("the stack (pulumi destroy)", async () => {
            await engine.stack.destroy({ onOutput: (text) => process.stdout.write(text) });
        });
        await engine.up((text) => process.stdout.write(text));
    }
    const resolve = (domain: string, port: number) => `--resolve ${domain}:${port}:127.0.0.1`;
    const lines = [
        "",
        "edge-proxy is running. Try:",
        ...SITES.flatMap((site) =>
            site.domains.map((domain) => `  curl --cacert ${env.rootCaFile} ${resolve(domain, PORTS.https)} https://${domain}:${PORTS.https}/`),
        ),
        `  curl -i ${resolve("a.e2e.test", PORTS.http)} http://a.e2e.test:${PORTS.http}/hello      # 301 to HTTPS`,
        `  openssl s_client -connect 127.0.0.1:${PORTS.https} -servername b.e2e.test -CAfile ${env.rootCaFile} </dev/null`,
        `  ssh -i ${env.backendSshd.privateKeyFile} -p ${PORTS.sshService} -o StrictHostKeyChecking=no root@127.0.0.1   # SSH through HAProxy`,
        `  ssh -i ${env.host.privateKeyFile} -p ${env.host.port} -o StrictHostKeyChecking=no root@127.0.0.1 /usr/local/sbin/edge-proxy-renew-edge-proxy-e2e --force-renewal`,
        "  docker logs -f edge-proxy-e2e",
        "",
        "Ctrl-C destroys the stack and stops everything.",
    ];
    console.log(lines.join("\n"));
    // Until Ctrl-C, whose handler (dev/env/process.ts) runs every cleanup and exits.
    setInterval(() => undefined, 60_000);
}

main().catch(async (error) => {
    console.error(error instanceof Error ? error.message : error);
    await stopAll();
    process.exit(1);
});
