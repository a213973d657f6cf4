/**
 * The host scripts, rendered for representative stacks: each parses in dash; the renewal's cron entry and
 * its random delay, run for real with stand-ins for sleep and flock. test/integration/hostScripts.test.ts
 * runs shellcheck on them and runs the steps that need root for real.
 */

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { parseCertificateLine } from "../../components/certificates";
import { distributeScript, receiverScript } from "../../components/fleet/scripts";
import { renderHaproxyConfig } from "../../components/haproxy/render";
import {
    deliverConfigScript,
    eabPaths,
    installEabScript,
    issueCertificateScript,
    profileOf,
    reloadScript,
    renewCron,
    renewScript,
    ticketKeysCron,
    ticketKeysScript,
} from "../../components/hostScripts";
import { loadStackFile } from "../../components/plan";
import { hostScriptsOf } from "../../dev/hostScripts";
import { PROJECT_DIR } from "../../dev/paths";
import { SCRIPT_STACKS } from "../support/stacks";

describe("host scripts", () => {
    for (const stack of SCRIPT_STACKS) {
        const config = loadStackFile(path.join(PROJECT_DIR, stack));
        for (const [name, script] of Object.entries(hostScriptsOf(config))) {
            it(`${stack}: ${name} parses in dash`, () => {
                const parsed = spawnSync("dash", ["-n"], { input: script, encoding: "utf8" });
                expect(parsed.status, parsed.stderr).to.equal(0);
            });
        }
    }

    it("writes a cron entry with the schedule and the script", () => {
        const config = loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
        expect(
            renewCron(config)
                .split("\n")
                .filter((line) => line && !line.startsWith("#")),
        ).to.deep.equal([
            "SHELL=/bin/sh",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "EDGE_PROXY_RENEW_DELAY=300",
            `${config.acme.renewSchedule} root /usr/local/sbin/edge-proxy-renew-edge-proxy >>/srv/letsencrypt/log/edge-proxy-renew.log 2>&1`,
        ]);
    });

    it("waits a random delay below EDGE_PROXY_RENEW_DELAY (cron's) before taking the host lock, and none when run by hand", () => {
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-delay-"));
        try {
            const config = loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
            config.acme.dataDir = path.join(scratch, "data");
            fs.mkdirSync(config.acme.dataDir);
            const bin = path.join(scratch, "bin");
            fs.mkdirSync(bin);
            // sleep records its argument and fails (ending the script under set -e); flock refuses the lock.
            fs.writeFileSync(path.join(bin, "sleep"), `#!/bin/sh\necho "$1" >>${path.join(scratch, "slept")}\nexit 7\n`, { mode: 0o755 });
            fs.writeFileSync(path.join(bin, "flock"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
            const run = (delay?: string) =>
                spawnSync("dash", ["-s"], {
                    input: renewScript(config),
                    encoding: "utf8",
                    timeout: 10_000,
                    env: { PATH: `${bin}:${process.env.PATH}`, ...(delay === undefined ? {} : { EDGE_PROXY_RENEW_DELAY: delay }) },
                });
            const slept = () =>
                fs.existsSync(path.join(scratch, "slept")) ? fs.readFileSync(path.join(scratch, "slept"), "utf8").trim().split("\n").map(Number) : [];
            const byHand = run();
            expect([byHand.status, slept()], byHand.stderr).to.deep.equal([1, []]);
            expect(byHand.stderr).to.contain("giving up");
            for (let i = 0; i < 20; i++) {
                const byCron = run("3");
                expect(byCron.status, byCron.stderr).to.equal(7);
                expect(byCron.stderr).to.match(/waiting [0-2]s \(random delay, at most 3s\) before renewing/);
            }
            expect(slept().every((seconds) => seconds >= 0 && seconds < 3)).to.equal(true);
            expect(new Set(slept()).size, "random").to.be.greaterThan(1);
            const bad = run("5; rm -rf /");
            expect([bad.status, bad.stderr.includes("is not a number of seconds: no delay")], bad.stderr).to.deep.equal([1, true]);
        } finally {
            fs.rmSync(scratch, { recursive: true, force: true });
        }
    });

    it("prints the schedule on no comment line of the renewal script (a comment ends at a newline, code follows)", () => {
        const config = loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
        config.acme.renewSchedule = "*/15 2-4 * * 1-5";
        const comments = renewScript(config)
            .split("\n")
            .filter((line) => /^\s*#/.test(line));
        expect(comments.filter((line) => line.includes(config.acme.renewSchedule))).to.deep.equal([]);
    });

    it("reports no certificate fields for a line of another form (an older edge-proxy's, a stand-in's) rather than failing", () => {
        for (const line of ["www serial=0A1B", "www done", "", "www serial=0A1B notAfter=soon issuer=CN=x"]) {
            expect(parseCertificateLine(line), line).to.deep.equal({});
        }
        expect(parseCertificateLine("site-a serial=0A1B notAfter=2027-02-27T12:00:00Z issuer=CN=Pebble Intermediate CA 1a2b3c\n")).to.deep.equal({
            serial: "0A1B",
            notAfter: "2027-02-27T12:00:00Z",
            issuer: "CN=Pebble Intermediate CA 1a2b3c",
        });
    });
});

describe("ACME profiles and external account binding in the host scripts", () => {
    const STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";
    /** An HMAC key as a CA gives it (base64url), with a marker no message may show. */
    const HMAC_KEY = "T0KEN-abcdefghijklmnopqrstuvwxyz_0123456789";
    const dev = () => loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
    const parses = (script: string) => spawnSync("dash", ["-n"], { input: script, encoding: "utf8" });

    it("orders with the site's profile in place of acmeProfile's, after asking the CA whether it offers it and before the pre-flight", () => {
        const config = dev();
        config.acme.profile = "classic";
        const [www, wiki] = config.sites;
        wiki.acmeProfile = "shortlived";
        expect([profileOf(config, www), profileOf(config, wiki)]).to.deep.equal(["classic", "shortlived"]);

        const script = issueCertificateScript(config, wiki);
        expect(script)
            .to.contain(
                "--cert-name wiki --key-type ecdsa --keep-until-expiring --expand \\\n    --required-profile shortlived \\\n    -d wiki.example.com \\\n",
            )
            .and.contain(`requested='${STAGING} ecdsa wiki.example.com profile:shortlived'\n`)
            .and.not.contain("classic");
        const asked = script.indexOf(`profile_output=$(acme_query profile ${STAGING} shortlived 2>&1) || profile_result=$?`);
        const preflight = script.indexOf("preflight_output=$(preflight wiki.example.com 2>&1)");
        const order = script.indexOf("if ! certbot_attempt wiki ");
        expect(
            [asked, preflight, order].every((at) => at > 0),
            "the question, the pre-flight and the order",
        ).to.equal(true);
        expect(asked < preflight && preflight < order, "in that order").to.equal(true);
        // acme.py itself is in the script, fed to the certbot image's python3.
        expect(script).to.contain("--entrypoint python3").and.contain("def profile(server, wanted):");
        expect(parses(script).status, parses(script).stderr).to.equal(0);

        expect(issueCertificateScript(config, www))
            .to.contain("    --required-profile classic \\\n")
            .and.contain(`requested='${STAGING} ecdsa www.example.com,example.com profile:classic'\n`)
            .and.not.contain("shortlived");
    });

    it("without a profile, asks the CA nothing, passes no --required-profile, and records `requested` as before profiles: no lineage is issued again", () => {
        const config = dev();
        expect(profileOf(config, config.sites[0])).to.equal(undefined);
        const script = issueCertificateScript(config, config.sites[0]);
        expect(script).to.contain(`requested='${STAGING} ecdsa www.example.com,example.com'\n`);
        for (const absent of ["--required-profile", "acme_query", "profile:", "def profile(server, wanted):", "--config"]) {
            expect(script, absent).to.not.contain(absent);
        }
        // The renewal keeps what certbot recorded in the lineage: it names no profile either.
        expect(renewScript(config)).to.not.contain("--required-profile");
    });

    it("the renewal job asks for every certificate's renewal window after renewing them all", () => {
        const script = renewScript(dev());
        const renewed = script.lastIndexOf('renew_certificate wiki certbot/certbot:v5.8.0 "$@"\n');
        const asked = script.indexOf("refresh_renewal_info www wiki || log ");
        expect(renewed, "the last renewal").to.be.greaterThan(0);
        expect(asked, "one question for both, after it").to.be.greaterThan(renewed);
        expect(script).to.contain(`ari_answers=$(acme_query renewal-info ${STAGING} $ari_certs) || return 1`);
    });

    it("installs the external account binding with the key identifier and the HMAC key only in the here-document", () => {
        const config = dev();
        config.acme.eab = { kid: "kid_1-x.y~z" };
        expect(eabPaths(config)).to.deep.equal({ path: "/srv/letsencrypt/etc/edge-proxy/eab.ini", inContainer: "/etc/letsencrypt/edge-proxy/eab.ini" });
        const script = installEabScript(config, HMAC_KEY);
        const lines = script.split("\n");
        const open = lines.indexOf(`cat >"$next" <<'EDGE_PROXY_EOF'`);
        expect(open, "a quoted here-document").to.be.greaterThan(0);
        const close = lines.indexOf("EDGE_PROXY_EOF", open);
        expect(lines.slice(open + 1, close)).to.deep.equal(["eab-kid = kid_1-x.y~z", `eab-hmac-key = ${HMAC_KEY}`]);
        expect(lines.filter((line) => line.includes(HMAC_KEY) || line.includes("kid_1-x.y~z")).length, "nowhere else").to.equal(2);
        expect(script)
            .to.contain('mv -f "$next" /srv/letsencrypt/etc/edge-proxy/eab.ini\n')
            .and.contain("record_step eab /srv/letsencrypt/etc/edge-proxy/eab.ini\n");
        expect(parses(script).status, parses(script).stderr).to.equal(0);

        // certbot reads the file with --config; no certificate script holds the key.
        const issue = issueCertificateScript(config, config.sites[0]);
        expect(issue)
            .to.contain("--keep-until-expiring --expand \\\n    --config /etc/letsencrypt/edge-proxy/eab.ini \\\n    -d www.example.com")
            .and.not.contain(HMAC_KEY);
        expect(parses(issue).status, parses(issue).stderr).to.equal(0);
    });

    it("writes the binding's file for real: root's only, in a directory only root enters, the two settings exactly, in the ledger", () => {
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-eab-"));
        try {
            const config = dev();
            config.acme.dataDir = path.join(scratch, "data");
            config.acme.eab = { kid: "kid-1" };
            fs.mkdirSync(config.acme.dataDir);
            const bin = path.join(scratch, "bin");
            fs.mkdirSync(bin);
            // The host lock is free; no certbot container is left to remove.
            fs.writeFileSync(path.join(bin, "flock"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
            fs.writeFileSync(path.join(bin, "docker"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
            const run = spawnSync("dash", ["-s"], {
                input: installEabScript(config, HMAC_KEY),
                encoding: "utf8",
                env: { PATH: `${bin}:${process.env.PATH}` },
            });
            expect(run.status, run.stderr).to.equal(0);
            expect(run.stdout).to.equal("credentials for the ACME account's external binding installed\n");
            expect(run.stderr, "the key is in no log line").to.not.contain(HMAC_KEY);
            const file = eabPaths(config)!.path;
            expect(fs.readFileSync(file, "utf8")).to.equal(`eab-kid = kid-1\neab-hmac-key = ${HMAC_KEY}\n`);
            expect((fs.statSync(file).mode & 0o777).toString(8)).to.equal("600");
            expect((fs.statSync(path.dirname(file)).mode & 0o777).toString(8)).to.equal("700");
            expect(fs.readdirSync(path.dirname(file)), "no temporary file left").to.deep.equal(["eab.ini"]);
            expect(fs.readFileSync(path.join(config.acme.dataDir, "edge-proxy", "steps", "eab"), "utf8")).to.match(
                new RegExp(`^token \\nfile [0-9a-f]{64} ${file.replace(/[.]/g, "\\.")}\\n$`),
            );
        } finally {
            fs.rmSync(scratch, { recursive: true, force: true });
        }
    });

    it("refuses an HMAC key that is not base64url without echoing it, and a binding without acmeEabKid", () => {
        const config = dev();
        config.acme.eab = { kid: "kid-1" };
        for (const bad of [
            "T0KEN-short",
            "T0KEN abcdefghijklmnopqrstuvwxyz",
            "T0KEN+abcdefghijklmnop/standard",
            `${HMAC_KEY}\neab-kid = other`,
            `T0KEN${"a".repeat(600)}`,
        ]) {
            let message = "";
            try {
                installEabScript(config, bad);
            } catch (error) {
                message = (error as Error).message;
            }
            expect(message, JSON.stringify(bad)).to.equal("acmeEabHmacKey: the secret is not a base64url HMAC key (as the CA's EAB credentials give it)");
        }
        for (const good of [HMAC_KEY, "abcdefghijklmnop", "abcdefghijklmnopqr=="]) {
            expect(() => installEabScript(config, good), good).to.not.throw();
        }
        expect(() => installEabScript(dev(), HMAC_KEY)).to.throw("installEabScript needs acmeEabKid");
    });
});

describe("certificates put in service by the host scripts", () => {
    const dev = (major: number, minor: number) => {
        const config = loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
        config.haproxy.version = { major, minor };
        return config;
    };
    const RUNTIME_CLIENT = "--network container:edge-proxy --entrypoint python3";

    it("from 2.2, sends the certificates to the running HAProxy's runtime API, each as HAProxy sees it, and reloads only when that fails", () => {
        // A fleet's receiving host too: its receiver runs the certbot image's python3 (pulled when it is installed).
        for (const script of [reloadScript(dev(2, 2), []), renewScript(dev(3, 2)), receiverScript(dev(2, 6))]) {
            expect(script).to.contain(RUNTIME_CLIENT).and.contain("-v /srv/haproxy/certs:/certs:ro").and.contain("def update(address, path):");
            expect(script).to.contain('set -- "$@" /certs/"$live_name".pem');
            expect(script).to.contain('certbot/certbot:v5.8.0 - edge-proxy-runtime "$@"');
            const live = script.indexOf('if live_output=$(runtime_client certificates "$@"); then');
            const reload = script.indexOf('    reload_checked "$image" "the new certificates" || return 1\n}');
            expect(live, "the runtime API first").to.be.greaterThan(0);
            expect(reload, "the reload after it").to.be.greaterThan(live);
        }
        // The reload step names every site's certificate: the program sends only those HAProxy does not serve yet.
        expect(reloadScript(dev(2, 6), [])).to.contain("apply_certificates www wiki || exit 1\n");
    });

    it("from 2.2, a reload returns once a new worker answers the runtime API, and fails when none does", () => {
        const script = deliverConfigScript(dev(2, 6), renderHaproxyConfig(dev(2, 6)));
        const before = script.indexOf("reload_worker=$(runtime_client worker 2>/dev/null) || reload_worker=-");
        const signal = script.indexOf("if ! docker kill -s HUP edge-proxy >/dev/null; then");
        const wait = script.indexOf('if [ -n "$reload_worker" ] && ! runtime_client wait-worker "$reload_worker" 300 >/dev/null; then');
        expect(before, "the worker asked for first").to.be.greaterThan(0);
        expect(signal, "then the signal").to.be.greaterThan(before);
        expect(wait, "then the wait").to.be.greaterThan(signal);
        expect(deliverConfigScript(dev(2, 1), renderHaproxyConfig(dev(2, 1)))).to.not.contain("runtime_client");
    });

    it("before 2.2 checks the live files and reloads", () => {
        for (const script of [reloadScript(dev(2, 1), []), renewScript(dev(1, 7)), receiverScript(dev(2, 1))]) {
            expect(script).to.not.contain(RUNTIME_CLIENT).and.not.contain("def update(address, path):");
            expect(script).to.contain('    reload_checked "$image" "the new certificates" || return 1\n}');
            expect(script).to.contain('    if ! check_output=$(check_config /srv/haproxy/cfg "$1" 2>&1); then\n');
        }
    });

    it("the renewal job puts in service the certificates whose PEM changed, and those an earlier run could not", () => {
        const script = renewScript(dev(2, 6));
        expect(script).to.contain('    elif [ -n "$pem_changed" ]; then\n        changed="$changed $name"\n');
        expect(script).to.contain('with_unapplied www wiki\nif [ -n "$changed" ]; then\n    apply_changed || failed="$failed (reload)"\n');
    });
});

describe("TLS session ticket keys in the host scripts", () => {
    const dev = (major: number, minor: number, tickets = true) => {
        const config = loadStackFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));
        config.haproxy.version = { major, minor };
        config.haproxy.sessionTickets = tickets;
        return config;
    };
    const KEYS = "/run/edge-proxy/edge-proxy/tls-ticket-keys";

    it("from 2.2, the configuration step makes the keys before haproxy -c and installs the job that keeps them", () => {
        const script = deliverConfigScript(dev(2, 6), renderHaproxyConfig(dev(2, 6)));
        const ensure = script.indexOf("if ! ensure_ticket_keys; then");
        const check = script.indexOf('if ! output=$(check_config "$staging" haproxy:1.7 2>&1); then');
        expect(ensure, "the keys made").to.be.greaterThan(0);
        expect(check, "before the check").to.be.greaterThan(ensure);
        expect(script).to.contain(`ticket_keys=${KEYS}\n`);
        expect(script).to.contain("-v /run/edge-proxy/edge-proxy:/run/edge-proxy-tls:ro");
        expect(script).to.contain('mv -f "$next" /usr/local/sbin/edge-proxy-tls-keys-edge-proxy\n');
        expect(script).to.contain('mv -f "$next" /etc/cron.d/edge-proxy-tls-keys-edge-proxy\n');
        expect(script, "drift in the job is seen").to.contain(
            'record_step config "$dir"/haproxy.cfg "$dir"/sites.map "$dir"/certs.list /usr/local/sbin/edge-proxy-tls-keys-edge-proxy /etc/cron.d/edge-proxy-tls-keys-edge-proxy\n',
        );
    });

    it("a container from before session tickets is not reloaded onto a configuration it cannot read", () => {
        const script = deliverConfigScript(dev(2, 6), renderHaproxyConfig(dev(2, 6)));
        expect(script).to.contain('    if [ -z "$(running_image)" ] || mounts_ticket_keys; then\n        reload_haproxy || exit 1\n');
        expect(script).to.contain('        *" $keys_mount "*) return 0 ;;\n');
    });

    it("the issuer's cron makes the keys at boot and rotates them every 12 hours; a receiving host's only makes them", () => {
        const config = dev(2, 6);
        expect(ticketKeysCron(config)).to.contain(
            "@reboot root /usr/local/sbin/edge-proxy-tls-keys-edge-proxy >>/srv/letsencrypt/log/edge-proxy-tls-keys.log 2>&1\n" +
                "41 */12 * * * root /usr/local/sbin/edge-proxy-tls-keys-edge-proxy rotate >>/srv/letsencrypt/log/edge-proxy-tls-keys.log 2>&1\n",
        );
        const receiving = ticketKeysCron(config, "receiver");
        expect(receiving).to.contain("@reboot root").and.not.contain(" rotate ");
        expect(receiving, "a receiving host rotates its own keys when the issuer's stop coming").to.contain(
            "41 */12 * * * root /usr/local/sbin/edge-proxy-tls-keys-edge-proxy stale >>",
        );
        const receiverJob = ticketKeysScript(config, "receiver");
        expect(receiverJob).to.not.contain("rotate:1)").and.not.contain("fleet_ssh");
        expect(receiverJob).to.contain('        stale_minutes=1500\n        [ -z "$(find "$ticket_keys" -mmin "-$stale_minutes" 2>/dev/null)" ] || exit 0\n');
        expect(ticketKeysScript(config)).to.contain("    rotate:1) rotate_ticket_keys || exit 1 ;;\n");
    });

    it("without them (tlsSessionTickets false, or before 2.2) the configuration step removes the keys and their job", () => {
        for (const config of [dev(2, 6, false), dev(2, 1)]) {
            const script = deliverConfigScript(config, renderHaproxyConfig(config));
            expect(script).to.not.contain("ensure_ticket_keys").and.not.contain("/run/edge-proxy-tls");
            expect(script).to.contain(
                "rm -rf /usr/local/sbin/edge-proxy-tls-keys-edge-proxy /etc/cron.d/edge-proxy-tls-keys-edge-proxy /run/edge-proxy/edge-proxy\n",
            );
        }
    });

    it("a fleet's issuer sends the keys to the other hosts, whose receiver takes three keys and nothing else", () => {
        const fleet = loadStackFile(path.join(PROJECT_DIR, "test", "stacks", "fleet-2.6.yaml"));
        const script = ticketKeysScript(fleet);
        expect(script).to.contain(
            "    elif fleet_ssh edge-1 10.0.0.11 2222 root 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfEdgeOne' tls-keys </run/edge-proxy/edge-proxy/tls-ticket-keys >/dev/null; then\n" +
                '        record_host keys edge-1 ok "took the keys"\n',
        );
        // The status names the hosts that did not take them (status.json, the metrics file).
        expect(script).to.contain("write_status status-only || log").and.contain("edge_proxy_fleet_host_ticket_keys_behind{");
        expect(distributeScript(fleet, []), "the first up's distribution sends them too").to.contain(
            'distribute_ticket_keys all || log "hosts keeping their own TLS session ticket keys:$keys_behind"\n',
        );
        expect(script).to.contain("    elif fleet_ssh edge-3 10.0.0.13 22 admin ").and.not.contain("fleet_ssh edge-2 ");
        // The renewal job sends the keys again to the hosts that did not take the last ones.
        const renewal = renewScript(fleet);
        expect(renewal).to.contain('distribute_ticket_keys missed || failed="$failed (ticket keys:$keys_behind)"\n');
        expect(renewal).to.contain(`    if [ "\${1:-}" = missed ] && grep -qx 'state ok' "$fleet_state/keys-"edge-1 2>/dev/null; then\n`);
        const receiver = receiverScript(fleet);
        expect(receiver).to.contain('    tls-keys:1) site="" token="" ;;\n');
        expect(receiver, "three lines of 108 characters").to.contain('" -ne 326 ] || [ "$(printf');
    });
});
