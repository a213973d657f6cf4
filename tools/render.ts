/**
 * `npm run --silent render -- --stack dev`: validates a stack's configuration and prints the haproxy.cfg
 * it renders, without the Pulumi CLI. `--stack-file PATH` reads any stack file; `--out FILE` writes
 * haproxy.cfg to FILE and its map files beside it; `--plan` prints the certificates and settings as JSON.
 * Bad configuration: every problem on stderr, exit code 1, nothing written.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../components/config/validate";
import { CONFIG_FILES, type HaproxyConfigFiles, renderHaproxyConfig } from "../components/haproxy/render";
import { loadStackFile, planOf } from "../components/plan";

const USAGE = "usage: render (--stack NAME | --stack-file PATH) [--out FILE | --plan]";

/** The command line's options as given; parseArgs's refusal, with the usage, as an Error. */
function parseOptions(argv: string[]) {
    try {
        return parseArgs({
            args: argv,
            options: { stack: { type: "string" }, "stack-file": { type: "string" }, out: { type: "string" }, plan: { type: "boolean" } },
            strict: true,
            allowPositionals: false,
        }).values;
    } catch (error) {
        throw new Error(`${(error as Error).message}\n${USAGE}`);
    }
}

function readArgs(argv: string[]): { stackFile: string; out?: string; plan: boolean } {
    const values = parseOptions(argv);
    const stackFile = values["stack-file"] ?? (values.stack === undefined ? undefined : `Pulumi.${values.stack}.yaml`);
    if (!stackFile || (values.stack !== undefined && values["stack-file"] !== undefined)) {
        throw new Error(USAGE);
    }
    if (values.out !== undefined && values.plan) {
        throw new Error(`--out and --plan do not go together\n${USAGE}`);
    }
    return { stackFile: path.resolve(stackFile), out: values.out, plan: values.plan ?? false };
}

/**
 * The files `--out` writes: haproxy.cfg under the given name, the map files beside it under the names
 * haproxy.cfg refers to. Refuses a name one of those would overwrite, and a directory that does not exist.
 */
function outputFiles(out: string, files: HaproxyConfigFiles): [string, string][] {
    const file = path.resolve(out);
    const dir = path.dirname(file);
    const siblings = [CONFIG_FILES.sitesMap, CONFIG_FILES.certsList];
    if ((siblings as string[]).includes(path.basename(file))) {
        throw new Error(
            `--out ${out}: ${path.basename(file)} is the name of a file written beside ${CONFIG_FILES.cfg}; name the configuration otherwise (e.g. ${CONFIG_FILES.cfg})`,
        );
    }
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
        throw new Error(`--out ${out}: the directory ${dir} does not exist`);
    }
    return [
        [file, files.cfg],
        [path.join(dir, CONFIG_FILES.sitesMap), files.sitesMap],
        [path.join(dir, CONFIG_FILES.certsList), files.certsList],
    ];
}

/**
 * Writes all files or none: each goes to a temporary name beside its target first, and only when every
 * one is written (and no target is a directory) are they renamed over their targets, one rename each.
 */
function writeAll(targets: [string, string][]): void {
    const written: string[] = [];
    try {
        for (const [file, content] of targets) {
            if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) {
                throw new Error(`cannot write ${file}: it is a directory`);
            }
            const temporary = `${file}.${process.pid}.tmp`;
            fs.writeFileSync(temporary, content, { flag: "wx" });
            written.push(temporary);
        }
    } catch (error) {
        for (const temporary of written) {
            fs.rmSync(temporary, { force: true });
        }
        throw error;
    }
    targets.forEach(([file], i) => {
        fs.renameSync(written[i], file);
        process.stderr.write(`wrote ${file}\n`);
    });
}

function main(): number {
    try {
        const args = readArgs(process.argv.slice(2));
        const config = loadStackFile(args.stackFile);
        if (args.plan) {
            process.stdout.write(`${JSON.stringify(planOf(config), null, 2)}\n`);
            return 0;
        }
        const files = renderHaproxyConfig(config);
        if (!args.out) {
            process.stdout.write(files.cfg);
            return 0;
        }
        writeAll(outputFiles(args.out, files));
        return 0;
    } catch (error) {
        process.stderr.write(`${error instanceof ConfigError ? error.message : `render: ${(error as Error).message}`}\n`);
        return 1;
    }
}

process.exitCode = main();
