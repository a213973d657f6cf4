/**
 * The documentation holds together: every relative Markdown link in README.md and docs/*.md names a file
 * that exists and, with a #anchor, a heading of that file whose GitHub slug the anchor is; the README stays
 * a front door (at most 250 lines), the depth living in docs/.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { PROJECT_DIR } from "../../dev/paths";

/** The README's hard cap: a newcomer reads it to the end; everything deeper goes into docs/. */
const README_MAX_LINES = 250;

/**
 * Pages another tool writes (docs/configuration.md is generated from components/config/schema.ts). Until
 * one exists, links to it are reported pending, never passed; once it exists they are checked like any other.
 */
const GENERATED_PAGES = new Set(["docs/configuration.md"]);

/** A Markdown file's lines outside fenced code blocks, with inline code spans blanked. */
function proseLines(markdown: string): string[] {
    const lines: string[] = [];
    let fence: string | undefined;
    for (const line of markdown.split("\n")) {
        const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
        if (fence !== undefined) {
            if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) {
                fence = undefined;
            }
            lines.push("");
            continue;
        }
        if (marker !== undefined) {
            fence = marker;
            lines.push("");
            continue;
        }
        lines.push(line.replace(/(`+)[^`]*?\1/g, (span) => " ".repeat(span.length)));
    }
    return lines;
}

/** GitHub's anchor for a heading's text: lower case, punctuation dropped (markup included), spaces as hyphens. */
export function githubSlug(heading: string): string {
    const text = heading
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // a link's text only
        .replace(/<[^>]+>/g, "") // inline HTML tags
        .trim()
        .toLowerCase();
    return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
}

/** The anchors of a Markdown file's headings, repeated slugs numbered as GitHub numbers them (-1, -2, ...). */
export function headingAnchors(markdown: string): Set<string> {
    const anchors = new Set<string>();
    const seen = new Map<string, number>();
    let fence: string | undefined;
    for (const line of markdown.split("\n")) {
        const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
        if (fence !== undefined) {
            if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) {
                fence = undefined;
            }
            continue;
        }
        if (marker !== undefined) {
            fence = marker;
            continue;
        }
        const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
        if (heading === undefined) {
            continue;
        }
        const slug = githubSlug(heading);
        const count = seen.get(slug) ?? 0;
        seen.set(slug, count + 1);
        anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    return anchors;
}

/** One relative link: where it is written, and what it names. */
export interface Link {
    /** The file the link is in, relative to the root. */
    file: string;
    line: number;
    target: string;
}

