/**
 * The documentation names only paths that exist: every repository path written as inline code in README.md
 * and docs/*.md (`dev/mocks.ts`, `test/e2e/`, `.ci/run`, ...) is a file or directory of the repository, so that
 * a file moved or renamed cannot leave the documentation pointing at where it was. A path is a code span
 * that starts with one of the repository's top-level directories and has no blank, `*`, `<` or other
 * placeholder in it; a trailing `:line` or `/` is dropped. Fenced code blocks (commands) are not read.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { PROJECT_DIR } from "../../dev/paths";
import { documentationFiles, linesOutsideFences } from "../support/markdown";

/** The top-level directories whose paths the documentation names; a code span starting otherwise is no repository path. */
const PATH_PREFIXES = ["components/", "dev/", "test/", "tools/", "templates/", "docs/", ".ci/"];

/** What marks a code span as a glob or a placeholder rather than one path: blanks, glob and placeholder characters, an ellipsis. */
const NOT_ONE_PATH = /[\s*?<>{}[\]$|]|\.\.\.|…/;

/** One repository path the documentation names. */
interface DocPath {
    /** The file it is written in, relative to the root. */
    file: string;
    line: number;
    /** As written, between the backticks. */
    written: string;
    /** The path it names, relative to the root: without a trailing `:line` or `/`. */
    path: string;
}

/** The path a code span names, or undefined when it names none (another kind of code, a glob, a placeholder). */
function repositoryPath(span: string): string | undefined {
    const text = span.trim();
    if (!PATH_PREFIXES.some((prefix) => text.startsWith(prefix)) || NOT_ONE_PATH.test(text)) {
        return undefined;
    }
    const named = text.replace(/:\d+(?::\d+)?$/, "").replace(/\/+$/, "");
    return named === "" ? undefined : named;
}

/** The repository paths of a Markdown file's inline code spans, in order. */
function documentedPaths(file: string, markdown: string): DocPath[] {
    const text = linesOutsideFences(markdown).join("\n");
    const found: DocPath[] = [];
    // A code span may continue on the next line of its paragraph, so the whole text is searched at once.
    for (const match of text.matchAll(/(`+)([^`]+?)\1(?!`)/g)) {
        const named = repositoryPath(match[2].replace(/\n/g, " "));
        if (named !== undefined) {
            const line = text.slice(0, match.index).split("\n").length;
            found.push({ file, line, written: match[2], path: named });
        }
    }
    return found;
}

/** Every path the documentation under root names, and one line for each that does not exist. */
function checkDocumentedPaths(root: string): { checked: DocPath[]; missing: string[] } {
    const checked = documentationFiles(root).flatMap((file) => documentedPaths(file, fs.readFileSync(path.join(root, file), "utf8")));
    const missing = checked
        .filter((named) => path.posix.normalize(named.path).startsWith("../") || !fs.existsSync(path.join(root, ...named.path.split("/"))))
        .map((named) => `${named.file}:${named.line}: \`${named.written}\`: no ${named.path} in the repository`);
    return { checked, missing };
}

describe("documentation: repository paths", () => {
    describe("the path checker", () => {
        let scratch: string;
        beforeEach(() => {
            scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-doc-paths-"));
        });
        afterEach(() => {
            fs.rmSync(scratch, { recursive: true, force: true });
        });

        it("takes a code span that names one path under a known directory, without its :line or trailing /", () => {
            expect(repositoryPath("dev/mocks.ts")).to.equal("dev/mocks.ts");
            expect(repositoryPath("dev/mocks.ts:120")).to.equal("dev/mocks.ts");
            expect(repositoryPath("test/e2e/")).to.equal("test/e2e");
            expect(repositoryPath(".ci/run")).to.equal(".ci/run");
            for (const other of [
                "templates/host/*.sh.hbs",
                "docs/*.md",
                "tools/install.sh installs it",
                "test/golden/<stack>/",
                "test/stacks/...",
                "index.ts",
                "/etc/cron.d/x",
                "bin/test/unit/docs.test.js",
                "certbotDataDir/edge-proxy/status.json",
                "npm run test:e2e",
            ]) {
                expect(repositoryPath(other), other).to.equal(undefined);
            }
        });

        it("finds the paths that do not exist, with file and line; reads no fenced code", () => {
            fs.mkdirSync(path.join(scratch, "docs"));
            fs.mkdirSync(path.join(scratch, "dev", "env"), { recursive: true });
            fs.writeFileSync(path.join(scratch, "dev", "mocks.ts"), "");
            fs.writeFileSync(
                path.join(scratch, "README.md"),
                [
                    "# Title",
                    "`dev/mocks.ts` and `dev/mocks.ts:12`, `dev/env/` and ``dev/env``; `dev/env/*.ts` is a glob.",
                    "`dev/gone.ts` was moved, and so was",
                    "`test/",
                    "old.test.ts`, a span over two lines (`a b` is not one path).",
                    "```sh",
                    "cat dev/nowhere.ts",
                    "`dev/nowhere.ts`",
                    "```",
                ].join("\n"),
            );
            fs.writeFileSync(path.join(scratch, "docs", "a.md"), "# A\n\nSee `tools/missing.sh` and `../outside`.\n");
            const { checked, missing } = checkDocumentedPaths(scratch);
            expect(checked.map((named) => named.path)).to.deep.equal(["dev/mocks.ts", "dev/mocks.ts", "dev/env", "dev/env", "dev/gone.ts", "tools/missing.sh"]);
            expect(missing).to.deep.equal([
                "README.md:3: `dev/gone.ts`: no dev/gone.ts in the repository",
                "docs/a.md:3: `tools/missing.sh`: no tools/missing.sh in the repository",
            ]);
        });
    });

    const { checked, missing } = checkDocumentedPaths(PROJECT_DIR);

    it("README.md and docs/*.md: every repository path written in backticks exists", () => {
        expect(checked.length, "repository paths found").to.be.greaterThan(50);
        expect(missing).to.deep.equal([]);
    });
});
