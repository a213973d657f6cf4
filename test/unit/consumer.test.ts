/**
 * test/consumer/program.ts, a program that uses edge-proxy as a package, under Pulumi's mocks: the host's
 * address from another resource's output and the backends from a StackReference give the same resources
 * as the same values written in a stack file, and a bad value fails with the stack's key-path message,
 * at declaration when it is known then, when it resolves otherwise.
 */

import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { argsFromStackSettings, EdgeProxy, type EdgeProxySettings } from "../../components";
import { defaultRenewSchedule } from "../../components/config/checks";
import { echo, type Realize, type Registration, runProgram, unhandledRejections, unwrapSecrets } from "../../dev/mocks";
import { PROJECT_DIR } from "../../dev/paths";
import { type ConsumerOptions, consumerProgram } from "../consumer/program";
import { stackFileSettings } from "../support/settings";

const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAconsumer\n-----END OPENSSH PRIVATE KEY-----\n";
const DEV = stackFileSettings(path.join(PROJECT_DIR, "Pulumi.dev.yaml"));

/** The "VM" prints the dev stack's host address; the apps stack holds the dev stack's backends. */
function world(backends: Record<string, string[]>): Realize {
    return async (registration) => {
        if (registration.type === "command:local:Command") {
            return { id: "vm-id", state: { ...registration.inputs, stdout: DEV.hostAddress, stderr: "" } };
        }
        if (registration.type === "pulumi:pulumi:StackReference") {
            expect(registration.inputs.name).to.equal("acme/apps/prod");
            return { id: registration.inputs.name, state: { name: registration.inputs.name, outputs: { backends }, secretOutputNames: [] } };
        }
        return echo(registration);
    };
}

const DEV_BACKENDS = Object.fromEntries(DEV.sites.map((site) => [site.name!, site.backends as string[]]));

function options(change?: (options: ConsumerOptions) => void): ConsumerOptions {
    const {
        host: { address, ...host },
        sites,
        ...proxy
    } = argsFromStackSettings(DEV);
    const result = {
        // No host answers here: the steps are declared without reading it.
        proxy: { ...proxy, host: { ...host, detectDrift: false } },
        sites: sites.map(({ backends, ...site }) => site),
        createHost: "terraform output -raw address",
        appsStack: "acme/apps/prod",
        sshPrivateKey: pulumi.secret(PRIVATE_KEY),
    };
    change?.(result);
    return result;
}

/** The custom resources' inputs by name, secrets unwrapped, without the consumer's own two. */
function inputsOf(registrations: Registration[], prefix: string): Record<string, unknown> {
    return Object.fromEntries(
        registrations
            .filter((r) => r.custom && r.name.startsWith(`${prefix}-`))
            .map((r) => [r.name.slice(prefix.length), JSON.stringify(unwrapSecrets(r.inputs))]),
    );
}

/** Waits for an Output's value, or its failure. */
function settled<T>(output: pulumi.Output<T>): Promise<T> {
    return (output as any).promise();
}

