/**
 * The Debian Docker host: the one place that knows how to reach it, and the step that prepares it. Every
 * other component takes the docker provider and the SSH connection from here, and starts after the
 * preparation.
 */
import { createHash } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import type * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { sshDockerEndpoint } from "./config/schema";
import type { HostSettings } from "./config/types";
import { formerParent, hostCommand, repairTokenOf } from "./hostCommand";
import { STEP } from "./hostSteps";
import { writePrivateFile } from "./privateFile";

/** Arguments of DockerHost. */
export interface DockerHostArgs {
    /** Validated host settings: address, SSH port and user, pinned host key, docker endpoint (an Output when one of them is). */
    host: pulumi.Output<HostSettings>;
    /** The SSH private key of `host.sshUser`; kept a Pulumi secret end to end. */
    privateKey: pulumi.Input<string>;
    /**
     * Where the known_hosts file that pins the host key for the docker provider's `ssh` is written on the
     * machine running Pulumi; default `~/.edge-proxy`.
     */
    knownHostsDir?: string;
    /** The EdgeProxy's name, which the preparation step's name starts with. */
    proxyName: string;
    /** The rendered preparation script (hostScripts.prepareHostScript). */
    prepareScript: pulumi.Input<string>;
    /** What `pulumi destroy` runs for the preparation: removes what it wrote (hostScripts.removeCommand). */
    prepareDelete: string;
    /** Each step's repair token, by its ledger name (hostState.STEP), from the host's state as read before the steps. */
    repairTokens: pulumi.Input<Record<string, string>>;
    /** The docker provider to use instead of making one (its endpoint and host authentication are the caller's). */
    provider?: docker.Provider;
    /** What must be done before anything on this host changes: in a fleet, the previous host's configuration and container. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The alias under which the docker provider's `ssh` looks the pinned host key up. */
const HOST_KEY_ALIAS = "edge-proxy-host";

/**
 * The `ssh` options that make the docker provider accept only the pinned host key. The provider runs the
 * operator's own `ssh` (their agent and ~/.ssh/config choose the identity), which would otherwise trust
 * the operator's known_hosts. The file is named by its content, so the options change only with the key.
 */
export function pinnedHostKeySshOptions(hostKey: string, dir: string): string[] {
    const line = `${HOST_KEY_ALIAS} ${hostKey}\n`;
    const file = path.join(dir, `known_hosts-${createHash("sha256").update(line).digest("hex").slice(0, 16)}`);
    writePrivateFile(file, line);
    return [
        "-o",
        `UserKnownHostsFile=${file}`,
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        `HostKeyAlias=${HOST_KEY_ALIAS}`,
        "-o",
        "StrictHostKeyChecking=yes",
    ];
}

/**
 * The `ssh` options that make the docker provider log in with the stack's own private key, as the command
 * steps do (and not with whatever the operator's agent offers): a copy of the key, 0600 in a 0700
 * directory of the operator's, under a name that depends on the stack and component only, so that a new
 * key (a rotation) changes the file's content and not the provider's settings.
 */
export function stackIdentitySshOptions(privateKey: string, dir: string, owner: string): string[] {
    const file = path.join(dir, `identity-${createHash("sha256").update(owner).digest("hex").slice(0, 16)}`);
    writePrivateFile(file, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`);
    return ["-i", file, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"];
}

/**
 * The docker provider and the SSH connection for one host, and its preparation: the step checks the host's
 * tools, creates the configuration, certificates and certbot directories with their modes, and a
 * self-signed placeholder PEM for every certificate that has no file yet (a real certificate is never
 * overwritten). Its delete removes what edge-proxy wrote, never certbot's data.
 */
export class DockerHost extends pulumi.ComponentResource {
    /** The docker provider for the host's engine (over SSH by default). */
    readonly provider: docker.Provider;
    /** The SSH connection for remote commands; a secret, since it carries the private key. */
    readonly connection: pulumi.Output<command.types.input.remote.ConnectionArgs>;
    /**
     * The preparation step (`<proxy>-prepare-directories`): directories and placeholder certificates; every
     * later step depends on it.
     */
    readonly preparation: command.remote.Command;

    constructor(name: string, args: DockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:DockerHost", name, {}, opts);
        const { host } = args;
        const dir = args.knownHostsDir ?? path.join(os.homedir(), ".edge-proxy");
        const owner = `${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
        // The stack's key and the pinned host key apply only where the provider goes to the same SSH host as
        // the commands (dockerHost left at its default). The options carry a file name, never the key.
        const sshOpts = pulumi.unsecret(
            pulumi.all([host, args.privateKey]).apply(([settings, privateKey]) => {
                if (settings.dockerHost !== sshDockerEndpoint(settings)) {
                    return undefined;
                }
                return [...stackIdentitySshOptions(privateKey, dir, owner), ...(settings.sshHostKey ? pinnedHostKeySshOptions(settings.sshHostKey, dir) : [])];
            }),
        );
        this.provider = args.provider ?? new docker.Provider(`${name}-docker`, { host: host.dockerHost, sshOpts }, { parent: this });
        // The provider, once it has read the engine's default bridge network: in `preview` as in `up`. The
        // preparation, the first step that changes the host, depends on it, so an unreachable docker endpoint
        // (a wrong host key, no ssh identity) fails before anything on the host changes.
        const reachable = docker.getNetwork({ name: "bridge" }, { provider: this.provider, parent: this }).then(() => this.provider);
        this.connection = pulumi.secret(
            pulumi.all([host, args.privateKey]).apply(([settings, privateKey]) => ({
                host: settings.address,
                port: settings.sshPort,
                user: settings.sshUser,
                privateKey,
                ...(settings.sshHostKey ? { hostKey: settings.sshHostKey } : {}),
                // A host that reboots or is briefly unreachable should not fail the whole update at once.
                dialErrorLimit: 10,
                perDialTimeout: 15,
            })),
        );
        this.preparation = hostCommand(`${args.proxyName}-prepare-directories`, {
            connection: this.connection,
            script: args.prepareScript,
            repairToken: repairTokenOf(args.repairTokens, STEP.prepare),
            delete: args.prepareDelete,
            dependsOn: [reachable, ...(args.dependsOn ?? [])],
            parent: this,
            aliases: [formerParent(`${args.proxyName}-prepare`, "edge-proxy:index:HostPreparation", opts?.parent)],
        });
        this.registerOutputs({ dockerHost: host.dockerHost });
    }
}
