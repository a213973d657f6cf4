/**
 * A local ACME CA: Pebble 2.10.3 plus pebble-challtestsrv as its DNS, both
 * built from the Go module proxy by tools/pebble/build.sh (tools/install.sh
 * runs it) into .pebble/bin, where they are looked for first (else on PATH).
 *
 * Let's Encrypt cannot be reached here, and Pebble is the ACME server Let's
 * Encrypt publishes for exactly this use. A current release, not Debian's
 * 2.4: certificate profiles with their own validity period, external account
 * binding, and ACME Renewal Info (ARI) that a test can steer.
 *
 * Pebble validates HTTP-01 for real: it resolves the name through
 * challtestsrv's DNS (records we add) and fetches
 * http://NAME:httpPort/.well-known/acme-challenge/TOKEN, so the whole path
 * HAProxy -> certbot is exercised. Given `resolverPort`, it resolves through
 * that server instead (bind.ts, which also holds the DNS-01 zone and forwards
 * the test names to challtestsrv).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { PROJECT_DIR } from "../paths";
import { run } from "./command";
import { accepts } from "./net";
import { type ManagedProcess, startProcess, waitFor } from "./process";

/** Options for {@link startPebble}. */
export interface PebbleOptions {
    /** Work directory for certificates, config and logs. */
    dir: string;
    /** Port Pebble validates HTTP-01 on (HAProxy's published HTTP port). */
    httpPort: number;
    /** Port Pebble validates TLS-ALPN-01 on (unused by certbot --standalone http). */
    tlsPort?: number;
    /**
     * Address the ACME API listens on: it must be reachable from containers,
     * so the docker bridge address (e.g. 172.17.0.1) is the natural choice.
     */
    listenAddress: string;
    /** ACME API port (default 14000). */
    acmePort?: number;
    /** Pebble management API port, on 127.0.0.1 (default 15000). */
    managementPort?: number;
    /** challtestsrv DNS port, on 127.0.0.1 (default 8053). */
    dnsPort?: number;
    /**
     * Port of the DNS server Pebble resolves with, on 127.0.0.1 (default: challtestsrv's `dnsPort`).
     * Given for a server that answers more than challtestsrv can (bind.ts: a zone that takes
     * DNS-01 updates) and forwards the rest to challtestsrv.
     */
    resolverPort?: number;
    /** challtestsrv management port, on 127.0.0.1 (default 8055). */
    challManagementPort?: number;
    /** Extra names/addresses for the listener certificate. */
    extraSans?: string[];
    /**
     * The certificate profiles Pebble offers (name -> description and validity in seconds), replacing
     * the default: one profile, "default", of 90 days (Let's Encrypt's classic). Pebble picks a random
     * profile for an order that names none, so offer several only where the orders name theirs.
     */
    profiles?: Record<string, PebbleProfile>;
    /**
     * External account binding required: key id -> HMAC key (base64url), the keys Pebble accepts for
     * a new account. Unset: no binding needed.
     */
    externalAccountBinding?: Record<string, string>;
}

/** One certificate profile of Pebble's configuration. */
export interface PebbleProfile {
    /** What the directory's `meta.profiles` says of it. */
    description: string;
    /** Validity of its certificates, in seconds. */
    validityPeriod: number;
}

/** The profiles Pebble offers unless told otherwise: one, so that every order gets the same. */
export const DEFAULT_PEBBLE_PROFILES: Record<string, PebbleProfile> = {
    default: { description: "90 days, as Let's Encrypt's classic profile", validityPeriod: 90 * 24 * 3600 },
};

/** Where tools/pebble/build.sh puts the binaries ($PEBBLE_DIR/bin, default <project>/.pebble/bin). */
export const PEBBLE_BIN = path.join(process.env.PEBBLE_DIR ?? path.join(PROJECT_DIR, ".pebble"), "bin");

/** The program to run for `pebble` or `pebble-challtestsrv`: the one built into PEBBLE_BIN, else the name (PATH). */
export function pebbleProgram(name: "pebble" | "pebble-challtestsrv"): string {
    const built = path.join(PEBBLE_BIN, name);
    return fs.existsSync(built) ? built : name;
}

