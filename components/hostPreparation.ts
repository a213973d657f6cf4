/** The host's directories and the placeholder certificates HAProxy needs before the real ones exist. */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HostStepArgs, hostCommand, repairTokenOf } from "./hostCommand";
import { STEP } from "./hostState";

/** Arguments of HostPreparation. */
export interface HostPreparationArgs extends HostStepArgs {
    /** The rendered preparation script (hostScripts.prepareHostScript). */
    script: pulumi.Input<string>;
    /** What `pulumi destroy` runs: removes what this step wrote (hostScripts.removeCommand). */
    delete: string;
}

/**
 * Checks the host's tools, creates the configuration, certificates and certbot directories with their
 * modes, and a self-signed placeholder PEM for every certificate that has no file yet (a real certificate
 * is never overwritten). Nothing is removed on destroy: certbot's data outlives the stack.
 */
export class HostPreparation extends pulumi.ComponentResource {
    /** The command that prepared the host; later steps depend on it. */
    readonly prepared: command.remote.Command;

    constructor(name: string, args: HostPreparationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:HostPreparation", name, {}, opts);
        this.prepared = hostCommand(`${name}-directories`, {
            connection: args.connection, script: args.script, repairToken: repairTokenOf(args.repairTokens, STEP.prepare), delete: args.delete, dependsOn: args.dependsOn, parent: this,
        });
        this.registerOutputs({ stdout: this.prepared.stdout });
    }
}
