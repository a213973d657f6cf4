/**
 * Realizes the resources a Pulumi program registers, for real, the way the engine and the providers
 * would: `docker.RemoteImage` and `docker.Container` on the local Docker engine, `remote.Command` over
 * real SSH with the connection the program declared. It keeps a state file between runs, like a stack,
 * so that a second run of an unchanged program does nothing, a changed resource is updated or replaced
 * with the providers' semantics, and resources the program no longer declares are deleted.
 *
 * It stands in for the Pulumi engine and the docker and command provider plugins where those are not
 * installed (test/engine/ runs the same scenarios with the real ones and compares the operations). A
 * stand-in is only as good as its model of the real thing; the model, checked against the providers'
 * schemas and sources at the pinned versions (command 1.2.1, docker 5.2.0) and against the engine:
 * - an input listed in REPLACE_ON_CHANGES replaces the resource; any other changed input updates it in
 *   place (a command runs `update`, or `create` when it has none);
 * - a replacement creates the new resource first and runs the old one's delete at the end of the
 *   update, after every other step, unless the resource asks for `deleteBeforeReplace`;
 * - resources the program no longer declares are deleted at the end too, dependents first.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { configKey } from "../components/config/schema";
import { run } from "./env/command";
import { pinnedSshArgs } from "./env/sshd";
import { echoInvoke, type Invoke, type Realize, type Registration, runProgram, unwrapSecrets } from "./mocks";

/** What the state file records of one resource. */
interface ResourceState {
    type: string;
    name: string;
    inputs: Record<string, any>;
    outputs: Record<string, any>;
    id: string;
}

const COMMAND = "command:remote:Command";
const LOCAL_COMMAND = "command:local:Command";
/** A read of another stack's outputs. */
const STACK_REFERENCE = "pulumi:pulumi:StackReference";
const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/remoteImage:RemoteImage";

/**
 * The inputs whose change replaces a resource, as the plugins' schemas mark them (`replaceOnChanges`),
 * limited to the inputs the stack sets; every other changed input updates in place. command 1.2.1: only
 * `triggers` (everything else goes through its in-place Update). docker 5.2.0: the bridged Terraform
 * resources' ForceNew arguments. test/engine/ checks these sets against the installed plugins' schemas.
 */
export const REPLACE_ON_CHANGES: Record<string, readonly string[]> = {
    [COMMAND]: ["triggers"],
    [LOCAL_COMMAND]: ["triggers"],
    [CONTAINER]: ["image", "labels", "logOpts", "name", "ports", "stopSignal", "sysctls", "volumes"],
    [IMAGE]: ["name", "platform", "pullTriggers", "triggers"],
};

/** The realizer of one stack: `realize` for runProgram, then `finish` to delete what is gone. */
export class Realizer {
    /** The operations of the current run, e.g. `create dev-image`, in the order they ran. */
    operations: string[] = [];
    private state: Record<string, ResourceState>;
    private seen = new Set<string>();
    /** Originals of replaced resources, whose delete runs at the end of the update. */
    private replaced: ResourceState[] = [];
    /** Other stacks' outputs by stack name, as a StackReference reads them. */
    readonly otherStacks = new Map<string, Record<string, unknown>>();

