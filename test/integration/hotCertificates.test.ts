/**
 * Certificates installed into a running HAProxy through its runtime API (templates/host/runtime.py, the
 * program the host runs with the certbot image's python3), on every real haproxy binary from 2.2 (Debian's
 * and those EDGE_PROXY_HAPROXY_BINARIES lists), each running a rendering for its own version in
 * master-worker mode as the official images do, on loopback ports. Under load from new and kept-alive
 * connections: no request fails, the worker that served before still serves, and the new certificate is
 * what a new connection gets. Everything a test starts it stops by PID; every wait is bounded.
 */

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { haproxyFeatures } from "../../components/haproxy/features";
import type { RunningHaproxy } from "../../dev/haproxy";
import { PROJECT_DIR } from "../../dev/paths";
import { writeCertificate } from "../support/certificates";
import { startLoad } from "../support/load";
import { describeWith, HAPROXY, program, ROOT } from "../support/needs";
import { forEachSeedProxy } from "../support/seedProxy";

const RUNTIME_PROGRAM = path.join(PROJECT_DIR, "templates", "host", "runtime.py");
const PORTS = { http: 29080, https: 29443, ssh: 29122, backend: { host: "127.0.0.4", port: 29081 } };
const HTTPS = { address: "127.0.0.1", port: PORTS.https };
/** The seed's site. */
const DOMAIN = "www.example.com";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** runtime.py against `proxy`'s runtime API, as the host runs it. */
function runtime(proxy: RunningHaproxy, ...args: string[]) {
    const result = spawnSync("python3", [RUNTIME_PROGRAM, proxy.runtimeSocketName, ...args], { encoding: "utf8", timeout: 60_000 });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** runtime.py's `certificates` command. */
const installLive = (proxy: RunningHaproxy, ...pems: string[]) => runtime(proxy, "certificates", ...pems);

/** A CA-style certificate for DOMAIN with its key, as one PEM (fullchain, then key) in `dir`; its SHA-1 fingerprint. */
function newPem(dir: string, name: string, serial: string): { file: string; fingerprint: string } {
    const cert = path.join(dir, `${name}.crt`);
    const key = path.join(dir, `${name}.key`);
    writeCertificate(cert, key, { names: [DOMAIN], notBefore: new Date(Date.now() - 3_600_000), notAfter: new Date(Date.now() + 86_400_000), serial });
    const file = path.join(dir, `${name}.pem`);
    fs.writeFileSync(file, fs.readFileSync(cert, "utf8") + fs.readFileSync(key, "utf8"));
    return { file, fingerprint: fingerprintOf(cert) };
}

function fingerprintOf(certFile: string): string {
    return spawnSync("openssl", ["x509", "-noout", "-fingerprint", "-sha1", "-in", certFile], { encoding: "utf8" }).stdout.trim().split("=")[1];
}

/** The fingerprint of the certificate a new TLS connection to HAProxy gets for DOMAIN. */
function servedFingerprint(): string {
    const result = spawnSync(
        "sh",
        [
            "-c",
            'openssl s_client -connect "$0" -servername "$1" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha1',
            `${HTTPS.address}:${HTTPS.port}`,
            DOMAIN,
        ],
        { encoding: "utf8", timeout: 10_000 },
    );
    return result.stdout.trim().split("=")[1] ?? `none (${result.stderr.trim()})`;
}

/** Puts `pem` where HAProxy reads the site's certificate, as the host's swap does (one rename). */
function swapIn(proxy: RunningHaproxy, pem: string): string {
    const live = path.join(proxy.certsDir, "www.example.com.pem");
    const next = `${live}.next`;
    fs.copyFileSync(pem, next);
    fs.renameSync(next, live);
    return live;
}

describeWith([ROOT, HAPROXY, program("python3", "Debian's python3")], "certificates installed into a running haproxy (runtime API)", function () {
    this.timeout(120_000);

    forEachSeedProxy(
        {
            what: "with the runtime API's certificate commands (2.2+)",
            applies: (binary) => haproxyFeatures(binary.version).runtimeCertificates,
            ports: PORTS,
        },
        (context) => {
            it("installs a renewed certificate under load: no failed request, the same worker, the new certificate served", async () => {
                const renewed = newPem(context.scratch, "renewed", "1A01");
                const worker = await context.seed.proxy.workerPid();
                const load = startLoad(HTTPS, [DOMAIN]);
                await sleep(500);
                const live = swapIn(context.seed.proxy, renewed.file);
                const result = installLive(context.seed.proxy, live);
                await sleep(500);
                const { ok, failed, errors } = await load.stop();
                console.log(`      [haproxy ${context.binary.release}] load while the certificate was installed: ${ok} requests ok, ${failed} failed`);
                expect(result.code, result.stderr).to.equal(0);
                expect(result.stdout).to.equal(`updated ${live}\n`);
                expect(servedFingerprint(), "the certificate a new connection gets").to.equal(renewed.fingerprint);
                expect(await context.seed.proxy.workerPid(), "the worker serving").to.equal(worker);
                expect(ok, "requests during the update").to.be.at.least(100);
                expect(failed, errors.slice(0, 5).join("; ")).to.equal(0);
            });

            it("sends nothing when HAProxy already serves the file's certificate", () => {
                const live = path.join(context.seed.proxy.certsDir, "www.example.com.pem");
                const result = installLive(context.seed.proxy, live);
                expect(result.code, result.stderr).to.equal(0);
                expect(result.stdout).to.equal(`unchanged ${live}\n`);
            });

            it("fails on a certificate whose key is not its own, and HAProxy keeps serving the one before", () => {
                const before = servedFingerprint();
                const other = newPem(context.scratch, "other", "1A02");
                const mismatched = path.join(context.scratch, "mismatched.pem");
                const certificate = fs.readFileSync(other.file, "utf8").replace(/-----BEGIN PRIVATE KEY-----[\s\S]*$/, "");
                const key = /-----BEGIN PRIVATE KEY-----[\s\S]*$/.exec(fs.readFileSync(path.join(context.scratch, "renewed.pem"), "utf8"))![0];
                fs.writeFileSync(mismatched, certificate + key);
                const live = swapIn(context.seed.proxy, mismatched);
                const result = installLive(context.seed.proxy, live);
                expect(result.code).to.equal(1);
                expect(result.stderr).to.contain(`HAProxy refused the certificate ${live}:`);
                expect(servedFingerprint(), "still the certificate before").to.equal(before);
                // The next try, with a good file, is not held up by a transaction left open.
                const good = newPem(context.scratch, "good", "1A03");
                expect(installLive(context.seed.proxy, swapIn(context.seed.proxy, good.file)).code).to.equal(0);
                expect(servedFingerprint()).to.equal(good.fingerprint);
            });

            it("exits 2 for a certificate HAProxy does not hold (its configuration must be reloaded first)", () => {
                const unknown = path.join(context.seed.proxy.certsDir, "not-configured.pem");
                fs.copyFileSync(path.join(context.scratch, "good.pem"), unknown);
                const result = installLive(context.seed.proxy, unknown);
                expect(result.code).to.equal(2);
                expect(result.stderr).to.contain(`HAProxy does not serve ${unknown} yet`);
            });

            it("waits through a reload for the new worker, whose runtime API takes the next certificate", () => {
                const before = runtime(context.seed.proxy, "worker");
                expect(before.code, before.stderr).to.equal(0);
                // The file changes after the signal: a new worker may read it, or not, before it serves.
                context.seed.proxy.reload();
                const renewed = newPem(context.scratch, "after-reload", "1A04");
                const live = swapIn(context.seed.proxy, renewed.file);
                const waited = runtime(context.seed.proxy, "wait-worker", before.stdout.trim(), "20");
                expect(waited.code, `${waited.stderr}\n${context.seed.proxy.output()}`).to.equal(0);
                expect(waited.stdout.trim(), "a new worker").to.match(/^\d+$/).and.not.equal(before.stdout.trim());
                const result = installLive(context.seed.proxy, live);
                expect(result.code, result.stderr).to.equal(0);
                expect(servedFingerprint()).to.equal(renewed.fingerprint);
                // No worker other than the one serving comes: the wait ends in failure, not forever.
                const none = runtime(context.seed.proxy, "wait-worker", waited.stdout.trim(), "1");
                expect(none.code).to.equal(1);
                expect(none.stderr).to.contain("no new HAProxy worker answered within 1 s");
            });
        },
    );
});
