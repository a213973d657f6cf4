/**
 * The Debian Docker host: the one place that knows how to reach it. Every other component takes the
 * docker provider and the SSH connection from here.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as command from "@pulumi/command";
import { HostSettings } from "./config/types";

/** Arguments of DockerHost. */
export interface DockerHostArgs {
    /** Validated host settings: address, SSH port and user, pinned host key, docker endpoint. */
    host: HostSettings;
    /** The SSH private key of `host.sshUser`; kept a Pulumi secret end to end. */
    privateKey: pulumi.Input<string>;
}

/** The docker provider and the SSH connection for one host. */
export class DockerHost extends pulumi.ComponentResource {
    /** The docker provider for the host's engine (over SSH by default). */
    readonly provider: docker.Provider;
    /** The SSH connection for remote commands; a secret, since it carries the private key. */
    readonly connection: pulumi.Output<command.types.input.remote.ConnectionArgs>;

    constructor(name: string, args: DockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:DockerHost", name, {}, opts);
        const { host } = args;
        this.provider = new docker.Provider(`${name}-docker`, { host: host.dockerHost }, { parent: this });
        this.connection = pulumi.secret(pulumi.output(args.privateKey).apply((privateKey) => ({
            host: host.address,
            port: host.sshPort,
            user: host.sshUser,
            privateKey,
            ...(host.sshHostKey ? { hostKey: host.sshHostKey } : {}),
            // A host that reboots or is briefly unreachable should not fail the whole update at once.
            dialErrorLimit: 10,
            perDialTimeout: 15,
        })));
        this.registerOutputs({ dockerHost: host.dockerHost });
    }
}
