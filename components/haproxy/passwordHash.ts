/**
 * SHA-512 crypt (`$6$salt$hash`, Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512"), the hash HAProxy's
 * `userlist ... password` hands to the C library's crypt(3). The metrics password stays a Pulumi secret: only
 * this hash reaches haproxy.cfg. Node has no crypt(3), and a hash computed here keeps the password off the
 * host's command lines. Pure: the salt comes from the stack's identity, so the same configuration renders
 * the same bytes on every `up`, while two installations (or users) with one password get different hashes.
 */
import { createHash } from "node:crypto";
import type { EdgeProxyConfig } from "../config/types";

/** crypt's base-64 alphabet. */
const ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** The order in which the 64 digest bytes are encoded, three at a time (the last one alone). */
const ENCODING_ORDER = [
    [0, 21, 42],
    [22, 43, 1],
    [44, 2, 23],
    [3, 24, 45],
    [25, 46, 4],
    [47, 5, 26],
    [6, 27, 48],
    [28, 49, 7],
    [50, 8, 29],
    [9, 30, 51],
    [31, 52, 10],
    [53, 11, 32],
    [12, 33, 54],
    [34, 55, 13],
    [56, 14, 35],
    [15, 36, 57],
    [37, 58, 16],
    [59, 17, 38],
    [18, 39, 60],
    [40, 61, 19],
    [62, 20, 41],
];

const sha512 = (...parts: Buffer[]) => {
    const hash = createHash("sha512");
    for (const part of parts) {
        hash.update(part);
    }
    return hash.digest();
};

/** `source` repeated (and cut) to `length` bytes. */
function repeated(source: Buffer, length: number): Buffer {
    return Buffer.concat(Array.from({ length: Math.ceil(length / source.length) }, () => source)).subarray(0, length);
}

/** Six bits at a time, least significant first, `count` characters of `value`. */
function base64Bits(value: number, count: number): string {
    let text = "";
    for (let i = 0; i < count; i++, value >>= 6) {
        text += ALPHABET[value & 0x3f];
    }
    return text;
}

/** The SHA-512 crypt of `password` with `salt` (at most 16 characters of ALPHABET) and the default 5,000 rounds. */
export function sha512Crypt(password: string, salt: string): string {
    if (!/^[./0-9A-Za-z]{1,16}$/.test(salt)) {
        throw new Error("a SHA-512 crypt salt is 1 to 16 characters of ./0-9A-Za-z");
    }
    const p = Buffer.from(password, "utf8");
    const s = Buffer.from(salt, "ascii");
    const b = sha512(p, s, p);
    const aParts = [p, s, repeated(b, p.length)];
    for (let length = p.length; length > 0; length >>= 1) {
        aParts.push(length & 1 ? b : p);
    }
    let c = sha512(...aParts);
    const pSequence = repeated(sha512(...Array.from({ length: p.length }, () => p)), p.length);
    const sSequence = repeated(sha512(...Array.from({ length: 16 + c[0] }, () => s)), s.length);
    for (let round = 0; round < 5000; round++) {
        const parts = [round & 1 ? pSequence : c];
        if (round % 3) {
            parts.push(sSequence);
        }
        if (round % 7) {
            parts.push(pSequence);
        }
        parts.push(round & 1 ? c : pSequence);
        c = sha512(...parts);
    }
    const encoded = ENCODING_ORDER.map(([x, y, z]) => base64Bits((c[x] << 16) | (c[y] << 8) | c[z], 4)).join("") + base64Bits(c[63], 2);
    return `$6$${salt}$${encoded}`;
}

/** The salt of a stack's metrics password: 16 crypt characters derived from the host, the container and the user. */
export function metricsPasswordSalt(config: EdgeProxyConfig): string {
    const seed = createHash("sha256")
        .update(["edge-proxy metrics", config.host.address, config.haproxy.containerName, config.haproxy.metrics?.user ?? ""].join("\0"))
        .digest();
    return Array.from(seed.subarray(0, 16), (byte) => ALPHABET[byte & 0x3f]).join("");
}

/** The hash haproxy.cfg carries for the metrics password of `config`. */
export function metricsPasswordHash(config: EdgeProxyConfig, password: string): string {
    return sha512Crypt(password, metricsPasswordSalt(config));
}

/**
 * What the rendering carries when the password is not at hand (the render tool and the golden files, which
 * never decrypt secrets): a well-formed hash that no password is known to give, so such a rendering, if it
 * were ever served, would let nobody in.
 */
export const UNKNOWN_PASSWORD_HASH = `$6$edgeproxy.none$${".".repeat(86)}`;
