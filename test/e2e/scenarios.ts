/**
 * What an operator changes on a converged stack, one `pulumi up` each, and what that `up` must do: the
 * same list drives the stand-in engine (test/e2e/proxy.test.ts) and the real one (test/engine/), so the
 * two are held to one expectation and a stand-in that drifts from the engine fails.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { run } from "../../dev/env/command";
import { CERTBOT_IMAGE_RETAGGED, HAPROXY_IMAGE_VARIANT } from "../../dev/env/images";
import {
    CONTAINER,
    type Environment,
    PORTS,
    RENEW_CRON,
    RENEW_SCRIPT,
    type StackValues,
    TICKET_KEYS_CRON,
    TICKET_KEYS_DIR,
    TICKET_KEYS_SCRIPT,
} from "../../dev/environment";

/** One change and its expected effect. */
export interface Scenario {
    /** What the operator does. */
    title: string;
    /** The change, applied on top of every earlier scenario's. */
    change: (values: StackValues, env: Environment) => void;
    /** Every step of the `up`, `<create|update|replace|delete> <resource>`, sorted. */
    operations: string[];
    /** Sites whose served certificate must be new afterwards; every other site keeps its own. */
    newCertificates: string[];
    /** ACME orders the `up` places. */
    orders: number;
    /**
     * How often HAProxy reloads during the `up` (counted where the container is not replaced): a new
     * haproxy.cfg or map reloads once, a certificate goes into the running HAProxy (2.2+) without one.
     */
    reloads?: number;
    /** What else must hold on the host afterwards. */
    check?: (values: StackValues, env: Environment) => void;
}

/** The configuration and certificates directories moved elsewhere: the new ones served from the start, the old ones emptied. */
const MOVED = "-moved";

/** Every host step: each names one of the directories (in its paths, or the host lock's and the ledger's). */
export const STEPS_NAMING_A_DIRECTORY = [
    "update e2e-cert-site-a-certbot",
    "update e2e-cert-site-a-pem",
    "update e2e-cert-site-b-certbot",
    "update e2e-cert-site-b-pem",
    "update e2e-certificates-reload",
    "update e2e-config-delivery",
    "update e2e-prepare-directories",
    "update e2e-renewal-cron",
];
/** configDir and certsDir moved: those steps, and the container with its new mounts. */
const HOST_DIRECTORIES_MOVED = ["replace e2e-haproxy-container", ...STEPS_NAMING_A_DIRECTORY];

/** certbot's data in the new certbotDataDir, with the renewal job's status; the old one gone, its secrets with it. */
function expectDataDirMoved(now: string, before: string): void {
    expect(fs.readdirSync(`${now}/etc/live`).sort(), "certbot's lineages in the new certbotDataDir").to.include.members(["site-a", "site-b"]);
    expect(fs.existsSync(`${now}/edge-proxy/status.json`), "the status in the new certbotDataDir").to.equal(true);
    expect(fs.existsSync(before), `the former certbotDataDir ${before}`).to.equal(false);
}

/** Every served PEM's and configuration directory's own: the old ones gone, nothing of them left behind. */
function expectDirectories(values: StackValues, gone: string[]): void {
    expect(fs.existsSync(String(values.certsDir)) && fs.existsSync(String(values.configDir)), "the configured directories").to.equal(true);
    expect(
        gone.filter((dir) => fs.existsSync(dir)),
        "directories no longer configured (their PEMs hold private keys)",
    ).to.deep.equal([]);
}

const siteB = (values: StackValues) => values.sites.find((site) => site.name === "site-b")!;

