/**
 * The project under the real Pulumi engine: the CLI built by tools/pulumi-engine/build.sh, the docker and
 * command provider plugins at the versions package.json pins (installed by hand, see docs/testing.md), a `file://`
 * backend and passphrase secrets, driven through the Automation API. Used by test/engine/ and the demo.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type EngineEvent, LocalWorkspace, type OpType, PulumiCommand, type Stack, type StepEventMetadata } from "@pulumi/pulumi/automation";
import * as YAML from "yaml";
import { CONFIG_KEYS } from "../components/config/schema";
import type { Environment, StackValues } from "./environment";
import { PROJECT_DIR } from "./paths";

/** Where the CLI built by tools/pulumi-engine/build.sh lives. */
export const ENGINE_BIN = path.join(process.env.PULUMI_ENGINE_DIR ?? path.join(PROJECT_DIR, ".pulumi-engine"), "bin");
/** The keys the schema declares secret: set with `pulumi config set --secret`, never written plain. */
const SECRET_KEYS = CONFIG_KEYS.filter((spec) => spec.secret).map((spec) => spec.key);

/** Where Pulumi looks for plugins. */
const PULUMI_HOME = process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi");

/** The provider plugins the stack needs, at the versions of their SDKs in package.json (peer dependencies: a consumer brings its own). */
export function requiredPlugins(): { name: string; version: string; file: string }[] {
    const dependencies = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")).peerDependencies;
    return ["command", "docker"].map((name) => {
        const version = dependencies[`@pulumi/${name}`];
        return { name, version, file: path.join(PULUMI_HOME, "plugins", `resource-${name}-v${version}`, `pulumi-resource-${name}`) };
    });
}

/** Why the real engine cannot run here, or undefined when the CLI and both plugins are installed. */
export function engineUnavailable(): string | undefined {
    if (!fs.existsSync(path.join(ENGINE_BIN, "pulumi"))) {
        return `no Pulumi CLI in ${ENGINE_BIN} (tools/pulumi-engine/build.sh builds it)`;
    }
    const missing = requiredPlugins().filter((plugin) => !fs.existsSync(plugin.file));
    if (missing.length > 0) {
        return `provider plugin(s) not installed: ${missing.map((p) => `${p.name} ${p.version} (${p.file})`).join(", ")}; see docs/testing.md, "The real engine"`;
    }
    return undefined;
}

/** One step of an update as the stand-in records it: `<create|update|replace|delete> <resource name>`. */
const OPERATION: Partial<Record<OpType, string>> = {
    create: "create",
    update: "update",
    replace: "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
    delete: "delete",
};

/** The steps on custom resources (not components, providers or the stack), sorted, from the events `step` picks. */
function stepsOf(events: EngineEvent[], step: (event: EngineEvent) => StepEventMetadata | undefined): string[] {
    const operations = new Set<string>();
    for (const metadata of events.map(step)) {
        if (!metadata || metadata.type.startsWith("edge-proxy:") || metadata.type.startsWith("pulumi:")) {
            continue;
        }
        const operation = OPERATION[metadata.op];
        if (operation) {
            operations.add(`${operation} ${metadata.urn.split("::").pop()}`);
        }
    }
    return [...operations].sort();
}

/** The steps an update performed. */
export function operationsOf(events: EngineEvent[]): string[] {
    return stepsOf(events, (event) => event.resOutputsEvent?.metadata);
}

/** The steps a preview announces, and the warnings it printed. */
export function previewOf(events: EngineEvent[]): { operations: string[]; warnings: string[] } {
    const warnings = events.filter((event) => event.diagnosticEvent?.severity === "warning").map((event) => event.diagnosticEvent!.message.trim());
    return { operations: stepsOf(events, (event) => event.resourcePreEvent?.metadata), warnings };
}

