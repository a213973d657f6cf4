/**
 * The rendered HAProxy configuration: golden files for representative stacks, version-aware choices, and
 * values that try to smuggle in a directive. `UPDATE_GOLDEN=1 npm test` rewrites the golden files after an
 * intended change. The real `haproxy -c` of each rendering's own version checks the golden files in
 * test/integration/render.test.ts.
 */
import { expect } from "chai";
import type { EdgeProxyConfig } from "../../components/config/types";
import { type HaproxyConfigFiles, renderHaproxyConfig } from "../../components/haproxy/render";
import { loadStackFile } from "../../components/plan";
import { goldenOf, STACKS, writeGolden } from "../support/golden";

describe("rendered HAProxy configuration", () => {
    for (const [name, stackFile] of Object.entries(STACKS)) {
        describe(`stack ${name}`, () => {
            it("matches its golden files", () => {
                const files = renderHaproxyConfig(loadStackFile(stackFile));
                if (process.env.UPDATE_GOLDEN === "1") {
                    writeGolden(name, files);
                }
                const golden = goldenOf(name);
                expect(golden, `no golden files for ${name}: run UPDATE_GOLDEN=1 npm test`).to.not.equal(undefined);
                expect(files).to.deep.equal(golden);
            });
        });
    }

    it("renders the same bytes for the same configuration", () => {
        const config = loadStackFile(STACKS["multi-site-2.8"]);
        expect(renderHaproxyConfig(config)).to.deep.equal(renderHaproxyConfig(loadStackFile(STACKS["multi-site-2.8"])));
    });
});

