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
import { installPemScript, installRenewalScript, renewalPaths, renewScript } from "../../components/hostScripts";
import { parseStatusFile, type StatusFile } from "../../components/status/statusFile";
import { writePlaceholderPem, writeSelfSigned } from "../../dev/haproxy";
import { devConfigIn } from "../../dev/hostScripts";
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
    function runScript(script: string, env: Record<string, string> = {}, cwd = scratch) {
        return spawnSync("sh", ["-s"], { input: script, encoding: "utf8", cwd, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env } });
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
        expect(written.alertDaysBeforeExpiry, "the default until the renewal job's installation writes the settings").to.equal(14);
        const notAfter = new Date(certificateField("www", "enddate")).toISOString().replace(/\.000Z$/, "Z");
        expect(written.certificates).to.deep.equal([
            {
                name: "www",
                names: ["www.example.com", "example.com"],
                serial: certificateField("www", "serial"),
                issuer: certificateField("www", "issuer"),
                notAfter,
                daysLeft: written.certificates[0].daysLeft,
                placeholder: false,
                lastAttempt: null,
                result: null,
                failures: 0,
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

        expect(runScript(renew, { CERTBOT_OUTPUT: failure, CERTBOT_STATUS: "1" }).status).to.equal(1);
        expect(entry("www")).to.include({ result: "failed", failures: 2 });

        fs.rmSync(`${scratch}/alerted`);
        const success = runScript(renew, { CERTBOT_OUTPUT: "Certificate not yet due for renewal", CERTBOT_STATUS: "0" });
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
            ...["wiki", "www"].map((name) => `edge_proxy_certificate_placeholder${label(name)} 0`),
            ...["wiki", "www"].map((name) => `edge_proxy_renewal_last_attempt_timestamp_seconds${label(name)} ${seconds(entry(name).lastAttempt)}`),
            ...["wiki", "www"].map((name) => `edge_proxy_renewal_last_success_timestamp_seconds${label(name)} ${seconds(entry(name).lastSuccess)}`),
            ...["wiki", "www"].map((name) => `edge_proxy_renewal_failures${label(name)} 0`),
        ]);
        const families = prom
            .split("\n")
            .filter((line) => line.startsWith("# TYPE "))
            .map((line) => line.split(" ")[2]);
        expect(families).to.deep.equal([
            "edge_proxy_certificate_not_after_seconds",
            "edge_proxy_certificate_placeholder",
            "edge_proxy_renewal_last_attempt_timestamp_seconds",
            "edge_proxy_renewal_last_success_timestamp_seconds",
            "edge_proxy_renewal_failures",
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
});
