/**
 * TLS session tickets with keys the host rotates, on every real haproxy binary from 2.2 (Debian's and those
 * EDGE_PROXY_HAPROXY_BINARIES lists), each running the rendering for its own version in master-worker mode
 * on loopback ports: the keys made and rotated by the host's own shell functions
 * (templates/partials/sh-ticket-keys.hbs, run by dash as on the host), taken by the running HAProxy through
 * templates/host/runtime.py (run by python3 as the host runs it), and resumption checked with OpenSSL's
 * client, TLS 1.3 and 1.2. Everything a test starts it stops by PID; every wait is bounded.
 */

import { execFile as execFileCallback, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { haproxyFeatures } from "../../components/haproxy/features";
import { renderPartial } from "../../components/templates";
import type { RunningHaproxy } from "../../dev/haproxy";
import { PROJECT_DIR } from "../../dev/paths";
import { describeWith, HAPROXY, program, ROOT } from "../support/needs";
import { forEachSeedProxy } from "../support/seedProxy";

const execFile = promisify(execFileCallback);
const RUNTIME_PROGRAM = path.join(PROJECT_DIR, "templates", "host", "runtime.py");
const PORTS = { http: 33080, https: 33443, ssh: 33122, backend: { host: "127.0.0.6", port: 33081 } };
/** The seed's site. */
const DOMAIN = "www.example.com";
/** A key as the host makes them: 80 bytes, base64. */
const KEY_LINE = /^[A-Za-z0-9+/]{107}=$/;

/**
 * Runs the host's ticket key functions (sh-ticket-keys.hbs, rendered for `keysFile`) with dash, then
 * `commands`; HAProxy's group is root's here. What the functions log goes to stderr.
 */
function keyFunctions(keysFile: string, commands: string) {
    const functions = renderPartial("sh-ticket-keys", {
        ticketKeysPath: keysFile,
        certsGroup: 0,
        containerName: "edge-proxy",
        configDir: "/srv/haproxy/cfg",
        containerTicketKeysPath: keysFile,
    });
    const script = `set -eu\numask 077\nlog() { printf '%s\\n' "$*" >&2; }\n${functions}\n${commands}\n`;
    const result = spawnSync("dash", ["-c", script], { encoding: "utf8", timeout: 30_000 });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const keysOf = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter(Boolean);

/** runtime.py's `tls-keys` against `proxy`'s runtime API, as the host runs it. */
function takeKeys(proxy: RunningHaproxy, file = proxy.ticketKeysFile) {
    const result = spawnSync("python3", [RUNTIME_PROGRAM, proxy.runtimeSocketName, "tls-keys", file], { encoding: "utf8", timeout: 60_000 });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The keys HAProxy holds from `file`, oldest first (`show tls-keys`). */
async function heldKeys(proxy: RunningHaproxy, file = proxy.ticketKeysFile): Promise<string[]> {
    return [...(await proxy.command(`show tls-keys ${file}`)).matchAll(/^\d+\.\d+ (\S+)$/gm)].map((match) => match[1]);
}

/** A TLS version the tests resume with (OpenSSL's client option). */
type TlsVersion = "-tls1_3" | "-tls1_2";

/**
 * A TLS handshake with OpenSSL's client, then one request, so that the server's tickets (a TLS 1.3 server
 * sends them after the handshake, before the response) are in the session the client saves to `save`;
 * offering the session saved in `resume` when given. Whether the server resumed. Asynchronous: the site's
 * backend answers from this process.
 */
async function handshake(version: TlsVersion, options: { resume?: string; save?: string }): Promise<boolean> {
    const args = ["s_client", "-connect", `127.0.0.1:${PORTS.https}`, "-servername", DOMAIN, version, "-ign_eof"];
    if (options.resume) args.push("-sess_in", options.resume);
    if (options.save) args.push("-sess_out", options.save);
    const client = execFile("openssl", args, { encoding: "utf8", timeout: 10_000 });
    client.child.stdin?.end(`GET / HTTP/1.1\r\nHost: ${DOMAIN}\r\nConnection: close\r\n\r\n`);
    const { stdout } = await client;
    if (!/^(New|Reused), TLSv1\.[23]/m.test(stdout) || !stdout.includes("HTTP/1.1 200")) {
        throw new Error(`no TLS handshake and answer: ${stdout.slice(-600)}`);
    }
    return /^Reused, /m.test(stdout);
}

describeWith(
    [ROOT, program("dash", "Debian's dash"), program("openssl", "apt-get install openssl")],
    "TLS session ticket keys made by the host's functions",
    () => {
        let scratch: string;
        let keys: string;

        before(() => {
            scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-keys-"));
            keys = path.join(scratch, "run", "tls-ticket-keys");
        });

        after(() => fs.rmSync(scratch, { recursive: true, force: true }));

        it("makes three keys of 80 random bytes when there are none, readable by HAProxy's group only, and keeps valid ones", () => {
            const made = keyFunctions(keys, 'ensure_ticket_keys; echo "made=$keys_made"');
            expect(made.code, made.stderr).to.equal(0);
            expect(made.stdout).to.equal("made=yes\n");
            const first = keysOf(keys);
            expect(first).to.have.length(3);
            for (const key of first) {
                expect(key).to.match(KEY_LINE);
                expect(Buffer.from(key, "base64")).to.have.length(80);
            }
            expect(new Set(first).size, "three different keys").to.equal(3);
            expect(fs.statSync(keys).mode & 0o777).to.equal(0o640);
            expect(fs.statSync(path.dirname(keys)).mode & 0o777).to.equal(0o750);
            const kept = keyFunctions(keys, 'ensure_ticket_keys; echo "made=$keys_made"');
            expect(kept.stdout).to.equal("made=\n");
            expect(keysOf(keys)).to.deep.equal(first);
        });

        it("rotates: a new key after the newest, the oldest dropped, the file replaced whole", () => {
            const before = keysOf(keys);
            const rotated = keyFunctions(keys, "rotate_ticket_keys");
            expect(rotated.code, rotated.stderr).to.equal(0);
            const after = keysOf(keys);
            expect(after.slice(0, 2)).to.deep.equal(before.slice(1));
            expect(after[2]).to.match(KEY_LINE).and.not.be.oneOf(before);
            expect(fs.readdirSync(path.dirname(keys)), "nothing left beside it").to.deep.equal(["tls-ticket-keys"]);
        });

        it("makes the keys again when the file is damaged (cut short, or not keys)", () => {
            for (const damaged of [`${keysOf(keys).slice(0, 2).join("\n")}\n`, "not a key\nnot a key\nnot a key\n", ""]) {
                fs.writeFileSync(keys, damaged);
                const made = keyFunctions(keys, 'ensure_ticket_keys; echo "made=$keys_made"');
                expect(made.stdout, JSON.stringify(damaged)).to.equal("made=yes\n");
                expect(keysOf(keys).filter((key) => KEY_LINE.test(key))).to.have.length(3);
            }
        });
    },
);

describeWith(
    [ROOT, HAPROXY, program("python3", "Debian's python3"), program("dash", "Debian's dash")],
    "TLS session tickets on a running haproxy",
    function () {
        this.timeout(120_000);

        forEachSeedProxy(
            {
                what: "that rotates ticket keys (2.2+)",
                applies: (binary) => haproxyFeatures(binary.version).rotatedTicketKeys,
                ports: PORTS,
                configure: (config) => {
                    config.haproxy.sessionTickets = true;
                },
            },
            (context) => {
                it("resumes TLS 1.3 and TLS 1.2 sessions with a ticket", async () => {
                    for (const version of ["-tls1_3", "-tls1_2"] as const) {
                        const saved = path.join(context.scratch, `first${version}.session`);
                        expect(await handshake(version, { save: saved }), `${version}: a first handshake is a full one`).to.equal(false);
                        expect(await handshake(version, { resume: saved }), `${version}: the next one resumes`).to.equal(true);
                    }
                });

                it("takes a rotation without a reload: the same worker, a ticket from before still resumes, HAProxy holds the file's keys", async () => {
                    const ticket = path.join(context.scratch, "before-rotation.session");
                    await handshake("-tls1_3", { save: ticket });
                    const worker = await context.seed.proxy.workerPid();
                    const rotated = keyFunctions(context.seed.proxy.ticketKeysFile, "rotate_ticket_keys");
                    expect(rotated.code, rotated.stderr).to.equal(0);
                    const taken = takeKeys(context.seed.proxy);
                    expect(taken.code, taken.stderr).to.equal(0);
                    expect(taken.stdout).to.equal("updated\n");
                    expect(await heldKeys(context.seed.proxy)).to.deep.equal(keysOf(context.seed.proxy.ticketKeysFile));
                    expect(await context.seed.proxy.workerPid(), "the worker serving").to.equal(worker);
                    expect(await handshake("-tls1_3", { resume: ticket }), "a ticket from before the rotation").to.equal(true);
                    const again = takeKeys(context.seed.proxy);
                    expect(again.stdout, again.stderr).to.equal("unchanged\n");
                });

                it("keeps tickets across a reload, which reads the same keys from the file", async () => {
                    const ticket = path.join(context.scratch, "before-reload.session");
                    await handshake("-tls1_3", { save: ticket });
                    const before = await context.seed.proxy.workerPid();
                    context.seed.proxy.reload();
                    const deadline = Date.now() + 20_000;
                    let worker = before;
                    while (worker === before && Date.now() < deadline) {
                        await new Promise((resolve) => setTimeout(resolve, 200));
                        worker = await context.seed.proxy.workerPid().catch(() => before);
                    }
                    expect(worker, "a new worker").to.not.equal(before);
                    expect(await heldKeys(context.seed.proxy)).to.deep.equal(keysOf(context.seed.proxy.ticketKeysFile));
                    expect(await handshake("-tls1_3", { resume: ticket }), "a ticket from the worker before").to.equal(true);
                });

                it("no longer resumes a ticket once its key rotated out (two rotations), and resumes a new one", async () => {
                    const ticket = path.join(context.scratch, "old.session");
                    await handshake("-tls1_3", { save: ticket });
                    for (let rotation = 0; rotation < 2; rotation++) {
                        expect(keyFunctions(context.seed.proxy.ticketKeysFile, "rotate_ticket_keys").code).to.equal(0);
                        expect(takeKeys(context.seed.proxy).stdout).to.equal("updated\n");
                    }
                    expect(await handshake("-tls1_3", { resume: ticket }), "the ticket whose key is gone").to.equal(false);
                    const fresh = path.join(context.scratch, "fresh.session");
                    await handshake("-tls1_3", { save: fresh });
                    expect(await handshake("-tls1_3", { resume: fresh })).to.equal(true);
                });

                it("takes keys made anew (all three differ) in the file's order", async () => {
                    expect(keyFunctions(context.seed.proxy.ticketKeysFile, 'rm -f "$ticket_keys"; ensure_ticket_keys').code).to.equal(0);
                    const taken = takeKeys(context.seed.proxy);
                    expect(taken.stdout, taken.stderr).to.equal("updated\n");
                    expect(await heldKeys(context.seed.proxy)).to.deep.equal(keysOf(context.seed.proxy.ticketKeysFile));
                });

                it("exits 2 for a keys file HAProxy does not use (its configuration must be reloaded first)", () => {
                    const other = path.join(context.scratch, "other-keys");
                    fs.copyFileSync(context.seed.proxy.ticketKeysFile, other);
                    const result = takeKeys(context.seed.proxy, other);
                    expect(result.code).to.equal(2);
                    expect(result.stderr).to.contain(`HAProxy uses no ticket keys from ${other} yet`);
                });
            },
        );
    },
);