/** A stack of the project in a scratch workspace, its host being the end-to-end environment. */
export interface EngineStack {
    /** The Automation API stack. */
    stack: Stack;
    /** The scratch directory: project copy, state backend, the docker provider's known_hosts. */
    dir: string;
    /** Writes the stack's settings into its stack file (the private key stays the encrypted secret). */
    setValues(values: StackValues): void;
    /** The environment the CLI runs in (backend, passphrase, plugins, agent), for direct `pulumi` calls. */
    cliEnv: Record<string, string>;
    /** Runs `pulumi up`; returns the steps it performed. `onOutput` receives Pulumi's own progress. */
    up(onOutput?: (text: string) => void): Promise<string[]>;
    /** Runs `pulumi preview`; returns the steps it announces and its warnings. */
    preview(): Promise<{ operations: string[]; warnings: string[] }>;
    /** Replaces the stack's program with the one in `source` (a checkout of the project), as an upgrade does. */
    useProgram(source: string): void;
}

/** What of the project a stack's program is: what a checkout must hold for `pulumi up` to run it. */
export const PROGRAM_ENTRIES = ["Pulumi.yaml", "index.ts", "tsconfig.json", "package.json", "components", "templates"];

/**
 * Creates the stack `e2e` in `dir`: a copy of the project's program (from `source`, the project itself by
 * default; node_modules linked), a file backend and the private key set as a secret. No ssh-agent and no
 * ~/.ssh: the docker provider's `ssh` must log in with the stack's own key, as the commands do. Of the
 * environment (dev/environment.ts, or a fleet's: dev/fleetEnvironment.ts) it takes the stack's settings,
 * whose secrets it sets once.
 */
export async function createEngineStack(env: Pick<Environment, "stackValues">, dir: string, source: string = PROJECT_DIR): Promise<EngineStack> {
    fs.rmSync(dir, { recursive: true, force: true });
    const project = path.join(dir, "project");
    fs.mkdirSync(project, { recursive: true });
    const useProgram = (from: string) => {
        for (const entry of PROGRAM_ENTRIES) {
            fs.rmSync(path.join(project, entry), { recursive: true, force: true });
            fs.cpSync(path.join(from, entry), path.join(project, entry), { recursive: true });
        }
    };
    useProgram(source);
    fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(project, "node_modules"));
    fs.mkdirSync(path.join(dir, "state"));

    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(ENGINE_BIN), skipVersionCheck: true });
    const cliEnv = {
        PATH: `${ENGINE_BIN}:${process.env.PATH}`,
        PULUMI_HOME,
        PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "edge-proxy engine test",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        SSH_AUTH_SOCK: "",
        // The program writes the docker provider's pinned known_hosts under ~/.edge-proxy: here, not in root's home.
        HOME: path.join(dir, "home"),
    };
    const stack = await LocalWorkspace.createStack({ stackName: "e2e", workDir: project }, { pulumiCommand, envVars: cliEnv });
    // The secrets are set once, encrypted by the CLI; setValues keeps them as they are.
    for (const key of SECRET_KEYS.filter((k) => env.stackValues()[k] !== undefined)) {
        await stack.setConfig(`edge-proxy:${key}`, { value: String(env.stackValues()[key]), secret: true });
    }
    const stackFile = path.join(project, "Pulumi.e2e.yaml");

    return {
        stack,
        dir,
        cliEnv,
        setValues(values) {
            const document = YAML.parse(fs.readFileSync(stackFile, "utf8"));
            document.config = Object.fromEntries(SECRET_KEYS.map((key) => [`edge-proxy:${key}`, document.config[`edge-proxy:${key}`]]));
            for (const [key, value] of Object.entries(values)) {
                if (!SECRET_KEYS.includes(key)) {
                    document.config[`edge-proxy:${key}`] = value;
                }
            }
            fs.writeFileSync(stackFile, YAML.stringify(document));
        },
        async up(onOutput) {
            const events: EngineEvent[] = [];
            await stack.up({ onEvent: (event) => events.push(event), onOutput, color: "never" });
            return operationsOf(events);
        },
        async preview() {
            const events: EngineEvent[] = [];
            await stack.preview({ onEvent: (event) => events.push(event), color: "never" });
            return previewOf(events);
        },
        useProgram,
    };
}
