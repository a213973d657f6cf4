/**
 * The host key when the stack pins none and opts into trust on first use (sshTrustOnFirstUse): the key the
 * first connection sees is stored on the machine running Pulumi, one file per stack and component, and
 * from then on it is the pinned key, for the steps, the drift read and the docker provider alike. A host
 * that later presents another key is refused, as with sshHostKey.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { EdgeProxyConfig } from "./config/types";
import { hostLogin, presentedHostKey } from "./hostSession";
import { writePrivateFile } from "./privateFile";

/** Where the trusted key of one component's host is kept. */
export function trustedKeyFile(dir: string, owner: string): string {
    return path.join(dir, `trusted-host-key-${createHash("sha256").update(owner).digest("hex").slice(0, 16)}`);
}

/** What trustedHostKey found: the key, and whether this run learned it (so the operator should pin it). */
export interface TrustedKey {
    key: string;
    learned: boolean;
    file: string;
}

/** The key trusted on first use for one component's host, if one was. */
export function readTrustedHostKey(dir: string, owner: string): string | undefined {
    const file = trustedKeyFile(dir, owner);
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : undefined;
}

/** The key trusted on first use: the one kept, else the one the host presents now (then kept). */
export async function trustedHostKey(config: EdgeProxyConfig, privateKey: string, dir: string, owner: string): Promise<TrustedKey> {
    const file = trustedKeyFile(dir, owner);
    const kept = readTrustedHostKey(dir, owner);
    if (kept !== undefined) {
        return { key: kept, learned: false, file };
    }
    const key = await presentedHostKey(hostLogin(config.host, privateKey), { timeoutMs: 60_000 });
    writePrivateFile(file, `${key}\n`);
    return { key, learned: true, file };
}
