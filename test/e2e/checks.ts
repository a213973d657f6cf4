/**
 * Checks from outside, as a browser, an SSH user and an operator would make them, shared by the stand-in
 * end-to-end test and the real-engine suite.
 */

import * as fs from "node:fs";
import type * as https from "node:https";
import * as path from "node:path";
import { expect } from "chai";
import { SECRET_PRESENT } from "../../components/config/checks";
import { CONFIG_KEYS } from "../../components/config/schema";
import { parseConfig } from "../../components/config/validate";
import { CONTAINER_TICKET_KEYS_DIR, RUNTIME_SOCKET_NAME, TICKET_KEYS_FILE } from "../../components/haproxy/render";
import { hostStatePath } from "../../components/hostPaths";
import { shellCommand } from "../../components/quote";
import { checkStatus } from "../../components/status/check";
import type { StatusReport } from "../../components/status/report";
import { parseStatusFile, type StatusFile } from "../../components/status/statusFile";
import { TEMPLATES_DIR } from "../../components/templates";
import { type RunOptions, type RunResult, run } from "../../dev/env/command";
import { CERTBOT_IMAGE } from "../../dev/env/images";
import { pinnedSshArgs } from "../../dev/env/sshd";
import {
    CONTAINER,
    type Environment,
    METRICS_AUTH,
    PORTS,
    RENEW_CRON,
    RENEW_SCRIPT,
    type StackValues,
    TICKET_KEYS_CRON,
    TICKET_KEYS_DIR,
    TICKET_KEYS_SCRIPT,
} from "../../dev/environment";
import { httpsRequest as requestOnce, startLoad as startHttpsLoad } from "../support/load";

/**
 * GET over HTTPS through HAProxy at `address` (this machine's, by default), verified against Pebble's root
 * (no -k): status and body, or curl's error.
 */
export async function httpsGet(env: Pick<Environment, "rootCaFile">, domain: string, urlPath = "/", address = "127.0.0.1"): Promise<string> {
    const result = await run(
        "curl",
        [
            "-sS",
            "--max-time",
            "10",
            "--cacert",
            env.rootCaFile,
            "--resolve",
            `${domain}:${PORTS.https}:${address}`,
            "-o",
            "-",
            "-w",
            "%{http_code}",
            `https://${domain}:${PORTS.https}${urlPath}`,
        ],
        { allowFailure: true },
    );
    return result.code === 0 ? `${result.stdout.slice(-3)} ${result.stdout.slice(0, -3).trim()}` : `curl failed: ${result.stderr.trim()}`;
}

/**
 * One `GET /` over HTTPS to HAProxy at `address` with SNI and Host `domain`, verified against `ca` (PEM
 * text), on `agent`'s connection (false: a new one): undefined when it answered 200, else what went wrong.
 */
export function httpsRequest(opts: {
    address: string;
    domain: string;
    ca: string;
    agent: https.Agent | false;
    timeoutMs: number;
}): Promise<string | undefined> {
    const { address, ca, ...request } = opts;
    return requestOnce({ address, port: PORTS.https, ca }, request);
}

/** The serial and names of the certificate HAProxy at `address` (this machine's, by default) serves for a server name. */
export async function servedCertificate(domain: string, address = "127.0.0.1"): Promise<string> {
    const result = await run(
        "sh",
        [
            "-c",
            `${shellCommand("openssl", "s_client", "-connect", `${address}:${PORTS.https}`, "-servername", domain)}` +
                ` </dev/null 2>/dev/null | openssl x509 -noout -serial -ext subjectAltName`,
        ],
        { allowFailure: true },
    );
    return result.stdout;
}

/** Each site's served certificate (for its first name), by site name. */
export async function servedCertificates(values: StackValues): Promise<Record<string, string>> {
    return Object.fromEntries(await Promise.all(values.sites.map(async (site) => [site.name, await servedCertificate(site.domains[0])])));
}

/** HAProxy's processes in the container (master and worker PIDs). */
export async function haproxyPids(): Promise<string> {
    return (await run("docker", ["top", CONTAINER, "-o", "pid"])).stdout;
}

