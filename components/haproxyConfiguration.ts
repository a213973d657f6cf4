/** Delivers the rendered HAProxy configuration to the host: staged, checked, swapped, reloaded. */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HaproxyConfigFiles } from "./haproxy/render";
import { HostStepArgs, hostCommand } from "./hostCommand";
import { deliverConfigScript } from "./hostScripts";

/** Arguments of HaproxyConfiguration. */
export interface HaproxyConfigurationArgs extends HostStepArgs {
    /** The rendered haproxy.cfg, SNI map and certificate list. */
    files: HaproxyConfigFiles;
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
            connection: args.connection,
            script: deliverConfigScript(args.config, args.files),
            parent: this,
            dependsOn: args.dependsOn,
        });
        this.registerOutputs({ stdout: this.delivered.stdout });
    }
}
