/** The resources' URNs as the Pulumi engine makes them from the mocks' registrations, aliases included. */
import type { Registration } from "../../dev/mocks";

/**
 * The URNs of registrations as the engine makes them, every ancestor's type in the qualified type (the mocks'
 * name the parent's type only), and the URNs each answers to besides its own: its aliases (a spec's empty
 * parts are the resource's own) and the parent's former URNs with the child under them.
 */
export class EngineUrns {
    constructor(private readonly registrations: Registration[]) {}

    /** The URN of a resource of `type` named `name` under the resource `parentUrn` (an engine URN; "" for none). */
    private urnUnder(parentUrn: string, type: string, name: string): string {
        const chain = parentUrn === "" ? type : `${parentUrn.split("::")[2]}$${type}`;
        return `${this.registrations[0].urn.split("::").slice(0, 2).join("::")}::${chain}::${name}`;
    }

    /** A URN the SDK sent: a registration's (the mocks' form), or one the program built (createUrn, the engine's form). */
    private engineForm(urn: string): string {
        const registered = this.registrations.find((r) => r.urn === urn);
        return registered ? this.urn(registered) : urn;
    }

    urn(registration: Registration): string {
        return this.urnUnder(registration.parent === "" ? "" : this.engineForm(registration.parent), registration.type, registration.name);
    }

    former(registration: Registration): string[] {
        const own = registration.aliases.map(
            (alias) =>
                alias.urn ||
                this.urnUnder(
                    alias.noParent ? "" : this.engineForm(alias.parentUrn || registration.parent),
                    alias.type || registration.type,
                    alias.name || registration.name,
                ),
        );
        // As the engine's step generator does (pkg/resource/deploy/step_generator.go, generateAliases and
        // inheritedChildAlias): a child answers to its own name under each former URN of its parent, the
        // parent's former name in place of its own where the child's name starts with it.
        const parent = this.registrations.find((r) => r.urn === registration.parent);
        const inherited = parent
            ? this.former(parent).map((urn) =>
                  this.urnUnder(
                      urn,
                      registration.type,
                      registration.name.startsWith(parent.name) ? `${urn.split("::").pop()}${registration.name.slice(parent.name.length)}` : registration.name,
                  ),
              )
            : [];
        return [...own, ...inherited];
    }
}
