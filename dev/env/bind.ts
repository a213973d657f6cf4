/**
 * A real authoritative DNS server for DNS-01: Debian's BIND 9 (`named`).
 *
 * certbot's dns-rfc2136 plugin writes `_acme-challenge` TXT records with
 * TSIG-signed dynamic updates (RFC 2136), which challtestsrv cannot take: so
 * the zone `dns01.test` lives in a `named` of our own that accepts them, and
 * Pebble resolves through this server, validating DNS-01 against what certbot
 * really wrote. Names under the forwarded zone (e2e.test) are passed on to
 * challtestsrv, so the A records the tests add there keep working unchanged.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "./command";
import { type ManagedProcess, startProcess, waitFor } from "./process";

/** The zone that accepts dynamic updates. */
export const DNS01_ZONE = "dns01.test";

/** Name of the TSIG key that may update {@link DNS01_ZONE}. */
const TSIG_KEY_NAME = "edge-proxy-e2e.";

/** Options for {@link startBind}. */
export interface BindOptions {
    /** Work directory: named.conf, the zone file and its journal, the key, the log. */
    dir: string;
    /** Port it serves on (UDP and TCP) at every listen address. */
    port: number;
    /**
     * IPv4 addresses it listens on: loopback for Pebble, and the docker bridge
     * for certbot in its container. Every one must answer before startBind resolves.
     */
    listen: string[];
    /** A zone whose names are answered by another server (e.g. "e2e.test", challtestsrv's). */
    forwardZone: string;
    /** Where names of `forwardZone` are asked (e.g. challtestsrv at 127.0.0.1:8053). */
    forwardTo: { address: string; port: number };
}

/** A TSIG key, as nsupdate's `-y algorithm:name:secret` and certbot's rfc2136 credentials take it. */
export interface TsigKey {
    /** Key name, absolute ("edge-proxy-e2e."). */
    name: string;
    /** Algorithm as BIND names it ("hmac-sha512"). */
    algorithm: string;
    /** The shared secret, base64. */
    secret: string;
}

/** A running named. */
export interface Bind {
    /** The zone that takes TSIG-signed updates. */
    zone: typeof DNS01_ZONE;
    /** The port it serves on. */
    port: number;
    /** The addresses it listens on (as given). */
    addresses: string[];
    /** The key that may update the zone (new at every start). */
    tsig: TsigKey;
    /** The TXT records of a name, each as one string (its character-strings joined), asked of this server. */
    txtRecords(name: string): Promise<string[]>;
    /** The named process. */
    process: ManagedProcess;
    /** Stops named. */
    stop(): Promise<void>;
}

/**
 * Writes a key, a zone and named.conf into `dir` and starts named in the
 * foreground; resolves once every listen address answers for the zone's SOA.
 */
