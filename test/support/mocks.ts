/**
 * Runs a Pulumi program under `pulumi.runtime.setMocks` and records every resource registration as the
 * engine would receive it: type, name, inputs (secrets still wrapped), parent and dependencies. The
 * resource behaviour is pluggable, so the end-to-end test can realize the same registrations for real.
 */
import * as pulumi from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import * as runtimeState from "@pulumi/pulumi/runtime/state";

/** One resource registration. */
export interface Registration {
    /** Type token, e.g. `command:remote:Command`. */
    type: string;
    /** Resource name. */
    name: string;
    /** The URN the mock monitor gave it. */
    urn: string;
    /** Parent URN. */
    parent: string;
    /** URNs of the resources it depends on (dependsOn and input dependencies). */
    dependencies: string[];
    /** Whether it is a custom (provider) resource rather than a component. */
    custom: boolean;
    /** Its `deleteBeforeReplace` resource option. */
    deleteBeforeReplace: boolean;
    /** Its inputs; secret values are `{ [specialSigKey]: specialSecretSig, value }`. */
    inputs: Record<string, any>;
}

/** What a resource's realization returns: its id and output state. */
export type Realize = (registration: Registration) => Promise<{ id: string; state: Record<string, any> }>;

/** Answers a function call (invoke) such as `docker:index/getNetwork:getNetwork`. */
export type Invoke = (token: string, args: Record<string, any>) => Promise<Record<string, any>>;

/** The default answer for unit tests: the docker engine's bridge network, as any engine has one. */
export const echoInvoke: Invoke = async (token, args) => {
    if (token === "docker:index/getNetwork:getNetwork") {
        return { id: `${args.name}-network-id`, name: args.name, driver: "bridge" };
    }
    throw new Error(`edge-proxy calls no function ${token}`);
};

/** The default realization for unit tests: echoes the inputs, with deterministic outputs. */
export const echo: Realize = async (r) => ({
    id: `${r.name}-id`,
    state: {
        ...unwrapSecrets(r.inputs),
        ...(r.type === "command:remote:Command" ? { stdout: `${r.name} done`, stderr: "" } : {}),
        ...(r.type === "docker:index/remoteImage:RemoteImage" ? { imageId: `sha256:${r.inputs.name}` } : {}),
    },
});

/** Whether a value is a wrapped secret. */
export function isSecret(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as any)[specialSigKey] === specialSecretSig;
}

/** The inputs with every secret wrapper replaced by its value. */
export function unwrapSecrets(value: any): any {
    if (isSecret(value)) {
        return unwrapSecrets(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/**
 * Runs `program` under mocks with the given stack name and configuration (`edge-proxy:key` to string
 * value, as the CLI passes it) and resolves once every registration has been realized.
 */
export async function runProgram(program: () => unknown, options: {
    stack?: string;
    config?: Record<string, string>;
    realize?: Realize;
    invoke?: Invoke;
    /** The configuration keys the engine holds as secrets (`pulumi config set --secret`). */
    secretKeys?: string[];
    /**
     * How long nothing may be pending before the program counts as finished, in ms. A program that reads
     * a real host before declaring its steps (EdgeProxy's drift read) registers nothing while it waits.
     */
    settleMs?: number;
} = {}): Promise<Registration[]> {
    const realize = options.realize ?? echo;
    const invoke = options.invoke ?? echoInvoke;
    const registrations: Registration[] = [];
    let pending = 0;
    let failure: unknown;
    await pulumi.runtime.setMocks({
        newResource: async () => { throw new Error("replaced below"); },
        call: async (args: pulumi.runtime.MockCallArgs) => invoke(args.token, args.inputs),
    }, "edge-proxy", options.stack ?? "test", false);
    pulumi.runtime.setAllConfig(options.config ?? {}, options.secretKeys ?? []);
    // The language host hands the program the secret keys beside the values; the stack program reads them there (config/sources.ts).
    process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(options.secretKeys ?? []);
    // The SDK keeps the mock monitor in its (internal) store; wrap it to see what the engine would see.
    const monitor = (runtimeState as any).getStore().settings.monitor;
    const register = monitor.registerResource.bind(monitor);
    monitor.mocks.newResource = async (args: pulumi.runtime.MockResourceArgs) => {
        const registration = registrations.find((r) => r.type === args.type && r.name === args.name && r.inputs === undefined);
        if (!registration) {
            // A read (a StackReference, a `get`): the engine registers nothing, it reads the resource's state.
            return realize({
                type: args.type, name: args.name, urn: monitor.newUrn("", args.type, args.name), parent: "", dependencies: [],
                custom: true, deleteBeforeReplace: false, inputs: args.inputs,
            });
        }
        registration.inputs = args.inputs;
        return realize(registration);
    };
    monitor.registerResource = (req: any, callback: (err: unknown, response?: any) => void) => {
        pending++;
        registrations.push({
            type: req.getType(),
            name: req.getName(),
            urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
            parent: req.getParent(),
            dependencies: req.getDependenciesList(),
            custom: req.getCustom(),
            deleteBeforeReplace: req.getDeletebeforereplace(),
            inputs: undefined as any,
        });
        register(req, (err: unknown, response?: any) => {
            pending--;
            failure ??= err;
            callback(err, response);
        });
    };
    monitor.registerResourceOutputs = (_req: unknown, callback: (err: unknown, response?: unknown) => void) => callback(null, {});
    await program();
    // Registrations trickle in as outputs resolve: wait until nothing has been pending for a while.
    for (let idle = 0; idle < (options.settleMs ?? 100) / 5; idle = pending === 0 ? idle + 1 : 0) {
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (failure) {
        throw failure;
    }
    return registrations;
}

/** The registration of a custom resource by name; throws listing the names when it is missing. */
export function resource(registrations: Registration[], name: string): Registration {
    const found = registrations.find((r) => r.name === name && r.custom);
    if (!found) {
        throw new Error(`no resource ${name}; have ${registrations.filter((r) => r.custom).map((r) => r.name).join(", ")}`);
    }
    return found;
}

/** Whether `from` depends on `to`, directly or through other resources. */
export function dependsOn(registrations: Registration[], from: string, to: string): boolean {
    const byUrn = new Map(registrations.map((r) => [r.urn, r]));
    const target = resource(registrations, to).urn;
    const seen = new Set<string>();
    const visit = (urn: string): boolean => {
        if (seen.has(urn)) {
            return false;
        }
        seen.add(urn);
        return (byUrn.get(urn)?.dependencies ?? []).some((dep) => dep === target || visit(dep));
    };
    return visit(resource(registrations, from).urn);
}

/**
 * Runs `work`, collecting the unhandled rejections instead of failing the test with them: the Pulumi
 * runtime reports a resource whose inputs failed to resolve that way, and the CLI fails the update with it.
 */
export async function unhandledRejections(work: () => Promise<void>): Promise<unknown[]> {
    const mochas = process.listeners("unhandledRejection");
    const reasons: unknown[] = [];
    const collect = (reason: unknown) => { reasons.push(reason); };
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", collect);
    try {
        await work();
        await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
        process.off("unhandledRejection", collect);
        mochas.forEach((listener) => process.on("unhandledRejection", listener));
    }
    return reasons;
}
