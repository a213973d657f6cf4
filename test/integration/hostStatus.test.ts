/**
 * The certificates' status (templates/partials/sh-status.hbs), run for real in a scratch directory: the PEM
 * step and the renewal script write status.json and the Prometheus text file from real certificates, and
 * the renewal script runs the alert command. certbot and docker are a stand-in script on PATH (their own
 * behaviour is exercised end to end, test/e2e/); everything else (dash, openssl, date, sed) is the real tool.
 */

import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import type { EdgeProxyConfig } from "../../components/config/types";
import { installPemScript, installRenewalScript, issueCertificateScript, renewalPaths, renewScript } from "../../components/hostScripts";
import { parseStatusFile, type StatusFile } from "../../components/status/statusFile";
import { writePlaceholderPem, writeSelfSigned } from "../../dev/haproxy";
import { devConfigIn } from "../../dev/hostScripts";
import { writeCertificate } from "../support/certificates";
import { describeWith, ROOT } from "../support/needs";

describeWith([ROOT], "the certificates' status, run for real in a scratch directory", () => {
    let scratch: string;
    let config: EdgeProxyConfig;
    let bin: string;

    /** certbot's lineage for `name`: a certificate for `names`, valid `days` days, and its key. */
    function lineage(name: string, names: string[], days: number) {
        const live = `${scratch}/letsencrypt/etc/live/${name}`;
        fs.mkdirSync(live, { recursive: true });
        writeSelfSigned(`${live}/fullchain.pem`, `${live}/privkey.pem`, 'Test Issuer "R1"', { names, days });
    }
    /** A lineage for `name` (as lineage) whose PEM the PEM step installed. */
    function served(name: string, names: string[], days: number) {
        lineage(name, names, days);
        const result = runScript(installPemScript(config, { name }, `${name} serial=00`));
        expect(result.status, result.stderr).to.equal(0);
    }
    /** Runs a host script with the stand-in docker first on PATH, in `cwd` (the scratch directory). */
    function runScript(script: string, env: Record<string, string> = {}, cwd = scratch, args: string[] = []) {
        return spawnSync("sh", ["-s", "--", ...args], {
            input: script,
            encoding: "utf8",
            cwd,
            env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env },
        });
    }
    /** The stand-in docker: `run` is certbot, printing $CERTBOT_OUTPUT and exiting $CERTBOT_STATUS; no container runs. */
    function standInDocker() {
        fs.writeFileSync(
            `${bin}/docker`,
            // biome-ignore lint/suspicious/noTemplateCurlyInString: the stand-in's shell script, whose sh expands ${CERTBOT_STATUS:-0}
            ["#!/bin/sh", "case $1 in", '  run) printf \'%s\\n\' "$CERTBOT_OUTPUT"; exit "${CERTBOT_STATUS:-0}" ;;', "  *) exit 0 ;;", "esac"].join("\n"),
            { mode: 0o755 },
        );
    }
    const status = (): StatusFile => parseStatusFile(fs.readFileSync(renewalPaths(config).statusPath, "utf8"));
    const entry = (name: string) => status().certificates.find((c) => c.name === name)!;
    const certificateField = (name: string, field: string) =>
        execFileSync(
            "openssl",
            ["x509", "-noout", `-${field}`, ...(field === "issuer" ? ["-nameopt", "RFC2253"] : []), "-in", `${scratch}/certs/${name}.pem`],
            { encoding: "utf8" },
        )
            .trim()
            .replace(/^[a-zA-Z]+=/, "");
    /** The status's settings, as the renewal job's installation writes them (install-renewal.sh.hbs). */
    function settings(alertDays: number, metricsFile = "") {
        fs.mkdirSync(`${scratch}/letsencrypt/edge-proxy`, { recursive: true });
        fs.writeFileSync(`${scratch}/letsencrypt/edge-proxy/settings`, `alert_days=${alertDays}\nmetrics_file=${metricsFile}\n`);
    }

    beforeEach(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-status-"));
        config = devConfigIn(scratch);
        bin = `${scratch}/bin`;
        for (const dir of ["certs", "letsencrypt", "bin"]) {
            fs.mkdirSync(`${scratch}/${dir}`);
        }
        standInDocker();
    });
    afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

    it("the PEM step writes status.json with each served certificate's names, serial, issuer, expiry and days left", () => {
        lineage("www", ["www.example.com", "example.com"], 40);
        const result = runScript(installPemScript(config, config.sites[0], "www serial=00"));
        expect(result.status, result.stderr).to.equal(0);
        const written = status();
        expect(written.container).to.equal("edge-proxy");
        expect(Date.now() - Date.parse(written.updatedAt)).to.be.within(0, 60_000);
        expect(
            [written.alertLifetimeFraction, written.alertDaysBeforeExpiry],
            "the defaults until the renewal job's installation writes the settings",
        ).to.deep.equal([0.166667, null]);
        const notBefore = new Date(certificateField("www", "startdate")).toISOString().replace(/\.000Z$/, "Z");
        const notAfter = new Date(certificateField("www", "enddate")).toISOString().replace(/\.000Z$/, "Z");
        expect(written.certificates).to.deep.equal([
            {
                name: "www",
                names: ["www.example.com", "example.com"],
                serial: certificateField("www", "serial"),
                issuer: certificateField("www", "issuer"),
                notBefore,
                notAfter,
                lifetimeSeconds: (Date.parse(notAfter) - Date.parse(notBefore)) / 1000,
                daysLeft: written.certificates[0].daysLeft,
                // certbot's rule without renewal information from the CA: two thirds into a lifetime of 10 days or more.
                nextRenewal: new Date(Date.parse(notBefore) + ((Date.parse(notAfter) - Date.parse(notBefore)) * 2) / 3).toISOString().replace(/\.\d{3}Z$/, "Z"),
                nextRenewalSource: "lifetime",
                renewalWindow: null,
                placeholder: false,
                lastAttempt: null,
                result: null,
                failures: 0,
                retryAt: null,
                lastSuccess: null,
                error: "",
                attention: false,
            },
        ]);
        expect(written.certificates[0].issuer, "RFC 2253 escapes the quotes: a backslash and a quote survive JSON").to.equal('CN=Test Issuer \\"R1\\"');
        expect(written.certificates[0].daysLeft, "whole days left: 40 less the seconds since").to.be.oneOf([39, 40]);
        expect(written.attention).to.equal(false);
        expect((fs.statSync(renewalPaths(config).statusPath).mode & 0o777).toString(8)).to.equal("644");
        expect(
            fs.readdirSync(`${scratch}/letsencrypt/edge-proxy`).filter((f) => f.startsWith(".")),
            "no temporary file left",
        ).to.deep.equal([]);
    });

    it("writes a wildcard name as it is, even where a file matches it as a pattern", () => {
        lineage("www", ["*.example.com", "example.com"], 40);
        // In the directory the step runs in, a file the name would match if the shell expanded it.
        fs.writeFileSync(`${scratch}/www.example.com`, "");
        const result = runScript(installPemScript(config, config.sites[0], "www serial=00"));
        expect(result.status, result.stderr).to.equal(0);
        expect(entry("www").names).to.deep.equal(["*.example.com", "example.com"]);
    });

    it("a certificate within alertDaysBeforeExpiry, and a placeholder, need attention", () => {
        lineage("www", ["www.example.com"], 30);
        settings(31);
        writePlaceholderPem(`${scratch}/certs/wiki.pem`, "edge-proxy placeholder for wiki", { days: 30 });
        expect(runScript(installPemScript(config, config.sites[0], "www serial=00")).status).to.equal(0);
        expect(entry("www")).to.include({ attention: true });
        expect(entry("www").daysLeft).to.be.oneOf([29, 30]);
        expect(entry("wiki")).to.include({ placeholder: true, attention: true });
        expect(entry("wiki").names).to.deep.equal([]);
        expect(status().attention).to.equal(true);
        settings(29);
        fs.rmSync(`${scratch}/certs/wiki.pem`);
        expect(runScript(installPemScript(config, config.sites[0], "www serial=00")).status).to.equal(0);
        expect(entry("www")).to.include({ attention: false });
        expect(status()).to.include({ attention: false, alertDaysBeforeExpiry: 29 });
    });

    it("the renewal records each failure with certbot's reason, runs the alert command with the status, and a success resets the count", () => {
        served("www", ["www.example.com"], 60);
        served("wiki", ["wiki.example.com"], 60);
        const metricsFile = `${scratch}/textfile/edge-proxy.prom`;
        settings(14, metricsFile);
        const { alertPath } = renewalPaths(config);
        fs.writeFileSync(alertPath, `cat >${scratch}/alerted; echo alert sent >&2\n`, { mode: 0o600 });
        // certbot's own words, with what must not break the JSON: quotes, a backslash, a tab, a control character.
        const failure = [
            "Certbot failed to authenticate some domains (authenticator: standalone). The Certificate Authority reported these problems:",
            "  Domain: www.example.com",
            "  Type: connection",
            '  Detail: 192.0.2.1: Fetching http://www.example.com/.well-known/acme-challenge/x: "Timeout" \\ during\tconnect\u0001',
            "",
            "Some challenges have failed.",
        ].join("\n");
        const renew = renewScript(config);
        const first = runScript(renew, { CERTBOT_OUTPUT: failure, CERTBOT_STATUS: "1" });
        expect(first.status, first.stderr).to.equal(1);
        expect(first.stderr).to.contain("renewal failed for: www wiki").and.contain("running the alert command").and.contain("alert sent");
        const failed = entry("www");
        expect(failed).to.include({ result: "failed", failures: 1, lastSuccess: null, attention: true });
        expect(failed.error).to.equal(
            '  Domain: www.example.com   Type: connection   Detail: 192.0.2.1: Fetching http://www.example.com/.well-known/acme-challenge/x: "Timeout" \\ during connect',
        );
        expect(Date.now() - Date.parse(failed.lastAttempt!)).to.be.within(0, 60_000);
        expect(fs.readFileSync(`${scratch}/alerted`, "utf8"), "the alert command read the status").to.equal(
            fs.readFileSync(renewalPaths(config).statusPath, "utf8"),
        );

        // The next try waits (2 hours after one failure): a run before then asks certbot nothing, and says why.
        const retryAt = Date.parse(entry("www").retryAt!);
        expect(retryAt - Date.parse(failed.lastAttempt!)).to.equal(2 * 3600_000);
        const early = runScript(renew, { CERTBOT_OUTPUT: "certbot must not run", CERTBOT_STATUS: "0" });
        expect(early.status, early.stderr).to.equal(1);
        expect(early.stderr)
            .to.contain(`not renewing www before ${entry("www").retryAt}: its last 1 tries failed`)
            .and.not.contain("certbot must not run");
        expect(entry("www")).to.include({ result: "failed", failures: 1 });
        // Run by hand once the cause is fixed, it tries at once; two failures wait 4 hours.
        expect(runScript(renew, { CERTBOT_OUTPUT: failure, CERTBOT_STATUS: "1", EDGE_PROXY_RETRY_NOW: "1" }).status).to.equal(1);
        expect(entry("www")).to.include({ result: "failed", failures: 2 });
        expect(Date.parse(entry("www").retryAt!) - Date.parse(entry("www").lastAttempt!)).to.equal(4 * 3600_000);

        fs.rmSync(`${scratch}/alerted`);
        // A run by hand with certbot's arguments (--force-renewal) tries at once too.
        const success = runScript(renew, { CERTBOT_OUTPUT: "Certificate not yet due for renewal", CERTBOT_STATUS: "0" }, scratch, ["--force-renewal"]);
        expect(success.status, success.stderr).to.equal(0);
        const renewed = entry("www");
        expect(renewed).to.include({ result: "ok", failures: 0, error: "", attention: false, placeholder: false });
        expect(renewed.lastSuccess).to.equal(renewed.lastAttempt);
        expect(fs.existsSync(`${scratch}/alerted`), "no alert when nothing needs attention").to.equal(false);

        // node_exporter's textfile format: each metric's HELP and TYPE, then its samples, one per certificate.
        const seconds = (iso: string | null) => String(Date.parse(iso!) / 1000);
        const prom = fs.readFileSync(metricsFile, "utf8");
        const label = (name: string) => `{container="edge-proxy",name="${name}"}`;
        expect(prom.split("\n").filter((line) => line && !line.startsWith("#"))).to.deep.equal([
            ...["wiki", "www"].map((name) => `edge_proxy_certificate_not_after_seconds${label(name)} ${seconds(entry(name).notAfter)}`),
            ...["wiki", "www"].map((name) => `edge_proxy_certificate_not_before_seconds${label(name)} ${seconds(entry(name).notBefore)}`),
            ...["wiki", "www"].map((name) => `edge_proxy_certificate_next_renewal_timestamp_seconds${label(name)} ${seconds(entry(name).nextRenewal)}`),
            ...["wiki", "www"].map((name) => `edge_proxy_certificate_placeholder${label(name)} 0`),
            ...["wiki", "www"].map((name) => `edge_proxy_renewal_last_attempt_timestamp_seconds${label(name)} ${seconds(entry(name).lastAttempt)}`),
            ...["wiki", "www"].map((name) => `edge_proxy_renewal_last_success_timestamp_seconds${label(name)} ${seconds(entry(name).lastSuccess)}`),
            ...["wiki", "www"].map((name) => `edge_proxy_renewal_failures${label(name)} 0`),
            `edge_proxy_renewal_last_run_timestamp_seconds{container="edge-proxy"} ${seconds(fs.readFileSync(`${scratch}/letsencrypt/edge-proxy/last-renewal-run`, "utf8").trim())}`,
        ]);
        const families = prom
            .split("\n")
            .filter((line) => line.startsWith("# TYPE "))
            .map((line) => line.split(" ")[2]);
        expect(families).to.deep.equal([
            "edge_proxy_certificate_not_after_seconds",
            "edge_proxy_certificate_not_before_seconds",
            "edge_proxy_certificate_next_renewal_timestamp_seconds",
            "edge_proxy_certificate_placeholder",
            "edge_proxy_renewal_last_attempt_timestamp_seconds",
            "edge_proxy_renewal_last_success_timestamp_seconds",
            "edge_proxy_renewal_failures",
            "edge_proxy_renewal_last_run_timestamp_seconds",
        ]);
        expect((fs.statSync(metricsFile).mode & 0o777).toString(8)).to.equal("644");
    });

    it("says when the alert command fails, and the renewal job fails with it", () => {
        served("www", ["www.example.com"], 60);
        served("wiki", ["wiki.example.com"], 60);
        fs.writeFileSync(renewalPaths(config).alertPath, "exit 7\n");
        const result = runScript(renewScript(config), { CERTBOT_OUTPUT: "boom", CERTBOT_STATUS: "1" });
        expect(result.status).to.equal(1);
        expect(result.stderr).to.contain("the alert command failed with exit status 7").and.contain("renewal failed for: www wiki (alert)");
        expect(entry("www").error, "without certbot's usual lines, its last words").to.equal("boom");
    });

    it("without an alert command, says where the status is", () => {
        served("www", ["www.example.com"], 60);
        served("wiki", ["wiki.example.com"], 60);
        const result = runScript(renewScript(config), { CERTBOT_OUTPUT: "boom", CERTBOT_STATUS: "1" });
        expect(result.stderr).to.contain(`certificates need attention (see ${renewalPaths(config).statusPath}); no alertCommand is set`);
    });

    it("installs the alert command as root's own file, never in the script's code", () => {
        const command = "curl -fsS --data-binary @- \"https://hooks.example/T0KEN\" # it's 'ours' $HOME `x`";
        const script = installRenewalScript(config, command);
        const body = script.slice(script.indexOf("\nalert=")).split("\n");
        const start = body.indexOf("cat >\"$next\" <<'EDGE_PROXY_EOF'");
        expect(body.slice(start + 1, start + 3), "the command is the body of a quoted here-document").to.deep.equal([command, "EDGE_PROXY_EOF"]);
        expect(() => installRenewalScript(config, "   ")).to.throw("alertCommand is empty");
        expect(() => installRenewalScript(config, "curl\u0000x")).to.throw("alertCommand contains a control character");
        let thrown = "";
        try {
            installRenewalScript(config, `x${"T0KEN".repeat(1000)}`);
        } catch (error) {
            thrown = (error as Error).message;
        }
        expect(thrown).to.contain("at most 4096").and.not.contain("T0KEN");
    });

    describe("certificates of any lifetime, the CA's renewal windows and ACME profiles", () => {
        const HOUR = 3_600_000;
        const DAY = 24 * HOUR;
        const STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";
        /** A time in ms as status.json writes it. */
        const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
        /** Now, in whole seconds (as a certificate's times are), in ms. */
        const wholeSecondNow = () => Math.floor(Date.now() / 1000) * 1000;
        const statusDir = () => `${scratch}/letsencrypt/edge-proxy`;

        /** certbot's lineage for `name`: cert.pem (fullchain.pem alike, no chain) valid from `notBefore` to `notAfter` (ms), with `serial`. */
        function lineageFor(name: string, names: string[], notBefore: number, notAfter: number, serial = "0A1B") {
            const live = `${scratch}/letsencrypt/etc/live/${name}`;
            fs.mkdirSync(live, { recursive: true });
            writeCertificate(`${live}/cert.pem`, `${live}/privkey.pem`, { names, notBefore: new Date(notBefore), notAfter: new Date(notAfter), serial });
            fs.copyFileSync(`${live}/cert.pem`, `${live}/fullchain.pem`);
        }
        /** A lineage (as lineageFor) whose PEM the PEM step installed; the step writes the status. */
        function servedFor(name: string, names: string[], notBefore: number, notAfter: number, serial = "0A1B") {
            lineageFor(name, names, notBefore, notAfter, serial);
            const result = runScript(installPemScript(config, { name }, `${name} serial=${serial}`));
            expect(result.status, result.stderr).to.equal(0);
        }
        /** The PEM step of `name` run again (the PEM unchanged): it writes the status. */
        function rewriteStatus(name = "www"): StatusFile {
            const result = runScript(installPemScript(config, { name }, `${name} serial=00`));
            expect(result.status, result.stderr).to.equal(0);
            return status();
        }
        /** The status's settings as the renewal job's installation writes them for these ACME settings: its own printf, run. */
        function installedSettings(acme: Partial<EdgeProxyConfig["acme"]>) {
            const script = installRenewalScript({ ...config, acme: { ...config.acme, ...acme } });
            const start = script.indexOf("printf 'alert_fraction=");
            const end = script.indexOf('>"$next"', start);
            expect(start >= 0 && end > start, "the installation writes the settings with one printf").to.equal(true);
            fs.mkdirSync(statusDir(), { recursive: true });
            const result = spawnSync("sh", ["-c", `${script.slice(start, end)}>"$next"`], {
                encoding: "utf8",
                env: { ...process.env, next: `${statusDir()}/settings` },
            });
            expect(result.status, result.stderr).to.equal(0);
        }
        /**
         * The stand-in docker, writing each call's arguments as a line of docker.log: `run` is certbot as above,
         * or with `--entrypoint python3` acme.py (its program on stdin, whose first line it keeps in acme.py.head)
         * answered as a CA would: `profile` succeeds for one of $OFFERED_PROFILES and otherwise says which it
         * offers, as acme.py does; `renewal-info` prints, for each certificate, its serial (read from the
         * lineage, as acme.py prints it: no leading zeros) and $ARI_WINDOW (`<start> <end> <retry>`).
         */
        function acmeStandInDocker() {
            fs.writeFileSync(
                `${bin}/docker`,
                [
                    "#!/bin/sh",
                    `printf '%s\\n' "$*" >>${scratch}/docker.log`,
                    '[ "$1" = run ] || exit 0',
                    'case " $* " in',
                    '    *" --entrypoint python3 "*) ;;',
                    `    *) printf '%s\\n' "$CERTBOT_OUTPUT"; exit "$((CERTBOT_STATUS + 0))" ;;`,
                    "esac",
                    `cat >${scratch}/acme.py.in`,
                    `sed -n 1p ${scratch}/acme.py.in >${scratch}/acme.py.head`,
                    'while [ "$#" -gt 0 ] && [ "$1" != - ]; do shift; done',
                    "shift",
                    "case $1 in",
                    "    profile)",
                    '        case " $OFFERED_PROFILES " in *" $3 "*) exit 0 ;; esac',
                    `        printf 'the CA at %s does not offer the ACME profile "%s"; it offers: %s\\n' "$2" "$3" "$(echo $OFFERED_PROFILES | sed 's/ /, /g')"`,
                    "        exit 1 ;;",
                    "    renewal-info)",
                    "        shift 2",
                    '        for cert in "$@"; do',
                    `            file=${scratch}/letsencrypt/etc$(printf '%s' "$cert" | sed 's|^/etc/letsencrypt||')`,
                    `            printf '%s %s\\n' "$(openssl x509 -noout -serial -in "$file" | sed 's/^serial=0*//')" "$ARI_WINDOW"`,
                    "        done ;;",
                    "esac",
                    "",
                ].join("\n"),
                { mode: 0o755 },
            );
        }
        /** The stand-in docker's `run` calls since docker.log was last removed. */
        const dockerRuns = () =>
            fs.existsSync(`${scratch}/docker.log`)
                ? fs
                      .readFileSync(`${scratch}/docker.log`, "utf8")
                      .split("\n")
                      .filter((line) => line.startsWith("run "))
                : [];
        const acmeRuns = () => dockerRuns().filter((line) => line.includes(" --entrypoint python3 "));
        const certbotRuns = () => dockerRuns().filter((line) => !line.includes(" --entrypoint "));

        it("a 6-day certificate just issued needs no attention; with less than a sixth of its lifetime left, it does", () => {
            const now = wholeSecondNow();
            servedFor("www", ["www.example.com"], now - HOUR, now + 6 * DAY - HOUR);
            expect(entry("www")).to.include({
                notBefore: iso(now - HOUR),
                notAfter: iso(now + 6 * DAY - HOUR),
                lifetimeSeconds: 6 * 86_400,
                daysLeft: 5,
                // certbot's rule for a lifetime under 10 days: half of it.
                nextRenewal: iso(now - HOUR + 3 * DAY),
                nextRenewalSource: "lifetime",
                placeholder: false,
                attention: false,
            });
            expect(status()).to.include({ attention: false, alertLifetimeFraction: 0.166667, alertDaysBeforeExpiry: null });

            // 23 hours left of 6 days: less than a sixth (a day), though not a day before expiry.
            servedFor("www", ["www.example.com"], now - 5 * DAY - HOUR, now + 23 * HOUR, "0A1C");
            expect(entry("www")).to.include({ lifetimeSeconds: 6 * 86_400, daysLeft: 0, attention: true });
            expect(status().attention).to.equal(true);
            // 25 hours left: more than a sixth.
            servedFor("www", ["www.example.com"], now - 5 * DAY + HOUR, now + 25 * HOUR, "0A1D");
            expect(entry("www")).to.include({ daysLeft: 1, attention: false });

            // alertLifetimeFraction 0.1, as the renewal job's installation writes it: 23 hours of 6 days (16%) is no matter.
            installedSettings({ alertLifetimeFraction: 0.1 });
            servedFor("www", ["www.example.com"], now - 5 * DAY - HOUR, now + 23 * HOUR, "0A1E");
            expect(entry("www")).to.include({ attention: false });
            expect(status()).to.include({ attention: false, alertLifetimeFraction: 0.1, alertDaysBeforeExpiry: null });
            // 14 hours: less than a tenth.
            servedFor("www", ["www.example.com"], now - 5 * DAY - 10 * HOUR, now + 14 * HOUR, "0A1F");
            expect(entry("www")).to.include({ attention: true });
        });

        it("a 90-day certificate with 20 days left needs attention only by alertDaysBeforeExpiry, when it is set; with 14 left, by its lifetime", () => {
            const now = wholeSecondNow();
            servedFor("www", ["www.example.com"], now - 70 * DAY, now + 20 * DAY);
            const www = entry("www");
            expect(www).to.include({ lifetimeSeconds: 90 * 86_400, attention: false, nextRenewalSource: "lifetime" });
            expect(www.daysLeft).to.be.oneOf([19, 20]);
            // certbot's rule for a lifetime of 10 days or more: two thirds of it (here, already past: due).
            expect(www.nextRenewal).to.equal(iso(now - 70 * DAY + 60 * DAY));

            installedSettings({ alertDaysBeforeExpiry: 30 });
            expect(rewriteStatus()).to.include({ attention: true, alertDaysBeforeExpiry: 30 });
            expect(entry("www").attention).to.equal(true);
            installedSettings({ alertDaysBeforeExpiry: 14 });
            expect(rewriteStatus()).to.include({ attention: false, alertDaysBeforeExpiry: 14 });
            installedSettings({ alertDaysBeforeExpiry: 0 });
            expect(rewriteStatus(), "0: the lifetime's fraction alone").to.include({ attention: false, alertDaysBeforeExpiry: null });

            // 14 days left of 90: less than a sixth (15 days), with alertDaysBeforeExpiry off.
            servedFor("www", ["www.example.com"], now - 76 * DAY, now + 14 * DAY, "0A1C");
            expect(entry("www")).to.include({ attention: true });
        });

        it("gives the next renewal from the CA's window when its .ari names the served certificate (leading zeros aside), else by the lifetime", () => {
            const now = wholeSecondNow();
            const metricsFile = `${scratch}/textfile/edge-proxy.prom`;
            installedSettings({ metricsFile });
            servedFor("www", ["www.example.com"], now - DAY, now + 89 * DAY, "0ABC");
            const [start, end, retry] = [now + 50 * DAY, now + 52 * DAY, now + 6 * HOUR].map((ms) => ms / 1000);
            const ari = (serial: string, from: number | string, to: number | string) =>
                fs.writeFileSync(`${statusDir()}/www.ari`, `serial=${serial}\nstart=${from}\nend=${to}\nretry=${retry}\n`);
            const metric = (family: string) =>
                fs
                    .readFileSync(metricsFile, "utf8")
                    .split("\n")
                    .find((line) => line.startsWith(`${family}{`));

            ari("ABC", start, end);
            const fromWindow = rewriteStatus().certificates[0];
            expect(fromWindow).to.deep.include({
                serial: "0ABC",
                nextRenewal: iso(start * 1000),
                nextRenewalSource: "ari",
                renewalWindow: { start: iso(start * 1000), end: iso(end * 1000) },
            });
            expect(metric("edge_proxy_certificate_next_renewal_timestamp_seconds")).to.equal(
                `edge_proxy_certificate_next_renewal_timestamp_seconds{container="edge-proxy",name="www"} ${start}`,
            );
            expect(metric("edge_proxy_certificate_not_before_seconds")).to.equal(
                `edge_proxy_certificate_not_before_seconds{container="edge-proxy",name="www"} ${(now - DAY) / 1000}`,
            );

            // The window of another certificate (the one served before a renewal, say): certbot's rule, two thirds of 90 days.
            ari("ABD", start, end);
            const byLifetime = { nextRenewal: iso(now - DAY + 60 * DAY), nextRenewalSource: "lifetime", renewalWindow: null };
            expect(rewriteStatus().certificates[0]).to.deep.include(byLifetime);
            expect(metric("edge_proxy_certificate_next_renewal_timestamp_seconds")).to.equal(
                `edge_proxy_certificate_next_renewal_timestamp_seconds{container="edge-proxy",name="www"} ${(now - DAY + 60 * DAY) / 1000}`,
            );
            // The CA gave no window for it.
            ari("ABC", "-", "-");
            expect(rewriteStatus().certificates[0]).to.deep.include(byLifetime);
        });

        it("the renewal job asks the CA for the renewal windows in one container, again only for a new certificate or after the CA's Retry-After", () => {
            acmeStandInDocker();
            const now = wholeSecondNow();
            const s = now / 1000;
            servedFor("www", ["www.example.com"], now - HOUR, now + 6 * DAY - HOUR, "0ABC");
            servedFor("wiki", ["wiki.example.com"], now - DAY, now + 89 * DAY, "0DEF");
            const [start, end, retry] = [s + 2 * 86_400, s + 2 * 86_400 + 6 * 3600, s + 6 * 3600];
            const env = { CERTBOT_OUTPUT: "Certificate not yet due for renewal", ARI_WINDOW: `${start} ${end} ${retry}` };
            const renew = renewScript(config);
            const ariFile = (name: string) => fs.readFileSync(`${statusDir()}/${name}.ari`, "utf8");
            const runRenewal = () => {
                fs.rmSync(`${scratch}/docker.log`, { force: true });
                const result = runScript(renew, env);
                expect(result.status, result.stderr).to.equal(0);
                expect(certbotRuns().length, "certbot ran for each certificate").to.equal(2);
            };
            const asked = (...names: string[]) => ` - renewal-info ${STAGING} ${names.map((name) => `/etc/letsencrypt/live/${name}/cert.pem`).join(" ")}`;

            runRenewal();
            expect(acmeRuns()).to.have.length(1);
            expect(acmeRuns()[0])
                .to.contain(`-v ${scratch}/letsencrypt/etc:/etc/letsencrypt:ro`)
                .and.contain(" certbot/certbot:v5.8.0 - ")
                .and.satisfy((line: string) => line.endsWith(asked("www", "wiki")));
            expect(fs.readFileSync(`${scratch}/acme.py.head`, "utf8"), "acme.py on its stdin").to.equal(
                `${fs.readFileSync(path.join(__dirname, "..", "..", "..", "templates", "host", "acme.py"), "utf8").split("\n")[0]}\n`,
            );
            expect(ariFile("www")).to.equal(`serial=ABC\nstart=${start}\nend=${end}\nretry=${retry}\n`);
            expect(ariFile("wiki")).to.equal(`serial=DEF\nstart=${start}\nend=${end}\nretry=${retry}\n`);
            for (const name of ["www", "wiki"]) {
                expect(entry(name), name).to.deep.include({
                    nextRenewal: iso(start * 1000),
                    nextRenewalSource: "ari",
                    renewalWindow: { start: iso(start * 1000), end: iso(end * 1000) },
                });
            }

            // Before the CA's Retry-After, the same certificates: certbot runs, the CA is not asked again.
            runRenewal();
            expect(acmeRuns()).to.deep.equal([]);
            expect(entry("www").nextRenewalSource).to.equal("ari");

            // wiki's Retry-After has passed: wiki alone is asked.
            fs.writeFileSync(`${statusDir()}/wiki.ari`, ariFile("wiki").replace(`retry=${retry}`, `retry=${s - 60}`));
            runRenewal();
            expect(acmeRuns()).to.have.length(1);
            expect(acmeRuns()[0].endsWith(asked("wiki"))).to.equal(true);
            expect(ariFile("wiki")).to.contain(`retry=${retry}\n`);

            // A new certificate for www (certbot renewed it): www alone is asked, and the status follows its window.
            lineageFor("www", ["www.example.com"], now, now + 6 * DAY, "0BCD");
            runRenewal();
            expect(acmeRuns()).to.have.length(1);
            expect(acmeRuns()[0].endsWith(asked("www"))).to.equal(true);
            expect(ariFile("www")).to.equal(`serial=BCD\nstart=${start}\nend=${end}\nretry=${retry}\n`);
            expect(entry("www")).to.include({ serial: "0BCD", nextRenewalSource: "ari", nextRenewal: iso(start * 1000) });
        });

        it("after failures the renewal job waits 2, 4, 8, 16 hours, then a day at most, before it runs certbot again", () => {
            const now = wholeSecondNow();
            servedFor("www", ["www.example.com"], now - DAY, now + 89 * DAY);
            servedFor("wiki", ["wiki.example.com"], now - DAY, now + 89 * DAY);
            /** The attempts as record_attempt keeps them: `failures` in a row, the last one `ago` ms before now. */
            const failedBefore = (failures: number, ago: number) =>
                fs.writeFileSync(
                    `${statusDir()}/www.renewal`,
                    `attempt=${(now - ago) / 1000}\nresult=failed\nfailures=${failures}\nsuccess=\nerror=Type: connection\n`,
                );
            for (const [failures, hours] of [
                [1, 2],
                [2, 4],
                [3, 8],
                [4, 16],
                [5, 24],
                [9, 24],
            ]) {
                failedBefore(failures, 0);
                expect(rewriteStatus("wiki").certificates.find((c) => c.name === "www")?.retryAt, `${failures} failures`).to.equal(iso(now + hours * HOUR));
            }
            const renew = renewScript(config);
            // Five failures, the last 23 hours ago: not yet.
            failedBefore(5, 23 * HOUR);
            const waiting = runScript(renew, { CERTBOT_OUTPUT: "Certificate not yet due for renewal" });
            expect(waiting.status, waiting.stderr).to.equal(1);
            expect(waiting.stderr)
                .to.contain(`not renewing www before ${iso(now + HOUR)}: its last 5 tries failed`)
                .and.contain("renewal failed for: www");
            expect(entry("www")).to.include({ failures: 5, result: "failed" });
            // 25 hours ago: a day has passed (not the 32 hours five doublings would make), certbot runs, and succeeds.
            failedBefore(5, 25 * HOUR);
            const retried = runScript(renew, { CERTBOT_OUTPUT: "Certificate not yet due for renewal" });
            expect(retried.status, retried.stderr).to.equal(0);
            expect(entry("www")).to.include({ failures: 0, result: "ok", retryAt: null, attention: false });
        });

        it("a profile the CA does not offer fails the certificate step before any order: the CA's words on stderr and in status.json, certbot never run", () => {
            acmeStandInDocker();
            config.acme.profile = "nope";
            // What the preparation made: the placeholder, and edge-proxy's directory (the steps' ledger is in it).
            writePlaceholderPem(`${scratch}/certs/www.pem`, "edge-proxy placeholder for www", { days: 30 });
            fs.mkdirSync(statusDir(), { recursive: true });
            const result = runScript(issueCertificateScript(config, config.sites[0]), {
                OFFERED_PROFILES: "classic shortlived",
                CERTBOT_OUTPUT: "certbot must not run",
            });
            const message = `the CA at ${STAGING} does not offer the ACME profile "nope"; it offers: classic, shortlived`;
            expect(result.status, result.stderr).to.equal(1);
            expect(result.stderr)
                .to.contain(message)
                .and.contain("certificate www not ordered: the CA does not offer the ACME profile nope")
                .and.not.contain("certbot must not run");
            expect(result.stdout, "no certificate line").to.equal("");
            expect(entry("www")).to.include({ result: "failed", failures: 1, error: message, placeholder: true, attention: true });
            // One docker run: the question, neither the pre-flight (acmePreflight is on) nor certbot.
            expect(dockerRuns()).to.have.length(1);
            expect(acmeRuns()).to.have.length(1);
            expect(acmeRuns()[0].endsWith(` - profile ${STAGING} nope`)).to.equal(true);
            expect(fs.existsSync(`${statusDir()}/www.issued`), "nothing recorded as issued").to.equal(false);
        });

        it("a profile the CA offers is asked about only when certbot will order; certbot orders with the site's profile, in place of acmeProfile's", () => {
            acmeStandInDocker();
            config.acme.preflight = false;
            config.acme.profile = "classic";
            const site = { ...config.sites[0], acmeProfile: "shortlived" };
            const env = { OFFERED_PROFILES: "classic shortlived", CERTBOT_OUTPUT: "Renewing an existing certificate" };
            const now = wholeSecondNow();
            const issued = () => fs.readFileSync(`${statusDir()}/www.issued`, "utf8");
            const run = (script: string) => {
                fs.rmSync(`${scratch}/docker.log`, { force: true });
                const result = runScript(script, env);
                expect(result.status, result.stderr).to.equal(0);
                return result;
            };

            // A 6-day certificate past half its lifetime: certbot will order.
            lineageFor("www", site.domains, now - 4 * DAY, now + 2 * DAY);
            const first = run(issueCertificateScript(config, site));
            expect(dockerRuns()).to.have.length(2);
            expect(dockerRuns()[0].endsWith(` - profile ${STAGING} shortlived`), dockerRuns()[0]).to.equal(true);
            expect(dockerRuns()[1]).to.contain(" certonly ").and.contain(" --required-profile shortlived ").and.not.contain("classic");
            expect(issued()).to.equal(`${STAGING} ecdsa www.example.com,example.com profile:shortlived\n`);
            expect(first.stdout).to.match(/^www serial=0A1B notAfter=\S+ issuer=CN=Test R1\n$/);

            // A certificate that is not due, issued for what is asked: certbot keeps it, and the CA is not asked.
            lineageFor("www", site.domains, now - HOUR, now + 6 * DAY - HOUR, "0A1C");
            run(issueCertificateScript(config, site));
            expect(acmeRuns()).to.deep.equal([]);
            expect(certbotRuns()).to.have.length(1);
            expect(certbotRuns()[0]).to.contain(" --required-profile shortlived ").and.not.contain("--force-renewal");

            // Without a profile: no question, no --required-profile, and the lineage issued with one is issued again.
            delete config.acme.profile;
            const plain = run(issueCertificateScript(config, config.sites[0]));
            expect(plain.stderr).to.contain("certificate www was issued for something else: re-issuing");
            expect(acmeRuns()).to.deep.equal([]);
            expect(certbotRuns()).to.have.length(1);
            expect(certbotRuns()[0]).to.contain(" --force-renewal").and.not.contain("--required-profile");
            expect(issued()).to.equal(`${STAGING} ecdsa www.example.com,example.com\n`);
        });
    });
});