export const SCENARIOS: Scenario[] = [
    {
        title: "a domain added to a site",
        change: (values) => {
            siteB(values).domains.push("www.b.e2e.test");
        },
        // The preparation runs too: a placeholder names its site's domains (it writes none: site-b has its PEM).
        operations: [
            "update e2e-cert-site-b-certbot",
            "update e2e-cert-site-b-pem",
            "update e2e-certificates-reload",
            "update e2e-config-delivery",
            "update e2e-prepare-directories",
        ],
        newCertificates: ["site-b"],
        orders: 1,
        reloads: 1,
    },
    {
        title: "acmeEmail changed",
        change: (values) => {
            values.acmeEmail = "ops@e2e.test";
        },
        // certbot runs again (its script changed) and keeps the valid lineage: same serial, so no PEM
        // step runs and nothing is reloaded.
        operations: ["update e2e-cert-site-a-certbot", "update e2e-cert-site-b-certbot"],
        newCertificates: [],
        orders: 0,
        reloads: 0,
    },
    {
        title: "a backend added to a site",
        change: (values, env) => {
            values.sites[0].backends.push(`${env.bridge}:${PORTS.webA}`);
        },
        operations: ["update e2e-config-delivery"],
        newCertificates: [],
        orders: 0,
        reloads: 1,
    },
    {
        title: "a site added",
        change: (values, env) => {
            values.sites.push({ name: "site-d", domains: ["d.e2e.test"], backends: [`${env.bridge}:${PORTS.webB}`] });
        },
        operations: [
            "create e2e-cert-site-d-certbot",
            "create e2e-cert-site-d-pem",
            "update e2e-certificates-reload",
            "update e2e-config-delivery",
            "update e2e-prepare-directories",
            "update e2e-renewal-cron",
        ],
        newCertificates: ["site-d"],
        orders: 1,
        reloads: 1,
    },
    {
        title: "a site removed",
        change: (values) => {
            values.sites = values.sites.filter((site) => site.name !== "site-d");
        },
        operations: [
            "delete e2e-cert-site-d-certbot",
            "delete e2e-cert-site-d-pem",
            "update e2e-certificates-reload",
            "update e2e-config-delivery",
            "update e2e-prepare-directories",
            "update e2e-renewal-cron",
        ],
        newCertificates: [],
        orders: 0,
        reloads: 1,
    },
    {
        title: "a new haproxyImage tag",
        change: (values) => {
            values.haproxyImage = HAPROXY_IMAGE_VARIANT;
        },
        // The container is replaced (deleted first: its ports); the reload and the renewal job check with
        // the running container's image, so they do not run again.
        operations: ["replace e2e-haproxy-container", "replace e2e-image", "update e2e-config-delivery"],
        newCertificates: [],
        orders: 0,
    },
    {
        title: "a domain removed from a site",
        change: (values) => {
            siteB(values).domains = siteB(values).domains.filter((domain) => domain !== "www.b.e2e.test");
        },
        // The lineage was asked for other names: certbot issues it again, for the names left.
        operations: [
            "update e2e-cert-site-b-certbot",
            "update e2e-cert-site-b-pem",
            "update e2e-certificates-reload",
            "update e2e-config-delivery",
            "update e2e-prepare-directories",
        ],
        newCertificates: ["site-b"],
        orders: 1,
    },
    {
        title: "a backend removed from a site",
        change: (values) => {
            values.sites[0].backends.pop();
        },
        operations: ["update e2e-config-delivery"],
        newCertificates: [],
        orders: 0,
    },
    {
        title: "configDir and certsDir moved",
        change: (values) => {
            values.configDir = `${values.configDir}${MOVED}`;
            values.certsDir = `${values.certsDir}${MOVED}`;
        },
        // The preparation serves certbot's certificates in the new directory before the new container starts;
        // every step that names a directory runs again (certbot keeps its valid lineages: no order).
        operations: HOST_DIRECTORIES_MOVED,
        newCertificates: [],
        orders: 0,
        check: (values) => expectDirectories(values, [String(values.configDir).slice(0, -MOVED.length), String(values.certsDir).slice(0, -MOVED.length)]),
    },
    {
        title: "configDir and certsDir moved back",
        change: (values) => {
            values.configDir = String(values.configDir).slice(0, -MOVED.length);
            values.certsDir = String(values.certsDir).slice(0, -MOVED.length);
        },
        operations: HOST_DIRECTORIES_MOVED,
        newCertificates: [],
        orders: 0,
        check: (values) => expectDirectories(values, [`${values.configDir}${MOVED}`, `${values.certsDir}${MOVED}`]),
    },
    {
        title: "certbotDataDir moved",
        change: (values) => {
            values.certbotDataDir = `${values.certbotDataDir}${MOVED}`;
        },
        // certbot's data moves along (no order); every step that names the directory runs again; the old
        // one, its secrets with it, is gone once the reload ran.
        operations: STEPS_NAMING_A_DIRECTORY,
        newCertificates: [],
        orders: 0,
        check: (values) => expectDataDirMoved(String(values.certbotDataDir), String(values.certbotDataDir).slice(0, -MOVED.length)),
    },
    {
        title: "certbotDataDir moved back",
        change: (values) => {
            values.certbotDataDir = String(values.certbotDataDir).slice(0, -MOVED.length);
        },
        operations: STEPS_NAMING_A_DIRECTORY,
        newCertificates: [],
        orders: 0,
        check: (values) => expectDataDirMoved(String(values.certbotDataDir), `${values.certbotDataDir}${MOVED}`),
    },
    {
        title: "a site renamed",
        change: (values) => {
            siteB(values).name = "site-e";
        },
        // A new name is a new certbot lineage (one order) and a new PEM; the old name's PEM step removes its PEM.
        operations: [
            "create e2e-cert-site-e-certbot",
            "create e2e-cert-site-e-pem",
            "delete e2e-cert-site-b-certbot",
            "delete e2e-cert-site-b-pem",
            "update e2e-certificates-reload",
            "update e2e-config-delivery",
            "update e2e-prepare-directories",
            "update e2e-renewal-cron",
        ],
        newCertificates: ["site-e"],
        orders: 1,
        check: (values) => expect(fs.readdirSync(String(values.certsDir)).sort(), "the served PEMs").to.deep.equal(["site-a.pem", "site-e.pem"]),
    },
    {
        title: "the name back",
        change: (values) => {
            values.sites.find((site) => site.name === "site-e")!.name = "site-b";
        },
        // certbot's lineage site-b is still on the host, valid: no order, its certificate served again.
        operations: [
            "create e2e-cert-site-b-certbot",
            "create e2e-cert-site-b-pem",
            "delete e2e-cert-site-e-certbot",
            "delete e2e-cert-site-e-pem",
            "update e2e-certificates-reload",
            "update e2e-config-delivery",
            "update e2e-prepare-directories",
            "update e2e-renewal-cron",
        ],
        newCertificates: ["site-b"],
        orders: 0,
    },
    {
        title: "acmeKeyType changed",
        change: (values) => {
            values.acmeKeyType = "rsa";
        },
        // Every lineage was asked for another key type: each is issued again, in place.
        operations: [
            "update e2e-cert-site-a-certbot",
            "update e2e-cert-site-a-pem",
            "update e2e-cert-site-b-certbot",
            "update e2e-cert-site-b-pem",
            "update e2e-certificates-reload",
        ],
        newCertificates: ["site-a", "site-b"],
        orders: 2,
    },
    {
        title: "acmeChallengePort changed",
        change: (values) => {
            values.acmeChallengePort = Number(values.acmeChallengePort ?? 8888) + 1;
        },
        // HAProxy's ACME backend, every certbot run and the renewal job use the new port; certbot keeps its lineages.
        operations: ["update e2e-cert-site-a-certbot", "update e2e-cert-site-b-certbot", "update e2e-config-delivery", "update e2e-renewal-cron"],
        newCertificates: [],
        orders: 0,
    },
    {
        title: "certbotImage changed",
        change: (values) => {
            values.certbotImage = CERTBOT_IMAGE_RETAGGED;
        },
        // Each certbot step runs with the new image and keeps its valid lineage; the renewal job renews with it.
        // The configuration and reload steps' scripts name it too (its python3 speaks to HAProxy's runtime API):
        // they run, find the configuration and every certificate in place, and neither send one nor reload.
        operations: [
            "update e2e-cert-site-a-certbot",
            "update e2e-cert-site-b-certbot",
            "update e2e-certificates-reload",
            "update e2e-config-delivery",
            "update e2e-renewal-cron",
        ],
        newCertificates: [],
        orders: 0,
        reloads: 0,
    },
    {
        title: "TLS session tickets turned on",
        change: (values) => {
            values.tlsSessionTickets = true;
        },
        // The configuration step makes the keys on the host's /run and installs their job; the container, which
        // did not mount them, is not reloaded but replaced (deleted first), and starts with the new haproxy.cfg.
        // The reload step and the renewal job check and talk to HAProxy with the keys mounted.
        operations: ["replace e2e-haproxy-container", "update e2e-certificates-reload", "update e2e-config-delivery", "update e2e-renewal-cron"],
        newCertificates: [],
        orders: 0,
        check: () => {
            const keys = fs.readFileSync(path.join(TICKET_KEYS_DIR, "tls-ticket-keys"), "utf8").trim().split("\n");
            expect(
                keys.filter((key) => /^[A-Za-z0-9+/]{107}=$/.test(key)),
                "three ticket keys",
            ).to.have.length(3);
            expect(
                [TICKET_KEYS_SCRIPT, TICKET_KEYS_CRON].filter((file) => !fs.existsSync(file)),
                "the keys' job",
            ).to.deep.equal([]);
        },
    },
];