/**
 * Every name of every site answers 200 over HTTPS from its own backend with its site's certificate,
 * verified against Pebble's root, and each site's PEM on the host is certbot's (not a placeholder).
 */
export async function expectEverySiteServed(env: Environment, values: StackValues, when: string): Promise<void> {
    for (const site of values.sites) {
        const pem = path.join(String(values.certsDir ?? env.paths.certsDir), `${site.name}.pem`);
        expect(fs.existsSync(pem), `${when}: ${pem} exists`).to.equal(true);
        for (const domain of site.domains) {
            expect(await httpsGet(env, domain), `${when}: GET https://${domain}`).to.match(/^200 site-[a-z] proto=https for=/);
            const certificate = await servedCertificate(domain);
            for (const name of site.domains) {
                expect(certificate, `${when}: certificate served for ${domain}`).to.contain(`DNS:${name}`);
            }
        }
    }
}

/** Waits (at most 20 s) until the first site answers again, after a restart. */
export async function waitUntilServed(env: Environment, values: StackValues): Promise<void> {
    for (let attempt = 0; attempt < 100 && !(await httpsGet(env, values.sites[0].domains[0])).startsWith("200"); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
}

/**
 * How many times the HAProxy container's master has reloaded since the container was created (its log's
 * "Reloading HAProxy" notices): a certificate installed through the runtime API adds none.
 */
export async function haproxyReloads(): Promise<number> {
    const logs = await run("docker", ["logs", CONTAINER]);
    return `${logs.stdout}${logs.stderr}`.split("\n").filter((line) => line.includes("Reloading HAProxy")).length;
}

/** `docker restart` of the HAProxy container (as after a host reboot), then every site must still be served. */
export async function expectServedAfterRestart(env: Environment, values: StackValues, when: string): Promise<void> {
    await run("docker", ["restart", "-t", "5", CONTAINER]);
    await waitUntilServed(env, values);
    await expectEverySiteServed(env, values, `${when}, after docker restart`);
}

/** Served certificates after an `up`: the sites in `renewed` have a new one, every other site the same. */
export function expectCertificates(before: Record<string, string>, after: Record<string, string>, renewed: string[], when: string): void {
    for (const [site, certificate] of Object.entries(after)) {
        if (renewed.includes(site)) {
            expect(certificate, `${when}: ${site}'s served certificate`).to.contain("serial=");
            expect(certificate, `${when}: ${site}'s served certificate`).to.not.equal(before[site] ?? "");
        } else {
            expect(certificate, `${when}: ${site}'s served certificate`).to.equal(before[site]);
        }
    }
}

/**
 * HAProxy's metrics as the environment's stack configures them: the stats page and Prometheus' /metrics on
 * 127.0.0.1 only, 401 without the stack's credentials or with a wrong password, 200 with them.
 */
export async function expectMetricsBehindAuthentication(env: Environment): Promise<void> {
    const scrape = async (urlPath: string, auth?: string) =>
        (
            await run(
                "curl",
                [
                    "-sS",
                    "--max-time",
                    "10",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    ...(auth ? ["-u", auth] : []),
                    `http://127.0.0.1:${PORTS.metrics}${urlPath}`,
                ],
                { allowFailure: true },
            )
        ).stdout;
    const credentials = `${METRICS_AUTH.user}:${METRICS_AUTH.password}`;
    expect(await scrape("/stats"), "the stats page without credentials").to.equal("401");
    expect(await scrape("/stats", `${METRICS_AUTH.user}:wrong`), "with a wrong password").to.equal("401");
    expect(await scrape("/stats", credentials), "with the stack's credentials").to.equal("200");
    const metrics = await run("curl", ["-sS", "--max-time", "10", "-u", credentials, `http://127.0.0.1:${PORTS.metrics}/metrics`]);
    expect(metrics.stdout, "Prometheus metrics")
        .to.match(/^haproxy_process_/m)
        .and.contain('proxy="https"');
    // Published on the loopback address only: the bridge address (another of the host's addresses) has nothing there.
    const elsewhere = await run("curl", ["-sS", "--max-time", "5", `http://${env.bridge}:${PORTS.metrics}/stats`], { allowFailure: true });
    expect(elsewhere.code, "the metrics port on the bridge address").to.not.equal(0);
    // Another container on the bridge, connecting straight to the proxy container's own address, is refused
    // before a byte of HTTP: only Docker's publishing on 127.0.0.1 reaches the listener.
    const proxyAddress = (await run("docker", ["inspect", "--format", "{{.NetworkSettings.IPAddress}}", CONTAINER])).stdout.trim();
    const neighbour = await run(
        "docker",
        [
            "run",
            "--rm",
            "--entrypoint",
            "python3",
            CERTBOT_IMAGE,
            "-c",
            `
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    s.sendall(b"GET /stats HTTP/1.0\\r\\n\\r\\n")
    print(repr(s.recv(100)))
except OSError as error:
    print(type(error).__name__)
`,
            proxyAddress,
            String(PORTS.metrics),
        ],
        { allowFailure: true },
    );
    expect(neighbour.stdout.trim(), `another container on the bridge at ${proxyAddress}: ${neighbour.stderr}`).to.be.oneOf([
        "b''",
        "ConnectionResetError",
        "BrokenPipeError",
    ]);
}

/** status.json on the host, as the certificate steps or the renewal job last wrote it. */
export function hostStatus(env: Environment): StatusFile {
    const file = path.join(env.paths.dataDir, "edge-proxy", "status.json");
    return parseStatusFile(fs.readFileSync(file, "utf8"), file);
}

/** The alerts the stack's alertCommand received so far (each its stdin, the status), oldest first. */
export function receivedAlerts(env: Environment): StatusFile[] {
    const files = fs.readdirSync(env.paths.alertsDir).map((name) => path.join(env.paths.alertsDir, name));
    files.sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs);
    return files.map((file) => parseStatusFile(fs.readFileSync(file, "utf8"), file));
}

