/**
 * Reading the documentation's Markdown for test/unit/docs.test.ts: GitHub's heading anchors, the relative
 * links outside code, and whether each resolves to a file and, with an #anchor, to one of its headings.
 */

import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Pages another tool writes (docs/configuration.md is generated from components/config/schema.ts). Until
 * one exists, links to it are reported pending, never passed; once it exists they are checked like any other.
 */
const GENERATED_PAGES = new Set(["docs/configuration.md"]);

/** A Markdown text's lines with its fenced code blocks (their fences included) blanked, so that lines keep their numbers. */
export function linesOutsideFences(markdown: string): string[] {
    let fence: string | undefined;
    return markdown.split("\n").map((line) => {
        const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
        if (fence !== undefined) {
            if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) {
                fence = undefined;
            }
            return "";
        }
        if (marker !== undefined) {
            fence = marker;
            return "";
        }
        return line;
    });
}

/** A Markdown file's lines outside fenced code blocks, with inline code spans blanked. */
function proseLines(markdown: string): string[] {
    return linesOutsideFences(markdown).map((line) => line.replace(/(`+)[^`]*?\1/g, (span) => " ".repeat(span.length)));
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
    for (const line of linesOutsideFences(markdown)) {
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
export function documentationFiles(root: string): string[] {
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
