/**
 * EdgeProxy's nested arguments (components/config/args.ts, generated from the schema): a program that writes
 * them by hand declares exactly what the stack file's flat keys declare, the secrets go where the stack's
 * go, and a docker provider passed in replaces the one EdgeProxy would make.
 */

import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { argsFromStackSettings, EdgeProxy, type EdgeProxyArgs } from "../../components";
import { flattenArgs } from "../../components/config/settings";
import { type Registration, runProgram, unwrapSecrets } from "../../dev/mocks";
import { PROJECT_DIR } from "../../dev/paths";
import { stackFileSettings } from "../support/settings";

const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAtest\n-----END OPENSSH PRIVATE KEY-----\n";

/** The dev stack (Pulumi.dev.yaml) as a program would write it. */
const DEV_ARGS: EdgeProxyArgs = {
    host: {
        address: "192.0.2.10",
        sshPort: 2222,
        sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheDevHost",
        sshPrivateKey: pulumi.secret(PRIVATE_KEY),
        detectDrift: false,
    },
    acme: { email: "admin@example.com", server: "staging" },
    sites: [
        { name: "www", domains: ["www.example.com", "example.com"], backends: ["192.168.1.100:80"], healthCheck: { path: "/healthz", interval: "5s" } },
        { name: "wiki", domains: ["wiki.example.com"], backends: ["192.168.1.101:8080", "192.168.1.102:8080"] },
    ],
    tcpServices: [{ name: "ssh", port: 22, backends: ["192.168.1.100:22"] }],
};

/** What each resource was declared with: type, name and inputs, secrets unwrapped. */
function declared(registrations: Registration[]): string[] {
    return registrations.map((r) => JSON.stringify([r.type, r.name, unwrapSecrets(r.inputs)])).sort();
}

describe("EdgeProxy's nested arguments", () => {
    it("declare what the stack file's keys declare", async () => {
        const fromStack = argsFromStackSettings({
            ...stackFileSettings(path.join(PROJECT_DIR, "Pulumi.dev.yaml")),
            detectDrift: false,
            sshPrivateKey: pulumi.secret(PRIVATE_KEY),
        });
        const byHand = declared(await runProgram(() => new EdgeProxy("dev", DEV_ARGS), { stack: "dev" }));
        expect(byHand.length).to.be.greaterThan(10);
        expect(byHand).to.deep.equal(declared(await runProgram(() => new EdgeProxy("dev", fromStack), { stack: "dev" })));
    });

    it("flatten onto the stack keys, the secrets apart, and back", () => {
        const { settings, secrets } = flattenArgs({ ...DEV_ARGS, haproxy: { metrics: { address: "127.0.0.1", user: "prometheus", password: "pw" } } });
        expect(settings).to.include({
            hostAddress: "192.0.2.10",
            sshPort: 2222,
            acmeEmail: "admin@example.com",
            metricsAddress: "127.0.0.1",
            metricsUser: "prometheus",
        });
        expect(Object.keys(secrets).sort()).to.deep.equal(["metricsPassword", "sshPrivateKey"]);
        expect(settings, "no secret among the settings").to.not.have.any.keys("sshPrivateKey", "metricsPassword");
        const again = flattenArgs(argsFromStackSettings({ ...settings, ...secrets }));
        expect(again.settings).to.deep.equal(settings);
        expect(Object.keys(again.secrets).sort()).to.deep.equal(["metricsPassword", "sshPrivateKey"]);
    });

    it("use a docker provider passed in instead of making one", async () => {
        const registrations = await runProgram(
            () => {
                const provider = new docker.Provider("callers-docker", { host: "ssh://root@192.0.2.10:2222" });
                return new EdgeProxy("dev", { ...DEV_ARGS, provider });
            },
            { stack: "dev" },
        );
        const providers = registrations.filter((r) => r.type === "pulumi:providers:docker").map((r) => r.name);
        expect(providers).to.deep.equal(["callers-docker"]);
        expect(registrations.some((r) => r.type === "docker:index/container:Container")).to.equal(true);
    });
});