describe("a program that uses edge-proxy as a package (test/consumer)", () => {
    it("declares the same resources from another resource's output and another stack's outputs as from a stack file", async () => {
        const consumer = await runProgram(() => consumerProgram(options()), { realize: world(DEV_BACKENDS) });
        const stack = await runProgram(
            () => new EdgeProxy("edge", argsFromStackSettings({ ...DEV, detectDrift: false, sshPrivateKey: pulumi.secret(PRIVATE_KEY) })),
        );
        expect(Object.keys(inputsOf(consumer, "edge")).length).to.equal(11);
        expect(inputsOf(consumer, "edge")).to.deep.equal(inputsOf(stack, "edge"));
    });

    it("exposes the child resources and the outputs a caller depends on", async () => {
        let proxy!: EdgeProxy;
        await runProgram(
            () => {
                proxy = consumerProgram(options());
            },
            { realize: world(DEV_BACKENDS) },
        );
        expect(Object.keys(proxy.certificates!.certbot)).to.deep.equal(["www", "wiki"]);
        expect(Object.keys(proxy.certificates!.pem)).to.deep.equal(["www", "wiki"]);
        expect(await settled(proxy.certificates!.certbot.wiki.stdout)).to.equal("edge-cert-wiki-certbot done");
        expect(await settled(proxy.certificates!.pem.wiki.stdout)).to.equal("edge-cert-wiki-pem done");
        expect(proxy.certificates!.dnsCredentials, "no DNS-01 site").to.equal(undefined);
        expect(await settled(proxy.haproxyService.container.name)).to.equal("edge-proxy");
        expect(await settled(proxy.haproxyService.configuration.stdin as pulumi.Output<string>)).to.contain("server s1 192.168.1.101:8080 check");
        expect(await settled(proxy.renewalJob!.installed.delete as pulumi.Output<string>)).to.contain("/usr/local/sbin/edge-proxy-renew-edge-proxy");
        expect(await settled(proxy.certificates!.reload.stdout)).to.equal("edge-certificates-reload done");
        expect(await settled(proxy.host.preparation.stdout)).to.equal("edge-prepare-directories done");
        expect(await settled(proxy.haproxyService.image.name)).to.equal("haproxy:1.7");
        // The stand-in steps print `<name> done`, no certificate line: the sites carry no certificate fields.
        expect(await settled(proxy.sites)).to.deep.equal({
            www: {
                names: ["www.example.com", "example.com"],
                urls: ["https://www.example.com/", "https://example.com/"],
                certificate: "/srv/haproxy/certs/www.pem",
                staging: true,
            },
            wiki: { names: ["wiki.example.com"], urls: ["https://wiki.example.com/"], certificate: "/srv/haproxy/certs/wiki.pem", staging: true },
        });
        expect(await settled(proxy.certificates!.served)).to.deep.equal({ www: {}, wiki: {} });
        // The default schedule derives from the host's address, here another resource's output.
        expect(await settled(proxy.renewal)).to.deep.equal({
            schedule: defaultRenewSchedule(DEV.hostAddress as string, "edge-proxy"),
            script: "/usr/local/sbin/edge-proxy-renew-edge-proxy",
            log: "/srv/letsencrypt/log/edge-proxy-renew.log",
            status: "/srv/letsencrypt/edge-proxy/status.json",
            metricsFile: undefined,
            alert: false,
        });
        expect(await settled(proxy.haproxy)).to.include({ image: "haproxy:1.7", version: "1.7" });
        expect(await settled(proxy.metrics)).to.equal(undefined);
    });

    it("fails the steps that need a bad backend from an Output with the key-path message", async () => {
        let proxy!: EdgeProxy;
        let declared: Registration[] = [];
        const backends = { ...DEV_BACKENDS, wiki: ["192.168.1.101:8080", "wiki.internal"] };
        const failures = await unhandledRejections(async () => {
            declared = await runProgram(
                () => {
                    proxy = consumerProgram(options());
                },
                { realize: world(backends) },
            );
        });
        const problem =
            'invalid edge-proxy configuration (1 problem):\n  - sites[1].backends[1]: "wiki.internal" is not host:port (IPv6 addresses go in brackets: [2001:db8::1]:80)';
        // Each step that needed it failed with the message (the serializer prefixes the property path).
        expect(failures.length).to.be.greaterThan(0);
        for (const failure of failures) {
            expect(String((failure as Error).message ?? failure))
                .to.match(/invalid edge-proxy configuration/)
                .and.satisfy((m: string) => m.endsWith(problem));
        }
        expect(declared.filter((r) => r.custom && r.name.startsWith("edge-")).map((r) => r.name)).to.deep.equal([]);
        expect(
            await settled(proxy.sites).then(
                () => "resolved",
                (e: Error) => e.message,
            ),
        ).to.satisfy((m: string) => m.endsWith(problem));
    });

    it("refuses a bad value known at declaration before declaring anything, as the stack does", async () => {
        let declared: Registration[] = [];
        let error: Error | undefined;
        try {
            declared = await runProgram(
                () =>
                    consumerProgram(
                        options((o) => {
                            o.proxy.haproxy = { ...o.proxy.haproxy, httpsPort: 99999 };
                            o.sites[0] = { ...o.sites[0], domains: ["exa mple.com"] };
                        }),
                    ),
                { realize: world(DEV_BACKENDS) },
            );
        } catch (e) {
            error = e as Error;
        }
        // A ResourceError of the component, naming it, with every problem.
        expect(error).to.be.instanceOf(pulumi.ResourceError);
        expect(error?.message)
            .to.contain("EdgeProxy edge: invalid edge-proxy configuration (2 problems)")
            .and.contain("httpsPort: must be a port number from 1 to 65535, got number 99999")
            .and.contain('sites[0].domains[0]: "exa mple.com" is not a valid hostname');
        expect(declared.filter((r) => r.type.startsWith("edge-proxy:") || r.type.startsWith("docker:") || r.type === "command:remote:Command")).to.deep.equal(
            [],
        );
    });

    it("needs a site's name when its domains are an Output, and refuses Outputs where the graph needs the value", async () => {
        const declare = (config: EdgeProxySettings) => () =>
            new EdgeProxy("edge", argsFromStackSettings({ ...config, detectDrift: false, sshPrivateKey: "key" }));
        const failure = (config: EdgeProxySettings) =>
            runProgram(declare(config)).then(
                () => "",
                (e: Error) => e.message,
            );
        const { name, ...unnamed } = DEV.sites[1];
        expect(await failure({ ...DEV, sites: [DEV.sites[0], { ...unnamed, domains: pulumi.output(["wiki.example.com"]) }] })).to.contain(
            "sites[1].name: is required when the site's domains are not known at declaration",
        );
        expect(await failure({ ...DEV, httpsPort: pulumi.output(8443) as unknown as number })).to.contain(
            "httpsPort: must be known at declaration, not an Output",
        );
    });
});
