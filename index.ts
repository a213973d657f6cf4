/**
 * edge-proxy: HAProxy with Let's Encrypt certificates on a Debian Docker host.
 * The stack configuration is validated as a whole before any resource is declared, so a bad stack
 * fails `pulumi preview` with every problem listed and nothing on the host changes.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./components/config/schema";
import { rawConfigFromEngine } from "./components/config/sources";
import { parseConfig } from "./components/config/validate";
import { EdgeProxy } from "./components/edgeProxy";

const config = parseConfig(rawConfigFromEngine(pulumi.runtime.allConfig()));
const stackConfig = new pulumi.Config(CONFIG_NAMESPACE);
const proxy = new EdgeProxy(pulumi.getStack(), {
    config,
    sshPrivateKey: stackConfig.requireSecret("sshPrivateKey"),
    metricsPassword: config.haproxy.metrics?.user ? stackConfig.requireSecret("metricsPassword") : undefined,
});

export const containerName = proxy.containerName;
export const sites = proxy.sites;
export const renewal = proxy.renewal;