/** A running Pebble + challtestsrv pair. */
export interface Pebble {
    /** ACME directory URL, reachable from the host and from containers. */
    directoryUrl: string;
    /** PEM file of the CA that signed Pebble's listener certificate (trust it: REQUESTS_CA_BUNDLE). */
    listenerCaPem: string;
    /** challtestsrv's DNS port on 127.0.0.1 (where the records addARecord adds are served). */
    dnsPort: number;
    /** The DNS port on 127.0.0.1 Pebble resolves every name with: `resolverPort`, else `dnsPort`. */
    resolverPort: number;
    /** Pebble's log file (one line per ACME request, see countNewOrders). */
    logFile: string;
    /** Points a name at addresses in challtestsrv's DNS (A records). */
    addARecord(host: string, ...addresses: string[]): Promise<void>;
    /** Removes a name's A records from challtestsrv's DNS: the CA's validation of it fails. */
    clearARecord(host: string): Promise<void>;
    /** The root that issues leaf certificates (new at every Pebble start). */
    issuingRootPem(): Promise<string>;
    /**
     * Sets the renewal window Pebble's ARI endpoint suggests for a certificate it issued (PEM of the
     * leaf), in place of its own (the last third of the lifetime). A window in the past tells an ARI
     * client to renew now.
     */
    setRenewalInfo(certificatePem: string, window: { start: Date; end: Date }): Promise<void>;
    /** The ACME directory, parsed (meta.profiles, renewalInfo, ...). */
    directory(): Promise<unknown>;
    /**
     * How many new-order requests (POST /order-plz) Pebble has received since
     * it started: take it before and after a step to assert "no new order was
     * placed". Read from Pebble's log, which has no API for it.
     */
    countNewOrders(): number;
    /** The two processes. */
    processes: ManagedProcess[];
    /** Stops Pebble, then challtestsrv. */
    stop(): Promise<void>;
}

/**
 * Makes the listener certificates, writes the config and starts
 * challtestsrv (DNS only) and Pebble; resolves once both answer.
 */
export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
    fs.mkdirSync(opts.dir, { recursive: true });
    const acmePort = opts.acmePort ?? 14000;
    const managementPort = opts.managementPort ?? 15000;
    const dnsPort = opts.dnsPort ?? 8053;
    const resolverPort = opts.resolverPort ?? dnsPort;
    const challPort = opts.challManagementPort ?? 8055;
    const sans = ["IP:127.0.0.1", `IP:${opts.listenAddress}`, "DNS:localhost", "DNS:pebble", ...(opts.extraSans ?? [])];
    const { caPem, certPem, keyPem } = await makeListenerCert(opts.dir, [...new Set(sans)]);

    const configFile = path.join(opts.dir, "pebble-config.json");
    fs.writeFileSync(
        configFile,
        JSON.stringify(
            {
                pebble: {
                    listenAddress: `${opts.listenAddress}:${acmePort}`,
                    // The management API hands out the issuing root: the host
                    // needs it, containers do not.
                    managementListenAddress: `127.0.0.1:${managementPort}`,
                    certificate: certPem,
                    privateKey: keyPem,
                    httpPort: opts.httpPort,
                    tlsPort: opts.tlsPort ?? 443,
                    ocspResponderURL: "",
                    profiles: opts.profiles ?? DEFAULT_PEBBLE_PROFILES,
                    externalAccountBindingRequired: opts.externalAccountBinding !== undefined,
                    ...(opts.externalAccountBinding ? { externalAccountMACKeys: opts.externalAccountBinding } : {}),
                },
            },
            null,
            2,
        ),
    );

    // challtestsrv only as DNS: no challenge servers of its own (certbot
    // answers HTTP-01 behind HAProxy), no DNS-over-HTTPS server (its default
    // port 8443 would be taken for nothing), and no default answers, so that
    // only names we add resolve (a default AAAA ::1 would be tried first and fail).
    const chall = await startProcess(
        pebbleProgram("pebble-challtestsrv"),
        [
            "-dnsserver",
            `127.0.0.1:${dnsPort}`,
            "-management",
            `127.0.0.1:${challPort}`,
            "-http01",
            "",
            "-https01",
            "",
            "-tlsalpn01",
            "",
            "-doh",
            "",
            "-defaultIPv4",
            "",
            "-defaultIPv6",
            "",
        ],
        { name: "pebble-challtestsrv", logFile: path.join(opts.dir, "challtestsrv.log") },
    );
    await waitFor(() => accepts("127.0.0.1", challPort), {
        timeoutMs: 15_000,
        what: `pebble-challtestsrv management on 127.0.0.1:${challPort}`,
        process: chall,
    });

    const logFile = path.join(opts.dir, "pebble.log");
    fs.rmSync(logFile, { force: true }); // counts start from zero for this Pebble
    const pebble = await startProcess(pebbleProgram("pebble"), ["-config", configFile, "-dnsserver", `127.0.0.1:${resolverPort}`], {
        name: "pebble",
        logFile,
        env: {
            // No artificial validation delays; no rejected nonces (certbot
            // retries them, but slowly); fresh authorizations every order, so
            // each issuance really validates through HAProxy.
            PEBBLE_VA_NOSLEEP: "1",
            PEBBLE_WFE_NONCEREJECT: "0",
            PEBBLE_AUTHZREUSE: "0",
            // Never PEBBLE_VA_ALWAYS_VALID: it would skip the validation we
            // test (undefined removes it should the caller's env have it).
            PEBBLE_VA_ALWAYS_VALID: undefined,
        },
    });
    const directoryUrl = `https://${opts.listenAddress}:${acmePort}/dir`;
    await waitFor(() => get(directoryUrl, caPem).then((body) => body.includes("newOrder")), {
        timeoutMs: 20_000,
        what: `pebble directory at ${directoryUrl}`,
        process: pebble,
    });

    const countLines = (re: RegExp) =>
        readOr(logFile)
            .split("\n")
            .filter((l) => re.test(l)).length;
    return {
        directoryUrl,
        listenerCaPem: caPem,
        dnsPort,
        resolverPort,
        logFile,
        addARecord: async (host, ...addresses) => {
            await post(`http://127.0.0.1:${challPort}/add-a`, { host, addresses });
        },
        clearARecord: async (host) => {
            await post(`http://127.0.0.1:${challPort}/clear-a`, { host });
        },
        issuingRootPem: () => get(`https://127.0.0.1:${managementPort}/roots/0`, caPem),
        setRenewalInfo: async (certificatePem, window) => {
            const suggestedWindow = { start: window.start.toISOString(), end: window.end.toISOString() };
            await request(`https://127.0.0.1:${managementPort}/set-renewal-info/`, {
                method: "POST",
                ca: caPem,
                body: JSON.stringify({ Certificate: certificatePem, ARIResponse: JSON.stringify({ suggestedWindow }) }),
            });
        },
        directory: async () => JSON.parse(await get(directoryUrl, caPem)),
        // Pebble logs every ACME request as "METHOD /path -> calling
        // handler()"; new-order is POST /order-plz. This counts attempts,
        // even refused ones (stricter than `Added order "ID" to the db`).
        countNewOrders: () => countLines(/POST \/order-plz -> calling handler\(\)/),
        processes: [pebble, chall],
        stop: async () => {
            await pebble.stop();
            await chall.stop();
        },
    };
}