    /**
     * @param progress told of every operation as it starts (the demo prints them, as the engine would).
     */
    constructor(
        private readonly stateFile: string,
        private readonly workDir: string,
        private readonly progress?: (operation: string) => void,
    ) {
        this.state = fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, "utf8")) : {};
    }

    /** Starts a new run (a new `pulumi up`). */
    begin(): void {
        this.operations = [];
        this.seen.clear();
        this.replaced = [];
    }

    /** For runProgram: realizes one registration and records it. */
    readonly realize: Realize = async (registration) => {
        const key = `${registration.type}::${registration.name}`;
        this.seen.add(key);
        const inputs = unwrapSecrets(registration.inputs);
        const prior = this.state[key];
        if (registration.type === STACK_REFERENCE) {
            const outputs = this.otherStacks.get(inputs.name);
            if (!outputs) {
                throw new Error(`no stack ${inputs.name} to read outputs from`);
            }
            return { id: inputs.name, state: { name: inputs.name, outputs, secretOutputNames: [] } };
        }
        if (!registration.custom || registration.type.startsWith("pulumi:providers:")) {
            return { id: `${registration.name}-id`, state: inputs };
        }
        const changed = prior ? changedKeys(prior.inputs, inputs) : [];
        if (prior && changed.length === 0) {
            return { id: prior.id, state: prior.outputs };
        }
        let outputs: Record<string, any>;
        if (!prior) {
            this.record(`create ${registration.name}`);
            outputs = await this.create(registration.name, registration.type, inputs);
        } else if (changed.some((key) => REPLACE_ON_CHANGES[registration.type].includes(key))) {
            this.record(`replace ${registration.name}`);
            if (registration.deleteBeforeReplace) {
                await this.delete(prior);
            } else {
                this.replaced.push(prior);
            }
            outputs = await this.create(registration.name, registration.type, inputs);
        } else {
            this.record(`update ${registration.name}`);
            outputs = await this.update(registration.name, registration.type, inputs);
        }
        this.state[key] = { type: registration.type, name: registration.name, inputs, outputs, id: `${registration.name}-id` };
        this.save();
        return { id: `${registration.name}-id`, state: outputs };
    };

    /** For runProgram: the docker provider's bridge network read, from the local engine. */
    readonly invoke: Invoke = async (token, args) => {
        if (token === "docker:index/getNetwork:getNetwork") {
            const inspect = await run("docker", ["network", "inspect", "-f", "{{.Id}}", args.name]);
            return { id: inspect.stdout.trim(), name: args.name, driver: "bridge" };
        }
        return echoInvoke(token, args);
    };

    /**
     * The end of an update: the originals of replaced resources, then what the run did not declare,
     * are deleted, each in reverse order of creation (dependents first), as the engine does.
     */
    async finish(): Promise<void> {
        for (const original of this.replaced.reverse()) {
            await this.delete(original);
        }
        this.replaced = [];
        const gone = Object.entries(this.state)
            .filter(([key]) => !this.seen.has(key))
            .reverse();
        for (const [key, resource] of gone) {
            this.record(`delete ${resource.name}`);
            await this.delete(resource);
            delete this.state[key];
            this.save();
        }
    }

    /** The outputs a resource has in the state (a command's stdout and stderr). */
    outputsOf(name: string): Record<string, any> {
        const found = Object.values(this.state).find((resource) => resource.name === name);
        if (!found) {
            throw new Error(`no resource ${name} in the state`);
        }
        return found.outputs;
    }

    /** Deletes every resource of the stack, as `pulumi destroy` does. */
    async destroy(): Promise<void> {
        this.begin();
        await this.finish();
    }

    private record(operation: string): void {
        this.operations.push(operation);
        this.progress?.(operation);
    }

    private save(): void {
        fs.writeFileSync(this.stateFile, JSON.stringify(this.state, null, 1));
    }

    private async create(name: string, type: string, inputs: Record<string, any>): Promise<Record<string, any>> {
        switch (type) {
            case IMAGE: {
                // No registry can be reached: the image must already be on the engine, as after a pull.
                const inspect = await run("docker", ["image", "inspect", "-f", "{{.Id}}", inputs.name], { allowFailure: true });
                if (inspect.code !== 0) {
                    throw new Error(`${name}: image ${inputs.name} is not on the engine and cannot be pulled here`);
                }
                return { ...inputs, imageId: inspect.stdout.trim(), repoDigest: "" };
            }
            case CONTAINER:
                await startContainer(inputs);
                return inputs;
            case COMMAND:
                return this.runCommand(name, inputs, inputs.create);
            case LOCAL_COMMAND: {
                const result = await run("sh", ["-c", inputs.create], { input: inputs.stdin ?? "" });
                return { ...inputs, stdout: result.stdout.replace(/\n$/, ""), stderr: result.stderr.replace(/\n$/, "") };
            }
            default:
                throw new Error(`the end-to-end realizer does not know ${type} (${name})`);
        }
    }

    private async update(name: string, type: string, inputs: Record<string, any>): Promise<Record<string, any>> {
        if (type === COMMAND) {
            return this.runCommand(name, inputs, inputs.update ?? inputs.create);
        }
        if (type === IMAGE) {
            const prior = Object.values(this.state).find((resource) => resource.name === name)!;
            return { ...prior.outputs, ...inputs }; // keepLocally: nothing to do on the engine
        }
        throw new Error(`the end-to-end realizer does not model an in-place update of ${type} (${name})`);
    }

    private async runCommand(name: string, inputs: Record<string, any>, command: string): Promise<Record<string, any>> {
        const result = await this.ssh(name, inputs, command, inputs.stdin);
        return { ...inputs, stdout: result.stdout.replace(/\n$/, ""), stderr: result.stderr.replace(/\n$/, "") };
    }

    private async delete(resource: ResourceState): Promise<void> {
        if (resource.type === CONTAINER) {
            await run("docker", ["rm", "-f", resource.inputs.name], { allowFailure: true });
        } else if (resource.type === COMMAND && resource.inputs.delete) {
            await this.ssh(resource.name, resource.inputs, resource.inputs.delete, undefined);
        } // an image with keepLocally stays
    }

    /** Runs a command over SSH with the declared connection, pinned to its host key. */
    private async ssh(name: string, inputs: Record<string, any>, command: string, stdin: string | undefined) {
        const connection = inputs.connection;
        const dir = fs.mkdtempSync(path.join(this.workDir, "ssh-"));
        try {
            const keyFile = path.join(dir, "key");
            fs.writeFileSync(keyFile, connection.privateKey, { mode: 0o600 });
            const knownHosts = path.join(dir, "known_hosts");
            fs.writeFileSync(knownHosts, `[${connection.host}]:${connection.port} ${connection.hostKey}\n`);
            const result = await run(
                "ssh",
                pinnedSshArgs({ keyFile, port: connection.port, knownHosts, target: `${connection.user}@${connection.host}` }, command),
                { input: stdin ?? "", allowFailure: true, timeoutMs: 300_000 },
            );
            if (result.code !== 0) {
                throw new Error(`${name} failed (exit ${result.code}):\n${result.stderr.trim()}\n${result.stdout.trim()}`);
            }
            return result;
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
}

/** The project's stack program, index.ts, run afresh. */
function stackProgram(): void {
    delete require.cache[require.resolve("../index")];
    require("../index");
}

/** One `pulumi up` of a program (default: the project's index.ts) with the given engine configuration, realized for real. */
export async function up(realizer: Realizer, config: Record<string, string>, stack = "e2e", program: () => unknown = stackProgram): Promise<Registration[]> {
    realizer.begin();
    // Keys the schema declares secret are set as `pulumi config set --secret` would.
    const secretKeys = Object.keys(config).filter((key) => configKey(key.replace(/^edge-proxy:/, ""))?.secret);
    // runProgram returns once every registration is realized, those waiting for the program's read of the host (drift) included.
    const registrations = await runProgram(program, { config, stack, realize: realizer.realize, invoke: realizer.invoke, secretKeys });
    await realizer.finish();
    return registrations;
}

/** The top-level inputs whose values differ. */
function changedKeys(before: Record<string, any>, after: Record<string, any>): string[] {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}

/** `docker run -d` with the container's declared inputs (the subset the stack uses). */
async function startContainer(inputs: Record<string, any>): Promise<void> {
    const args = ["run", "-d", "--name", inputs.name, "--restart", inputs.restart ?? "no"];
    for (const port of inputs.ports ?? []) {
        args.push("-p", `${port.ip ? `${port.ip}:` : ""}${port.external}:${port.internal}`);
    }
    for (const volume of inputs.volumes ?? []) {
        args.push("-v", `${volume.hostPath}:${volume.containerPath}${volume.readOnly ? ":ro" : ""}`);
    }
    for (const [key, value] of Object.entries(inputs.sysctls ?? {})) {
        args.push("--sysctl", `${key}=${value}`);
    }
    for (const [key, value] of Object.entries(inputs.logOpts ?? {})) {
        args.push("--log-opt", `${key}=${value}`);
    }
    if (inputs.stopSignal) {
        args.push("--stop-signal", inputs.stopSignal);
    }
    for (const label of inputs.labels ?? []) {
        args.push("--label", `${label.label}=${label.value}`);
    }
    const known = new Set(["name", "image", "restart", "ports", "volumes", "sysctls", "logOpts", "stopSignal", "labels"]);
    const unknown = Object.keys(inputs).filter((key) => !known.has(key) && inputs[key] !== undefined);
    if (unknown.length > 0) {
        throw new Error(`the end-to-end realizer does not apply container inputs ${unknown.join(", ")}`);
    }
    args.push(inputs.image);
    await run("docker", args);
}
