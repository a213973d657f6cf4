/**
 * The project under the real Pulumi CLI and Node.js language host, built from Go modules by
 * tools/pulumi-engine/build.sh (.ci/run builds them): Pulumi.yaml loads, its config schema is enforced
 * by the CLI, and index.ts compiles and runs under the language host. This suite gives the CLI an empty
 * plugin directory, so a preview ends where the first provider plugin is needed: everything up to that
 * point is the real engine's, on any machine. test/engine/ runs the whole stack with the plugins.
 */

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { PROJECT_DIR } from "../../dev/paths";
import { describeWith, file } from "../support/needs";

const ENGINE_BIN = path.join(process.env.PULUMI_ENGINE_DIR ?? path.join(PROJECT_DIR, ".pulumi-engine"), "bin");
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAcli-test-key\n-----END OPENSSH PRIVATE KEY-----\n";

describeWith(
    [file(path.join(ENGINE_BIN, "pulumi"), "tools/pulumi-engine/build.sh builds it; .ci/run does")],
    "the real Pulumi CLI and language host",
    function () {
        this.timeout(300_000);
        let scratch: string;
        let env: NodeJS.ProcessEnv;

        /** Runs the pulumi CLI in the scratch project. */
        function pulumi(args: string[], input?: string) {
            const result = spawnSync(path.join(ENGINE_BIN, "pulumi"), args, { cwd: path.join(scratch, "project"), env, input, encoding: "utf8" });
            return { code: result.status, output: `${result.stdout}${result.stderr}` };
        }

        before(() => {
            scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-cli-"));
            const project = path.join(scratch, "project");
            fs.mkdirSync(project);
            for (const entry of ["Pulumi.yaml", "Pulumi.dev.yaml", "index.ts", "tsconfig.json", "package.json", "components", "templates"]) {
                fs.cpSync(path.join(PROJECT_DIR, entry), path.join(project, entry), { recursive: true });
            }
            fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(project, "node_modules"));
            fs.mkdirSync(path.join(scratch, "state"));
            env = {
                ...process.env,
                PATH: `${ENGINE_BIN}:${process.env.PATH}`,
                PULUMI_HOME: path.join(scratch, "home"),
                PULUMI_BACKEND_URL: `file://${path.join(scratch, "state")}`,
                PULUMI_CONFIG_PASSPHRASE: "edge-proxy test passphrase",
                PULUMI_SKIP_UPDATE_CHECK: "true",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            };
            const init = pulumi(["stack", "init", "dev"]);
            expect(init.code, init.output).to.equal(0);
        });

        after(() => fs.rmSync(scratch, { recursive: true, force: true }));

        it("requires the private key before running the program", () => {
            const result = pulumi(["preview"]);
            expect(result.code).to.not.equal(0);
            expect(result.output).to.contain("missing configuration value 'sshPrivateKey'");
        });

        it("refuses the private key in plain text", () => {
            expect(pulumi(["config", "set", "sshPrivateKey"], PRIVATE_KEY).code).to.equal(0);
            const result = pulumi(["preview"]);
            expect(result.output).to.contain("'sshPrivateKey' must be encrypted as it's secret");
        });

        it("refuses a value of the wrong type", () => {
            expect(pulumi(["config", "set", "--secret", "sshPrivateKey"], PRIVATE_KEY).code).to.equal(0);
            expect(pulumi(["config", "set", "sshPort", "two-thousand"]).code).to.equal(0);
            const result = pulumi(["preview"]);
            expect(result.output).to.contain("configuration key 'sshPort' must be of type 'integer'");
            expect(pulumi(["config", "set", "sshPort", "2222"]).code).to.equal(0);
        });

        it("loads Pulumi.yaml: the dev stack's values over the declared defaults", () => {
            const result = pulumi(["config", "--json"]);
            expect(result.code, result.output).to.equal(0);
            const config = JSON.parse(result.output);
            expect(config["edge-proxy:maxconn"].value).to.equal("4000");
            expect(config["edge-proxy:sshPort"].value).to.equal("2222");
            expect(JSON.parse(config["edge-proxy:sites"].value)[0].name).to.equal("www");
        });

        it("fails a bad configuration with every problem before any resource", () => {
            expect(pulumi(["config", "set", "httpsPort", "8888"]).code).to.equal(0);
            expect(pulumi(["config", "set", "--path", "sites[1].domains[0]", "wiki example.com"]).code).to.equal(0);
            const result = pulumi(["preview"]);
            expect(result.code).to.not.equal(0);
            expect(result.output)
                .to.contain("invalid edge-proxy configuration (2 problems)")
                .and.contain('sites[1].domains[0]: "wiki example.com" is not a valid hostname')
                .and.contain("acmeChallengePort: port 8888 is already used by httpsPort");
            expect(result.output).to.not.contain("edge-proxy:index:EdgeProxy");
            expect(pulumi(["config", "set", "httpsPort", "443"]).code).to.equal(0);
            expect(pulumi(["config", "set", "--path", "sites[1].domains[0]", "wiki.example.com"]).code).to.equal(0);
        });

        it("runs index.ts under the language host and declares the components, up to the first provider plugin", () => {
            // The dev stack's host does not exist: the components are declared without reading it.
            expect(pulumi(["config", "set", "detectDrift", "false"]).code).to.equal(0);
            const result = pulumi(["preview", "--diff"]);
            for (const component of ["EdgeProxy", "DockerHost", "HaproxyService", "Certificates"]) {
                expect(result.output, result.output).to.match(new RegExp(`\\+ +edge-proxy:index:${component}: \\(create\\)`));
            }
            const errors = result.output.split("\n").filter((line) => /error:/.test(line));
            expect(errors.length, result.output).to.be.greaterThan(0);
            for (const line of errors) {
                // Which provider the engine asks for first varies from run to run.
                expect(line, line).to.match(/no resource plugin 'pulumi-resource-(docker|command)' found|1 error|preview failed/);
            }
        });

        it("keeps the private key out of the stack's files", () => {
            const stackFile = fs.readFileSync(path.join(scratch, "project", "Pulumi.dev.yaml"), "utf8");
            expect(stackFile).to.match(/edge-proxy:sshPrivateKey:\s+secure: /);
            const files = fs
                .readdirSync(scratch, { recursive: true, encoding: "utf8" })
                .map((file) => path.join(scratch, file))
                .filter((file) => fs.statSync(file).isFile() && !file.includes("node_modules"));
            for (const file of files) {
                expect(fs.readFileSync(file, "utf8"), file).to.not.contain("cli-test-key");
            }
        });
    },
);
