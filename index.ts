/**
 * edge-proxy's stack program: reads the stack configuration and declares the EdgeProxy component, or with
 * `hosts` the EdgeProxyFleet of one EdgeProxy per host (other Pulumi programs use both through the library
 * entry point, components/index.ts). The configuration is validated as a whole before any resource is
 * declared, so a bad stack fails `pulumi preview` with every problem listed and nothing on a host changes.
 */
import * as pulumi from "@pulumi/pulumi";
import { argsFromStackSettings, EdgeProxy, EdgeProxyFleet, type EdgeProxySettings } from "./components";
import { eabHmacKeyProblem } from "./components/config/checks";
import { CONFIG_NAMESPACE } from "./components/config/schema";
import { engineSecretKeys, rawConfigFromEngine } from "./components/config/sources";
import { ConfigError, parseConfig } from "./components/config/validate";
import { vrrpPasswordProblem } from "./components/fleet/keepalived";

const { sshPrivateKey, metricsPassword, alertCommand, rfc2136KeySecret, acmeEabHmacKey, vrrpPassword, ...settings } = rawConfigFromEngine(
    pulumi.runtime.allConfig(),
    engineSecretKeys(),
);
// The whole stack first, the secrets included: whether they are set, and set as secrets, is the stack's
// business, and their problems belong in the same list as the others. EdgeProxy then checks its own args.
const config = parseConfig({ sshPrivateKey, metricsPassword, alertCommand, rfc2136KeySecret, acmeEabHmacKey, vrrpPassword, ...settings });
// Secrets whose form matters, checked here, before any resource, where the program has their text (the
// configuration above knows only that they are set): keepalived takes a VRRP password of 1 to 8 characters
// as one word; an EAB HMAC key is base64url.
const secretText = (key: string) => String(pulumi.runtime.allConfig()[`${CONFIG_NAMESPACE}:${key}`] ?? "");
const secretProblems = [
    config.fleet?.vip && vrrpPassword !== undefined ? vrrpPasswordProblem(secretText("vrrpPassword")) : undefined,
    config.acme.eab && acmeEabHmacKey !== undefined ? eabHmacKeyProblem(secretText("acmeEabHmacKey")) : undefined,
].filter((problem): problem is string => problem !== undefined);
if (secretProblems.length > 0) {
    throw new ConfigError(secretProblems);
}
const stackConfig = new pulumi.Config(CONFIG_NAMESPACE);
const args = argsFromStackSettings({
    ...(settings as unknown as EdgeProxySettings), // just validated
    sshPrivateKey: stackConfig.requireSecret("sshPrivateKey"),
    metricsPassword: config.haproxy.metrics?.user ? stackConfig.requireSecret("metricsPassword") : undefined,
    alertCommand: alertCommand === undefined ? undefined : stackConfig.requireSecret("alertCommand"),
    rfc2136KeySecret: config.acme.dns ? stackConfig.requireSecret("rfc2136KeySecret") : undefined,
    acmeEabHmacKey: config.acme.eab ? stackConfig.requireSecret("acmeEabHmacKey") : undefined,
    vrrpPassword: config.fleet?.vip && vrrpPassword !== undefined ? stackConfig.requireSecret("vrrpPassword") : undefined,
});
const fleet = config.fleet ? new EdgeProxyFleet(pulumi.getStack(), args) : undefined;
// A fleet's certificates, renewal and metrics are its issuer's.
const proxy = fleet ? fleet.issuer : new EdgeProxy(pulumi.getStack(), args);

// What an operator reads with `pulumi stack output` (docs/operations.md: Outputs).
export const containerName = proxy.containerName;
export const sites = proxy.sites;
export const haproxy = proxy.haproxy;
export const configurationDigest = proxy.configurationDigest;
export const renewal = proxy.renewal;
export const metrics = proxy.metrics;
/** With `hosts`: each host's installed configuration and served certificates (docs/fleet.md); empty for one host. */
export const hosts = fleet
    ? pulumi
          .all([fleet.configurationDigests, fleet.served])
          .apply(([digests, served]) =>
              Object.fromEntries(Object.keys(fleet.hosts).map((host) => [host, { configurationDigest: digests[host], certificates: served[host] ?? {} }])),
          )
    : {};
