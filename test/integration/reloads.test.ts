/**
 * Graceful reloads under load on real haproxy binaries in master-worker mode (as the official images run
 * it; 1.8+), each with a rendering for its own version on loopback ports: ten reloads while HTTP/1.1
 * clients (new and kept-alive connections) and an HTTP/2 client that follows the protocol (a stream above
 * the GOAWAY's last stream id is sent again) keep requesting. No HTTP/2 stream the server took may go
 * unanswered, and from 2.6 (`option idle-close-on-response`) no HTTP/1.1 request may fail; before 2.6 only
 * one on a connection the old worker closed or reset as it stopped may. Everything a test starts it stops
 * by PID; every wait is bounded.
 */

import { expect } from "chai";
import { compareVersions } from "../../components/config/checks";
import { haproxyFeatures } from "../../components/haproxy/features";
import { startHttp2Load, startLoad } from "../support/load";
import { describeWith, HAPROXY, ROOT } from "../support/needs";
import { forEachSeedProxy } from "../support/seedProxy";

const PORTS = { http: 30080, https: 30443, ssh: 30122, backend: { host: "127.0.0.5", port: 30081 } };
const RELOADS = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWith([ROOT, HAPROXY], "graceful reloads under HTTP/1.1 and HTTP/2 load", function () {
    this.timeout(180_000);

    forEachSeedProxy(
        {
            what: "in master-worker mode (1.8+)",
            // Master-worker mode (`-W`, what SIGUSR2 reloads) is 1.8's; 1.7's image reloads through its systemd wrapper.
            applies: (binary) => compareVersions(binary.version, { major: 1, minor: 8 }) >= 0,
            ports: PORTS,
        },
        (context) => {
            // Before 2.6 there is no `option idle-close-on-response`: the old worker closes its idle kept-alive
            // connections at once, and a request sent on one at that moment fails; a new connection it had not
            // accepted yet when it stopped listening is reset too (seen on 2.5.14). A browser sends such a
            // request again; nothing else may fail.
            const resetsConnections = !haproxyFeatures(context.binary.version).idleCloseOnResponse;
            const title = resetsConnections
                ? "no HTTP/2 stream lost; an HTTP/1.1 request fails only on a connection the old worker closed or reset (before 2.6)"
                : "no HTTP/1.1 request failed, no HTTP/2 stream lost";
            it(`${RELOADS} reloads: ${title}`, async () => {
                const { seed } = context;
                const { proxy } = seed;
                const h1 = startLoad(seed.https, [seed.domain]);
                const h2 = startHttp2Load(seed.https, seed.domain);
                const workers = new Set([await proxy.workerPid()]);
                for (let i = 0; i < RELOADS; i++) {
                    await sleep(700);
                    proxy.reload();
                    // The next reload only once this one's worker serves, as reloads come in practice.
                    const deadline = Date.now() + 15_000;
                    let worker = 0;
                    while (Date.now() < deadline && (worker === 0 || workers.has(worker))) {
                        await sleep(100);
                        worker = await proxy.workerPid().catch(() => 0);
                    }
                    expect(workers.has(worker) || worker === 0, `reload ${i + 1}: no new worker within 15 s`).to.equal(false);
                    workers.add(worker);
                }
                await sleep(700);
                const one = await h1.stop();
                const two = await h2.stop();
                console.log(
                    `      [haproxy ${context.binary.release}] ${workers.size - 1} reloads; HTTP/1.1: ${one.ok} ok, ${one.failed} failed; ` +
                        `HTTP/2: ${two.ok} ok, ${two.retried} sent again after a GOAWAY, ${two.failed} lost`,
                );
                expect(workers.size - 1, "reloads that started a new worker").to.equal(RELOADS);
                expect(one.ok, "HTTP/1.1 requests answered").to.be.at.least(500);
                expect(two.ok, "HTTP/2 streams answered").to.be.at.least(500);
                if (resetsConnections) {
                    // At most one request per client (four of them) and reload.
                    expect(one.failed, one.errors.slice(0, 5).join("; ")).to.be.at.most(4 * RELOADS);
                    expect(
                        one.errors.filter((error) => !/^(keep-alive|new connection): (socket hang up|read ECONNRESET|connect ECONNRESET \S+)$/.test(error)),
                        "HTTP/1.1 failures other than a connection the old worker closed or reset",
                    ).to.deep.equal([]);
                } else {
                    expect(one.failed, one.errors.slice(0, 5).join("; ")).to.equal(0);
                }
                expect(two.failed, two.errors.slice(0, 5).join("; ")).to.equal(0);
            });
        },
    );
});
