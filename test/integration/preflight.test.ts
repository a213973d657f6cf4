/**
 * The ACME pre-flight (templates/host/preflight.py) run for real with python3 against the rendered
 * configuration served by a real haproxy on loopback: names resolved by a tiny DNS server (the
 * configurable resolver), the token fetched on the validation port through HAProxy's ACME ACL to where
 * certbot would listen. On the host it runs in the certbot image's python3 (end to end: test/e2e/).
 */

import { spawn } from "node:child_process";
import * as http from "node:http";
import * as path from "node:path";
import { expect } from "chai";
import { renderHaproxyConfig } from "../../components/haproxy/render";
import { loadStackFile } from "../../components/plan";
import { TEMPLATES_DIR } from "../../components/templates";
import { describeBinary, haproxyBinary, type RunningHaproxy, startHaproxy } from "../../dev/haproxy";
import { PROJECT_DIR } from "../../dev/paths";
import { startTinyDns, type TinyDns } from "../support/dns";
import { describeWith, HAPROXY, program, ROOT } from "../support/needs";

const PROGRAM = path.join(TEMPLATES_DIR, "host", "preflight.py");
const HTTP = "127.0.0.1:28180";
/** Where certbot's standalone server would listen (acmeChallengeAddress:acmeChallengePort). */
const CHALLENGE = { address: "127.0.0.1", port: 28188 };
const RESOLVER = "127.0.0.29:28153";

describeWith([ROOT, HAPROXY, program("python3", "runs templates/host/preflight.py")], "the ACME pre-flight against a real haproxy", function () {
    this.timeout(60_000);
    let proxy: RunningHaproxy;
    let dns: TinyDns;
    let other: http.Server;

    before(async () => {
        const config = loadStackFile(path.join(PROJECT_DIR, "test", "stacks", "seed-1.7.yaml"));
        config.haproxy.version = describeBinary(haproxyBinary()).version;
        config.acme.challengeAddress = CHALLENGE.address;
        config.acme.challengePort = CHALLENGE.port;
        config.sites[0].backends = [{ host: "127.0.0.3", port: 28181 }];
        config.tcpServices = [];
        proxy = await startHaproxy({ binary: haproxyBinary(), files: renderHaproxyConfig(config), binds: { 80: HTTP, 443: "127.0.0.1:28143" } });
        const [dnsHost, dnsPort] = RESOLVER.split(":");
        dns = await startTinyDns(dnsHost, Number(dnsPort));
        // Another web server on the validation port of another address: a name pointing there reaches someone else.
        other = http.createServer((_, response) => response.writeHead(404).end("not here"));
        await new Promise<void>((resolve, reject) => other.once("error", reject).listen(28180, "127.0.0.6", resolve));
    });

    after(async () => {
        await proxy?.stop();
        await dns?.close();
        await new Promise((resolve) => (other ? other.close(resolve) : resolve(undefined)));
    });

    /**
     * Runs the pre-flight for `names` (certbot's server expected on `challengePort`), resolving through the
     * tiny DNS server, which answers from this process: the run must not block it.
     */
    function preflight(names: string[], challengePort = CHALLENGE.port): Promise<{ status: number | null; stdout: string }> {
        return new Promise((resolve, reject) => {
            const child = spawn(
                "python3",
                [PROGRAM, CHALLENGE.address, String(challengePort), "0123456789abcdef0123456789abcdef", RESOLVER, "28180", ...names],
                { stdio: ["ignore", "pipe", "inherit"], timeout: 50_000 },
            );
            let stdout = "";
            child.stdout.on("data", (chunk) => (stdout += chunk));
            child.on("error", reject);
            child.on("close", (status) => resolve({ status, stdout }));
        });
    }

    it("passes a name that reaches this HAProxy's ACME path: the token comes back through the ACL", async () => {
        dns.set("www.example.com", "127.0.0.1");
        const result = await preflight(["www.example.com"]);
        expect(result.stdout).to.equal("www.example.com reaches this host (127.0.0.1)\n");
        expect(result.status).to.equal(0);
    });

    it("fails a name that resolves elsewhere, one that does not resolve, and one with nothing listening, each saying so", async () => {
        dns.set("www.example.com", "127.0.0.1");
        dns.set("elsewhere.example.com", "127.0.0.6");
        dns.set("closed.example.com", "127.0.0.7");
        dns.set("gone.example.com", undefined);
        const result = await preflight(["www.example.com", "elsewhere.example.com", "gone.example.com", "closed.example.com"]);
        expect(result.status).to.equal(1);
        expect(result.stdout.split("\n")).to.deep.equal([
            "www.example.com reaches this host (127.0.0.1)",
            "elsewhere.example.com does not reach this host: resolves to 127.0.0.6 (127.0.0.6 answered 404)",
            `gone.example.com does not resolve: no such name (NXDOMAIN from ${RESOLVER})`,
            "closed.example.com does not reach this host: resolves to 127.0.0.7 (127.0.0.7 [Errno 111] Connection refused)",
            "",
        ]);
    });

    it("fails when HAProxy's ACL sends the token to no certbot: the path answers, but not with the token", async () => {
        dns.set("www.example.com", "127.0.0.1");
        const result = await preflight(["www.example.com"], CHALLENGE.port + 1);
        expect(result.status).to.equal(1);
        expect(result.stdout).to.match(/^www\.example\.com does not reach this host: resolves to 127\.0\.0\.1 \(127\.0\.0\.1 answered 503\)\n$/);
    });
});
