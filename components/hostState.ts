/**
 * Drift: what changed on the host since `up` left it, and how the next `up` repairs it.
 *
 * The command provider keeps only what it sent to the host, and `pulumi refresh` cannot read a host
 * script's effect back, so a file edited by hand or a container removed would stay unseen. Instead the
 * program reads the host before it declares the steps, in `preview` as in `up` (observe.sh.hbs, over
 * SSH, changing nothing), and hands each step a repair token in its script:
 * - every step records, when it succeeds, the token it ran with and a digest of each file it installed
 *   (templates/partials/sh-ledger.hbs); the container carries its token as a label;
 * - nothing drifted: the step gets the token it recorded, so its script is what the engine last ran, and
 *   `preview` shows no change;
 * - something drifted: the step gets a new token, so its script changed, and `preview` shows an update of
 *   that step (a replacement of the container) which `up` carries out, restoring what the step owns.
 * No other step runs, and no ACME order is placed unless certbot's lineage itself is gone.
 */
import { randomBytes } from "node:crypto";
import type { EdgeProxyConfig } from "./config/types";
import { fleetPaths } from "./fleet/roles";
import { dnsCredentialsPaths, eabPaths } from "./hostScripts";
import { hostLogin, runOnHost } from "./hostSession";
import { STEP } from "./hostSteps";
import { shellQuote } from "./quote";
import { renderTemplate } from "./templates";

/** The record in which observe.sh reports what a fleet's host was made by its last `up` (hostState.takeFleetRole). */
const FLEET_ROLE_RECORD = "fleet-role";

/**
 * The observation without its fleet record, and what that record says the host was made by its last `up`
 * (`issuer` or `receiver`; undefined when it was in no fleet).
 */
export function takeFleetRole(observation: HostObservation): { role?: string; steps: HostObservation } {
    const { [FLEET_ROLE_RECORD]: record, ...steps } = observation;
    return { role: record?.drift || undefined, steps };
}

/** The label on the HAProxy container that carries its repair token. */
export const CONTAINER_TOKEN_LABEL = "edge-proxy.repair";

/** What the host said of one step: the token it last ran with, and what drifted since ("" when nothing). */
export interface StepState {
    token: string;
    drift: string;
}

/** The host's state, by step name (STEP). */
export type HostObservation = Record<string, StepState>;

/** Tokens are short hex strings; anything else read from the host is not ours, and counts as drift. */
const TOKEN = /^[0-9a-f]{0,32}$/;

/** How long reading the host may take. */
const OBSERVE_TIMEOUT_MS = 120_000;

/** The read-only script that reports every step's token and drift (templates/host/observe.sh.hbs). */
export function observeHostScript(config: EdgeProxyConfig, role: HostRole = "issuer"): string {
    return renderTemplate("host/observe.sh.hbs", {
        receives: role === "receiver",
        fleetRole: fleetPaths(config).role,
        fleetRoleRecord: FLEET_ROLE_RECORD,
        // A fleet's issuer has its certificate key; a receiving host, the issuer's key authorized.
        fleetKey: config.fleet !== undefined && role === "issuer",
        marker: fleetPaths(config).marker,
        configDir: config.haproxy.configDir,
        certsDir: config.haproxy.certsDir,
        dataDir: config.acme.dataDir,
        containerName: config.haproxy.containerName,
        image: config.haproxy.image,
        dnsCredentials: dnsCredentialsPaths(config) !== undefined,
        eab: eabPaths(config) !== undefined,
        sites: config.sites.map((site) => site.name),
    });
}

/** Reads observe.sh's records: `<step>\t<token>\t<drift>` per line. */
export function parseObservation(stdout: string): HostObservation {
    const observation: HostObservation = {};
    for (const line of stdout.split("\n").filter((l) => l !== "")) {
        const [step, token = "", ...drift] = line.split("\t");
        observation[step] = { token, drift: drift.join(" ").trim() };
    }
    return observation;
}

/**
 * Each step's repair token: the recorded one when nothing drifted (so the step's script is unchanged),
 * a new one when something did or the recorded token is not one of ours. A step the host knows nothing
 * of gets "" (its script changes anyway: it is new).
 */
export function repairTokens(observation: HostObservation, fresh: () => string = () => randomBytes(8).toString("hex")): Record<string, string> {
    return Object.fromEntries(
        Object.entries(observation).map(([step, state]) => [step, state.drift === "" && TOKEN.test(state.token) ? state.token : fresh()]),
    );
}

/** The drift of a step that has never recorded itself (a new step, or a host set up by an older edge-proxy). */
export const NO_RECORD = "no record of this step on the host";

/**
 * What drifted, one sentence per step, for `preview` and `up` to show: nothing on a host edge-proxy has
 * not prepared yet (every step is new there), and nothing for steps that never recorded themselves.
 */
export function driftMessages(observation: HostObservation): string[] {
    const prepare = observation[STEP.prepare];
    if (prepare && prepare.token === "" && prepare.drift !== "") {
        return [];
    }
    return Object.entries(observation)
        .filter(([, state]) => state.drift !== "" && state.drift !== NO_RECORD)
        .map(([step, state]) => `${step}: ${state.drift}`);
}

/** A step's script with its repair token set on the first line (read by record_step, sh-ledger.hbs). */
export function withRepairToken(script: string, token: string | undefined): string {
    return `repair_token=${shellQuote(token ?? "")}\n${script}`;
}

/**
 * What a host does with certificates: `issuer` runs certbot (a one-host stack's host, a fleet's issuer),
 * `receiver` serves the certificates the issuer sends (the fleet's other hosts).
 */
export type HostRole = "issuer" | "receiver";

/** Reads the host's state over SSH as the steps connect (hostSession.runOnHost). */
export async function observeHost(config: EdgeProxyConfig, privateKey: string, role: HostRole = "issuer"): Promise<HostObservation> {
    const { host } = config;
    try {
        const stdout = await runOnHost(hostLogin(host, privateKey), observeHostScript(config, role), { timeoutMs: OBSERVE_TIMEOUT_MS });
        return parseObservation(stdout);
    } catch (error) {
        throw new Error(`edge-proxy could not read the host to compare it with the stack (detectDrift: false skips this read): ${(error as Error).message}`);
    }
}
