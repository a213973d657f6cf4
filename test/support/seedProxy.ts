/**
 * The seed stack's rendering for a haproxy binary's own version, run here in master-worker mode (as the
 * official images run HAProxy) on loopback ports, in front of a web server that answers every request:
 * what the run-time suites put under load.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import type { EdgeProxyConfig } from "../../components/config/types";
import { renderHaproxyConfig } from "../../components/haproxy/render";
import { loadStackFile } from "../../components/plan";
import { type HaproxyBinary, haproxyBinaries, type RunningHaproxy, startHaproxy } from "../../dev/haproxy";
import { PROJECT_DIR } from "../../dev/paths";
import type { HttpsTarget } from "./load";

/** Where the proxy and its backend listen: loopback ports no other suite uses. */
export interface SeedProxyPorts {
    http: number;
    https: number;
    /** The seed's TCP service (SSH passed through). */
    ssh: number;
    /** The site's web server: a loopback address of its own and a port. */
    backend: { host: string; port: number };
}

/** A running seed proxy and its backend. */
export interface SeedProxy {
    proxy: RunningHaproxy;
    /** The HTTPS frontend, any certificate accepted. */
    https: HttpsTarget;
    /** The seed's site's name. */
    domain: string;
    /** Stops haproxy (by PID) and the web server. */
    stop(): Promise<void>;
}

/** Starts the seed's proxy on `binary`; `configure` changes its configuration first (e.g. turns on session tickets). */
export async function startSeedProxy(
    binary: HaproxyBinary,
    ports: SeedProxyPorts,
    configure: (config: EdgeProxyConfig) => void = () => {},
): Promise<SeedProxy> {
    const backend = http.createServer((_, res) => res.end("ok\n"));
    await new Promise<void>((resolve, reject) => {
        backend.once("error", reject);
        backend.listen(ports.backend.port, ports.backend.host, () => resolve());
    });
    const config = loadStackFile(path.join(PROJECT_DIR, "test", "stacks", "seed-1.7.yaml"));
    config.haproxy.version = binary.version;
    config.sites[0].backends = [ports.backend];
    config.tcpServices[0].backends = [{ host: ports.backend.host, port: ports.ssh + 1 }];
    configure(config);
    const binds = { 80: `127.0.0.1:${ports.http}`, 443: `127.0.0.1:${ports.https}`, 22: `127.0.0.1:${ports.ssh}` };
    let proxy: RunningHaproxy;
    try {
        proxy = await startHaproxy({ binary: binary.path, files: renderHaproxyConfig(config), binds, masterWorker: true });
    } catch (error) {
        await new Promise((resolve) => backend.close(resolve));
        throw error;
    }
    return {
        proxy,
        https: { address: "127.0.0.1", port: ports.https },
        domain: config.sites[0].domains[0],
        async stop() {
            await proxy.stop();
            await new Promise((resolve) => backend.close(resolve));
        },
    };
}

/** What each binary's tests get from forEachSeedProxy: set before its first test runs. */
export interface SeedProxyContext {
    /** The binary the suite runs. */
    binary: HaproxyBinary;
    /** The seed's proxy on this binary, and its backend. */
    seed: SeedProxy;
    /** A scratch directory of this binary's own, removed after its tests. */
    scratch: string;
}

/**
 * Declares, for every haproxy binary found (Debian's and those EDGE_PROXY_HAPROXY_BINARIES lists) that
 * `applies` keeps, a suite `haproxy <release>` whose tests run against the seed's proxy on that binary
 * (started before them, stopped by PID after) with a scratch directory; and a test that fails when no
 * binary applies, so that a tier without one is not counted as passed.
 */
export function forEachSeedProxy(
    options: {
        /** Which binaries the tests are for, as the failing test names them (e.g. "with the runtime API (2.2+)"). */
        what: string;
        /** Keeps the binaries the tests apply to. */
        applies: (binary: HaproxyBinary) => boolean;
        ports: SeedProxyPorts;
        /** Changes the seed's configuration before the proxy starts. */
        configure?: (config: EdgeProxyConfig) => void;
    },
    tests: (context: SeedProxyContext) => void,
): void {
    const { binaries } = haproxyBinaries();
    const applying = binaries.filter(options.applies);
    it(`runs on at least one haproxy binary ${options.what}`, () => {
        expect(
            applying.map((binary) => binary.release),
            `binaries found: ${binaries.map((binary) => binary.release).join(", ")}`,
        ).to.not.deep.equal([]);
    });
    for (const binary of applying) {
        describe(`haproxy ${binary.release}`, () => {
            const context = { binary } as SeedProxyContext;
            before(async () => {
                context.scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-seed-"));
                context.seed = await startSeedProxy(binary, options.ports, options.configure);
            });
            after(async () => {
                await context.seed?.stop();
                if (context.scratch) {
                    fs.rmSync(context.scratch, { recursive: true, force: true });
                }
            });
            tests(context);
        });
    }
}
