/** The render tool as a user runs it: output, files written, plan, and failure without side effects. */

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { PROJECT_DIR } from "../../dev/paths";

const RENDER = path.join(PROJECT_DIR, "bin", "tools", "render.js");

function render(...args: string[]) {
    const result = spawnSync(process.execPath, [RENDER, ...args], { cwd: PROJECT_DIR, encoding: "utf8" });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("render tool", () => {
    let scratch: string;
    beforeEach(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-cli-"));
    });
    afterEach(() => {
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    it("prints the dev stack's haproxy.cfg", () => {
        const { code, stdout } = render("--stack", "dev");
        expect(code).to.equal(0);
        expect(stdout).to.equal(fs.readFileSync(path.join(PROJECT_DIR, "test", "golden", "dev-1.7", "haproxy.cfg"), "utf8"));
    });

    it("writes haproxy.cfg and its map files with --out", () => {
        const out = path.join(scratch, "haproxy.cfg");
        const { code } = render("--stack", "dev", "--out", out);
        expect(code).to.equal(0);
        expect(fs.readdirSync(scratch).sort()).to.deep.equal(["certs.list", "haproxy.cfg", "sites.map"]);
        expect(fs.readFileSync(path.join(scratch, "sites.map"), "utf8")).to.contain("www.example.com site_www");
    });

    it("refuses an --out named like a map file it writes beside it, writing nothing", () => {
        fs.writeFileSync(path.join(scratch, "sites.map"), "kept\n");
        for (const name of ["sites.map", "certs.list"]) {
            const { code, stderr } = render("--stack", "dev", "--out", path.join(scratch, name));
            expect(code).to.equal(1);
            expect(stderr).to.equal(
                `render: --out ${path.join(scratch, name)}: ${name} is the name of a file written beside haproxy.cfg; name the configuration otherwise (e.g. haproxy.cfg)\n`,
            );
        }
        expect(fs.readdirSync(scratch)).to.deep.equal(["sites.map"]);
        expect(fs.readFileSync(path.join(scratch, "sites.map"), "utf8")).to.equal("kept\n");
    });

    it("writes no file when one of them cannot be written", () => {
        fs.mkdirSync(path.join(scratch, "certs.list"));
        const { code, stderr } = render("--stack", "dev", "--out", path.join(scratch, "haproxy.cfg"));
        expect(code).to.equal(1);
        expect(stderr).to.equal(`render: cannot write ${path.join(scratch, "certs.list")}: it is a directory\n`);
        expect(fs.readdirSync(scratch)).to.deep.equal(["certs.list"]);
    });

    it("names a missing --out directory in one line", () => {
        const out = path.join(scratch, "missing", "haproxy.cfg");
        const { code, stderr } = render("--stack", "dev", "--out", out);
        expect(code).to.equal(1);
        expect(stderr).to.equal(`render: --out ${out}: the directory ${path.dirname(out)} does not exist\n`);
    });

    it("refuses a stack file over 2 MiB in one line", () => {
        const stack = path.join(scratch, "Pulumi.big.yaml");
        fs.writeFileSync(stack, `config:\n${Array.from({ length: 1000 }, (_, i) => `  edge-proxy:${"k".repeat(4000)}${i}: 1`).join("\n")}\n`);
        const { code, stderr } = render("--stack-file", stack);
        expect(code).to.equal(1);
        expect(stderr).to.equal(`render: ${stack}: ${fs.statSync(stack).size} bytes; a stack file may have at most 2 MiB (5,000 sites take about 1 MiB)\n`);
    });

    it("prints the certificates to issue with --plan", () => {
        const { code, stdout } = render("--stack-file", path.join(PROJECT_DIR, "test", "stacks", "multi-site-2.8.yaml"), "--plan");
        expect(code).to.equal(0);
        const plan = JSON.parse(stdout);
        expect(plan.certificates).to.deep.equal([
            { name: "shop", domains: ["shop.example.org", "www.shop.example.org", "store.example.org"], pem: "/certs/shop.pem" },
            { name: "blog", domains: ["blog.example.org"], pem: "/certs/blog.pem" },
            { name: "status.example.org", domains: ["status.example.org"], pem: "/certs/status.example.org.pem" },
        ]);
        expect(plan.settings.acme.server).to.equal("https://acme-v02.api.letsencrypt.org/directory");
    });

    it("fails with every problem and writes nothing when the configuration is bad", () => {
        const stack = path.join(scratch, "Pulumi.bad.yaml");
        fs.writeFileSync(
            stack,
            [
                "config:",
                "  edge-proxy:hostAddress: 192.0.2.1",
                "  edge-proxy:sshHostKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheDevHost",
                "  edge-proxy:httpPort: 99999",
                "  edge-proxy:sites:",
                '    - domains: ["exa mple.com"]',
                '      backends: ["10.0.0.1"]',
            ].join("\n"),
        );
        const out = path.join(scratch, "haproxy.cfg");
        const { code, stdout, stderr } = render("--stack-file", stack, "--out", out);
        expect(code).to.equal(1);
        expect(stdout).to.equal("");
        expect(stderr)
            .to.contain("invalid edge-proxy configuration (4 problems)")
            .and.contain("httpPort: must be a port number from 1 to 65535, got number 99999")
            .and.contain("acmeEmail: is required")
            .and.contain('sites[0].domains[0]: "exa mple.com" is not a valid hostname')
            .and.contain('sites[0].backends[0]: "10.0.0.1" is not host:port');
        expect(fs.readdirSync(scratch)).to.deep.equal(["Pulumi.bad.yaml"]);
    });

    it("names a missing stack file and a bad argument", () => {
        expect(render("--stack", "nope").stderr).to.match(/cannot read the stack file .*Pulumi\.nope\.yaml: ENOENT/);
        expect(render("--stack").stderr).to.contain("Option '--stack <value>' argument missing");
        expect(render("--bogus").code).to.equal(1);
    });
});
