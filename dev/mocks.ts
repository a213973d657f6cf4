/**
 * Runs a Pulumi program under `pulumi.runtime.setMocks` and records every resource registration as the
 * engine would receive it: type, name, inputs (secrets still wrapped), parent and dependencies. The
 * resource behaviour is pluggable, so the end-to-end test can realize the same registrations for real.
 * Everything goes through the SDK's public API but the parent, dependencies and deleteBeforeReplace of
 * a registration, which registrationRequests.ts reads (see there why and how it is guarded).
 */
import * as pulumi from "@pulumi/pulumi";
import { type RegistrationRequest, recordRegistrationRequests } from "./registrationRequests";

/** What a realization is told of a resource: a registration, or a read (a StackReference, a `get`). */
export interface Declared {
    /** Type token, e.g. `command:remote:Command`. */
    type: string;
    /** Resource name. */
    name: string;
    /** Whether it is a custom (provider) resource rather than a component. */
    custom: boolean;
    /** Its `deleteBeforeReplace` resource option (false for a read). */
    deleteBeforeReplace: boolean;
    /** Its inputs; secret values are wrapped as the engine receives them (`isSecret`). */
    inputs: Record<string, any>;
}

/** One resource registration, once the program finished. */
export interface Registration extends Declared, RegistrationRequest {}

/** What a resource's realization returns: its id and output state. */
export type Realize = (resource: Declared) => Promise<{ id: string; state: Record<string, any> }>;

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
    return pulumi.runtime.isRpcSecret(value);
}

/** The inputs with every secret wrapper replaced by its value. */
export function unwrapSecrets(value: any): any {
    if (isSecret(value)) {
        return unwrapSecrets(pulumi.runtime.unwrapRpcSecret(value));
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
export async function runProgram(
    program: () => unknown,
    options: {
        stack?: string;
        config?: Record<string, string>;
        realize?: Realize;
        invoke?: Invoke;
        /** The configuration keys the engine holds as secrets (`pulumi config set --secret`). */
        secretKeys?: string[];
    } = {},
): Promise<Registration[]> {
    const realize = options.realize ?? echo;
    const invoke = options.invoke ?? echoInvoke;
    let requests: RegistrationRequest[] = [];
    const declared = new Map<RegistrationRequest, Declared>();
    let failure: unknown;
    // The realizations under way. After a failure, as the engine does after a failed step, none starts and
    // the program ends once those under way have finished: what waits for the failed resource never will.
    let realizing = 0;
    let settledAfterFailure!: () => void;
    const failedAndSettled = new Promise<void>((resolve) => {
        settledAfterFailure = resolve;
    });
    await pulumi.runtime.setMocks(
        {
            newResource: async (args: pulumi.runtime.MockResourceArgs) => {
                // The request this call is for was recorded just before it; a read has none.
                const request = requests.find((r) => r.type === args.type && r.name === args.name && !declared.has(r));
                const resource: Declared = {
                    type: args.type,
                    name: args.name,
                    custom: args.custom ?? true,
                    deleteBeforeReplace: request?.deleteBeforeReplace ?? false,
                    inputs: args.inputs,
                };
                if (request) {
                    declared.set(request, resource);
                }
                if (failure !== undefined) {
                    throw new Error(`${args.name} not created: an earlier step failed`);
                }
                realizing++;
                try {
                    return await realize(resource);
                } catch (error) {
                    failure ??= error;
                    throw error;
                } finally {
                    realizing--;
                    if (failure !== undefined && realizing === 0) {
                        settledAfterFailure();
                    }
                }
            },
            call: async (args: pulumi.runtime.MockCallArgs) => invoke(args.token, args.inputs),
        },
        "edge-proxy",
        options.stack ?? "test",
        false,
    );
    requests = recordRegistrationRequests();
    pulumi.runtime.setAllConfig(options.config ?? {}, options.secretKeys ?? []);
    // The language host hands the program the secret keys beside the values; the stack program reads them there (config/sources.ts).
    process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(options.secretKeys ?? []);
    // A failed program never settles: a resource whose inputs failed is never registered, and what depends
    // on it waits for it for ever. The language host ends a program at its first unhandled rejection; so
    // does this, unless a realization failed: then runProgram throws that failure once the realizations
    // under way have finished, and the dependents' rejections are its consequences and go no further.
    // Any other rejection still reaches the listeners there were (the test runner, unhandledRejections
    // below); with none (npm run demo) it ends the process, as it would without this one.
    let rejected!: () => void;
    const firstRejection = new Promise<void>((resolve) => {
        rejected = resolve;
    });
    const listeners = process.listeners("unhandledRejection");
    const onRejection = (reason: unknown, promise: Promise<unknown>) => {
        if (failure !== undefined) {
            return;
        }
        if (listeners.length === 0) {
            throw reason;
        }
        for (const listener of listeners) {
            listener(reason, promise);
        }
        rejected();
    };
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", onRejection);
    try {
        await program();
        // The program has declared its resources; their registrations complete as their inputs resolve
        // (EdgeProxy's steps wait for its read of the host). Each resource takes the SDK's RPC keep-alive
        // (rpcKeepAlive) in its constructor, before it awaits its inputs, and gives it back once its
        // registration is answered, realization included; so do reads, invokes, log messages and
        // registerOutputs. disconnect() returns once none is held, as the language host's end of a program
        // does. That is every registration, because edge-proxy declares every resource in a constructor,
        // none in an apply after a wait.
        await Promise.race([pulumi.runtime.disconnect(), firstRejection, failedAndSettled]);
        if (failure !== undefined) {
            // The dependents' rejections follow the failure by a few turns of the event loop (Node reports a
            // rejection unhandled once its turn ends); they are the failure's consequences, kept here.
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    } finally {
        process.off("unhandledRejection", onRejection);
        for (const listener of listeners) {
            process.on("unhandledRejection", listener);
        }
    }
    if (failure) {
        throw failure;
    }
    return requests.map((request) => ({ ...declared.get(request)!, ...request }));
}

/** The registration of a custom resource by name; throws listing the names when it is missing. */
export function resource(registrations: Registration[], name: string): Registration {
    const found = registrations.find((r) => r.name === name && r.custom);
    if (!found) {
        throw new Error(
            `no resource ${name}; have ${registrations
                .filter((r) => r.custom)
                .map((r) => r.name)
                .join(", ")}`,
        );
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
    const collect = (reason: unknown) => {
        reasons.push(reason);
    };
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", collect);
    try {
        await work();
        await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
        process.off("unhandledRejection", collect);
        for (const listener of mochas) {
            process.on("unhandledRejection", listener);
        }
    }
    return reasons;
}
