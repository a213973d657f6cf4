/** Delivers the rendered HAProxy configuration to the host: staged, checked, swapped, reloaded. */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HostStepArgs, hostCommand, repairTokenOf } from "./hostCommand";
import { STEP } from "./hostState";

/** Arguments of HaproxyConfiguration. */
export interface HaproxyConfigurationArgs extends HostStepArgs {
    /**
     * The rendered delivery script, carrying haproxy.cfg and its map files (hostScripts.deliverConfigScript);
     * a secret Output when haproxy.cfg carries the metrics password's hash.
     */
    script: pulumi.Input<string>;
    /** What `pulumi destroy` runs: removes what this step wrote (hostScripts.removeCommand). */
    delete: string;
}

/**
 * Writes the files to a staging directory on the host, checks them with the configured image's own
 * `haproxy -c`, and only then swaps them in and reloads the running container. Runs again only when the
 * files change; a rejected configuration fails `pulumi up` with HAProxy's message and changes nothing.
 */
export class HaproxyConfiguration extends pulumi.ComponentResource {
    /** The delivery command; its stdout names the installed configuration's digest. */
    readonly delivered: command.remote.Command;

    constructor(name: string, args: HaproxyConfigurationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:HaproxyConfiguration", name, {}, opts);
        this.delivered = hostCommand(`${name}-delivery`, {
            connection: args.connection, script: args.script, repairToken: repairTokenOf(args.repairTokens, STEP.config), delete: args.delete, dependsOn: args.dependsOn, parent: this,
        });
        this.registerOutputs({ stdout: this.delivered.stdout });
    }
}