/**
 * status.json and the Prometheus file describe every site's certificate as HAProxy serves it: its names,
 * its serial, years of validity (Pebble's), the last certbot run a success, nothing needing attention.
 */
export async function expectStatusOfServed(env: Environment, values: StackValues, when: string): Promise<void> {
    const status = hostStatus(env);
    const metrics = fs.readFileSync(env.paths.metricsFile, "utf8");
    expect(status.certificates.map((c) => c.name).sort(), `${when}: the certificates in status.json`).to.deep.equal(values.sites.map((s) => s.name).sort());
    for (const site of values.sites) {
        const entry = status.certificates.find((c) => c.name === site.name)!;
        const served = /^serial=([0-9A-F]+)$/m.exec(await servedCertificate(site.domains[0]))?.[1];
        expect(entry, `${when}: ${site.name} in status.json`).to.include({ serial: served, placeholder: false, result: "ok", failures: 0, attention: false });
        expect([...entry.names].sort(), `${when}: ${site.name}'s names`).to.deep.equal([...site.domains].sort());
        // Just issued by the environment's Pebble, whose one profile gives 90 days (dev/env/pebble.ts).
        expect(entry.daysLeft, `${when}: ${site.name}'s days left`).to.be.within(88, 89);
        expect(metrics, `${when}: ${site.name}'s expiry in the metrics file`).to.contain(
            `edge_proxy_certificate_not_after_seconds{container="${CONTAINER}",name="${site.name}"} ${Date.parse(entry.notAfter!) / 1000}\n`,
        );
    }
    expect(status.attention, `${when}: status.json's attention`).to.equal(false);
}

/** The stack's secrets as the engine hands them to the validator: present, never decrypted. */
export function secretsPresent(values: StackValues): Record<string, typeof SECRET_PRESENT> {
    return Object.fromEntries(CONFIG_KEYS.filter((spec) => spec.secret && values[spec.key] !== undefined).map((spec) => [spec.key, SECRET_PRESENT]));
}

