/**
 * A fleet's certificate transport, run for real as root on this machine: the issuer's key made by its step,
 * the receiver and its authorized_keys line installed by theirs, then the distribution over a real sshd (on
 * 127.0.0.2, the "other host") with the real ssh client, the receiver checking each PEM before it swaps it in.
 * Also what the receiver refuses, asked directly as its forced command would be. No Docker: the receiving
 * host's container is "not running" (a stand-in `docker` on the session's PATH says so), so a reload is
 * skipped as on a host whose container is down; reloads run end to end (test/engine/fleet.test.ts).
 */
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import type { EdgeProxyConfig } from "../../components/config/types";
import { fleetPaths } from "../../components/fleet/roles";
import {
    distributeScript,
    fleetKeyScript,
    installReceiverScript,
    parseDistribution,
    parsePublicKey,
    receiverScript,
    removeReceiverScript,
} from "../../components/fleet/scripts";
import { hostStatePath } from "../../components/hostPaths";
import { ticketKeysPaths, ticketKeysScript } from "../../components/hostScripts";
import { loadStackFile } from "../../components/plan";
import { parseStatusFile } from "../../components/status/statusFile";
import { stopAll } from "../../dev/env/process";
import { pinnedSshArgs, type Sshd, startSshd } from "../../dev/env/sshd";
import { writePlaceholderPem, writeSelfSigned } from "../../dev/haproxy";
import { PROJECT_DIR } from "../../dev/paths";
import { writeCertificate } from "../support/certificates";
import { describeWith, program, ROOT } from "../support/needs";

const SSH_PORT = 22124;
const SITE = { name: "shop", domains: ["shop.example.org", "www.shop.example.org"] };

/** A fleet of two "hosts" on this machine: the issuer on 127.0.0.1, the receiver's sshd on 127.0.0.2; each with directories of its own. */
function fleetConfig(root: string, side: "issuer" | "receiver", receiverHostKey: string): EdgeProxyConfig {
    const config = loadStackFile(path.join(PROJECT_DIR, "test", "stacks", "fleet-2.6.yaml"));
    config.haproxy.containerName = `edge-proxy-fleet-it-${process.pid}`;
    config.haproxy.certsDir = `${root}/${side}/certs`;
    config.haproxy.configDir = `${root}/${side}/cfg`;
    config.acme.dataDir = `${root}/${side}/letsencrypt`;
    config.sites = [{ ...config.sites[0], ...SITE }];
    config.fleet = {
        ...config.fleet!,
        issuer: "i",
        hosts: [
            {
                name: "i",
                address: "127.0.0.1",
                sshPort: SSH_PORT,
                sshUser: "root",
                sshHostKey: "ssh-ed25519 AAAAunused",
                privateAddress: "127.0.0.1",
                priority: 150,
            },
            { name: "r", address: "127.0.0.2", sshPort: SSH_PORT, sshUser: "root", sshHostKey: receiverHostKey, privateAddress: "127.0.0.2", priority: 140 },
        ],
    };
    return config;
}

/** Runs a host script with `sh -s`; `env` adds to root's environment. */
function runScript(script: string, env: Record<string, string> = {}, input?: string) {
    return spawnSync("sh", ["-s"], { input: input === undefined ? script : undefined, encoding: "utf8", env: { ...process.env, ...env } });
}

