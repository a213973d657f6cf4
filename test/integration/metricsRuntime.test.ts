/**
 * HAProxy's own metrics served by real haproxy binaries (Debian's and those EDGE_PROXY_HAPROXY_BINARIES lists,
 * each given a rendering for its own version), scraped on loopback ports: the stats page on every version,
 * the Prometheus exporter from 2.0, and basic authentication with the password's SHA-512 crypt hash (401
 * without or with wrong credentials, 200 with the right ones), and no answer to an address the host does not
 * list as Docker's port publishing. Each haproxy is stopped by its PID.
 */

import * as path from "node:path";
import { expect } from "chai";
import type { EdgeProxyConfig } from "../../components/config/types";
import { haproxyFeatures } from "../../components/haproxy/features";
import { metricsPasswordHash } from "../../components/haproxy/passwordHash";
import { METRICS_PATHS, renderHaproxyConfig } from "../../components/haproxy/render";
import { loadStackFile } from "../../components/plan";
import { haproxyBinaries, type RunningHaproxy, startHaproxy } from "../../dev/haproxy";
import { PROJECT_DIR } from "../../dev/paths";
import { curl } from "../support/curl";
import { describeWith, HAPROXY, ROOT } from "../support/needs";

const METRICS_PORT = 8404;
const BINDS = { 80: "127.0.0.1:29080", 443: "127.0.0.1:29443", 22: "127.0.0.1:29122", [METRICS_PORT]: "127.0.0.1:29404" };
const METRICS_URL = "http://127.0.0.1:29404";
const USER = "prometheus";
/** A password with a blank and a colon: basic authentication splits at the first colon only. */
const PASSWORD = "correct horse:battery staple";

/** The seed stack with metrics on, for a version, with or without basic authentication. */
function metricsConfig(version: EdgeProxyConfig["haproxy"]["version"], user?: string): EdgeProxyConfig {
    const config = loadStackFile(path.join(PROJECT_DIR, "test", "stacks", "seed-1.7.yaml"));
    config.haproxy.version = version;
    config.haproxy.metrics = { address: "127.0.0.1", port: METRICS_PORT, user };
    return config;
}

describeWith([ROOT, HAPROXY], "HAProxy's metrics on real haproxy", function () {
    this.timeout(60_000);

    for (const binary of haproxyBinaries().binaries) {
        const exporter = haproxyFeatures(binary.version).prometheusExporter;

        describe(`haproxy ${binary.release}`, () => {
            let proxy: RunningHaproxy | undefined;
            afterEach(async () => {
                await proxy?.stop();
                proxy = undefined;
            });

            it(`serves the stats page${exporter ? " and the Prometheus exporter" : " (no Prometheus exporter before 2.0)"} without authentication`, async () => {
                proxy = await startHaproxy({ binary: binary.path, files: renderHaproxyConfig(metricsConfig(binary.version)), binds: BINDS });
                const stats = await curl(`${METRICS_URL}${METRICS_PATHS.stats}`);
                expect([stats.status, stats.body.includes("Statistics Report")], stats.body.slice(0, 300)).to.deep.equal([200, true]);
                const csv = await curl(`${METRICS_URL}${METRICS_PATHS.stats};csv`);
                expect(csv.body.split("\n").filter((line) => line.startsWith("https,FRONTEND,")).length, csv.body.slice(0, 300)).to.equal(1);
                const metrics = await curl(`${METRICS_URL}${METRICS_PATHS.prometheus}`);
                if (exporter) {
                    expect(metrics.status).to.equal(200);
                    expect(metrics.body).to.match(/^haproxy_frontend_current_sessions\{proxy="https"\} 0$/m);
                } else {
                    expect(metrics.status).to.not.equal(200);
                }
            });

            it("answers a loopback-published metrics port only from the addresses the host lists (not other containers)", async () => {
                const fromOther = (url: string) =>
                    curl("--interface", "127.0.0.2", url).then(
                        (response) => `answered ${response.status}`,
                        (error: Error & { code?: number }) => `curl exit ${error.code}`,
                    );
                proxy = await startHaproxy({ binary: binary.path, files: renderHaproxyConfig(metricsConfig(binary.version)), binds: BINDS });
                expect((await curl(`${METRICS_URL}${METRICS_PATHS.stats}`)).status, "from 127.0.0.1, listed").to.equal(200);
                // Reset as soon as it is accepted; curl names the reset by when it saw it: while connecting (7),
                // sending (55), or waiting for the reply (52, 56).
                expect(await fromOther(`${METRICS_URL}${METRICS_PATHS.stats}`), "from 127.0.0.2, not listed").to.be.oneOf([
                    "curl exit 7",
                    "curl exit 52",
                    "curl exit 55",
                    "curl exit 56",
                ]);
                await proxy.stop();
                // Published on a private address, the listener answers everyone who reaches it (and asks them
                // for credentials, which validation requires there).
                const config = metricsConfig(binary.version);
                config.haproxy.metrics!.address = "192.168.0.10";
                proxy = await startHaproxy({ binary: binary.path, files: renderHaproxyConfig(config), binds: BINDS });
                expect(await fromOther(`${METRICS_URL}${METRICS_PATHS.stats}`), "from 127.0.0.2, metrics on a private address").to.equal("answered 200");
            });

            it("asks for credentials (401) unless they are right, with the password's SHA-512 crypt hash in haproxy.cfg", async () => {
                const config = metricsConfig(binary.version, USER);
                const files = renderHaproxyConfig(config, { metricsPasswordHash: metricsPasswordHash(config, PASSWORD) });
                expect(files.cfg).to.not.contain(PASSWORD.split(" ")[0]);
                proxy = await startHaproxy({ binary: binary.path, files, binds: BINDS });
                const paths = exporter ? [METRICS_PATHS.stats, METRICS_PATHS.prometheus] : [METRICS_PATHS.stats];
                for (const where of paths) {
                    const url = `${METRICS_URL}${where}`;
                    const anonymous = await curl(url);
                    expect([anonymous.status, anonymous.headers["www-authenticate"]], `${where} without credentials`).to.deep.equal([
                        401,
                        'Basic realm="metrics"',
                    ]);
                    expect((await curl("-u", `${USER}:${PASSWORD} `, url)).status, `${where} with a wrong password`).to.equal(401);
                    expect((await curl("-u", `other:${PASSWORD}`, url)).status, `${where} with another user`).to.equal(401);
                    expect((await curl("-u", `${USER}:${PASSWORD}`, url)).status, `${where} with the credentials`).to.equal(200);
                }
            });
        });
    }
});