export async function startBind(opts: BindOptions): Promise<Bind> {
    fs.mkdirSync(opts.dir, { recursive: true });
    const tsig = await makeKey(opts.dir);
    const zoneFile = path.join(opts.dir, `${DNS01_ZONE}.zone`);
    // A journal left by an earlier run in this directory would not match the
    // fresh zone file (named refuses to load the zone then).
    fs.rmSync(`${zoneFile}.jnl`, { force: true });
    // TTL and negative TTL of 1 s: a record certbot adds or removes is seen by
    // the next query, including by a resolver that cached the answer before.
    fs.writeFileSync(
        zoneFile,
        ["$TTL 1", `@ IN SOA ns.${DNS01_ZONE}. hostmaster.${DNS01_ZONE}. ( 1 60 60 3600 1 )`, `@ IN NS ns.${DNS01_ZONE}.`, "ns IN A 127.0.0.1", ""].join("\n"),
    );
    const confFile = path.join(opts.dir, "named.conf");
    const q = (s: string) => JSON.stringify(s); // a quoted string in named.conf's syntax
    fs.writeFileSync(
        confFile,
        [
            `include ${q(path.join(opts.dir, "tsig.key"))};`,
            "",
            "options {",
            // Everything named writes (journal, managed keys, session key) goes
            // here, not in /var/cache/bind or /run/named, so that two servers
            // (a test run and the demo, or a test of this file) never meet.
            `    directory ${q(opts.dir)};`,
            `    pid-file ${q(path.join(opts.dir, "named.pid"))};`,
            `    session-keyfile ${q(path.join(opts.dir, "session.key"))};`,
            `    listen-on port ${opts.port} { ${opts.listen.map((a) => `${a};`).join(" ")} };`,
            "    listen-on-v6 { none; };",
            // Recursion for the forwarded zone; open to any client, as named
            // listens only on loopback and the docker bridge.
            "    recursion yes;",
            "    allow-recursion { any; };",
            // The test names are not signed, and there is no internet to fetch trust anchors from.
            "    dnssec-validation no;",
            // challtestsrv answers with TTL 0 and its records change during a
            // test (clearARecord): nothing forwarded may be served from cache.
            "    max-cache-ttl 0;",
            "    max-ncache-ttl 0;",
            // challtestsrv's empty answers (a name or type it has no record of)
            // carry an SOA of challtestsrv.invalid, which named refuses as
            // out of zone: the client gets SERVFAIL, not an empty answer. Not
            // kept either (default 1 s), so a name given back its A record
            // right after (clearARecord, then addARecord) resolves at once.
            "    servfail-ttl 0;",
            // No NOTIFY to ns.dns01.test (127.0.0.1:53, somebody else's port).
            "    notify no;",
            "};",
            "",
            // No rndc control channel: the default one would read /etc/bind/rndc.key
            // and take 127.0.0.1:953, which a second named could not.
            "controls { };",
            "",
            `zone ${q(DNS01_ZONE)} {`,
            "    type primary;",
            `    file ${q(zoneFile)};`,
            `    allow-update { key ${q(tsig.name)}; };`,
            "};",
            "",
            `zone ${q(opts.forwardZone)} {`,
            "    type forward;",
            "    forward only;",
            `    forwarders { ${opts.forwardTo.address} port ${opts.forwardTo.port}; };`,
            "};",
            "",
        ].join("\n"),
    );
    // Catch a configuration mistake with named's own message rather than a timeout.
    await run("named-checkconf", [confFile]);
    await run("named-checkzone", [DNS01_ZONE, zoneFile]);

    // -g: foreground, every log line to stderr (our log file); -4: IPv4 only,
    // as it listens on IPv4 only. As root without -u it stays root, which it
    // needs to write in `dir` (owned by root) and nothing else.
    const proc = await startProcess("/usr/sbin/named", ["-g", "-4", "-c", confFile], {
        name: "named",
        logFile: path.join(opts.dir, "named.log"),
    });
    // named does not fail when a listen address is missing (no docker bridge
    // yet): it just does not listen there. So ask at every address, within
    // one bound for all of them.
    const where = opts.listen.map((a) => `${a}:${opts.port}`).join(", ");
    await waitFor(
        async () => {
            for (const address of opts.listen) {
                if ((await dig(address, opts.port, [DNS01_ZONE, "SOA", "+short"])).trim() === "") {
                    throw new Error(`no SOA from ${address}:${opts.port}`);
                }
            }
            return true;
        },
        { timeoutMs: 15_000, what: `named to answer for ${DNS01_ZONE} at ${where}`, process: proc },
    ).catch((err: Error) => {
        // waitFor gives the log tail when named exited, not on a timeout.
        throw proc.exited() ? err : new Error(`${err.message}\nlog ${proc.logFile}:\n${proc.logTail()}`);
    });

    const queryAddress = opts.listen[0];
    return {
        zone: DNS01_ZONE,
        port: opts.port,
        addresses: [...opts.listen],
        tsig,
        txtRecords: async (name) => parseTxt(await dig(queryAddress, opts.port, [name, "TXT", "+short"])),
        process: proc,
        stop: () => proc.stop(),
    };
}

/** A fresh TSIG key from tsig-keygen, written as a named.conf `key` clause to dir/tsig.key. */
async function makeKey(dir: string): Promise<TsigKey> {
    const { stdout } = await run("tsig-keygen", ["-a", "hmac-sha512", TSIG_KEY_NAME]);
    const name = /key\s+"([^"]+)"/.exec(stdout)?.[1];
    const algorithm = /algorithm\s+([\w-]+);/.exec(stdout)?.[1];
    const secret = /secret\s+"([^"]+)"/.exec(stdout)?.[1];
    if (!name || !algorithm || !secret) throw new Error(`tsig-keygen: unexpected output:\n${stdout}`);
    const keyFile = path.join(dir, "tsig.key");
    fs.writeFileSync(keyFile, stdout, { mode: 0o600 });
    return { name, algorithm, secret };
}

/**
 * One dig query at address:port; its stdout. One try of 2 s: the caller polls
 * or wants an answer now. Throws when no answer came (dig exits 9).
 */
async function dig(address: string, port: number, args: string[]): Promise<string> {
    const { stdout } = await run("dig", [`@${address}`, "-p", String(port), "+tries=1", "+time=2", ...args], { timeoutMs: 10_000 });
    return stdout;
}

/**
 * `dig +short TXT` output to values: one line per record, made of quoted
 * character-strings (a long value is split in 255-byte pieces), joined;
 * `\"`, `\\` and `\DDD` unescaped.
 */
function parseTxt(output: string): string[] {
    const records: string[] = [];
    for (const line of output.split("\n")) {
        const pieces = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) =>
            m[1].replace(/\\(\d{3}|.)/g, (_, e: string) => (/^\d{3}$/.test(e) ? String.fromCharCode(Number(e)) : e)),
        );
        if (pieces.length > 0) records.push(pieces.join(""));
    }
    return records;
}