/**
 * A throwaway CA and a listener certificate it signs (openssl), made for each
 * environment rather than Pebble's published test certificates (their key is
 * public), with the names the environment reaches Pebble by. Returns the file paths.
 */
async function makeListenerCert(dir: string, sans: string[]): Promise<{ caPem: string; certPem: string; keyPem: string }> {
    const caKey = path.join(dir, "pebble.minica.key.pem");
    const caPem = path.join(dir, "pebble.minica.pem");
    const keyPem = path.join(dir, "listener.key.pem");
    const csr = path.join(dir, "listener.csr");
    const certPem = path.join(dir, "listener.pem");
    const ext = path.join(dir, "listener.ext");
    await run("openssl", [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        caKey,
        "-out",
        caPem,
        "-days",
        "30",
        "-subj",
        "/CN=edge-proxy e2e pebble listener CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await run("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPem, "-out", csr, "-subj", "/CN=pebble"]);
    fs.writeFileSync(ext, `subjectAltName=${sans.join(",")}\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n`);
    await run("openssl", ["x509", "-req", "-in", csr, "-CA", caPem, "-CAkey", caKey, "-CAcreateserial", "-out", certPem, "-days", "30", "-extfile", ext]);
    return { caPem, certPem, keyPem };
}

/** GET over HTTPS trusting only the given CA file; resolves with the body. */
function get(url: string, caFile: string): Promise<string> {
    return request(url, { method: "GET", ca: caFile });
}

/**
 * A request over HTTPS trusting only the given CA file; resolves with the body of a 200. With a
 * User-Agent: Pebble refuses requests without one (RFC 8555 6.1), its management API's POSTs too.
 */
function request(url: string, opts: { method: "GET" | "POST"; ca: string; body?: string }): Promise<string> {
    return new Promise((resolve, reject) => {
        const headers: Record<string, string> = { "User-Agent": "edge-proxy-e2e" };
        if (opts.body !== undefined) headers["Content-Type"] = "application/json";
        const req = https.request(url, { method: opts.method, ca: fs.readFileSync(opts.ca), timeout: 5000, headers }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${opts.method} ${url}: ${res.statusCode} ${body}`))));
        });
        req.on("timeout", () => req.destroy(new Error(`${opts.method} ${url}: timeout`)));
        req.on("error", reject);
        req.end(opts.body);
    });
}

/** POST JSON over plain HTTP (challtestsrv's management API). */
function post(url: string, payload: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method: "POST", timeout: 5000 }, (res) => {
            let body = "";
            res.on("data", (c: Buffer) => (body += c));
            res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`POST ${url}: ${res.statusCode} ${body}`))));
        });
        req.on("timeout", () => req.destroy(new Error(`POST ${url}: timeout`)));
        req.on("error", reject);
        req.end(JSON.stringify(payload));
    });
}

/** A file's text, or "" if missing. */
function readOr(file: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        return "";
    }
}
