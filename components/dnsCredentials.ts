/** The DNS provider's credentials on the host, for DNS-01 sites (docs/dns-01.md). */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { EdgeProxyConfig } from "./config/types";
import { HostStepArgs, hostCommand, repairTokenOf } from "./hostCommand";
import { STEP } from "./hostState";
import { installDnsCredentialsScript } from "./hostScripts";
import { shellCommand } from "./quote";

/** Arguments of DnsCredentials. */
export interface DnsCredentialsArgs extends HostStepArgs {
    /** The validated configuration, with dnsProvider set. */
    config: pulumi.Output<EdgeProxyConfig>;
    /** The credentials file on the host (hostScripts.dnsCredentialsPaths), removed on destroy. */
    path: string;
    /** The provider's secret (rfc2136KeySecret), a Pulumi secret. */
    secret: pulumi.Input<string>;
}

/**
 * Writes the credentials file certbot's DNS plugin reads (mode 0600, root's). Its script carries the
 * secret, so the step is a secret Output: the state keeps it encrypted, previews show `[secret]`. A new
 * secret runs this step only; the certificate steps name the file, not its content.
 */
export class DnsCredentials extends pulumi.ComponentResource {
    /** The installing command; DNS-01 certificate steps depend on it. */
    readonly installed: command.remote.Command;

    constructor(name: string, args: DnsCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edge-proxy:index:DnsCredentials", name, {}, opts);
        this.installed = hostCommand(`${name}-file`, {
            connection: args.connection,
            script: pulumi.secret(pulumi.all([args.config, args.secret])).apply(([config, secret]) => installDnsCredentialsScript(config, secret)),
            repairToken: repairTokenOf(args.repairTokens, STEP.dnsCredentials),
            delete: shellCommand("rm", "-f", args.path),
            parent: this,
            dependsOn: args.dependsOn,
        });
        this.registerOutputs({});
    }
}
