/**
 * `npm run --silent render -- --stack dev`: validates a stack's configuration and prints the haproxy.cfg
 * it renders, without the Pulumi CLI. `--stack-file PATH` reads any stack file; `--out FILE` writes
 * haproxy.cfg to FILE and its map files beside it; `--plan` prints the certificates and settings as JSON.
 * Bad configuration: every problem on stderr, exit code 1, nothing written.
 */
import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../components/config/validate";
import { loadStackFile, planOf } from "../components/plan";
import { CONFIG_FILES, renderHaproxyConfig } from "../components/haproxy/render";

const USAGE = "usage: render (--stack NAME | --stack-file PATH) [--out FILE | --plan]";

function parseArgs(argv: string[]): { stackFile: string; out?: string; plan: boolean } {
    let stackFile: string | undefined;
    let out: string | undefined;
    let plan = false;
    for (let i = 0; i < argv.length; i++) {
        const value = () => {
            const next = argv[++i];
            if (next === undefined) {
                throw new Error(`${argv[i - 1]} needs a value\n${USAGE}`);
            }
            return next;
        };
        switch (argv[i]) {
            case "--stack": stackFile = path.resolve(`Pulumi.${value()}.yaml`); break;
            case "--stack-file": stackFile = path.resolve(value()); break;
            case "--out": out = value(); break;
            case "--plan": plan = true; break;
            default: throw new Error(`unknown argument ${JSON.stringify(argv[i])}\n${USAGE}`);
        }
    }
    if (!stackFile) {
        throw new Error(USAGE);
    }
    if (out && plan) {
        throw new Error(`--out and --plan do not go together\n${USAGE}`);
    }
    return { stackFile, out, plan };
}

function main(): number {
    try {
        const args = parseArgs(process.argv.slice(2));
        const config = loadStackFile(args.stackFile);
        if (args.plan) {
            process.stdout.write(JSON.stringify(planOf(config), null, 2) + "\n");
            return 0;
        }
        const files = renderHaproxyConfig(config);
        if (!args.out) {
            process.stdout.write(files.cfg);
            return 0;
        }
        const dir = path.dirname(path.resolve(args.out));
        const targets: [string, string][] = [
            [path.resolve(args.out), files.cfg],
            [path.join(dir, CONFIG_FILES.sitesMap), files.sitesMap],
            [path.join(dir, CONFIG_FILES.certsList), files.certsList],
        ];
        for (const [file, content] of targets) {
            fs.writeFileSync(file, content);
            process.stderr.write(`wrote ${file}\n`);
        }
        return 0;
    } catch (error) {
        process.stderr.write(`${error instanceof ConfigError ? error.message : `render: ${(error as Error).message}`}\n`);
        return 1;
    }
}

process.exitCode = main();
