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
import { checkDocumentation, documentationFiles, githubSlug, headingAnchors, type Link, relativeLinks } from "../support/markdown";

/** The README's hard cap: a newcomer reads it to the end; everything deeper goes into docs/. */
const README_MAX_LINES = 250;

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
