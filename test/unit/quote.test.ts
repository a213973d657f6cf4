/** The quoting gates: hostile strings survive a real shell as one word, and never enter haproxy.cfg. */

import { execFileSync } from "node:child_process";
import { expect } from "chai";
import { cfgToken, shellCommand, shellHeredoc, shellQuote } from "../../components/quote";

const HOSTILE = [
    "plain",
    "with space",
    "it's",
    "'",
    "''",
    "$(touch /tmp/pwned)",
    "`id`",
    "a;b && c | d > e < f",
    "new\nline",
    "tab\tand\\backslash",
    "*?[glob]",
    "~root",
    "-n",
    '"double"',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, hostile input that must come through sh unexpanded
    "${PATH}",
    "",
    "émoji ✓",
];

describe("shellQuote", () => {
    for (const value of HOSTILE) {
        it(`passes ${JSON.stringify(value)} through sh as exactly one word`, () => {
            const out = execFileSync("sh", ["-c", `printf '%s\\0' ${shellQuote(value)}`], { encoding: "utf8" });
            expect(out).to.equal(`${value}\0`);
        });
    }

    it("joins a command line whose words come back intact", () => {
        const out = execFileSync("sh", ["-c", `printf '%s\\0' ${shellCommand(...HOSTILE)}`], { encoding: "utf8" });
        expect(out.split("\0").slice(0, -1)).to.deep.equal(HOSTILE);
    });

    it("refuses a NUL byte, which no shell word can carry", () => {
        expect(() => shellQuote("a\0b")).to.throw(/NUL byte/);
    });
});

describe("cfgToken", () => {
    it("lets plain configuration words through", () => {
        for (const word of ["www.example.com", "10.0.0.1:80", "[2001:db8::1]:80", "/health/ready", "/~health", "30s", "site_www"]) {
            expect(cfgToken(word)).to.equal(word);
        }
    });

    for (const value of HOSTILE.filter((v) => !/^[-~]?[a-z]+$/.test(v))) {
        it(`refuses ${JSON.stringify(value)}`, () => {
            expect(() => cfgToken(value)).to.throw(/not a single safe word/);
        });
    }
});

describe("shellHeredoc", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion in the heredoc's body, which sh must not expand
    const body = `${[...HOSTILE, "EDGE_PROXY_EOF ", " EDGE_PROXY_EOF", "'EDGE_PROXY_EOF'", "$(id) `id` ${HOME} \\"].join("\n")}\n`;

    it("carries a file through sh byte for byte, expanding nothing", () => {
        const out = execFileSync("sh", ["-c", `cat ${shellHeredoc(body)}\n`], { encoding: "utf8" });
        expect(out).to.equal(body);
    });

    it("refuses a body that would end the document early, or lacks its final newline", () => {
        expect(() => shellHeredoc("a\nEDGE_PROXY_EOF\nb\n")).to.throw(/would end the document early/);
        expect(() => shellHeredoc("no newline")).to.throw(/must end with a newline/);
    });
});
