/** A remote command that runs one host script, the way every component touches the host. */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { EdgeProxyConfig } from "./config/types";
import { HOST_SHELL } from "./hostScripts";

/** The SSH connection (a secret, it carries the private key) from DockerHost. */
export type HostConnection = pulumi.Input<command.types.input.remote.ConnectionArgs>;

/** What every component that runs scripts on the host takes. */
export interface HostStepArgs {
    /** The validated stack configuration. */
    config: EdgeProxyConfig;
    /** The SSH connection from DockerHost. */
    connection: HostConnection;
    /** What must be done before this step (see EdgeProxy for the order). */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Options of hostCommand. */
export interface HostCommandOptions {
    /** The SSH connection from DockerHost. */
    connection: HostConnection;
    /** The script, run as `sh -s` with the script on standard input. */
    script: pulumi.Input<string>;
    /** The command run when the resource is deleted (already quoted). */
    delete?: string;
    /** Values whose change re-runs the script. */
    triggers?: pulumi.Input<unknown>[];
    /** The component that owns the command. */
    parent: pulumi.Resource;
    /** What must be done on the host before this runs. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Declares a remote.Command that runs `script` on the host. */
export function hostCommand(name: string, options: HostCommandOptions): command.remote.Command {
    return new command.remote.Command(name, {
        connection: options.connection,
        create: HOST_SHELL,
        // A changed script or trigger runs the script again in place. Without an update command the
        // provider would replace the resource instead: create the new one, then run the old one's
        // delete, which for a PEM or the renewal job would remove what was just installed.
        update: HOST_SHELL,
        delete: options.delete,
        stdin: options.script,
        triggers: options.triggers,
        // The scripts carry no secret: their output is what an operator needs to see when a step fails.
        addPreviousOutputInEnv: false,
    }, { parent: options.parent, dependsOn: options.dependsOn });
}
