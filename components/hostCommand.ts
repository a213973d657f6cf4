/** A remote command that runs one host script, the way every component touches the host. */

import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HOST_SHELL } from "./hostScripts";
import { withRepairToken } from "./hostState";

/** The SSH connection (a secret, it carries the private key) from DockerHost. */
export type HostConnection = pulumi.Input<command.types.input.remote.ConnectionArgs>;

/** What every component that runs scripts on the host takes. */
export interface HostStepArgs {
    /** The SSH connection from DockerHost. */
    connection: HostConnection;
    /** What must be done before this step (see EdgeProxy for the order). */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /** Each step's repair token, by its ledger name (hostState.STEP), from the host's state as read before the steps. */
    repairTokens: pulumi.Input<Record<string, string>>;
}

/** The repair token of one step (hostState.STEP), "" when the host knows nothing of it. */
export function repairTokenOf(tokens: pulumi.Input<Record<string, string>>, step: string): pulumi.Output<string> {
    return pulumi.output(tokens).apply((all) => all[step] ?? "");
}

/** Options of hostCommand. */
export interface HostCommandOptions extends Omit<HostStepArgs, "repairTokens"> {
    /**
     * The script, run as `sh -s` with the script on standard input. Everything whose change must run
     * the step again belongs in the script (a certificate's serial, say), never in `triggers`.
     */
    script: pulumi.Input<string>;
    /**
     * The step's repair token (hostState.ts), set on the script's first line: a new one runs the step
     * again when what it installed drifted on the host.
     */
    repairToken: pulumi.Input<string>;
    /** The command run when the resource is deleted (already quoted). */
    delete?: string;
    /** The component that owns the command. */
    parent: pulumi.Resource;
    /** Where the step was declared before (formerParent): an existing stack's `up` keeps it, in place. */
    aliases?: pulumi.Input<pulumi.Alias>[];
}

/**
 * Declares a remote.Command that runs `script` on the host.
 *
 * How the command provider 1.2.1 treats a change (its inputs and Update in provider/pkg/provider/, and
 * the real engine, agree): `triggers` is its only replace-on-change input, so a changed trigger makes the
 * engine create a new resource and, at the end of the update, run the old one's `delete`; for a PEM or the
 * renewal job that removes what was just installed. Every other changed input (stdin, create, update,
 * delete, connection, environment) updates in place: `update` runs, or `create` when there is none. So no
 * step here uses `triggers`: what must run a step again travels in its script.
 */
export function hostCommand(name: string, options: HostCommandOptions): command.remote.Command {
    return new command.remote.Command(
        name,
        {
            connection: options.connection,
            create: HOST_SHELL,
            update: HOST_SHELL,
            delete: options.delete,
            stdin: pulumi.all([options.script, options.repairToken]).apply(([script, token]) => withRepairToken(script, token)),
            // The scripts print no secret (those that carry one are secret Outputs): their output is what an
            // operator needs to see when a step fails.
            addPreviousOutputInEnv: false,
        },
        { parent: options.parent, dependsOn: options.dependsOn, aliases: options.aliases },
    );
}

/**
 * Where a step was declared up to 5e141f8, when every step had a component of its own: under the component
 * `name` of type `type`, a child of the EdgeProxy `proxy`. A step's URN names its parents' types, so
 * without this alias an existing stack's `up` would create the step under its new parent and delete the
 * old one, running its delete (for a PEM step: removing the served certificate).
 */
export function formerParent(name: string, type: string, proxy: pulumi.Resource | undefined): pulumi.Alias {
    return { parent: pulumi.createUrn(name, type, proxy) };
}
