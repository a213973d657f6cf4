/**
 * Runs one read-only script on the host over SSH from the program itself (ssh2, in memory): how `pulumi
 * preview` and `up` read the host's state before declaring the steps (hostState.ts), and how `npm run
 * status` probes it. The private key never touches the disk and no `ssh` process carries anything on its
 * command line; the host key is checked against the pinned one exactly as the command steps check it.
 */
import { Client, type ConnectConfig } from "ssh2";
import type { HostSettings } from "./config/types";

/** Where and as whom to connect: the stack's host settings and its private key. */
export interface HostLogin {
    /** Address of the host. */
    address: string;
    /** SSH port. */
    port: number;
    /** SSH user. */
    user: string;
    /** The private key (OpenSSH or PEM text). */
    privateKey: string;
    /** The pinned host key line (`ssh-ed25519 AAAA...`); undefined accepts the host's key as the command steps do. */
    hostKey?: string;
}

/** The login of the stack's host settings with its private key; the host key given, or the pinned one. */
export function hostLogin(host: HostSettings, privateKey: string, hostKey: string | undefined = host.sshHostKey): HostLogin {
    return { address: host.address, port: host.sshPort, user: host.sshUser, privateKey, hostKey };
}

/** Options of runOnHost. */
export interface RunOptions {
    /** How long the whole run may take, connection included. */
    timeoutMs: number;
}

/** The key blob of a public key line (`type base64 [comment]`), as ssh2 hands the host's key to its verifier. */
export function hostKeyBlob(line: string): Buffer {
    const fields = line.trim().split(/\s+/);
    const blob = fields.length >= 2 ? Buffer.from(fields[1], "base64") : Buffer.alloc(0);
    if (blob.length === 0) {
        throw new Error("sshHostKey is not a public key line such as `ssh-ed25519 AAAA...` (ssh-keyscan prints it after the host name)");
    }
    return blob;
}

/** A key blob as a public key line: `<type> <base64>` (the type is the blob's first field, SSH wire format). */
export function hostKeyLine(blob: Buffer): string {
    const length = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
    const type = blob.subarray(4, 4 + length).toString("latin1");
    if (length === 0 || length > 64 || !/^[a-z0-9@.-]+$/.test(type)) {
        throw new Error("the host presented a key of no known form");
    }
    return `${type} ${blob.toString("base64")}`;
}

/** How ssh2 logs in as `login`, deciding on the host's key with `hostVerifier`. */
function connectConfig(login: Omit<HostLogin, "hostKey">, options: RunOptions, hostVerifier: (key: Buffer) => boolean): ConnectConfig {
    return {
        host: login.address,
        port: login.port,
        username: login.user,
        privateKey: login.privateKey,
        readyTimeout: Math.min(options.timeoutMs, 20_000),
        hostVerifier,
    };
}

/** The public key the host presents, as a key line; the connection ends once it is seen. */
export function presentedHostKey(login: Omit<HostLogin, "hostKey">, options: RunOptions): Promise<string> {
    const where = `${login.user}@${login.address}:${login.port}`;
    return new Promise<string>((resolve, reject) => {
        const client = new Client();
        let seen: string | undefined;
        const timer = setTimeout(() => {
            client.end();
            reject(new Error(`${where}: no answer within ${options.timeoutMs / 1000} s`));
        }, options.timeoutMs);
        const finish = () => {
            clearTimeout(timer);
            client.end();
            seen ? resolve(seen) : reject(new Error(`${where}: presented no host key`));
        };
        client.on("ready", finish);
        client.on("error", (error) => {
            if (seen) {
                finish();
            } else {
                clearTimeout(timer);
                reject(new Error(`cannot connect to ${where}: ${error.message}`));
            }
        });
        client.connect(
            connectConfig(login, options, (key) => {
                seen = hostKeyLine(key);
                return true;
            }),
        );
    });
}

/**
 * Runs `sh -s` with `script` on standard input; resolves with its stdout when it exits 0. A failure names
 * the host and what went wrong (a refused host key says "Host key verification failed", as ssh does),
 * never the script or the key.
 */
export function runOnHost(login: HostLogin, script: string, options: RunOptions): Promise<string> {
    const pinned = login.hostKey === undefined ? undefined : hostKeyBlob(login.hostKey);
    const where = `${login.user}@${login.address}:${login.port}`;
    return new Promise<string>((resolve, reject) => {
        const client = new Client();
        let hostKeyRefused = false;
        let settled = false;
        const finish = (error: Error | undefined, stdout = "") => {
            if (settled) {
                return;
            }
            settled = true;
            clearTimeout(timer);
            client.end();
            error ? reject(error) : resolve(stdout);
        };
        const timer = setTimeout(() => finish(new Error(`${where}: no answer within ${options.timeoutMs / 1000} s`)), options.timeoutMs);
        client.on("error", (error) =>
            finish(
                new Error(
                    hostKeyRefused
                        ? `Host key verification failed: ${where} presented a key other than the pinned sshHostKey`
                        : `cannot connect to ${where}: ${error.message}`,
                ),
            ),
        );
        client.on("ready", () => {
            client.exec("sh -s", (error, channel) => {
                if (error) {
                    finish(new Error(`${where}: cannot start sh: ${error.message}`));
                    return;
                }
                let stdout = "";
                let stderr = "";
                channel.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
                channel.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
                channel.on("exit", (code: number | null) => {
                    // Data may still arrive after the exit status: read it all before resolving.
                    channel.on("close", () =>
                        finish(
                            code === 0
                                ? undefined
                                : new Error(`${where}: the script exited with ${code ?? "a signal"}: ${stderr.trim().split("\n").slice(-3).join(" / ")}`),
                            stdout,
                        ),
                    );
                });
                channel.end(script);
            });
        });
        client.connect(
            connectConfig(login, options, (key) => {
                hostKeyRefused = pinned !== undefined && !key.equals(pinned);
                return !hostKeyRefused;
            }),
        );
    });
}
