/**
 * The validated configuration's types, as the schema gives them (z.output of validate.ts's configSchema):
 * what the renderer and the components consume. The secrets are not here: they stay Pulumi secrets.
 */
import type { z } from "zod";
import type { configSchema } from "./validate";

export { HaproxyVersion, ServerAddress } from "./checks";

/** The whole validated, defaulted configuration. */
export type EdgeProxyConfig = z.output<typeof configSchema>;
/** The Docker host and how to reach it. */
export type HostSettings = EdgeProxyConfig["host"];
/** The HAProxy container and its configuration. */
export type HaproxySettings = EdgeProxyConfig["haproxy"];
/** HAProxy timeouts, each in HAProxy time format (e.g. `30s`). */
export type Timeouts = HaproxySettings["timeouts"];
/** HAProxy's own metrics (the stats page, and the Prometheus exporter from 2.0), when metricsAddress is set. */
export type MetricsSettings = NonNullable<HaproxySettings["metrics"]>;
/** The ACME account, server and certbot container. */
export type AcmeSettings = EdgeProxyConfig["acme"];
/** DNS-01 through a certbot DNS plugin (components/dns/providers.ts), when dnsProvider is set. */
export type DnsSettings = NonNullable<AcmeSettings["dns"]>;
/** One HTTPS site: a set of domains served by one certificate and one backend. */
export type Site = EdgeProxyConfig["sites"][number];
/** A site's HTTP health check. */
export type HealthCheck = NonNullable<Site["healthCheck"]>;
/** One TCP service passed through HAProxy (SSH and the like). */
export type TcpService = EdgeProxyConfig["tcpServices"][number];