/** The relative links of a Markdown file (not URLs with a scheme, not links inside code). */
export function relativeLinks(file: string, markdown: string): Link[] {
    const links: Link[] = [];
    proseLines(markdown).forEach((text, index) => {
        for (const match of text.matchAll(/\]\(\s*<?([^()\s<>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
            const target = match[1];
            if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) {
                continue; // https:, mailto:, ...: not a file of this repository
            }
            links.push({ file, line: index + 1, target });
        }
    });
    return links;
}

/** What is wrong with a link, or undefined when it resolves; "pending" when it names a generated page not written yet. */
export function checkLink(root: string, link: Link, generated: Set<string> = GENERATED_PAGES): string | undefined {
    const [pathPart, anchor] = link.target.split("#", 2) as [string, string | undefined];
    const targetFile = pathPart === "" ? link.file : path.posix.normalize(path.posix.join(path.posix.dirname(link.file), decodeURIComponent(pathPart)));
    const where = `${link.file}:${link.line}: ${link.target}`;
    if (targetFile.startsWith("../") || path.posix.isAbsolute(targetFile)) {
        return `${where}: leaves the repository`;
    }
    const absolute = path.join(root, ...targetFile.split("/"));
    if (!fs.existsSync(absolute)) {
        return generated.has(targetFile) ? "pending" : `${where}: no file ${targetFile}`;
    }
    if (anchor === undefined) {
        return undefined;
    }
    if (!targetFile.endsWith(".md") || fs.statSync(absolute).isDirectory()) {
        return `${where}: an anchor into ${targetFile}, which is no Markdown file`;
    }
    const anchors = headingAnchors(fs.readFileSync(absolute, "utf8"));
    return anchors.has(decodeURIComponent(anchor).toLowerCase()) ? undefined : `${where}: ${targetFile} has no heading #${anchor}`;
}

/** README.md and every docs/*.md, relative to the root, with forward slashes. */
function documentationFiles(root: string): string[] {
    const docsDir = path.join(root, "docs");
    const pages = fs.existsSync(docsDir)
        ? fs
              .readdirSync(docsDir)
              .filter((name) => name.endsWith(".md"))
              .sort()
              .map((name) => `docs/${name}`)
        : [];
    return ["README.md", ...pages];
}

/** Every problem of the documentation under root, and the links to generated pages not written yet. */
export function checkDocumentation(root: string, generated: Set<string> = GENERATED_PAGES): { broken: string[]; pending: Link[]; links: number } {
    const broken: string[] = [];
    const pending: Link[] = [];
    let links = 0;
    for (const file of documentationFiles(root)) {
        for (const link of relativeLinks(file, fs.readFileSync(path.join(root, file), "utf8"))) {
            links++;
            const problem = checkLink(root, link, generated);
            if (problem === "pending") {
                pending.push(link);
            } else if (problem !== undefined) {
                broken.push(problem);
            }
        }
    }
    return { broken, pending, links };
}

function lineCount(text: string): number {
    return text.endsWith("\n") ? text.split("\n").length - 1 : text.split("\n").length;
}

describe("documentation", () => {
    describe("the link checker", () => {
        let scratch: string;
        beforeEach(() => {
            scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-docs-"));
        });
        afterEach(() => {
            fs.rmSync(scratch, { recursive: true, force: true });
        });

        it("slugs headings as GitHub does", () => {
            expect(githubSlug("What `pulumi preview` and `pulumi up` do to a host")).to.equal("what-pulumi-preview-and-pulumi-up-do-to-a-host");
            expect(githubSlug("HAProxy's metrics, traffic log and renewal timing")).to.equal("haproxys-metrics-traffic-log-and-renewal-timing");
            expect(githubSlug("DNS-01 and wildcard certificates")).to.equal("dns-01-and-wildcard-certificates");
            expect(githubSlug("Drift: what changed on the host")).to.equal("drift-what-changed-on-the-host");
            expect([...headingAnchors("# A\n## A\n```\n# not a heading\n```\n### A ##\n")]).to.deep.equal(["a", "a-1", "a-2"]);
        });

        it("finds a missing file, a missing anchor, and a link leaving the repository; ignores URLs and code", () => {
            fs.mkdirSync(path.join(scratch, "docs"));
            fs.writeFileSync(
                path.join(scratch, "README.md"),
                [
                    "# Title",
                    "[ok](docs/a.md) [ok anchor](docs/a.md#the-section) [own](#title) [web](https://example.com/x.md)",
                    "[gone](docs/gone.md) [bad anchor](docs/a.md#no-such-section) `[in code](docs/nowhere.md)`",
                    "```",
                    "[in a fence](docs/nowhere.md)",
                    "```",
                    "[generated](docs/generated.md)",
                ].join("\n"),
            );
            fs.writeFileSync(path.join(scratch, "docs", "a.md"), "# A\n\n## The section\n\n[up](../README.md#title) [out](../../x.md)\n");
            const { broken, pending, links } = checkDocumentation(scratch, new Set(["docs/generated.md"]));
            expect(broken).to.deep.equal([
                "README.md:3: docs/gone.md: no file docs/gone.md",
                "README.md:3: docs/a.md#no-such-section: docs/a.md has no heading #no-such-section",
                "docs/a.md:5: ../../x.md: leaves the repository",
            ]);
            expect(pending.map((link) => link.target)).to.deep.equal(["docs/generated.md"]);
            expect(links).to.equal(8);
        });
    });

    const { broken, pending, links } = checkDocumentation(PROJECT_DIR);

    it("README.md and docs/*.md: every relative link names an existing file and, with #anchor, one of its headings", () => {
        expect(links, "relative links found").to.be.greaterThan(20);
        expect(broken).to.deep.equal([]);
    });

    it("links to pages generated elsewhere (docs/configuration.md) resolve once those pages exist", function () {
        if (pending.length > 0) {
            const pages = [...new Set(pending.map((link) => checkLinkTarget(link)))].join(", ");
            console.log(`      ${pending.length} link(s) to ${pages}, not generated in this tree yet: unchecked`);
            this.skip();
        }
    });

    it(`README.md stays a front door: at most ${README_MAX_LINES} lines`, () => {
        const lines = lineCount(fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8"));
        expect(lines, "README.md's lines: move depth into docs/").to.be.at.most(README_MAX_LINES);
    });

    it("README.md links every page of docs/", () => {
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
        const linked = new Set(relativeLinks("README.md", readme).map((link) => link.target.split("#")[0]));
        const pages = documentationFiles(PROJECT_DIR).filter((file) => file !== "README.md");
        expect(pages.filter((page) => !linked.has(page))).to.deep.equal([]);
    });
});

function checkLinkTarget(link: Link): string {
    return path.posix.normalize(path.posix.join(path.posix.dirname(link.file), link.target.split("#")[0]));
}
