/**
 * The rendered configuration served by real haproxy binaries (Debian's and those EDGE_PROXY_HAPROXY_BINARIES
 * lists, each given a rendering for its own version), on loopback ports only: the redirect to HTTPS, the
 * connection limit of every frontend, and backends given by DNS names following their records at run time
 * (1.9+; 1.7 and 1.8 cannot, see docs/operations.md). Everything a test starts it stops by PID; every wait is bounded.
 * The tiny DNS server listens on port 53 (of 127.0.0.28) because resolv.conf cannot name another port.
 */

import * as http from "node:http";
import * as path from "node:path";
import { expect } from "chai";
import type { EdgeProxyConfig } from "../../components/config/types";
import { haproxyFeatures } from "../../components/haproxy/features";
import { renderHaproxyConfig } from "../../components/haproxy/render";
import { loadStackFile } from "../../components/plan";
import { type HaproxyBinary, haproxyBinaries, type RunningHaproxy, startHaproxy } from "../../dev/haproxy";
import { PROJECT_DIR } from "../../dev/paths";
import { curl } from "../support/curl";
import { startTinyDns } from "../support/dns";
import { describeWith, HAPROXY, ROOT } from "../support/needs";

/** Where the container's ports listen here. */
const BINDS = { 80: "127.0.0.1:28080", 443: "127.0.0.1:28443", 22: "127.0.0.1:28122" };
const HTTP_URL = "http://127.0.0.1:28080";
/** The site's backend web servers. */
const BACKEND_PORT = 28081;

/** The seed stack rendered for `binary`'s version, with loopback backends, changed by `change`. */
function renderFor(binary: HaproxyBinary, change: (config: EdgeProxyConfig) => void = () => undefined) {
    const config = loadStackFile(path.join(PROJECT_DIR, "test", "stacks", "seed-1.7.yaml"));
    config.haproxy.version = binary.version;
    config.sites[0].backends = [{ host: "127.0.0.3", port: BACKEND_PORT }];
    config.tcpServices[0].backends = [{ host: "127.0.0.3", port: 28022 }];
    change(config);
    return renderHaproxyConfig(config);
}

/**
 * A web server on `address` that answers every request with `body` and closes the connection, so that
 * every request shows the address haproxy sends it to now (not an idle connection to an older one).
 */
async function startWebServer(address: string, body: string): Promise<http.Server> {
    const server = http.createServer((_, res) => res.setHeader("Connection", "close").end(body));
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(BACKEND_PORT, address, () => resolve());
    });
    return server;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const { binaries } = haproxyBinaries();

describeWith([ROOT, HAPROXY], "the rendered configuration on real haproxy", function () {
    this.timeout(60_000);

    for (const binary of binaries) {
        describe(`haproxy ${binary.release}`, () => {
            const MAXCONN = 3000;
            let proxy: RunningHaproxy;

            before(async () => {
                proxy = await startHaproxy({
                    binary: binary.path,
                    files: renderFor(binary, (config) => {
                        config.haproxy.httpsPort = 8443;
                        config.haproxy.maxconn = MAXCONN;
                    }),
                    binds: BINDS,
                });
            });

            after(async () => {
                await proxy?.stop();
            });

            it("redirects to HTTPS on the configured port with the Host's name, whatever its port", async () => {
                for (const host of ["www.example.com", "www.example.com:28080"]) {
                    const response = await curl("-H", `Host: ${host}`, `${HTTP_URL}/a/b?c=d`);
                    expect([response.status, response.headers.location], host).to.deep.equal([301, "https://www.example.com:8443/a/b?c=d"]);
                }
            });

            it("redirects a bracketed IPv6 Host to the same address", async () => {
                for (const host of ["[2001:db8::1]:18080", "[2001:db8::1]"]) {
                    const response = await curl("-H", `Host: ${host}`, `${HTTP_URL}/x`);
                    expect([response.status, response.headers.location], host).to.deep.equal([301, "https://[2001:db8::1]:8443/x"]);
                }
            });

            it("answers 400 to a request without a Host, which names no site to redirect to", async () => {
                // curl's -H "Host:" sends no Host header, -H "Host;" an empty one.
                for (const [protocol, header] of [
                    ["--http1.0", "Host:"],
                    ["--http1.1", "Host:"],
                    ["--http1.1", "Host;"],
                ]) {
                    const response = await curl(protocol, "-H", header, `${HTTP_URL}/x`);
                    expect([response.status, response.headers.location], `${protocol} ${header}`).to.deep.equal([400, undefined]);
                }
            });

            it(`gives every frontend the configured maxconn (${MAXCONN})`, async () => {
                const [header, ...rows] = (await proxy.command("show stat")).trim().split("\n");
                const columns = header.replace(/^# /, "").split(",");
                const limits = Object.fromEntries(
                    rows
                        .map((row) => row.split(","))
                        .filter((fields) => fields[columns.indexOf("svname")] === "FRONTEND")
                        .map((fields) => [fields[columns.indexOf("pxname")], Number(fields[columns.indexOf("slim")])]),
                );
                expect(limits).to.deep.equal({ http: MAXCONN, https: MAXCONN, tcp_ssh: MAXCONN });
            });
        });
    }

    for (const binary of binaries.filter((b) => haproxyFeatures(b.version).resolvConf)) {
        it(`haproxy ${binary.release}: a backend given by name follows its DNS record without a reload`, async () => {
            const NAME = "app.backend.test";
            const dns = await startTinyDns("127.0.0.28", 53);
            const webServers = [await startWebServer("127.0.0.3", "three"), await startWebServer("127.0.0.4", "four")];
            let proxy: RunningHaproxy | undefined;
            try {
                proxy = await startHaproxy({
                    binary: binary.path,
                    files: renderFor(binary, (config) => {
                        config.sites[0].backends = [{ host: NAME, port: BACKEND_PORT }];
                    }),
                    binds: BINDS,
                    nameserver: "127.0.0.28",
                });
                const get = () => curl("-k", "--resolve", "www.example.com:28443:127.0.0.1", "https://www.example.com:28443/");
                /** Waits at most 20 s for the site to answer with `body`; returns how long that took. */
                const answers = async (body: string) => {
                    const started = Date.now();
                    let last = await get();
                    while (!(last.status === 200 && last.body === body) && Date.now() - started < 20_000) {
                        await sleep(250);
                        last = await get();
                    }
                    expect([last.status, last.body], `${proxy!.output().split("\n").slice(-20).join("\n")}\nDNS queries: ${dns.queries()}`).to.deep.equal([
                        200,
                        body,
                    ]);
                    return Date.now() - started;
                };

                expect((await get()).status, "the name does not resolve yet").to.equal(503);
                dns.set(NAME, "127.0.0.3");
                const resolved = await answers("three");
                dns.set(NAME, "127.0.0.4");
                const moved = await answers("four");
                console.log(`        served ${Math.round(resolved / 100) / 10} s after the name resolved, ${Math.round(moved / 100) / 10} s after it moved`);
            } finally {
                await proxy?.stop();
                await Promise.all(webServers.map((server) => new Promise((resolve) => server.close(resolve))));
                await dns.close();
            }
        });
    }
});
