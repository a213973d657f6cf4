/**
 * edge-proxy's stack program: reads the stack configuration and declares the EdgeProxy component (which
 * other Pulumi programs use through the library entry point, components/index.ts). The configuration is
 * validated as a whole before any resource is declared, so a bad stack fails `pulumi preview` with every
 * problem listed and nothing on the host changes.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./components/config/schema";
import { rawConfigFromEngine } from "./components/config/sources";
import { parseConfig } from "./components/config/validate";
import { EdgeProxy, EdgeProxySettings } from "./components";

const { sshPrivateKey, ...settings } = rawConfigFromEngine(pulumi.runtime.allConfig());
// The whole stack first, the private key included: whether it is set, and set as a secret, is the stack's
// business, and its problems belong in the same list as the others. EdgeProxy then checks its own args.
parseConfig({ sshPrivateKey, ...settings });
const proxy = new EdgeProxy(pulumi.getStack(), {
    config: settings as unknown as EdgeProxySettings, // just validated
    sshPrivateKey: new pulumi.Config(CONFIG_NAMESPACE).requireSecret("sshPrivateKey"),
});

export const containerName = proxy.containerName;
export const sites = proxy.sites;
export const renewal = proxy.renewal;
