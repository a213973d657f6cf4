/**
 * The one place where the mock harness (mocks.ts) reads beneath Pulumi's public API.
 *
 * `pulumi.runtime.setMocks` tells a mock each resource's type, name, inputs and whether it is custom, but not
 * its parent, its dependencies (`dependsOn` and those its inputs carry), its `deleteBeforeReplace` option or
 * its aliases: the resource-graph tests check the order of a first `up` and what an existing stack's
 * resources become through them, and the stand-in engine (realize.ts) replaces resources by them. The engine reads them from each RegisterResourceRequest, the
 * message of Pulumi's resource monitor protocol; under mocks the SDK hands that same message to the mock
 * monitor that `pulumi.runtime.getMonitor()` returns. This file wraps that monitor's `registerResource` to
 * read the request, and the URN from its answer, and passes both on unchanged.
 *
 * It relies on three things of @pulumi/pulumi (pinned in package.json): the monitor has a
 * `registerResource(request, callback)` method that the SDK calls for every registration; the request has
 * the protocol's getters `getType`, `getName`, `getParent`, `getDependenciesList`, `getDeletebeforereplace`
 * and `getAliasesList` (each alias `getUrn`, or `getSpec` with `getName`, `getType`, `getParenturn` and
 * `getNoparent`); the answer has `getUrn`. test/unit/mocks.test.ts holds what this reads to what
 * the public API says of the same resources, and a missing method fails with SDK_CHANGED in its message.
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * An alias as the engine receives it: a whole URN, or a spec whose empty parts are the resource's own (its
 * name, type and parent; `noParent`: none). The engine adds the aliases a child inherits from its parent's
 * when its name starts with the parent's name.
 */
export interface RegisteredAlias {
    /** The alias's URN; "" for a spec. */
    urn: string;
    /** The spec's name; "" for the resource's own. */
    name: string;
    /** The spec's type; "" for the resource's own. */
    type: string;
    /** The spec's parent URN; "" for the resource's own parent (or none, with noParent). */
    parentUrn: string;
    /** Whether the spec says the resource had no parent. */
    noParent: boolean;
}

/** What the engine is told of a registration that a mock is not. */
export interface RegistrationRequest {
    /** Type token, e.g. `command:remote:Command`. */
    type: string;
    /** Resource name. */
    name: string;
    /** The URN the monitor answered with; "" until it answered. */
    urn: string;
    /** Parent URN; "" for none. */
    parent: string;
    /** URNs of the resources it depends on (dependsOn and input dependencies). */
    dependencies: string[];
    /** Its `deleteBeforeReplace` resource option. */
    deleteBeforeReplace: boolean;
    /** Its `aliases` resource option, as the SDK sends them. */
    aliases: RegisteredAlias[];
}

/** Leads every error of this file: an update of @pulumi/pulumi changed what it reads. */
const SDK_CHANGED = "the Pulumi SDK no longer matches dev/registrationRequests.ts (the mock harness's adapter)";

type Callback = (error: unknown, response?: unknown) => void;

/** Calls a method that the SDK's object must have, throwing SDK_CHANGED when it has not. */
function call<T>(target: unknown, what: string, method: string): T {
    const found = (target as Record<string, unknown> | undefined)?.[method];
    if (typeof found !== "function") {
        throw new Error(`${SDK_CHANGED}: ${what} has no ${method}()`);
    }
    return found.call(target) as T;
}

/** One alias of a request (the protocol's Alias message). */
function readAlias(alias: unknown): RegisteredAlias {
    const spec = call<unknown>(alias, "Alias", "getSpec");
    if (!spec) {
        return { urn: call(alias, "Alias", "getUrn"), name: "", type: "", parentUrn: "", noParent: false };
    }
    return {
        urn: "",
        name: call(spec, "Alias.Spec", "getName"),
        type: call(spec, "Alias.Spec", "getType"),
        parentUrn: call(spec, "Alias.Spec", "getParenturn"),
        noParent: call(spec, "Alias.Spec", "getNoparent"),
    };
}

/**
 * Records, in the order the engine would receive them, the registration requests that the mock monitor of
 * the last `pulumi.runtime.setMocks` receives from now on. Each is in the list before the mocks'
 * `newResource` runs for it; its URN is filled in once the monitor answered.
 */
export function recordRegistrationRequests(): RegistrationRequest[] {
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource?: (request: unknown, callback: Callback) => unknown };
    if (typeof monitor?.registerResource !== "function") {
        throw new Error(`${SDK_CHANGED}: pulumi.runtime.getMonitor() after setMocks has no registerResource()`);
    }
    const register = monitor.registerResource.bind(monitor);
    const requests: RegistrationRequest[] = [];
    monitor.registerResource = (request, callback) => {
        const recorded: RegistrationRequest = {
            type: call(request, "RegisterResourceRequest", "getType"),
            name: call(request, "RegisterResourceRequest", "getName"),
            urn: "",
            parent: call(request, "RegisterResourceRequest", "getParent"),
            dependencies: call(request, "RegisterResourceRequest", "getDependenciesList"),
            deleteBeforeReplace: call(request, "RegisterResourceRequest", "getDeletebeforereplace"),
            aliases: call<unknown[]>(request, "RegisterResourceRequest", "getAliasesList").map(readAlias),
        };
        requests.push(recorded);
        return register(request, (error, response) => {
            if (!error) {
                recorded.urn = call(response, "RegisterResourceResponse", "getUrn");
            }
            callback(error, response);
        });
    };
    return requests;
}
