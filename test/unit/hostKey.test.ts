/**
 * Host keys over a real SSH handshake (an ssh2 server on loopback with a key ssh-keygen made): the key a
 * host presents, trust on first use kept per stack, and a pinned key refusing any other host.
 */

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { Server } from "ssh2";
import { SECRET_PRESENT } from "../../components/config/checks";
import { parseConfig } from "../../components/config/validate";
import { trustedHostKey } from "../../components/hostKey";
import { presentedHostKey, runOnHost } from "../../components/hostSession";

describe("host keys, over a real SSH handshake", () => {
    let scratch: string;
    let server: Server;
    let port: number;
    let hostKeyLine: string;
    let clientKey: string;

    function keygen(name: string): { privateKey: string; publicLine: string } {
        const file = path.join(scratch, name);
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file]);
        return { privateKey: fs.readFileSync(file, "utf8"), publicLine: fs.readFileSync(`${file}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ") };
    }

    before(async () => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-host-key-"));
        const host = keygen("host");
        hostKeyLine = host.publicLine;
        clientKey = keygen("client").privateKey;
        // Accepts any client key and runs nothing: the handshake and the host key are what is tested.
        server = new Server({ hostKeys: [host.privateKey] }, (client) => {
            client
                .on("authentication", (context) => context.accept())
                .on("ready", () => undefined)
                .on("error", () => undefined);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        port = (server.address() as AddressInfo).port;
    });
    after(() => {
        server.close();
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    const login = () => ({ address: "127.0.0.1", port, user: "root", privateKey: clientKey });

    it("reads the key the host presents as the line ssh-keyscan prints", async () => {
        expect(await presentedHostKey(login(), { timeoutMs: 10_000 })).to.equal(hostKeyLine);
    });

    it("refuses a host whose key is not the pinned one, saying so as ssh does", async () => {
        const other = keygen("other").publicLine;
        let error: Error | undefined;
        try {
            await runOnHost({ ...login(), hostKey: other }, "true\n", { timeoutMs: 10_000 });
        } catch (e) {
            error = e as Error;
        }
        expect(error?.message).to.equal(`Host key verification failed: root@127.0.0.1:${port} presented a key other than the pinned sshHostKey`);
    });

    it("trusts on first use: learns the key once, keeps it 0600 per stack, and reads it back without connecting", async () => {
        const config = parseConfig(
            {
                hostAddress: "127.0.0.1",
                sshPort: port,
                sshTrustOnFirstUse: true,
                sshPrivateKey: SECRET_PRESENT,
                acmeEmail: "admin@example.com",
                sites: [{ domains: ["www.example.com"], backends: ["10.0.0.1:80"] }],
            },
            { requireSecrets: false },
        );
        const dir = path.join(scratch, "known");
        const first = await trustedHostKey(config, clientKey, dir, "edge-proxy/prod/edge");
        expect(first).to.include({ key: hostKeyLine, learned: true });
        expect(fs.readFileSync(first.file, "utf8")).to.equal(`${hostKeyLine}\n`);
        expect((fs.statSync(first.file).mode & 0o777).toString(8)).to.equal("600");
        // Another stack learns its own; this one needs no connection any more.
        const again = await trustedHostKey({ ...config, host: { ...config.host, sshPort: 1 } }, clientKey, dir, "edge-proxy/prod/edge");
        expect(again).to.include({ key: hostKeyLine, learned: false, file: first.file });
        expect((await trustedHostKey(config, clientKey, dir, "edge-proxy/dev/edge")).file).to.not.equal(first.file);
    });

    it("refuses a configuration that neither pins a key nor trusts on first use, naming the ssh-keyscan line", () => {
        expect(() =>
            parseConfig(
                { hostAddress: "192.0.2.10", sshPort: 2222, sshPrivateKey: SECRET_PRESENT, acmeEmail: "admin@example.com", sites: [] },
                { requireSecrets: false },
            ),
        ).to.throw(
            /sshHostKey: is required, so that no other machine at the host's address receives the scripts and their secrets: run ssh-keyscan -p 2222 -t ed25519 192\.0\.2\.10/,
        );
    });
});
