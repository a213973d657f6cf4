/**
 * Loads the Handlebars templates under templates/. Every value reaches the output through a quoting
 * helper, `cfg`, `cfgHash`, `kad` (keepalived.conf), `sh` or `heredoc` (a test checks that no template prints a raw
 * value), and nothing is HTML-escaped.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Handlebars from "handlebars";
import { cfgCryptHash, cfgToken, keepalivedToken, shellHeredoc, shellQuote } from "./quote";

/** The templates folder, found from both the TypeScript sources and their compiled copy under bin/. */
export const TEMPLATES_DIR = findTemplatesDir(__dirname);

function findTemplatesDir(start: string): string {
    for (let dir = start; ; dir = path.dirname(dir)) {
        const candidate = path.join(dir, "templates");
        if (fs.existsSync(path.join(candidate, "haproxy.cfg.hbs"))) {
            return candidate;
        }
        if (path.dirname(dir) === dir) {
            throw new Error(`no templates/ folder above ${start}`);
        }
    }
}

const handlebars = Handlebars.create();
handlebars.registerHelper("cfg", (value: unknown) => cfgToken(value as string));
handlebars.registerHelper("cfgHash", (value: unknown) => cfgCryptHash(value as string));
handlebars.registerHelper("kad", (value: unknown) => keepalivedToken(value as string));
handlebars.registerHelper("sh", (value: unknown) => shellQuote(value as string));
handlebars.registerHelper("heredoc", (value: unknown) => shellHeredoc(value as string));
const partialsDir = path.join(TEMPLATES_DIR, "partials");
for (const file of fs.readdirSync(partialsDir)) {
    handlebars.registerPartial(path.basename(file, ".hbs"), fs.readFileSync(path.join(partialsDir, file), "utf8"));
}

const compiled = new Map<string, HandlebarsTemplateDelegate>();

/** Renders templates/<name> with `view`; missing view fields are errors, not empty strings. */
export function renderTemplate(name: string, view: object): string {
    let template = compiled.get(name);
    if (!template) {
        template = handlebars.compile(fs.readFileSync(path.join(TEMPLATES_DIR, name), "utf8"), { noEscape: true, strict: true });
        compiled.set(name, template);
    }
    return template(view);
}

/** Renders one of templates/partials/ alone: the tests run the host's shell functions so, one set at a time. */
export function renderPartial(name: string, view: object): string {
    return handlebars.compile(`{{> ${name}}}`, { noEscape: true, strict: true })(view);
}