describe("version-aware rendering", () => {
    const render = (image: string, version?: string) => {
        const config = loadStackFile(STACKS["seed-1.7"]);
        config.haproxy.image = image;
        const [major, minor] = (version ?? image.split(":")[1]).split(".").map(Number);
        config.haproxy.version = { major, minor };
        return renderHaproxyConfig(config).cfg;
    };

    it("keeps haproxy:1.7 to what 1.7 has", () => {
        const cfg = render("haproxy:1.7");
        expect(cfg).to.not.match(/ssl-min-ver|alpn h2|http-request return|init-addr|log stdout|idle-close-on-response|hard-stop-after|ciphersuites/);
        expect(cfg).to.contain("ssl-default-bind-options no-sslv3 no-tlsv10 no-tlsv11 no-tls-tickets");
        expect(cfg).to.contain("alpn http/1.1");
    });

    it("uses TLS 1.2 minimum, HTTP/2 and TLS 1.3 suites from 1.9, and idle-close-on-response from 2.6", () => {
        const cfg19 = render("haproxy:1.9");
        expect(cfg19).to.contain("ssl-min-ver TLSv1.2").and.contain("alpn h2,http/1.1").and.contain("ssl-default-bind-ciphersuites");
        expect(cfg19).to.not.contain("idle-close-on-response");
        expect(render("haproxy:2.6")).to.contain("option idle-close-on-response").and.contain("http-request return status 421");
        expect(render("haproxy:3.2")).to.contain("default-server init-addr last,libc,none");
    });

    it("opens the runtime API, where certificates are installed without a reload, from 2.2 only, on an abstract socket", () => {
        for (const image of ["haproxy:1.7", "haproxy:2.1"]) {
            expect(render(image), image).to.not.contain("stats socket");
        }
        for (const image of ["haproxy:2.2", "haproxy:3.2"]) {
            expect(render(image), image).to.contain("\n    stats socket abns@edge-proxy-runtime level admin\n");
        }
    });

    it("re-resolves backends given by name at run time from 1.9 (parse-resolv-conf), and only those", () => {
        const withName = (version: string) => {
            const config = loadStackFile(STACKS["seed-1.7"]);
            const [major, minor] = version.split(".").map(Number);
            config.haproxy.version = { major, minor };
            config.sites[0].backends.push({ host: "app.internal", port: 8080 });
            return renderHaproxyConfig(config).cfg;
        };
        for (const version of ["1.7", "1.8"]) {
            expect(withName(version)).to.not.match(/resolvers|resolv-conf/);
        }
        for (const version of ["1.9", "2.6", "3.2"]) {
            const cfg = withName(version);
            expect(cfg).to.contain("resolvers docker\n    parse-resolv-conf\n");
            expect(cfg).to.contain("server s1 192.168.1.100:80 check\n");
            expect(cfg).to.contain("server s2 app.internal:8080 check resolvers docker resolve-prefer ipv4\n");
        }
        expect(render("haproxy:2.6")).to.not.contain("resolvers");
    });

    it("logs the traffic to stdout from 1.9 and to the host's syslog socket before, with httplog and tcplog on every version", () => {
        for (const version of ["1.7", "1.8"]) {
            const cfg = render(`haproxy:${version}`);
            expect(cfg, version).to.contain("\n    log /dev/log local0\n").and.not.contain("log stdout");
        }
        for (const version of ["1.9", "2.6", "3.2"]) {
            const cfg = render(`haproxy:${version}`);
            expect(cfg, version).to.contain("\n    log stdout format raw local0\n").and.not.contain("/dev/log");
        }
        for (const version of ["1.7", "2.6"]) {
            const cfg = render(`haproxy:${version}`);
            expect(cfg, version).to.contain("    log global\n    option httplog\n").and.contain("    log global\n    option tcplog\n");
        }
    });

    it("redirects to the configured HTTPS port", () => {
        const config = loadStackFile(STACKS["seed-1.7"]);
        expect(renderHaproxyConfig(config).cfg).to.contain("https://%[var(txn.host)]%[capture.req.uri]");
        config.haproxy.httpsPort = 8443;
        expect(renderHaproxyConfig(config).cfg).to.contain("https://%[var(txn.host)]:8443%[capture.req.uri]");
    });

    it("health-checks a backend of several servers or with a healthCheck, never a lone server", () => {
        const config = loadStackFile(STACKS["seed-1.7"]);
        const [site] = config.sites;
        const backend = () => {
            const cfg = renderHaproxyConfig(config).cfg;
            const start = cfg.indexOf(`backend site_${site.name}\n`);
            return cfg
                .slice(start, cfg.indexOf("\n\n", start))
                .split("\n")
                .filter((line) => line.trim().startsWith("server ") || line.includes("httpchk"));
        };
        site.backends = [{ host: "10.0.0.1", port: 80 }];
        site.healthCheck = undefined;
        expect(backend(), "one server").to.deep.equal(["    server s1 10.0.0.1:80"]);
        site.backends = [
            { host: "10.0.0.1", port: 80 },
            { host: "10.0.0.2", port: 80 },
        ];
        expect(backend(), "two servers: a TCP connect check").to.deep.equal(["    server s1 10.0.0.1:80 check", "    server s2 10.0.0.2:80 check"]);
        site.backends = [{ host: "10.0.0.1", port: 80 }];
        site.healthCheck = { path: "/healthz", interval: "5s" };
        expect(backend(), "one server with a healthCheck").to.deep.equal(["    option httpchk GET /healthz", "    server s1 10.0.0.1:80 check inter 5s"]);
    });
});

describe("values that would add a directive", () => {
    /** A valid configuration with one value replaced behind the validator's back. */
    function forged(change: (config: EdgeProxyConfig) => void): () => HaproxyConfigFiles {
        const config = loadStackFile(STACKS["seed-1.7"]);
        change(config);
        return () => renderHaproxyConfig(config);
    }
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, hostile input the renderer must refuse
    const hostile = ["www.example.com\n    bind :9999", "www.example.com # comment", "example.com\r\nlisten evil", 'a"b', "${HOME}", "%[src]", "x\\ny"];
    for (const value of hostile) {
        it(`refuses ${JSON.stringify(value)} in a domain, a server address, a timeout and a health-check path`, () => {
            expect(
                forged((c) => {
                    c.sites[0].domains[0] = value;
                }),
            ).to.throw(/not a single safe word/);
            expect(
                forged((c) => {
                    c.sites[0].backends[0].host = value;
                }),
            ).to.throw(/not a single safe word/);
            expect(
                forged((c) => {
                    c.haproxy.timeouts.client = value;
                }),
            ).to.throw(/not a single safe word/);
            expect(
                forged((c) => {
                    c.sites[0].healthCheck = { path: value, interval: "2s" };
                }),
            ).to.throw(/not a single safe word/);
        });
    }
});
