/**
 * edge-proxy as a library: the EdgeProxy component and what its callers need to configure it and to
 * depend on its resources. Importing it reads no stack configuration (index.ts, the stack program, does
 * that), so any Pulumi program can declare an EdgeProxy with values of its own, Outputs included.
 */

export { CertificateReport, Certificates } from "./certificates";
export * from "./config/args";
export { argsFromStackSettings, EdgeProxySettings, ProxySecrets } from "./config/settings";
export * from "./config/types";
export { ConfigError, parseConfig } from "./config/validate";
export { DockerHost } from "./dockerHost";
export { EdgeProxy, EdgeProxyArgs, FleetMemberArgs, HaproxyOutput, MetricsOutput, RenewalOutput, SiteOutput } from "./edgeProxy";
export { EdgeProxyFleet, EdgeProxyFleetArgs, HostCertificates } from "./fleet/edgeProxyFleet";
export { Keepalived, KeepalivedArgs } from "./fleet/keepalived";
export { HaproxyService } from "./haproxyService";
export { RenewalJob } from "./renewalJob";
