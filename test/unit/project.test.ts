/**
 * The project's declarations stay in step with the schema: the configuration reference names every key
 * (Pulumi.yaml's config block and docs/configuration.md are generated: generated.test.ts) and the README
 * links to it, and templates print values only through a quoting helper.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import * as YAML from "yaml";
import { CONFIG_KEYS } from "../../components/config/schema";
import { TEMPLATES_DIR } from "../../components/templates";
import { PROJECT_DIR } from "../../dev/paths";
import { renderReference } from "../../tools/generate-config-docs";

describe("Pulumi.yaml", () => {
    const project = YAML.parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8"));

    it("is the edge-proxy nodejs project", () => {
        expect(project.name).to.equal("edge-proxy");
        expect(project.runtime.name).to.equal("nodejs");
    });
});

describe("configuration reference", () => {
    it("documents every configuration key, and the README links to it", () => {
        const keys = [...renderReference().matchAll(/^\| `([^`]+)` \|/gm)].map(([, key]) => key);
        expect(keys, "the top-level keys").to.include.members(CONFIG_KEYS.map((spec) => spec.key));
        expect(keys.length).to.be.greaterThan(60);
        expect(fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8")).to.include("](docs/configuration.md)");
    });
});

describe("templates", () => {
    /** Every file under templates/, with its text. */
    const templates = fs
        .readdirSync(TEMPLATES_DIR, { recursive: true, encoding: "utf8" })
        .filter((file) => file.endsWith(".hbs"))
        .map((file) => ({ file, text: fs.readFileSync(path.join(TEMPLATES_DIR, file), "utf8") }));

    it("print values only through the cfg, cfgHash, kad, sh or heredoc quoting helpers", () => {
        expect(templates.length).to.be.greaterThan(3);
        for (const { file, text } of templates) {
            // `\{{...}}` is Handlebars' escape for a literal `{{...}}` (a docker --format template), not a value.
            for (const [mustache] of text.matchAll(/(?<!\\)\{\{[^}]*\}\}/g)) {
                const allowed = /^\{\{(~?[#/>!]|else\b|(cfg|cfgHash|kad|sh|heredoc) )/.test(mustache);
                expect(allowed, `${file}: ${mustache} prints a value without a quoting helper`).to.equal(true);
            }
        }
    });

    it("put no shell-quoted value inside a double-quoted string (its quotes would be printed, and a `$` in it expanded)", () => {
        for (const { file, text } of templates.filter((t) => t.file.endsWith(".sh.hbs") || t.file.includes("sh-"))) {
            const inside = text
                .split("\n")
                .filter((line) => !line.trimStart().startsWith("#"))
                .filter((line) =>
                    [...line.matchAll(/\{\{sh /g)].some((match) => (line.slice(0, match.index).replace(/\\"/g, "").match(/"/g) ?? []).length % 2 === 1),
                );
            expect(inside, `${file}: lines with {{sh}} inside double quotes`).to.deep.equal([]);
        }
    });

    it("print keepalived.conf's values through kad only, and kad nowhere else (each file has its own lexical rules)", () => {
        for (const { file, text } of templates) {
            const helpers = new Set([...text.matchAll(/\{\{(cfg|cfgHash|kad|sh|heredoc) /g)].map(([, helper]) => helper));
            if (file === "keepalived.conf.hbs") {
                expect([...helpers], file).to.deep.equal(["kad"]);
                // keepalived also starts a comment with `!`.
                expect(
                    text.split("\n").filter((line) => line.trimStart().startsWith("!")),
                    file,
                ).to.deep.equal([]);
            } else {
                expect(helpers.has("kad"), `${file} uses kad`).to.equal(false);
            }
        }
    });

    it("print no value on a comment line (a newline in it would end the comment)", () => {
        for (const { file, text } of templates) {
            const commentLines = text.split("\n").filter((line) => line.trimStart().startsWith("#") && /\{\{(cfg|cfgHash|kad|sh|heredoc) /.test(line));
            expect(commentLines, `${file}: comment lines printing a value`).to.deep.equal([]);
        }
    });
});
