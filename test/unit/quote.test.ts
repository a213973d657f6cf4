/** The quoting gates: hostile strings survive a real shell as one word, and never enter haproxy.cfg or keepalived.conf. */

import { execFileSync } from "node:child_process";
import { expect } from "chai";
import * as fc from "fast-check";
import { cfgToken, keepalivedToken, shellCommand, shellHeredoc, shellQuote } from "../../components/quote";
import { PROPERTY_RUN } from "../support/property";

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

describe("keepalivedToken", () => {
    /** What keepalived's reader interprets somewhere on a line (lib/parser.c), besides blanks and control characters. */
    const SPECIAL = ["#", "!", "{", "}", '"', "'", "\\", "$", "@", "~", "%", ";", "*", "?", "[", "]", "=", ",", "+", "&", "|", "<", ">", "(", ")", "`"];
    const SAFE_WORD = /^[A-Za-z0-9._:/-]+$/;

    it("lets plain keepalived words through: names, interfaces, addresses with prefix, paths, numbers", () => {
        for (const word of [
            "proxy-1",
            "edge_b.example.com",
            "eth0",
            "ens5.100",
            "10.0.0.100/24",
            "fd00::100/64",
            "/etc/keepalived/check-haproxy.sh",
            "s3cret-1",
            "Ab3._:/-",
        ]) {
            expect(keepalivedToken(word)).to.equal(word);
        }
        expect(keepalivedToken(255)).to.equal("255");
    });

    for (const value of [
        ...HOSTILE.filter((v) => !/^[-~]?[a-z]+$/.test(v)),
        "a b",
        "a#b",
        "a!b",
        "a{",
        "}",
        "a\nb",
        "a\rb",
        "$DEF",
        "@host",
        "~SEQ(x,1,3)",
        "fe80::1%eth0",
        "\u00a0",
    ]) {
        it(`refuses ${JSON.stringify(value)}`, () => {
            expect(() => keepalivedToken(value)).to.throw(/into keepalived\.conf: not a single safe word/);
        });
    }

    it("refuses the words that would make a line an include of other files, and only those", () => {
        for (const word of ["include", "includer", "includem", "includew", "includeb", "includea"]) {
            expect(() => keepalivedToken(word), word).to.throw(/not a single safe word/);
        }
        for (const word of ["includes", "include-proxy", "Include", "xinclude"]) {
            expect(keepalivedToken(word)).to.equal(word);
        }
    });

    it("property: any string comes back unchanged as one safe word, or is refused", () => {
        fc.assert(
            fc.property(fc.oneof(fc.string({ maxLength: 16 }), fc.string({ unit: "binary", maxLength: 16 }), fc.constantFrom(...SPECIAL)), (value) => {
                let out: string;
                try {
                    out = keepalivedToken(value);
                } catch {
                    return !SAFE_WORD.test(value) || /^include[rmwba]?$/.test(value);
                }
                return out === value && SAFE_WORD.test(out) && !/\s/.test(out) && !SPECIAL.some((c) => out.includes(c));
            }),
            { seed: PROPERTY_RUN.seed, numRuns: 2000 },
        );
    });

    it("property: a safe word passes; the same word with any other character inserted anywhere is refused", () => {
        const safeWord = fc.stringMatching(/^[A-Za-z0-9._:/-]{1,12}$/).filter((word) => !/^include[rmwba]?$/.test(word));
        const other = fc.oneof(
            fc.constantFrom(...SPECIAL, " ", "\t", "\n", "\r", "\0", "\u00a0", "\u2028"),
            fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
        );
        fc.assert(
            fc.property(safeWord, other, fc.nat(), (word, inserted, at) => {
                expect(keepalivedToken(word)).to.equal(word);
                fc.pre(!SAFE_WORD.test(inserted));
                const position = at % (word.length + 1);
                const hostile = word.slice(0, position) + inserted + word.slice(position);
                expect(() => keepalivedToken(hostile)).to.throw(/not a single safe word/);
            }),
            { seed: PROPERTY_RUN.seed, numRuns: 2000 },
        );
    });
});

describe("shellHeredoc", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion in the heredoc's body, which sh must not expand
    const body = `${[...HOSTILE, "EDGE_PROXY_EOF ", " EDGE_PROXY_EOF", "'EDGE_PROXY_EOF'", "$(id) `id` ${HOME} \\"].join("\n")}\n`;

    it("carries a file through sh byte for byte, expanding nothing", () => {
        const out = execFileSync("sh", ["-c", `cat ${shellHeredoc(body)}\n`], { encoding: "utf8" });
        expect(out).to.equal(body);
    });

    it("nests: a body holding the delimiter's line gets another, and sh carries it whole", () => {
        const inner = `cat ${shellHeredoc(body)}\n`;
        expect(inner.split("\n")).to.include("EDGE_PROXY_EOF");
        const outer = shellHeredoc(`${inner}EDGE_PROXY_EOF_1\n`);
        expect(outer.split("\n")[0]).to.equal("<<'EDGE_PROXY_EOF_2'");
        const out = execFileSync("sh", ["-c", `cat ${outer}\n`], { encoding: "utf8" });
        expect(out).to.equal(`${inner}EDGE_PROXY_EOF_1\n`);
    });

    it("refuses a body without its final newline", () => {
        expect(() => shellHeredoc("no newline")).to.throw(/must end with a newline/);
    });
});
