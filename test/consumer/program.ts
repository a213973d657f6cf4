/**
 * A Pulumi program that uses edge-proxy the way another project does: it imports the package by its name
 * (Node.js resolves `edge-proxy` through package.json's `exports` to the compiled library, as it would
 * from node_modules; tsconfig.json's `paths` gives TypeScript the same module), takes the host's address
 * from the resource that makes the host, and the sites' backends from another stack's outputs. docs/architecture.md
 * ("The EdgeProxy component in your own program") shows this file; test/consumer.test.ts and
 * test/e2e/consumer.test.ts run it.
 */

import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { EdgeProxy, type EdgeProxyArgs, type HostArgs, type SiteArgs } from "edge-proxy";

/** What the program is given: its own fixed settings and where the host and the backends come from. */
export interface ConsumerOptions {
    /** The proxy's arguments other than the host's address and key, and the sites. */
    proxy: Omit<EdgeProxyArgs, "host" | "sites"> & { host: Omit<HostArgs, "address" | "sshPrivateKey"> };
    /** The sites, without their backends. */
    sites: Omit<SiteArgs, "backends">[];
    /** The command that makes the host and prints its address: in a real program, a VM resource. */
    createHost: string;
    /** The stack whose `backends` output maps each site's name to its `host:port` list. */
    appsStack: string;
    /** The host's SSH private key (a secret). */
    sshPrivateKey: pulumi.Input<string>;
}

export function consumerProgram(options: ConsumerOptions): EdgeProxy {
    // The host: its address is known only once the resource that makes it exists.
    const vm = new command.local.Command("vm", { create: options.createHost });
    // The backends: another stack's output, such as the application stack's service addresses.
    const apps = new pulumi.StackReference(options.appsStack);
    const backends = apps.requireOutput("backends") as pulumi.Output<Record<string, string[]>>;

    return new EdgeProxy("edge", {
        ...options.proxy,
        host: { ...options.proxy.host, address: vm.stdout, sshPrivateKey: options.sshPrivateKey },
        sites: options.sites.map((site) => ({ ...site, backends: backends.apply((all) => all[site.name!]) })),
    });
}
