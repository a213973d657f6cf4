/**
 * What an operator changes on a converged stack, one `pulumi up` each, and what that `up` must do: the
 * same list drives the stand-in engine (test/e2e/proxy.test.ts) and the real one (test/engine/), so the
 * two are held to one expectation and a stand-in that drifts from the engine fails.
 */
import { Environment, PORTS, StackValues } from "./environment";
import { HAPROXY_IMAGE_VARIANT } from "./env/images";

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
}

const siteB = (values: StackValues) => values.sites.find((site) => site.name === "site-b")!;

export const SCENARIOS: Scenario[] = [
    {
        title: "a domain added to a site",
        change: (values) => { siteB(values).domains.push("www.b.e2e.test"); },
        // The preparation runs too: a placeholder names its site's domains (it writes none: site-b has its PEM).
        operations: ["update e2e-cert-site-b-certbot", "update e2e-cert-site-b-pem", "update e2e-certificates-reload", "update e2e-config-delivery", "update e2e-prepare-directories"],
        newCertificates: ["site-b"],
        orders: 1,
    },
    {
        title: "acmeEmail changed",
        change: (values) => { values.acmeEmail = "ops@e2e.test"; },
        // certbot runs again (its script changed) and keeps the valid lineage: same serial, so no PEM
        // step runs and nothing is reloaded.
        operations: ["update e2e-cert-site-a-certbot", "update e2e-cert-site-b-certbot"],
        newCertificates: [],
        orders: 0,
    },
    {
        title: "a backend added to a site",
        change: (values, env) => { values.sites[0].backends.push(`${env.bridge}:${PORTS.webA}`); },
        operations: ["update e2e-config-delivery"],
        newCertificates: [],
        orders: 0,
    },
    {
        title: "a site added",
        change: (values, env) => { values.sites.push({ name: "site-d", domains: ["d.e2e.test"], backends: [`${env.bridge}:${PORTS.webB}`] }); },
        operations: ["create e2e-cert-site-d-certbot", "create e2e-cert-site-d-pem", "update e2e-certificates-reload",
            "update e2e-config-delivery", "update e2e-prepare-directories", "update e2e-renewal-cron"],
        newCertificates: ["site-d"],
        orders: 1,
    },
    {
        title: "a site removed",
        change: (values) => { values.sites = values.sites.filter((site) => site.name !== "site-d"); },
        operations: ["delete e2e-cert-site-d-certbot", "delete e2e-cert-site-d-pem", "update e2e-certificates-reload",
            "update e2e-config-delivery", "update e2e-prepare-directories", "update e2e-renewal-cron"],
        newCertificates: [],
        orders: 0,
    },
    {
        title: "a new haproxyImage tag",
        change: (values) => { values.haproxyImage = HAPROXY_IMAGE_VARIANT; },
        // The container is replaced (deleted first: its ports); the reload and the renewal job check with
        // the running container's image, so they do not run again.
        operations: ["replace e2e-haproxy-container", "replace e2e-image", "update e2e-config-delivery"],
        newCertificates: [],
        orders: 0,
    },
];

/** The stack's settings after the first `count` scenarios. */
export function valuesAfter(env: Environment, count: number): StackValues {
    return env.stackValues((values) => SCENARIOS.slice(0, count).forEach((scenario) => scenario.change(values, env)));
}
