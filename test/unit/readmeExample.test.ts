/**
 * The README's "Use it from your own Pulumi program" example compiles against the library as it is: a
 * renamed or retyped argument fails here, not in a reader's editor.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import * as ts from "typescript";
import { PROJECT_DIR } from "../../dev/paths";

/** The first TypeScript block of a README section. */
function exampleOf(readme: string, heading: string): string {
    const section = readme.slice(readme.indexOf(`## ${heading}`));
    const block = /```ts\n([\s\S]*?)```/.exec(section);
    if (!block) {
        throw new Error(`no TypeScript example under "## ${heading}"`);
    }
    return block[1];
}

describe("the README's example program", function () {
    this.timeout(60_000);

    it("type-checks against the library (with the VM resource it assumes declared)", () => {
        const example = exampleOf(fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8"), "Use it from your own Pulumi program");
        // Inside the project, so that @pulumi/pulumi resolves from its node_modules; bin/ is not part of the repository.
        const dir = path.join(PROJECT_DIR, "bin", "readme-example");
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, "example.ts");
        // The reader's own VM resource, which the example takes the host's address and key from.
        fs.writeFileSync(file, `${example}\ndeclare const vm: { publicIp: pulumi.Output<string>; hostKey: pulumi.Output<string> };\n`);
        const program = ts.createProgram([file], {
            strict: true,
            noEmit: true,
            target: ts.ScriptTarget.ES2022,
            module: ts.ModuleKind.CommonJS,
            moduleResolution: ts.ModuleResolutionKind.Node10,
            esModuleInterop: true,
            skipLibCheck: true,
            types: [],
            baseUrl: PROJECT_DIR,
            paths: { "edge-proxy": ["components/index.ts"] },
        });
        const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
        expect(example).to.contain("new EdgeProxy(");
        expect(problems).to.deep.equal([]);
    });
});