/** The stack's settings after the first `count` scenarios. */
export function valuesAfter(env: Environment, count: number): StackValues {
    return env.stackValues((values) => {
        for (const scenario of SCENARIOS.slice(0, count)) {
            scenario.change(values, env);
        }
    });
}

/** Something changed on a converged host by someone else, and what the next `preview` and `up` must do. */
export interface Drift {
    /** What was done on the host. */
    title: string;
    /** Does it. */
    make: (env: Environment) => Promise<void>;
    /** The steps `preview` announces and `up` performs, `<update|replace|...> <resource>`, sorted. */
    operations: string[];
    /** What `preview` must warn of (the real engine's suite reads its warnings). */
    warnings: RegExp[];
    /** ACME orders the `up` places. */
    orders: number;
    /**
     * How often HAProxy reloads during the `up` (counted where the container is not replaced): a new
     * haproxy.cfg or map reloads once, a certificate goes into the running HAProxy (2.2+) without one.
     */
    reloads?: number;
    /** Sites whose served certificate must be new afterwards; every other site keeps its own. */
    newCertificates: string[];
    /** What else must hold on the host afterwards. */
    check?: (env: Environment) => void;
}

/** Drift on the stack of `env.stackValues()`, each repaired before the next is made. */
export const DRIFTS: Drift[] = [
    {
        title: "haproxy.cfg edited and the cron entry deleted",
        make: async (env) => {
            fs.appendFileSync(path.join(env.paths.configDir, "haproxy.cfg"), "\n# edited by hand\n");
            fs.rmSync(RENEW_CRON);
        },
        operations: ["update e2e-config-delivery", "update e2e-renewal-cron"],
        warnings: [/drift on the host: config: \S+haproxy\.cfg was changed/, /drift on the host: renewal: \S+edge-proxy-renew-edge-proxy-e2e is missing/],
        orders: 0,
        newCertificates: [],
        check: (env) => {
            expect(fs.readFileSync(path.join(env.paths.configDir, "haproxy.cfg"), "utf8"), "haproxy.cfg after up").to.not.contain("edited by hand");
            expect(fs.existsSync(RENEW_CRON), "the cron entry after up").to.equal(true);
        },
    },
    {
        title: "the container removed",
        make: async () => {
            await run("docker", ["rm", "-f", CONTAINER]);
        },
        // Seen without a refresh: the container's repair token changes, which replaces it.
        operations: ["replace e2e-haproxy-container"],
        warnings: [/drift on the host: container: container edge-proxy-e2e is missing/],
        orders: 0,
        newCertificates: [],
    },
    {
        title: "the container stopped, a PEM removed and the renewal script edited",
        make: async (env) => {
            await run("docker", ["stop", "-t", "2", CONTAINER]);
            fs.rmSync(path.join(env.paths.certsDir, "site-a.pem"));
            fs.appendFileSync(RENEW_SCRIPT, "\nexit 0\n");
        },
        // The preparation puts the PEM back before the new container starts (HAProxy needs every file it
        // names); the PEM step runs again, and the reload with it.
        operations: [
            "replace e2e-haproxy-container",
            "update e2e-cert-site-a-pem",
            "update e2e-certificates-reload",
            "update e2e-prepare-directories",
            "update e2e-renewal-cron",
        ],
        warnings: [/container edge-proxy-e2e is not running/, /pem-site-a: \S+site-a\.pem is missing/, /renewal: \S+ was changed/],
        orders: 0,
        newCertificates: [],
    },
    {
        title: "a certbot lineage removed",
        make: async (env) => {
            for (const entry of ["live/site-b", "archive/site-b", "renewal/site-b.conf"]) {
                fs.rmSync(path.join(env.paths.dataDir, "etc", entry), { recursive: true, force: true });
            }
        },
        // The PEM and reload steps depend on certbot's output, unknown until it ran: preview announces them.
        operations: ["update e2e-cert-site-b-certbot", "update e2e-cert-site-b-pem", "update e2e-certificates-reload"],
        warnings: [/certbot-site-b: certbot has no certificate site-b/],
        orders: 1,
        newCertificates: ["site-b"],
    },
];