describeWith(
    [
        ROOT,
        program("/usr/sbin/sshd", "apt-get install openssh-server"),
        program("ssh", "apt-get install openssh-client"),
        program("openssl", "apt-get install openssl"),
    ],
    "a fleet's certificate transport, for real over SSH",
    () => {
        let root: string;
        let home: string;
        let sshd: Sshd;
        let issuer: EdgeProxyConfig;
        let receiver: EdgeProxyConfig;
        let publicKey: string;

        /** Writes certbot's lineage for the site on the issuer (a certificate for `names`), and the PEM it serves. */
        function issue(names: string[], days = 30): string {
            const live = `${issuer.acme.dataDir}/etc/live/${SITE.name}`;
            fs.mkdirSync(live, { recursive: true });
            writeSelfSigned(`${live}/fullchain.pem`, `${live}/privkey.pem`, names[0], { names, days });
            const pem = fs.readFileSync(`${live}/fullchain.pem`, "utf8") + fs.readFileSync(`${live}/privkey.pem`, "utf8");
            fs.writeFileSync(`${issuer.haproxy.certsDir}/${SITE.name}.pem`, pem);
            return pem;
        }
        const receivedPem = () => fs.readFileSync(`${receiver.haproxy.certsDir}/${SITE.name}.pem`, "utf8");
        /** Runs `work` with the receiving host's sshd stopped, and starts it again whatever `work` did. */
        async function whileReceiverDown<T>(work: () => T): Promise<T> {
            await sshd.stop();
            try {
                return work();
            } finally {
                await sshd.start();
            }
        }
        const issuerStatus = () => parseStatusFile(fs.readFileSync(`${issuer.acme.dataDir}/edge-proxy/status.json`, "utf8"));
        const distribute = () => runScript(distributeScript(issuer, [`${SITE.name} serial=00`]));
        /** Logs in to the receiving host with the issuer's key, as the distribution does, asking `request`. */
        const asIssuer = (request: string[], input = "") =>
            spawnSync(
                "ssh",
                [
                    "-F",
                    "/dev/null",
                    ...pinnedSshArgs(
                        {
                            keyFile: fleetPaths(issuer).key,
                            port: SSH_PORT,
                            knownHosts: `${issuer.acme.dataDir}/edge-proxy/fleet/known_hosts-r`,
                            target: "root@127.0.0.2",
                        },
                        ...request,
                    ),
                ],
                { input, encoding: "utf8" },
            );
        /** Asks the receiver as the forced command is asked: SSH_ORIGINAL_COMMAND, the PEM on stdin. */
        const ask = (request: string, pem = "") =>
            spawnSync("sh", [fleetPaths(receiver).receiver], {
                input: pem,
                encoding: "utf8",
                env: { ...process.env, SSH_ORIGINAL_COMMAND: request, PATH: `${root}/bin:${process.env.PATH}` },
            });

        before(async function () {
            this.timeout(60_000);
            root = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-fleet-"));
            home = `${root}/home`;
            // The receiving host's Docker answers that its container is not running: the receiver skips the reload.
            fs.mkdirSync(`${root}/bin`);
            fs.writeFileSync(`${root}/bin/docker`, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
            sshd = await startSshd({
                dir: `${root}/sshd`,
                port: SSH_PORT,
                listen: "127.0.0.2",
                authorizedKeys: { file: `${home}/.ssh/authorized_keys`, configPath: `${home}/.ssh/authorized_keys` },
                extraConfig: [`SetEnv PATH=${root}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`],
            });
            issuer = fleetConfig(root, "issuer", sshd.hostPublicKey);
            receiver = fleetConfig(root, "receiver", sshd.hostPublicKey);
            for (const config of [issuer, receiver]) {
                for (const dir of [config.haproxy.certsDir, config.haproxy.configDir, config.acme.dataDir]) {
                    fs.mkdirSync(dir, { recursive: true });
                }
            }
            // The receiving host serves the placeholder until the issuer's certificate arrives.
            writePlaceholderPem(`${receiver.haproxy.certsDir}/${SITE.name}.pem`, "placeholder");
        });
        after(async () => {
            await stopAll();
            fs.rmSync(hostStatePath(issuer.haproxy.containerName), { recursive: true, force: true });
            fs.rmSync(ticketKeysPaths(receiver).dir, { recursive: true, force: true });
            fs.rmSync(root, { recursive: true, force: true });
        });

        it("the issuer's step makes its key once, root's alone, and prints the public half", () => {
            const first = runScript(fleetKeyScript(issuer));
            expect(first.status, first.stderr).to.equal(0);
            publicKey = parsePublicKey(first.stdout);
            const second = runScript(fleetKeyScript(issuer));
            expect(parsePublicKey(second.stdout), "the second run keeps the key").to.equal(publicKey);
            const key = fleetPaths(issuer).key;
            expect(fs.statSync(key).mode & 0o777).to.equal(0o600);
            expect(fs.statSync(path.dirname(key)).mode & 0o777).to.equal(0o700);
        });

        it("the receiving host's step installs the receiver and the key's line once, keeping the user's own keys", () => {
            fs.mkdirSync(`${home}/.ssh`, { recursive: true, mode: 0o700 });
            fs.writeFileSync(`${home}/.ssh/authorized_keys`, `${sshd.hostPublicKey} the operator's own key\n`);
            for (let i = 0; i < 2; i++) {
                const result = runScript(installReceiverScript(receiver, publicKey), { HOME: home });
                expect(result.status, result.stderr).to.equal(0);
            }
            const lines = fs.readFileSync(`${home}/.ssh/authorized_keys`, "utf8").trim().split("\n");
            expect(lines).to.have.length(2);
            expect(lines[0]).to.contain("the operator's own key");
            expect(lines[1]).to.match(
                /^restrict,from="127\.0\.0\.1",command="\/bin\/sh \/var\/lib\/edge-proxy\/edge-proxy-fleet-it-\d+\/receive-certificates" ssh-ed25519 /,
            );
            expect(fs.readFileSync(fleetPaths(receiver).receiver, "utf8")).to.equal(receiverScript(receiver));
        });

        it("sends the issuer's certificate over SSH; the receiving host serves it, and records it for drift", () => {
            const pem = issue(SITE.domains);
            const result = distribute();
            expect(result.status, result.stderr).to.equal(0);
            expect(receivedPem()).to.equal(pem);
            expect(fs.statSync(`${receiver.haproxy.certsDir}/${SITE.name}.pem`).mode & 0o777).to.equal(0o640);
            const served = parseDistribution(result.stdout);
            expect(Object.keys(served), result.stderr).to.deep.equal(["r"]);
            expect(served.r[0]).to.match(/^shop serial=[0-9A-F]+ notAfter=\S+ issuer=CN=shop\.example\.org$/);
            expect(fs.readFileSync(`${issuer.acme.dataDir}/edge-proxy/fleet/host-r`, "utf8")).to.match(/^state ok\n/);
            expect(fs.readFileSync(`${receiver.acme.dataDir}/edge-proxy/steps/pem-shop`, "utf8")).to.contain(`${receiver.haproxy.certsDir}/shop.pem`);
            expect(result.stderr).to.contain("is not running: it reads the new certificates when it starts");
        });

        it("sends again without a change: the receiving host answers that it serves the same certificate", () => {
            const before = fs.statSync(`${receiver.haproxy.certsDir}/${SITE.name}.pem`).mtimeMs;
            const answer = asIssuer(["install", SITE.name], receivedPem());
            expect(answer.status, answer.stderr).to.equal(0);
            expect(answer.stdout).to.match(/^same shop serial=/);
            expect(fs.statSync(`${receiver.haproxy.certsDir}/${SITE.name}.pem`).mtimeMs).to.equal(before);
        });

        it("a certificate taken but never read (the reload lost on the way) is reloaded at the next distribution", () => {
            const pem = issue(SITE.domains);
            const taken = asIssuer(["install", SITE.name], pem);
            expect(taken.stdout, taken.stderr).to.match(/^changed shop serial=/);
            const pending = `${receiver.acme.dataDir}/edge-proxy/reload-pending`;
            expect(fs.existsSync(pending), "the mark of a reload to come").to.equal(true);
            // The issuer was cut off here: the next distribution sends the same certificate.
            const next = distribute();
            expect(next.status, next.stderr).to.equal(0);
            expect(next.stderr, "the reload asked for again").to.contain("is not running: it reads the new certificates when it starts");
            expect(fs.existsSync(pending), "the mark once reloaded").to.equal(false);
            expect(receivedPem()).to.equal(pem);
        });

        it("takes the fleet's TLS session ticket keys from the issuer's key: three keys of 80 bytes and nothing else", () => {
            const keysFile = ticketKeysPaths(receiver).file;
            const key = () => crypto.randomBytes(80).toString("base64");
            const keys = `${key()}\n${key()}\n${key()}\n`;
            const taken = asIssuer(["tls-keys"], keys);
            expect(taken.status, taken.stderr).to.equal(0);
            expect(fs.readFileSync(keysFile, "utf8")).to.equal(keys);
            expect(fs.statSync(keysFile).mode & 0o777).to.equal(0o640);
            for (const bad of [`${key()}\n${key()}\n`, `${keys}${key()}\n`, `${"!".repeat(107)}=\n`.repeat(3)]) {
                const refused = asIssuer(["tls-keys"], bad);
                expect(refused.status, JSON.stringify(bad)).to.equal(1);
                expect(refused.stderr).to.contain("refused TLS session ticket keys that are not three keys of 80 bytes");
                expect(fs.readFileSync(keysFile, "utf8"), "the keys before").to.equal(keys);
            }
        });

        it("a receiving host keeps the issuer's keys while they come, and rotates its own once none came for 25 hours", () => {
            const keysFile = ticketKeysPaths(receiver).file;
            const job = ticketKeysScript(receiver, "receiver");
            const check = () =>
                spawnSync("sh", ["-s", "stale"], { input: job, encoding: "utf8", env: { ...process.env, PATH: `${root}/bin:${process.env.PATH}` } });
            const fresh = fs.readFileSync(keysFile, "utf8");
            const kept = check();
            expect(kept.status, kept.stderr).to.equal(0);
            expect(fs.readFileSync(keysFile, "utf8"), "keys that came within 25 hours").to.equal(fresh);
            const dayAndMore = (Date.now() - 26 * 3600_000) / 1000;
            fs.utimesSync(keysFile, dayAndMore, dayAndMore);
            const rotated = check();
            expect(rotated.status, rotated.stderr).to.equal(0);
            expect(rotated.stderr).to.contain("no TLS session ticket keys from the fleet's issuer for 25 hours: rotating this host's own");
            const after = fs.readFileSync(keysFile, "utf8").trim().split("\n");
            expect(after.slice(0, 2), "the newest two kept").to.deep.equal(fresh.trim().split("\n").slice(1));
            expect(after[2]).to.match(/^[A-Za-z0-9+/]{107}=$/);
        });

        it("the issuer's key opens nothing but the receiver: a shell command is refused", () => {
            const result = asIssuer(["touch", `${root}/pwned`]);
            expect(result.status).to.equal(2);
            expect(result.stderr).to.contain("refused a request that is not 'install SITE [TOKEN]', 'tls-keys' or 'reload'");
            expect(fs.existsSync(`${root}/pwned`)).to.equal(false);
        });

        for (const [what, request, pem, message] of [
            [
                "a site the stack does not serve",
                "install ../../etc/passwd",
                () => fs.readFileSync(`${issuer.haproxy.certsDir}/shop.pem`, "utf8"),
                "refused a certificate for a site this stack does not serve",
            ],
            [
                "a certificate for other names",
                "install shop",
                () => pemFor(["shop.example.org"]),
                "refused certificate shop: it does not cover www.shop.example.org",
            ],
            ["an expired certificate", "install shop", () => pemFor(SITE.domains, -1), "refused certificate shop: it has expired"],
            [
                "a certificate with another's key",
                "install shop",
                () => pemFor(SITE.domains).replace(/-----BEGIN PRIVATE KEY-----[\s\S]*$/, keyOnly()),
                "do not make a certificate with its private key",
            ],
            ["more than a PEM's size", "install shop", () => "x".repeat(300_000), "refused certificate shop: more than 262144 bytes"],
            ["edge-proxy's placeholder", "install shop", () => placeholderFor(SITE.domains), "refused certificate shop: it is edge-proxy's placeholder"],
        ] as const) {
            it(`refuses ${what}, and the served PEM stays as it was`, () => {
                const served = receivedPem();
                const result = ask(request, pem());
                expect(result.status, result.stdout).not.to.equal(0);
                expect(result.stderr).to.contain(message);
                expect(receivedPem()).to.equal(served);
                expect(fs.readdirSync(receiver.haproxy.certsDir).filter((file) => file.startsWith("."))).to.deep.equal([]);
            });
        }

        it("a receiving host that cannot be reached: the distribution fails naming it, the issuer records it behind, and it catches up", async () => {
            const pem = issue(SITE.domains);
            const failed = await whileReceiverDown(distribute);
            expect(failed.status).to.equal(1);
            expect(failed.stderr).to.contain("host r (127.0.0.2) did not take certificate shop");
            expect(failed.stderr).to.contain("hosts behind: r");
            expect(fs.readFileSync(`${issuer.acme.dataDir}/edge-proxy/fleet/host-r`, "utf8")).to.match(/^state failed\n/);
            const status = issuerStatus();
            expect(status.attention, "status.json's attention").to.equal(true);
            expect(status.hosts?.[0]).to.include({ name: "r", state: "failed", behind: true });
            expect(status.hosts?.[0].ticketKeys).to.include({ state: "failed", behind: true });
            expect(receivedPem()).not.to.equal(pem);
            const caughtUp = distribute();
            expect(caughtUp.status, caughtUp.stderr).to.equal(0);
            expect(receivedPem()).to.equal(pem);
            const [host] = issuerStatus().hosts ?? [];
            expect(host).to.include({ name: "r", state: "ok", behind: false });
            expect(host.ticketKeys).to.include({ state: "ok", behind: false });
        });

        it("the issuer's rotation names in its status a host that did not take the keys, and the next rotation reaches it", async () => {
            const job = ticketKeysScript(issuer);
            // This machine's Docker stand-in answers that no container runs: the rotation is the file's alone.
            const rotate = () =>
                spawnSync("sh", ["-s", "rotate"], { input: job, encoding: "utf8", env: { ...process.env, PATH: `${root}/bin:${process.env.PATH}` } });
            const missed = await whileReceiverDown(rotate);
            expect(missed.status, "the job fails").to.equal(1);
            expect(missed.stderr).to.contain("host r did not take the TLS session ticket keys: it keeps its own until it does");
            expect(issuerStatus().hosts?.[0].ticketKeys).to.include({ state: "failed", behind: true });
            expect(issuerStatus().attention).to.equal(true);
            const reached = rotate();
            expect(reached.status, reached.stderr).to.equal(0);
            expect(issuerStatus().hosts?.[0].ticketKeys).to.include({ state: "ok", behind: false });
            expect(fs.readFileSync(ticketKeysPaths(receiver).file, "utf8"), "the receiving host's keys").to.equal(
                fs.readFileSync(ticketKeysPaths(issuer).file, "utf8"),
            );
        });

        it("removing the receiver takes the issuer's key line and the receiver away, and nothing else", () => {
            const result = spawnSync("sh", ["-c", removeReceiverScript(receiver)], { encoding: "utf8", env: { ...process.env, HOME: home } });
            expect(result.status, result.stderr).to.equal(0);
            expect(fs.readFileSync(`${home}/.ssh/authorized_keys`, "utf8")).to.equal(`${sshd.hostPublicKey} the operator's own key\n`);
            expect(fs.existsSync(fleetPaths(receiver).receiver)).to.equal(false);
        });

        /** A PEM for `names`, valid for `days` (negative: already expired). */
        function pemFor(names: string[], days = 30): string {
            const dir = fs.mkdtempSync(path.join(root, "pem-"));
            if (days < 0) {
                writeCertificate(`${dir}/cert.pem`, `${dir}/key.pem`, {
                    names,
                    commonName: names[0],
                    notBefore: new Date(Date.now() - 2 * 86_400_000),
                    notAfter: new Date(Date.now() - 86_400_000),
                });
            } else {
                writeSelfSigned(`${dir}/cert.pem`, `${dir}/key.pem`, names[0], { names, days });
            }
            return fs.readFileSync(`${dir}/cert.pem`, "utf8") + fs.readFileSync(`${dir}/key.pem`, "utf8");
        }
        /** A placeholder as the preparation writes it: self-signed, its issuer named as edge-proxy's. */
        function placeholderFor(names: string[]): string {
            const dir = fs.mkdtempSync(path.join(root, "placeholder-"));
            writeSelfSigned(`${dir}/cert.pem`, `${dir}/key.pem`, `edge-proxy placeholder for ${names[0]}`, { names, days: 30 });
            return fs.readFileSync(`${dir}/cert.pem`, "utf8") + fs.readFileSync(`${dir}/key.pem`, "utf8");
        }
        /** Another key, alone. */
        function keyOnly(): string {
            const dir = fs.mkdtempSync(path.join(root, "key-"));
            writeSelfSigned(`${dir}/cert.pem`, `${dir}/key.pem`, "other");
            return fs.readFileSync(`${dir}/key.pem`, "utf8");
        }
    },
);
