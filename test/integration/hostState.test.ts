/**
 * Drift detection on the host, as root: the ledger the steps write and the observation reads, run for real
 * in a scratch directory (the steps' own scripts, `docker` a stand-in; the preparation records under
 * /var/lib/edge-proxy). Its pure pieces: test/unit/hostState.test.ts.
 */

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import type { EdgeProxyConfig } from "../../components/config/types";
import { renderHaproxyConfig } from "../../components/haproxy/render";
import { hostStatePath } from "../../components/hostPaths";
import { cronFileName, deliverConfigScript, installRenewalScript, prepareHostScript, renewalPaths } from "../../components/hostScripts";
import { type HostObservation, NO_RECORD, observeHostScript, parseObservation, withRepairToken } from "../../components/hostState";
import { writeSelfSigned } from "../../dev/haproxy";
import { devConfigIn } from "../../dev/hostScripts";
import { describeWith, ROOT } from "../support/needs";

describeWith([ROOT], "drift: the ledger and the observation, run for real in a scratch directory", () => {
    let scratch: string;
    let config: EdgeProxyConfig;
    // `docker` answers the configuration check, and `docker inspect` as for a container that is not there.
    const DOCKER_STANDIN = '#!/bin/sh\ncase "$1" in inspect|image) exit 1 ;; esac\nexit 0\n';

    function run(script: string): { status: number | null; stdout: string; stderr: string } {
        return spawnSync("sh", ["-s"], { input: script, encoding: "utf8", env: { PATH: `${scratch}/bin:${process.env.PATH}` }, timeout: 20_000 });
    }
    function observe(): HostObservation {
        const result = run(observeHostScript(config));
        expect(result.status, result.stderr).to.equal(0);
        return parseObservation(result.stdout);
    }

    beforeEach(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-drift-"));
        config = devConfigIn(scratch);
        const paths = renewalPaths(config);
        // The renewal job's files under the scratch directory too.
        config.haproxy.containerName = `drift-${path.basename(scratch).replace(/[^a-zA-Z0-9]/g, "")}`;
        expect(paths.scriptPath.startsWith("/usr/local/sbin/")).to.equal(true);
        fs.mkdirSync(`${scratch}/bin`);
        fs.writeFileSync(`${scratch}/bin/docker`, DOCKER_STANDIN, { mode: 0o755 });
    });
    afterEach(() => {
        const paths = renewalPaths(config);
        fs.rmSync(paths.scriptPath, { force: true });
        fs.rmSync(paths.cronPath, { force: true });
        fs.rmSync(hostStatePath(config.haproxy.containerName), { recursive: true, force: true });
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    it("on an empty host: every directory, certificate and record missing, the container too", () => {
        const observed = observe();
        expect(observed.prepare.drift).to.contain(`${scratch}/cfg is missing`).and.contain("www.pem, which HAProxy needs, is missing");
        expect(observed.config).to.deep.equal({ token: "", drift: NO_RECORD });
        expect(observed["certbot-www"].drift).to.contain("certbot has no certificate www");
        expect(observed.container).to.deep.equal({ token: "", drift: `container ${config.haproxy.containerName} is missing` });
    });

    it("after the steps ran: their tokens and no drift; a file edited or removed by hand is named, with its step", () => {
        const files = renderHaproxyConfig(config);
        for (const [script, token] of [
            [prepareHostScript(config), "aa"],
            [deliverConfigScript(config, files), "bb"],
            [installRenewalScript(config), "cc"],
        ]) {
            const result = run(withRepairToken(script, token));
            expect(result.status, result.stderr).to.equal(0);
        }
        let observed = observe();
        expect([observed.prepare, observed.config, observed.renewal]).to.deep.equal([
            { token: "aa", drift: "" },
            { token: "bb", drift: "" },
            { token: "cc", drift: "" },
        ]);
        fs.appendFileSync(`${scratch}/cfg/haproxy.cfg`, "# by hand\n");
        fs.rmSync(renewalPaths(config).cronPath);
        observed = observe();
        expect(observed.config).to.deep.equal({ token: "bb", drift: `${scratch}/cfg/haproxy.cfg was changed` });
        expect(observed.renewal).to.deep.equal({ token: "cc", drift: `${renewalPaths(config).cronPath} is missing` });
        // The delivery restores the edited live release in place, and records itself again.
        const again = run(withRepairToken(deliverConfigScript(config, files), "dd"));
        expect(again.status, again.stderr).to.equal(0);
        expect(again.stderr).to.contain("was changed on the host: restoring it");
        expect(fs.readFileSync(`${scratch}/cfg/haproxy.cfg`, "utf8")).to.equal(files.cfg);
        expect(fs.readdirSync(`${scratch}/cfg/releases`).filter((name) => name.startsWith("."))).to.deep.equal([]);
        expect(observe().config).to.deep.equal({ token: "dd", drift: "" });
    });

    it("keeps the cron files of edge.proxy, edge-proxy and edge_proxy apart, and moves a dotted name's older file only if it is this job's", () => {
        expect(new Set(["edge.proxy", "edge-proxy", "edge_proxy", "edge_.proxy", "edge._proxy"].map((name) => cronFileName(name))).size).to.equal(5);
        expect(cronFileName("edge-proxy"), "names without '.' or '_' keep their file").to.equal("edge-proxy-renew-edge-proxy");
        const suffix = config.haproxy.containerName.slice("drift-".length);
        config.haproxy.containerName = `drift.${suffix}`;
        const paths = renewalPaths(config);
        // What an older edge-proxy installed for this container, under the name another container's job would have.
        fs.writeFileSync(paths.legacyCronPath!, `17 3 * * * root ${paths.scriptPath} >>/dev/null 2>&1\n`);
        fs.mkdirSync(`${scratch}/letsencrypt`);
        try {
            const result = run(installRenewalScript(config));
            expect(result.status, result.stderr).to.equal(0);
            expect(fs.existsSync(paths.legacyCronPath!), "the older file of this job").to.equal(false);
            expect(fs.readFileSync(paths.cronPath, "utf8")).to.contain(`root ${paths.scriptPath} `);
            // The same name now holding another container's job (drift-<suffix>): left alone.
            fs.writeFileSync(paths.legacyCronPath!, `17 3 * * * root ${paths.scriptPath.replace(".", "-")} >>/dev/null 2>&1\n`);
            expect(run(installRenewalScript(config)).status).to.equal(0);
            expect(fs.existsSync(paths.legacyCronPath!), "another job's file").to.equal(true);
        } finally {
            fs.rmSync(paths.legacyCronPath!, { force: true });
        }
    });

    it("serves certbot's certificate, not a placeholder, where a lineage exists and the PEM is missing (certsDir moved, a PEM removed)", () => {
        const live = `${scratch}/letsencrypt/etc/live/www`;
        fs.mkdirSync(live, { recursive: true });
        writeSelfSigned(`${live}/fullchain.pem`, `${live}/privkey.pem`, "www.example.com", { days: 2 });
        const result = run(prepareHostScript(config));
        expect(result.status, result.stderr).to.equal(0);
        expect(fs.readFileSync(`${scratch}/certs/www.pem`, "utf8")).to.equal(
            fs.readFileSync(`${live}/fullchain.pem`, "utf8") + fs.readFileSync(`${live}/privkey.pem`, "utf8"),
        );
        expect(observe()["pem-www"]).to.deep.equal({ token: "", drift: "" });
        fs.writeFileSync(`${scratch}/certs/www.pem`, "not the lineage's\n");
        expect(observe()["pem-www"].drift).to.equal(`${scratch}/certs/www.pem is not certbot's certificate www`);
    });
});
