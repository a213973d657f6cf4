/**
 * The host key when the stack pins none and opts into trust on first use (sshTrustOnFirstUse): the key the
 * first connection sees is stored on the machine running Pulumi, one file per stack and component, and
 * from then on it is the pinned key, for the steps, the drift read and the docker provider alike. A host
 * that later presents another key is refused, as with sshHostKey.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { EdgeProxyConfig } from "./config/types";
import { presentedHostKey } from "./hostSession";
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

/** The configuration with its host key: sshHostKey, else the key trusted on first use. */
export async function trustedHostKey(config: EdgeProxyConfig, privateKey: string, dir: string, owner: string): Promise<TrustedKey> {
    const file = trustedKeyFile(dir, owner);
    if (fs.existsSync(file)) {
        return { key: fs.readFileSync(file, "utf8").trim(), learned: false, file };
    }
    const { host } = config;
    const key = await presentedHostKey({ address: host.address, port: host.sshPort, user: host.sshUser, privateKey }, { timeoutMs: 60_000 });
    writePrivateFile(file, `${key}\n`);
    return { key, learned: true, file };
}
