/**
 * Realizes the resources a Pulumi program registers, for real, the way the engine and the providers
 * would: `docker.RemoteImage` and `docker.Container` on the local Docker engine, `remote.Command` over
 * real SSH with the connection the program declared. It keeps a state file between runs, like a stack,
 * so that a second run of an unchanged program does nothing, a changed resource is updated or replaced
 * with the providers' semantics, and resources the program no longer declares are deleted.
 *
 * The Pulumi CLI and the docker and command provider plugins cannot be had on these machines (see
 * README, Testing); this is what stands in for them, driven by the program's own registrations in the
 * order its dependencies impose.
 */
import * as fs from "fs";
import * as path from "path";
import { Realize, Registration, runProgram, unwrapSecrets } from "../support/mocks";
import { run } from "./env/command";

/** What the state file records of one resource. */
interface ResourceState {
    type: string;
    name: string;
    inputs: Record<string, any>;
    outputs: Record<string, any>;
    id: string;
}

const COMMAND = "command:remote:Command";
const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/remoteImage:RemoteImage";

/** The realizer of one stack: `realize` for runProgram, then `finish` to delete what is gone. */
export class Realizer {
    /** The operations of the current run, e.g. `create dev-image`, in the order they ran. */
    operations: string[] = [];
    private state: Record<string, ResourceState>;
    private seen = new Set<string>();

    constructor(private readonly stateFile: string, private readonly workDir: string) {
        this.state = fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, "utf8")) : {};
    }

    /** Starts a new run (a new `pulumi up`). */
    begin(): void {
        this.operations = [];
        this.seen.clear();
    }

    /** For runProgram: realizes one registration and records it. */
    readonly realize: Realize = async (registration) => {
        const key = `${registration.type}::${registration.name}`;
        this.seen.add(key);
        const inputs = unwrapSecrets(registration.inputs);
        const prior = this.state[key];
        if (!registration.custom || registration.type.startsWith("pulumi:providers:")) {
            return { id: `${registration.name}-id`, state: inputs };
        }
        if (prior && JSON.stringify(prior.inputs) === JSON.stringify(inputs)) {
            return { id: prior.id, state: prior.outputs };
        }
        const outputs = await this.apply(registration, inputs, prior);
        this.state[key] = { type: registration.type, name: registration.name, inputs, outputs, id: `${registration.name}-id` };
        this.save();
        return { id: `${registration.name}-id`, state: outputs };
    };

    /** Deletes what the last run did not declare (after a successful run), in reverse order of creation. */
    async finish(): Promise<void> {
        const gone = Object.entries(this.state).filter(([key]) => !this.seen.has(key)).reverse();
        for (const [key, resource] of gone) {
            await this.delete(resource);
            delete this.state[key];
            this.save();
        }
    }

    /** Deletes every resource of the stack, as `pulumi destroy` does. */
    async destroy(): Promise<void> {
        this.begin();
        await this.finish();
    }

    private save(): void {
        fs.writeFileSync(this.stateFile, JSON.stringify(this.state, null, 1));
    }

    private async apply(registration: Registration, inputs: Record<string, any>, prior?: ResourceState): Promise<Record<string, any>> {
        const verb = prior ? "update" : "create";
        this.operations.push(`${verb} ${registration.name}`);
        switch (registration.type) {
            case IMAGE: {
                // No registry can be reached: the image must already be on the engine, as after a pull.
                const inspect = await run("docker", ["image", "inspect", "-f", "{{.Id}}", inputs.name], { allowFailure: true });
                if (inspect.code !== 0) {
                    throw new Error(`${registration.name}: image ${inputs.name} is not on the engine and cannot be pulled here`);
                }
                return { ...inputs, imageId: inspect.stdout.trim(), repoDigest: "" };
            }
            case CONTAINER:
                // Every input of a container forces a replacement; the stack asks for delete-before-replace.
                if (prior) {
                    await this.delete(prior);
                }
                await startContainer(inputs);
                return inputs;
            case COMMAND: {
                // pulumi-command: a change runs `update` (or `create` when there is none) in place.
                const result = await this.ssh(registration.name, inputs, prior ? inputs.update ?? inputs.create : inputs.create, inputs.stdin);
                return { ...inputs, stdout: result.stdout.replace(/\n$/, ""), stderr: result.stderr.replace(/\n$/, "") };
            }
            default:
                throw new Error(`the end-to-end realizer does not know ${registration.type} (${registration.name})`);
        }
    }

    private async delete(resource: ResourceState): Promise<void> {
        this.operations.push(`delete ${resource.name}`);
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
            const result = await run("ssh", [
                "-i", keyFile, "-p", String(connection.port), "-o", `UserKnownHostsFile=${knownHosts}`,
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                `${connection.user}@${connection.host}`, command,
            ], { input: stdin ?? "", allowFailure: true, timeoutMs: 300_000 });
            if (result.code !== 0) {
                throw new Error(`${name} failed (exit ${result.code}):\n${result.stderr.trim()}\n${result.stdout.trim()}`);
            }
            return result;
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
}

/** One `pulumi up` of the project's index.ts with the given engine configuration, realized for real. */
export async function up(realizer: Realizer, config: Record<string, string>, stack = "e2e"): Promise<Registration[]> {
    realizer.begin();
    const registrations = await runProgram(() => {
        delete require.cache[require.resolve("../../index")];
        require("../../index");
    }, { config, stack, realize: realizer.realize });
    await realizer.finish();
    return registrations;
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
    const known = new Set(["name", "image", "restart", "ports", "volumes", "sysctls", "logOpts", "stopSignal"]);
    const unknown = Object.keys(inputs).filter((key) => !known.has(key) && inputs[key] !== undefined);
    if (unknown.length > 0) {
        throw new Error(`the end-to-end realizer does not apply container inputs ${unknown.join(", ")}`);
    }
    args.push(inputs.image);
    await run("docker", args);
}
