/**
 * Wildcard routing on real haproxy binaries (Debian's and those EDGE_PROXY_HAPROXY_BINARIES lists, each
 * given the rendering for its own version), on loopback ports: by the Host header (its port dropped), an
 * exact name wins over a wildcard, a wildcard covers exactly one label, a name no site has is refused, and
 * a request for an exact name over a connection opened for a name the wildcard covers (as an HTTP/2 client
 * reuses one) reaches the exact name's site. Which certificate
 * HAProxy picks for a name is its own crt-list matching, checked end to end with Pebble's certificates.
 */

import * as http from "node:http";
import * as path from "node:path";
import { expect } from "chai";
import { renderHaproxyConfig } from "../../components/haproxy/render";
import { loadStackFile } from "../../components/plan";
import { haproxyBinaries, startHaproxy } from "../../dev/haproxy";
import { PROJECT_DIR } from "../../dev/paths";
import { curl } from "../support/curl";
import { describeWith, HAPROXY, ROOT } from "../support/needs";

const HTTPS = "127.0.0.1:28243";
/** Each site's backend: a web server on its own loopback address answering with the site's name. */
const BACKENDS = { apps: "127.0.0.11", admin: "127.0.0.12", www: "127.0.0.13" };
const BACKEND_PORT = 28281;

describeWith([ROOT, HAPROXY], "wildcard routing on real haproxy", function () {
    this.timeout(60_000);
    const servers: http.Server[] = [];

    before(async () => {
        for (const [site, address] of Object.entries(BACKENDS)) {
            const server = http.createServer((_, response) => response.setHeader("Connection", "close").end(site));
            await new Promise<void>((resolve, reject) => server.once("error", reject).listen(BACKEND_PORT, address, resolve));
            servers.push(server);
        }
    });

    after(async () => {
        await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    });

    for (const binary of haproxyBinaries().binaries) {
        it(`haproxy ${binary.release}: an exact name wins, a wildcard covers one label, other names are refused`, async () => {
            const config = loadStackFile(path.join(PROJECT_DIR, "test", "stacks", "wildcard-3.2.yaml"));
            config.haproxy.version = binary.version;
            for (const site of config.sites) {
                site.backends = [{ host: BACKENDS[site.name as keyof typeof BACKENDS], port: BACKEND_PORT }];
            }
            const proxy = await startHaproxy({ binary: binary.path, files: renderHaproxyConfig(config), binds: { 80: "127.0.0.1:28280", 443: HTTPS } });
            try {
                /** The answer to https://name/ (the Host header `host` when given, the TLS server name still `name`). */
                const routed = async (name: string, host?: string) => {
                    const { status, body } = await curl(
                        "-k",
                        "--resolve",
                        `${name}:28243:127.0.0.1`,
                        ...(host === undefined ? [] : ["-H", `Host:${host && ` ${host}`}`]),
                        `https://${name}:28243/`,
                    );
                    return status === 200 ? body : `status ${status}`;
                };
                const refused = binary.version.major === 1 || (binary.version.major === 2 && binary.version.minor < 2) ? "status 403" : "status 421";
                expect({
                    "x.apps.example.net": await routed("x.apps.example.net"),
                    "API.Apps.Example.NET": await routed("API.Apps.Example.NET"),
                    "apps.example.net": await routed("apps.example.net"),
                    "admin.apps.example.net": await routed("admin.apps.example.net"),
                    "internal.example.net": await routed("internal.example.net"),
                    "www.example.net": await routed("www.example.net"),
                    "a.b.apps.example.net": await routed("a.b.apps.example.net"),
                    "x.example.net": await routed("x.example.net"),
                    "admin.apps.example.net over x.apps.example.net's connection": await routed("x.apps.example.net", "admin.apps.example.net"),
                }).to.deep.equal({
                    "x.apps.example.net": "apps",
                    "API.Apps.Example.NET": "apps",
                    "apps.example.net": "apps",
                    "admin.apps.example.net": "admin",
                    "internal.example.net": "admin",
                    "www.example.net": "www",
                    "a.b.apps.example.net": refused,
                    "x.example.net": refused,
                    "admin.apps.example.net over x.apps.example.net's connection": "admin",
                });
                // curl's `Host:` with no value sends none: no site, whatever the TLS server name.
                expect(await routed("x.apps.example.net", ""), "a request without Host").to.match(/^status (400|403|421)$/);
            } finally {
                await proxy.stop();
            }
        });
    }
});
