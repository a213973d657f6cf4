/**
 * The package another Node.js Pulumi program depends on (`npm install` of a git URL, a `file:` path or a
 * packed tarball): what `npm pack` puts in it, and that the packed library runs from a node_modules
 * folder of its own, templates included, with the caller's @pulumi packages (its peer dependencies).
 */

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { resource, runProgram } from "../../dev/mocks";
import { PROJECT_DIR } from "../../dev/paths";
import { stackFileSettings } from "../support/settings";

describe("the package", function () {
    this.timeout(120_000);
    let scratch: string;
    let files: string[];

    before(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-package-"));
        // The library was compiled by the test run's tsc; packing needs no second build.
        const [packed] = JSON.parse(
            execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", scratch], { cwd: PROJECT_DIR, encoding: "utf8" }),
        );
        files = packed.files.map((file: { path: string }) => file.path);
        const installed = path.join(scratch, "consumer", "node_modules");
        fs.mkdirSync(path.join(installed, "edge-proxy"), { recursive: true });
        execFileSync("tar", ["-xzf", path.join(scratch, packed.filename), "-C", path.join(installed, "edge-proxy"), "--strip-components=1"]);
        for (const dependency of ["@pulumi", ...Object.keys(JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")).dependencies)]) {
            fs.symlinkSync(path.join(PROJECT_DIR, "node_modules", dependency), path.join(installed, dependency));
        }
    });

    after(() => fs.rmSync(scratch, { recursive: true, force: true }));

    it("holds the compiled library, its declarations and the templates, and nothing of the stack or its tests", () => {
        expect(files).to.include.members([
            "package.json",
            "bin/components/index.js",
            "bin/components/index.d.ts",
            "bin/components/edgeProxy.d.ts",
            "templates/haproxy.cfg.hbs",
            "templates/host/deliver-config.sh.hbs",
        ]);
        expect(files.filter((file) => /^(bin\/)?(test|tools|index\.)/.test(file) || (file.endsWith(".ts") && !file.endsWith(".d.ts")))).to.deep.equal([]);
        const manifest = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8"));
        expect(Object.keys(manifest.peerDependencies).sort()).to.deep.equal(["@pulumi/command", "@pulumi/docker", "@pulumi/pulumi"]);
        expect(Object.keys(manifest.dependencies).filter((name) => name.startsWith("@pulumi/"))).to.deep.equal([]);
    });

    it("declares the proxy from node_modules, finding its templates there", async () => {
        const library = require(path.join(scratch, "consumer", "node_modules", "edge-proxy"));
        const registrations = await runProgram(
            () =>
                new library.EdgeProxy(
                    "dev",
                    library.argsFromStackSettings({
                        ...stackFileSettings(path.join(PROJECT_DIR, "Pulumi.dev.yaml")),
                        detectDrift: false,
                        sshPrivateKey: pulumi.secret("key"),
                    }),
                ),
        );
        expect(resource(registrations, "dev-config-delivery").inputs.stdin).to.contain("backend site_wiki");
        expect(require.resolve(path.join(scratch, "consumer", "node_modules", "edge-proxy"))).to.equal(
            path.join(scratch, "consumer", "node_modules", "edge-proxy", "bin", "components", "index.js"),
        );
    });
});
