/**
 * edge-proxy as a library: the EdgeProxy component and what its callers need to configure it and to
 * depend on its resources. Importing it reads no stack configuration (index.ts, the stack program, does
 * that), so any Pulumi program can declare an EdgeProxy with values of its own, Outputs included.
 */
export { EdgeProxy, EdgeProxyArgs, HaproxyOutput, MetricsOutput, RenewalOutput, SiteOutput } from "./edgeProxy";
export * from "./config/args";
export { EdgeProxySettings, ProxySecrets, argsFromStackSettings } from "./config/settings";
export { ConfigError, parseConfig } from "./config/validate";
export * from "./config/types";
export { DockerHost } from "./dockerHost";
export { HaproxyService } from "./haproxyService";
export { CertificateReport, Certificates } from "./certificates";
export { RenewalJob } from "./renewalJob";
