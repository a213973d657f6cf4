/** The renewal job: a script and its cron entry on the host, removed on destroy. */

import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { type HostStepArgs, hostCommand, repairTokenOf } from "./hostCommand";
import { STEP } from "./hostSteps";
import { shellCommand } from "./quote";

/** Arguments of RenewalJob. */
export interface RenewalJobArgs extends HostStepArgs {
    /** The rendered installing script (hostScripts.installRenewalScript). */
    script: pulumi.Input<string>;
    /** Where it installs the renewal script, the cron entry and the alert command (hostScripts.renewalPaths). */
    paths: { scriptPath: string; cronPath: string; alertPath: string };
}

/**
 * Installs the renewal script (renew due certificates, rebuild changed PEMs atomically, check, reload
 * only if something changed, log with timestamps, write the certificates' status, run the alert command
 * when one needs attention, exit non-zero on failure) and its cron entry.
 */
export class RenewalJob extends pulumi.ComponentResource {
    /** The installing command (`<name>-cron`): the script, its cron entry and the alert command. */
    readonly installed: command.remote.Command;
    /** The script's path on the host. */
    readonly scriptPath: string;

    constructor(name: string, args: RenewalJobArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:RenewalJob", name, {}, opts);
        const { paths } = args;
        this.scriptPath = paths.scriptPath;
        this.installed = hostCommand(`${name}-cron`, {
            connection: args.connection,
            script: args.script,
            repairToken: repairTokenOf(args.repairTokens, STEP.renewal),
            delete: shellCommand("rm", "-f", paths.cronPath, paths.scriptPath, paths.alertPath),
            parent: this,
            dependsOn: args.dependsOn,
        });
        this.registerOutputs({ scriptPath: paths.scriptPath });
    }
}