/**
 * What `npm run status` reports for the stack's settings (the check the CLI runs once it has read them
 * from the Pulumi CLI): over SSH to the environment's host, with the stack's key and pinned host key.
 */
export async function operatorStatus(values: StackValues): Promise<StatusReport> {
    const config = parseConfig({ ...values, ...secretsPresent(values) });
    return checkStatus(config, { sshPrivateKey: String(values.sshPrivateKey), metricsPassword: String(values.metricsPassword) });
}

/** The operator's status says all is well: container running, the stack's configuration live, every name served its certificate. */
export async function expectStatusAllWell(values: StackValues, when: string): Promise<StatusReport> {
    const report = await operatorStatus(values);
    expect(report.attention, `${when}: npm run status's attention`).to.deep.equal([]);
    expect(report.container.state, `${when}: the container`).to.equal("running");
    expect(report.configuration.current, `${when}: the live configuration is the stack's`).to.equal(true);
    expect(
        report.sites.map((site) => [site.name, site.names.map((n) => n.name)]),
        `${when}: the sites`,
    ).to.deep.equal(values.sites.map((site) => [site.name, site.domains]));
    for (const site of report.sites) {
        for (const name of site.names) {
            expect(/^serial=([0-9A-F]+)$/m.exec(await servedCertificate(name.name))?.[1], `${when}: ${name.name}'s serial`).to.equal(name.serial);
        }
    }
    return report;
}

/** A host as the checks look at it: its Docker engine, and where one of its paths is on this machine. */
export interface HostView {
    docker(args: string[], opts?: RunOptions): Promise<RunResult>;
    pathOf(hostPath: string): string;
}

/** This machine as the host (the single-host environment's). */
export const THIS_MACHINE: HostView = { docker: (args, opts) => run("docker", args, opts), pathOf: (hostPath) => hostPath };

/**
 * After `pulumi destroy`: the container, the renewal job, the configuration and certificates directories
 * and edge-proxy's own files in certbotDataDir are gone; certbot's account, lineages and logs stay, with
 * what each lineage was asked for (`edge-proxy/<site>.issued`: a later `up` asking for more re-issues it).
 * On `host`: this machine by default, or a fleet's host (dev/env/fleet.ts).
 */
export async function expectNothingLeftAfterDestroy(
    env: { paths: Pick<Environment["paths"], "configDir" | "certsDir" | "dataDir"> },
    lineages: string[],
    host: HostView = THIS_MACHINE,
): Promise<void> {
    const at = (hostPath: string) => host.pathOf(hostPath);
    expect((await host.docker(["inspect", CONTAINER], { allowFailure: true })).code, "container after destroy").to.not.equal(0);
    const jobs = [RENEW_SCRIPT, RENEW_CRON, TICKET_KEYS_SCRIPT, TICKET_KEYS_CRON, TICKET_KEYS_DIR];
    expect(
        jobs.filter((file) => fs.existsSync(at(file))),
        "renewal job, TLS session ticket keys and their job after destroy",
    ).to.deep.equal([]);
    expect(
        [env.paths.configDir, env.paths.certsDir, hostStatePath(CONTAINER)].filter((dir) => fs.existsSync(at(dir))),
        "configuration and certificates directories, the record of them, after destroy",
    ).to.deep.equal([]);
    const dataDir = at(env.paths.dataDir);
    expect(fs.readdirSync(dataDir).sort(), "certbotDataDir after destroy: certbot's own").to.deep.equal(["edge-proxy", "etc", "log", "var"]);
    expect(
        fs.readdirSync(path.join(dataDir, "edge-proxy")).filter((file) => !file.endsWith(".issued")),
        "edge-proxy's files after destroy",
    ).to.deep.equal([]);
    expect(fs.existsSync(path.join(dataDir, "etc", "edge-proxy")), "the DNS credentials' directory after destroy").to.equal(false);
    expect(fs.readdirSync(path.join(dataDir, "etc", "live")).sort(), "certbot lineages after destroy").to.deep.equal(["README", ...lineages]);
}

