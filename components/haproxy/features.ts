/**
 * What each HAProxy version (and its official Docker image) supports, so that one stack configuration
 * renders a valid file for the seed's `haproxy:1.7` as well as for 2.x and 3.x.
 */

import { compareVersions } from "../config/checks";
import type { HaproxyVersion } from "../config/types";

/** The version-dependent choices the templates and the container make. */
export interface HaproxyFeatures {
    /** HTTP/2 over ALPN (1.8+). 1.7 accepts `alpn h2` in `haproxy -c` but breaks every HTTP/2 client. */
    h2: boolean;
    /** `ssl-min-ver` (1.8+); 1.7 needs `no-sslv3 no-tlsv10 no-tlsv11`. */
    sslMinVer: boolean;
    /** `ssl-default-bind-ciphersuites` for TLS 1.3 (1.9+). */
    tls13Ciphersuites: boolean;
    /**
     * `log stdout` (1.9+), so `docker logs` shows the traffic log. Without it the log goes to the host's
     * syslog socket, bind-mounted into the container.
     */
    logStdout: boolean;
    /** `hard-stop-after` (1.8+): bounds how long old processes linger after a reload. */
    hardStopAfter: boolean;
    /** `init-addr` (1.8+): start even when a backend name does not resolve. */
    initAddr: boolean;
    /**
     * `parse-resolv-conf` in a `resolvers` section (1.9+): servers given by name re-resolve at run time
     * through the container's own name servers. 1.8 has resolvers but needs their addresses written out.
     */
    resolvConf: boolean;
    /**
     * The Prometheus exporter as a service (`http-request use-service prometheus-exporter`, 2.0+). In 2.0 to
     * 2.3 it is contrib code that the official images link in (EXTRA_OBJS); from 2.4 an add-on they build
     * with USE_PROMEX=1. A hand-built binary without it refuses the configuration at `haproxy -c`.
     */
    prometheusExporter: boolean;
    /** `http-request return` (2.2+). */
    httpRequestReturn: boolean;
    /**
     * The runtime API's certificate commands (`set ssl cert` and `commit ssl cert` for a certificate loaded
     * from a crt-list, 2.2+): a renewed certificate is installed into the running HAProxy without a reload.
     */
    runtimeCertificates: boolean;
    /**
     * TLS session tickets whose keys edge-proxy rotates (`tls-ticket-keys`, rotated by `set ssl tls-key`
     * through the runtime API that the rendering opens from 2.2). Older versions render `no-tls-tickets`: a
     * ticket key that is never rotated would undo forward secrecy.
     */
    rotatedTicketKeys: boolean;
    /** `option idle-close-on-response` (2.6+): no keep-alive request lost on reload. */
    idleCloseOnResponse: boolean;
    /** The official image runs as uid 99 (2.4+) and needs help to bind ports below 1024. */
    unprivilegedImage: boolean;
}

const atLeast = (version: HaproxyVersion, major: number, minor: number) => compareVersions(version, { major, minor }) >= 0;

/** The features of a HAProxy version. */
export function haproxyFeatures(version: HaproxyVersion): HaproxyFeatures {
    return {
        h2: atLeast(version, 1, 8),
        sslMinVer: atLeast(version, 1, 8),
        tls13Ciphersuites: atLeast(version, 1, 9),
        logStdout: atLeast(version, 1, 9),
        hardStopAfter: atLeast(version, 1, 8),
        initAddr: atLeast(version, 1, 8),
        resolvConf: atLeast(version, 1, 9),
        prometheusExporter: atLeast(version, 2, 0),
        httpRequestReturn: atLeast(version, 2, 2),
        runtimeCertificates: atLeast(version, 2, 2),
        rotatedTicketKeys: atLeast(version, 2, 2),
        idleCloseOnResponse: atLeast(version, 2, 6),
        unprivilegedImage: atLeast(version, 2, 4),
    };
}
