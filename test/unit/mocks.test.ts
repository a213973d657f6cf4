/**
 * The mock harness (dev/mocks.ts) against what the SDK says publicly of the same resources: the parent,
 * dependencies, deleteBeforeReplace and aliases that its adapter (dev/registrationRequests.ts) reads beneath the
 * public API, and the end of a program. After an update of @pulumi/pulumi, a failure here names what the
 * adapter can no longer read.
 */

import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { echo, type Registration, runProgram, unhandledRejections } from "../../dev/mocks";

class Thing extends pulumi.CustomResource {
    declare readonly value: pulumi.Output<string>;
    constructor(name: string, args: { value: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
        super("test:index:Thing", name, { ...args }, opts);
    }
}

/** An Output's value, through the public API. */
function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

function registration(registrations: Registration[], name: string): Registration {
    const found = registrations.find((r) => r.name === name);
    expect(found, `${name} registered; have ${registrations.map((r) => r.name).join(", ")}`).to.not.equal(undefined);
    return found!;
}

describe("the mock harness", () => {
    let resources: Record<string, pulumi.Resource>;
    let registrations: Registration[];

    before(async () => {
        registrations = await runProgram(
            () => {
                const parent = new pulumi.ComponentResource("test:index:Group", "group");
                const first = new Thing("first", { value: "one" }, { parent });
                const other = new Thing("other", { value: "two" });
                // An input from another resource's output, dependsOn, and deleteBeforeReplace.
                const second = new Thing(
                    "second",
                    { value: first.value.apply((v) => `${v}+`) },
                    {
                        parent,
                        dependsOn: [other],
                        deleteBeforeReplace: true,
                        aliases: [{ name: "formerly-second", parent: pulumi.createUrn("old-group", "test:index:OldGroup") }, { parent: undefined }],
                    },
                );
                // An input that resolves only after a wait, as EdgeProxy's steps wait for its read of the host.
                const late = new Thing("late", { value: new Promise<string>((resolve) => setTimeout(() => resolve("after 300 ms"), 300)) });
                resources = { parent, first, other, second, late };
            },
            { realize: async (r) => ({ id: `${r.name}-id`, state: r.inputs }) },
        );
    });

    it("reads every registration's URN as the SDK resolves it", async () => {
        for (const [name, resource] of Object.entries(resources)) {
            expect(registration(registrations, name === "parent" ? "group" : name).urn, name).to.equal(await outputValue(resource.urn));
        }
    });

    it("reads the parent, the dependencies from dependsOn and from inputs, and deleteBeforeReplace", async () => {
        const second = registration(registrations, "second");
        expect(second.parent).to.equal(await outputValue(resources.parent.urn));
        expect(second.dependencies).to.include.members([await outputValue(resources.first.urn), await outputValue(resources.other.urn)]);
        expect([second.deleteBeforeReplace, registration(registrations, "first").deleteBeforeReplace]).to.deep.equal([true, false]);
        expect(registration(registrations, "other").parent).to.equal("");
        expect(registrations.map((r) => [r.name, r.custom])).to.deep.include.members([
            ["group", false],
            ["first", true],
        ]);
    });

    it("reads the aliases as the SDK sends them", async () => {
        expect(registration(registrations, "second").aliases).to.deep.equal([
            { urn: "", name: "formerly-second", type: "", parentUrn: await outputValue(pulumi.createUrn("old-group", "test:index:OldGroup")), noParent: false },
            { urn: "", name: "", type: "", parentUrn: "", noParent: true },
        ]);
        expect(registration(registrations, "first").aliases).to.deep.equal([]);
    });

    it("returns once every registration is realized, one whose inputs wait included", () => {
        expect(registration(registrations, "late").inputs).to.deep.equal({ value: "after 300 ms" });
        expect(registration(registrations, "second").inputs).to.deep.equal({ value: "one+" });
    });

    it("fails with the first realization that failed, once the program settled", async () => {
        let error: Error | undefined;
        try {
            await runProgram(() => new Thing("refused", { value: "x" }), {
                realize: async () => {
                    throw new Error("the host refused");
                },
            });
        } catch (e) {
            error = e as Error;
        }
        expect(error?.message).to.equal("the host refused");
    });

    it("keeps the failures of what depended on a failed realization to itself: the program fails with the realization's", async () => {
        let error: Error | undefined;
        const elsewhere = await unhandledRejections(async () => {
            await runProgram(
                () => {
                    const refused = new Thing("refused", { value: "x" });
                    new Thing("dependent", { value: refused.value.apply((v) => `${v}+`) });
                },
                {
                    realize: async (resource) => {
                        if (resource.name === "refused") {
                            throw new Error("the host refused");
                        }
                        return echo(resource);
                    },
                },
            ).catch((e: Error) => {
                error = e;
            });
        });
        expect(error?.message).to.equal("the host refused");
        expect(elsewhere.map(String), "rejections that reached the test runner").to.deep.equal([]);
    });
});
