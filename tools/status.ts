/**
 * `npm run --silent status -- --stack NAME [--json]`: the operator's view of one stack's host between two
 * `up`s. Reads the stack's configuration (secrets included) through the Pulumi CLI, connects to the host as
 * the stack does, and reports the container, whether the live configuration is the stack's, each name's
 * certificate as HAProxy serves it, and the last certbot run per site (docs/operations.md: Monitoring and alerts).
 * Exit status: 0 all well, 1 something needs attention (listed), 2 the check itself failed.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { rawConfigFromEngine } from "../components/config/sources";
import { parseConfig } from "../components/config/validate";
import { checkFleetStatus, checkStatus } from "../components/status/check";
import { formatFleetReport, formatReport } from "../components/status/report";

const USAGE = "usage: status --stack NAME [--json]";
/** Where this tool's project is (its Pulumi CLI build); the stack's project is the working directory (npm run's). */
const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** The command line's options as given; parseArgs's refusal, with the usage, as an Error. */
function parseOptions(argv: string[]) {
    try {
        return parseArgs({ args: argv, options: { stack: { type: "string" }, json: { type: "boolean" } }, strict: true, allowPositionals: false }).values;
    } catch (error) {
        throw new Error(`${(error as Error).message}\n${USAGE}`);
    }
}

function readArgs(argv: string[]): { stack: string; json: boolean } {
    const values = parseOptions(argv);
    if (!values.stack) {
        throw new Error(USAGE);
    }
    return { stack: values.stack, json: values.json ?? false };
}

/** The Pulumi CLI that `tools/install.sh` built into the project, else the one on PATH. */
async function pulumiCommand(): Promise<PulumiCommand | undefined> {
    const root = process.env.PULUMI_ENGINE_DIR ?? path.join(PROJECT_DIR, ".pulumi-engine");
    return fs.existsSync(path.join(root, "bin", "pulumi")) ? PulumiCommand.get({ root, skipVersionCheck: true }) : undefined;
}

async function main(): Promise<number> {
    let args: ReturnType<typeof readArgs>;
    try {
        args = readArgs(process.argv.slice(2));
    } catch (error) {
        console.error((error as Error).message);
        return 2;
    }
    try {
        const stack = await LocalWorkspace.selectStack({ stackName: args.stack, workDir: process.cwd() }, { pulumiCommand: await pulumiCommand() });
        const all = await stack.getAllConfig();
        const raw = rawConfigFromEngine(Object.fromEntries(Object.entries(all).map(([key, item]) => [key, item.value])), (key) => all[key]?.secret === true);
        const config = parseConfig(raw);
        const secret = (key: string) => all[`edge-proxy:${key}`]?.value;
        // The stack program names its EdgeProxy after the stack (index.ts): where `up` keeps a key trusted on first use.
        const project = (await stack.workspace.projectSettings()).name;
        const trusted = { dir: path.join(os.homedir(), ".edge-proxy"), owner: `${project}/${args.stack}/${args.stack}` };
        const secrets = { sshPrivateKey: secret("sshPrivateKey") ?? "", metricsPassword: secret("metricsPassword") };
        if (config.fleet) {
            // A fleet: every host, each as its own proxy's steps connect (each host's key is pinned in the stack).
            const fleet = await checkFleetStatus(config, secrets);
            process.stdout.write(
                args.json ? `${JSON.stringify({ stack: args.stack, ...fleet }, null, 2)}\n` : `stack ${args.stack}\n${formatFleetReport(fleet)}`,
            );
            return fleet.attention.length === 0 ? 0 : 1;
        }
        const report = await checkStatus(config, secrets, () => new Date(), trusted);
        process.stdout.write(args.json ? `${JSON.stringify({ stack: args.stack, ...report }, null, 2)}\n` : `stack ${args.stack}\n${formatReport(report)}`);
        return report.attention.length === 0 ? 0 : 1;
    } catch (error) {
        // The Automation API's errors carry the whole CLI invocation; its stderr says what went wrong.
        const message = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
        console.error(`status: ${message}`);
        return 2;
    }
}

main().then((code) => (process.exitCode = code));