/**
 * A TLS 1.3 handshake with OpenSSL's client to `domain` on the environment's HAProxy (at `address`, loopback
 * by default), then one request, so that
 * the server's tickets (sent after the handshake) are in the session saved to `save`; offering the session
 * saved in `resume` when given. Whether HAProxy resumed it.
 */
export async function tls13Handshake(domain: string, options: { resume?: string; save?: string; address?: string }): Promise<boolean> {
    const args = ["s_client", "-connect", `${options.address ?? "127.0.0.1"}:${PORTS.https}`, "-servername", domain, "-tls1_3", "-ign_eof"];
    if (options.resume) args.push("-sess_in", options.resume);
    if (options.save) args.push("-sess_out", options.save);
    const { stdout } = await run("openssl", args, { input: `GET / HTTP/1.1\r\nHost: ${domain}\r\nConnection: close\r\n\r\n`, timeoutMs: 20_000 });
    if (!/^(New|Reused), TLSv1\.3/m.test(stdout) || !stdout.includes("HTTP/1.1 200")) {
        throw new Error(`no TLS 1.3 handshake and answer from ${domain}: ${stdout.slice(-600)}`);
    }
    return /^Reused, /m.test(stdout);
}

/**
 * What the host's runtime client (templates/host/runtime.py, in the certbot image, in the HAProxy container's
 * network namespace) says of the ticket keys file: `unchanged` when HAProxy holds exactly its keys.
 */
export async function ticketKeysAsHeld(host: HostView = THIS_MACHINE): Promise<RunResult> {
    return host.docker(
        [
            "run",
            "--rm",
            "-i",
            "--network",
            `container:${CONTAINER}`,
            "-v",
            `${TICKET_KEYS_DIR}:${CONTAINER_TICKET_KEYS_DIR}:ro`,
            "--entrypoint",
            "python3",
            CERTBOT_IMAGE,
            "-",
            RUNTIME_SOCKET_NAME,
            "tls-keys",
            `${CONTAINER_TICKET_KEYS_DIR}/${TICKET_KEYS_FILE}`,
        ],
        { input: fs.readFileSync(path.join(TEMPLATES_DIR, "host", "runtime.py"), "utf8"), allowFailure: true },
    );
}

/** Load on the environment's HAProxy (test/support/load.ts), verified against `ca`, to `domains` in turn. */
export function startLoad(domains: string | string[], ca: string) {
    return startHttpsLoad({ address: "127.0.0.1", port: PORTS.https, ca }, typeof domains === "string" ? [domains] : domains);
}

/**
 * Runs `work` while reading every process's arguments every 50 ms: what ran meanwhile, to show that a secret
 * was on no command line (any user of the host can read them with `ps`).
 */
export async function argumentsSeenDuring<T>(work: () => Promise<T>): Promise<{ result: T; seen: string[] }> {
    const seen = new Set<string>();
    let scanning = true;
    const scan = (async () => {
        while (scanning) {
            for (const line of (await run("ps", ["-eo", "args="], { allowFailure: true })).stdout.split("\n")) {
                seen.add(line);
            }
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
    })();
    try {
        return { result: await work(), seen: [...seen] };
    } finally {
        scanning = false;
        await scan;
    }
}

/**
 * Runs `command` on the environment's host over SSH as the stack's commands run (its key, its pinned host
 * key, in a known_hosts file under `dir`); its result, whatever its exit status (five minutes at most).
 */
export function runOnTestHost(env: Pick<Environment, "host">, dir: string, command: string): Promise<RunResult> {
    const knownHosts = path.join(dir, "known_hosts");
    fs.writeFileSync(knownHosts, `${env.host.knownHostsLine}\n`);
    return run("ssh", pinnedSshArgs({ keyFile: env.host.privateKeyFile, port: env.host.port, knownHosts, target: `root@${env.host.host}` }, command), {
        allowFailure: true,
        timeoutMs: 300_000,
    });
}
