/**
 * The resource graph the stack declares, under Pulumi's mocks: the container as the seed runs it, the
 * certbot command lines, quoting, secrecy, the order of a first `pulumi up`, and what changes (and what
 * does not) between two configurations.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { argsFromStackSettings, EdgeProxy, type EdgeProxySettings } from "../../components";
import { defaultRenewSchedule } from "../../components/config/checks";
import { metricsPasswordHash } from "../../components/haproxy/passwordHash";
import { HOST_SHELL } from "../../components/hostScripts";
import { loadStackFile } from "../../components/plan";
import { dependsOn, echo, isSecret, type Realize, type Registration, resource, runProgram, unhandledRejections, unwrapSecrets } from "../../dev/mocks";
import { PROJECT_DIR } from "../../dev/paths";
import { EngineUrns } from "../support/engineUrns";
import { stackFileSettings } from "../support/settings";

const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAtest\n-----END OPENSSH PRIVATE KEY-----\n";
const DEV = path.join(PROJECT_DIR, "Pulumi.dev.yaml");
const MULTI = path.join(PROJECT_DIR, "test", "stacks", "multi-site-2.8.yaml");

/** Declares the proxy for a configuration and returns its registrations. */
function declare(config: EdgeProxySettings, stack = "dev"): Promise<Registration[]> {
    return runProgram(() => new EdgeProxy(stack, argsFromStackSettings({ ...config, detectDrift: false, sshPrivateKey: pulumi.secret(PRIVATE_KEY) })), {
        stack,
    });
}

/** The commands (resource name to unwrapped inputs) of all remote commands. */
function commands(registrations: Registration[]): Registration[] {
    return registrations.filter((r) => r.type === "command:remote:Command");
}

describe("the dev stack's resources", () => {
    let registrations: Registration[];
    before(async () => {
        registrations = await declare(stackFileSettings(DEV));
    });

    it("declares one component per job, each owning its job's resources", () => {
        const components = registrations.filter((r) => !r.custom);
        expect(components.map((r) => `${r.type} ${r.name}`).sort()).to.deep.equal([
            "edge-proxy:index:Certificates dev-certificates",
            "edge-proxy:index:DockerHost dev-host",
            "edge-proxy:index:EdgeProxy dev",
            "edge-proxy:index:HaproxyService dev-haproxy",
            "edge-proxy:index:RenewalJob dev-renewal",
        ]);
        const owner = (name: string) => registrations.find((r) => r.urn === resource(registrations, name).parent)?.name;
        const owners = {
            "dev-host": ["dev-host-docker", "dev-prepare-directories"],
            "dev-haproxy": ["dev-image", "dev-config-delivery", "dev-haproxy-container"],
            "dev-certificates": ["dev-cert-www-certbot", "dev-cert-www-pem", "dev-cert-wiki-certbot", "dev-cert-wiki-pem", "dev-certificates-reload"],
            "dev-renewal": ["dev-renewal-cron"],
        };
        for (const [component, owned] of Object.entries(owners)) {
            expect(registrations.find((r) => r.name === component)!.parent, `${component}'s parent`).to.equal(registrations.find((r) => r.name === "dev")!.urn);
            for (const name of owned) {
                expect(owner(name), `${name}'s parent`).to.equal(component);
            }
        }
        expect(registrations.filter((r) => r.custom).length, "every custom resource has its owner above").to.equal(Object.values(owners).flat().length);
    });

    it("runs the pinned haproxy:1.7 image like the seed: ports, read-only mounts, the host's syslog socket, restart always", () => {
        expect(resource(registrations, "dev-image").inputs).to.include({ name: "haproxy:1.7", keepLocally: true });
        const container = resource(registrations, "dev-haproxy-container").inputs;
        expect(container.name).to.equal("edge-proxy");
        expect(container.image).to.equal("sha256:haproxy:1.7");
        expect(container.restart).to.equal("always");
        expect(container.ports.map((p: any) => [p.internal, p.external])).to.deep.equal([
            [80, 80],
            [443, 443],
            [22, 22],
        ]);
        expect(container.volumes).to.deep.equal([
            { hostPath: "/srv/haproxy/cfg", containerPath: "/usr/local/etc/haproxy", readOnly: true },
            { hostPath: "/srv/haproxy/certs", containerPath: "/certs", readOnly: true },
            { hostPath: "/dev/log", containerPath: "/dev/log" },
        ]);
        expect(container.sysctls).to.equal(undefined);
        expect(container.stopSignal).to.equal("SIGTERM");
    });

    it("mounts the host's syslog socket (writable) for 1.7 and 1.8 images only: 1.9+ log to stdout", async () => {
        const syslogMounts = async (image: string) => {
            const declared = await declare({ ...stackFileSettings(DEV), haproxyImage: image });
            return resource(declared, "dev-haproxy-container").inputs.volumes.filter((v: any) => v.containerPath === "/dev/log");
        };
        for (const image of ["haproxy:1.7.14", "haproxy:1.8"]) {
            expect(await syslogMounts(image), image).to.deep.equal([{ hostPath: "/dev/log", containerPath: "/dev/log" }]);
        }
        for (const image of ["haproxy:1.9", "haproxy:2.6", "haproxy:3.2"]) {
            expect(await syslogMounts(image), image).to.deep.equal([]);
        }
    });

    it("lets a 2.4+ image's uid 99 bind ports below 1024 and read the certificates", async () => {
        const multi = await declare(stackFileSettings(MULTI), "prod");
        expect(resource(multi, "prod-haproxy-container").inputs.sysctls).to.deep.equal({ "net.ipv4.ip_unprivileged_port_start": "0" });
        expect(resource(multi, "prod-prepare-directories").inputs.stdin).to.contain("chgrp -R 99 /srv/haproxy/certs");
    });

    it("runs certbot like the seed, against the staging CA, for all of a site's names", () => {
        const certbot = resource(registrations, "dev-cert-www-certbot").inputs;
        expect(certbot.create).to.equal(HOST_SHELL);
        expect(certbot.update).to.equal(HOST_SHELL);
        const script: string = certbot.stdin;
        expect(script)
            .to.contain("certbot_attempt www certbot/certbot:v5.8.0 certonly --standalone --preferred-challenges http --http-01-port 8888")
            .and.contain("--non-interactive --agree-tos --email admin@example.com --server https://acme-staging-v02.api.letsencrypt.org/directory")
            .and.contain("--cert-name www --key-type ecdsa --keep-until-expiring --expand")
            .and.contain("-d www.example.com \\\n    -d example.com \\")
            .and.contain("requested='https://acme-staging-v02.api.letsencrypt.org/directory ecdsa www.example.com,example.com'");
        expect(script).to.contain("-p 172.17.0.1:8888:8888").and.contain("certbot/certbot:v5.8.0");
        expect(script).to.not.contain("REQUESTS_CA_BUNDLE");
    });

    it("passes a custom ACME server and its CA bundle to certbot", async () => {
        const custom = { ...stackFileSettings(DEV), acmeServer: "https://acme.internal.example.com/dir", acmeCaBundle: "/etc/ssl/acme-ca.pem" };
        const script = resource(await declare(custom), "dev-cert-wiki-certbot").inputs.stdin;
        expect(script)
            .to.contain("--server https://acme.internal.example.com/dir")
            .and.contain("-v /etc/ssl/acme-ca.pem:/etc/edge-proxy/acme-ca.pem:ro -e REQUESTS_CA_BUNDLE=/etc/edge-proxy/acme-ca.pem");
    });

    it("keeps the private key a secret, out of every command and script", () => {
        const hostCommands = commands(registrations);
        expect(hostCommands.length).to.equal(8);
        for (const command of hostCommands) {
            expect(isSecret(command.inputs.connection), `${command.name}'s connection`).to.equal(true);
            expect(unwrapSecrets(command.inputs.connection)).to.include({ host: "192.0.2.10", port: 2222, user: "root", privateKey: PRIVATE_KEY });
            const { connection, ...rest } = command.inputs;
            expect(JSON.stringify(rest)).to.not.contain("OPENSSH PRIVATE KEY");
            expect([command.inputs.create, command.inputs.update]).to.deep.equal([HOST_SHELL, HOST_SHELL]);
        }
    });

    it("orders a first up: directories, image, checked configuration, container, certificates, PEMs, reload, renewal", () => {
        const order = [
            "dev-prepare-directories",
            "dev-image",
            "dev-config-delivery",
            "dev-haproxy-container",
            "dev-cert-www-certbot",
            "dev-cert-www-pem",
            "dev-certificates-reload",
            "dev-renewal-cron",
        ];
        for (let i = 1; i < order.length; i++) {
            expect(dependsOn(registrations, order[i], order[i - 1]), `${order[i]} after ${order[i - 1]}`).to.equal(true);
        }
        expect(dependsOn(registrations, "dev-certificates-reload", "dev-cert-wiki-pem")).to.equal(true);
        expect(dependsOn(registrations, "dev-config-delivery", "dev-haproxy-container")).to.equal(false);
    });

    it("removes on delete what edge-proxy wrote (PEMs, renewal job, configuration, its own files in certbotDataDir), never certbot's data", () => {
        expect(resource(registrations, "dev-cert-www-pem").inputs.delete).to.equal("rm -f /srv/haproxy/certs/www.pem");
        expect(resource(registrations, "dev-renewal-cron").inputs.delete).to.equal(
            "rm -f /etc/cron.d/edge-proxy-renew-edge-proxy /usr/local/sbin/edge-proxy-renew-edge-proxy /srv/letsencrypt/edge-proxy/alert.sh",
        );
        expect(resource(registrations, "dev-config-delivery").inputs.delete)
            .to.match(/^sh -c '/)
            .and.contain("\nremove_config_dir /srv/haproxy/cfg\n");
        expect(resource(registrations, "dev-prepare-directories").inputs.delete).to.contain("\nremove_certs_dir /srv/haproxy/certs\n");
        // certbot's accounts, keys and lineages stay: a delete names certbotDataDir only for edge-proxy's own files.
        for (const command of commands(registrations)) {
            for (const named of (command.inputs.delete ?? "").match(/\/srv\/letsencrypt[^\s'";]*/g) ?? []) {
                expect(named, command.name).to.match(/^\/srv\/letsencrypt\/(edge-proxy(\/|$)|etc\/edge-proxy$|\.edge-proxy\.lock$)/);
            }
        }
    });

    it("re-runs a PEM step when certbot's serial line changes and the reload when a PEM's does: in place, never by triggers", () => {
        // `triggers` is replace-on-change in the command provider: a replaced PEM step would run its delete.
        for (const command of commands(registrations)) {
            expect(command.inputs.triggers, command.name).to.equal(undefined);
            expect(command.inputs.update, command.name).to.equal("sh -s");
        }
        expect(resource(registrations, "dev-cert-www-pem").inputs.stdin).to.contain("issued='dev-cert-www-certbot done'\n");
        expect(resource(registrations, "dev-certificates-reload").inputs.stdin).to.contain(
            "printf 'serving %s\\n' 'dev-cert-www-pem done' 'dev-cert-wiki-pem done'\n",
        );
    });

    it("pins the host key for the docker provider's ssh, and reaches the engine before the host changes", async () => {
        const pinned = { ...stackFileSettings(DEV), sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheDevHost" };
        const knownHostsDir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-known-hosts-"));
        try {
            const declared = await runProgram(
                () =>
                    new EdgeProxy("dev", {
                        ...argsFromStackSettings({ ...pinned, detectDrift: false, sshPrivateKey: pulumi.secret(PRIVATE_KEY) }),
                        knownHostsDir,
                    }),
                { stack: "dev" },
            );
            const provider = declared.find((r) => r.type === "pulumi:providers:docker")!;
            expect(provider.inputs.host).to.equal("ssh://root@192.0.2.10:2222");
            const sshOpts: string[] = JSON.parse(provider.inputs.sshOpts);
            expect(sshOpts).to.include("StrictHostKeyChecking=yes").and.include("HostKeyAlias=edge-proxy-host").and.include("GlobalKnownHostsFile=/dev/null");
            const knownHosts = sshOpts.find((option) => option.startsWith("UserKnownHostsFile="))!.slice("UserKnownHostsFile=".length);
            expect(path.dirname(knownHosts)).to.equal(knownHostsDir);
            expect(fs.readFileSync(knownHosts, "utf8")).to.equal(`edge-proxy-host ${pinned.sshHostKey}\n`);
            expect((fs.statSync(knownHosts).mode & 0o777).toString(8)).to.equal("600");
            // The docker provider's ssh logs in with the stack's own key, a copy only its user reads.
            expect(sshOpts.slice(0, 1)).to.deep.equal(["-i"]);
            expect(path.dirname(sshOpts[1])).to.equal(knownHostsDir);
            expect(fs.readFileSync(sshOpts[1], "utf8").trim()).to.equal(PRIVATE_KEY.trim());
            expect((fs.statSync(sshOpts[1]).mode & 0o777).toString(8)).to.equal("600");
            // The preparation, the first step that changes the host, depends on the provider that has read the engine.
            expect(resource(declared, "dev-prepare-directories").dependencies).to.include(provider.urn);
        } finally {
            fs.rmSync(knownHostsDir, { recursive: true, force: true });
        }
        // The dev stack pins its key too: the identity and the pin, always together.
        const dev: string[] = JSON.parse(registrations.find((r) => r.type === "pulumi:providers:docker")!.inputs.sshOpts);
        expect(dev.slice(2, 6)).to.deep.equal(["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"]);
        expect(dev).to.include("StrictHostKeyChecking=yes");
    });

    it("delivers the rendered files and the configured image checks them", () => {
        const script: string = resource(registrations, "dev-config-delivery").inputs.stdin;
        expect(script).to.contain("--entrypoint haproxy").and.contain('check_config "$staging" haproxy:1.7 2>&1');
        expect(script).to.contain(`cat >"$staging"/haproxy.cfg <<'EDGE_PROXY_EOF'\n${loadRendered()}EDGE_PROXY_EOF\n`);
    });
});

describe("an existing stack's resources under this release", () => {
    /**
     * The dev stack's resources as 5e141f8 declared them (qualified type :: name), when every step had a
     * component of its own. The steps' components that are gone (HostPreparation, HaproxyConfiguration,
     * SiteCertificate, DnsCredentials) leave the state; they never touched the host.
     */
    const EDGE = "edge-proxy:index:EdgeProxy";
    const COMMAND = "command:remote:Command";
    const PREVIOUS = [
        `${EDGE}::dev`,
        `${EDGE}$edge-proxy:index:DockerHost::dev-host`,
        `${EDGE}$edge-proxy:index:DockerHost$pulumi:providers:docker::dev-host-docker`,
        `${EDGE}$edge-proxy:index:HostPreparation$${COMMAND}::dev-prepare-directories`,
        `${EDGE}$docker:index/remoteImage:RemoteImage::dev-image`,
        `${EDGE}$edge-proxy:index:HaproxyConfiguration$${COMMAND}::dev-config-delivery`,
        `${EDGE}$edge-proxy:index:HaproxyContainer::dev-haproxy`,
        `${EDGE}$edge-proxy:index:HaproxyContainer$docker:index/container:Container::dev-haproxy-container`,
        `${EDGE}$edge-proxy:index:SiteCertificate$${COMMAND}::dev-cert-www-certbot`,
        `${EDGE}$edge-proxy:index:SiteCertificate$${COMMAND}::dev-cert-www-pem`,
        `${EDGE}$edge-proxy:index:SiteCertificate$${COMMAND}::dev-cert-wiki-certbot`,
        `${EDGE}$edge-proxy:index:SiteCertificate$${COMMAND}::dev-cert-wiki-pem`,
        `${EDGE}$edge-proxy:index:CertificateReload::dev-certificates`,
        `${EDGE}$edge-proxy:index:CertificateReload$${COMMAND}::dev-certificates-reload`,
        `${EDGE}$edge-proxy:index:RenewalJob::dev-renewal`,
        `${EDGE}$edge-proxy:index:RenewalJob$${COMMAND}::dev-renewal-cron`,
    ];

    /** Each former URN to the names of the resources that are it now, by their URN or an alias. */
    function successors(registrations: Registration[], previous: string[]): Record<string, string[]> {
        const urns = new EngineUrns(registrations);
        return Object.fromEntries(
            previous.map((former) => {
                const urn = `urn:pulumi:dev::edge-proxy::${former}`;
                return [former, registrations.filter((r) => urns.urn(r) === urn || urns.former(r).includes(urn)).map((r) => r.name)];
            }),
        );
    }

    it("keeps every resource of the previous release, each as exactly one resource of the same name (an update in place, never a replacement)", async () => {
        const found = successors(await declare(stackFileSettings(DEV)), PREVIOUS);
        expect(found).to.deep.equal(Object.fromEntries(PREVIOUS.map((former) => [former, [former.split("::").pop()]])));
    });

    it("keeps a DNS-01 stack's credentials step", async () => {
        const registrations = await runProgram(
            () =>
                new EdgeProxy(
                    "dev",
                    argsFromStackSettings({
                        ...stackFileSettings(path.join(PROJECT_DIR, "test", "stacks", "wildcard-3.2.yaml")),
                        detectDrift: false,
                        sshPrivateKey: pulumi.secret(PRIVATE_KEY),
                        rfc2136KeySecret: pulumi.secret("c2VjcmV0IHRoYXQgaXMgYmFzZTY0Kw=="),
                    }),
                ),
            { stack: "dev" },
        );
        const credentials = `${EDGE}$edge-proxy:index:DnsCredentials$${COMMAND}::dev-dns-credentials-file`;
        expect(successors(registrations, [credentials])).to.deep.equal({ [credentials]: ["dev-dns-credentials-file"] });
    });
});

function loadRendered(): string {
    // The dev stack's golden haproxy.cfg, which render.test.ts proves equal to the renderer's output.
    return require("node:fs").readFileSync(path.join(PROJECT_DIR, "test", "golden", "dev-1.7", "haproxy.cfg"), "utf8");
}

describe("what a configuration change touches", () => {
    /** Names of the custom resources whose inputs differ between two declarations, plus added and removed ones. */
    async function changes(change: (config: EdgeProxySettings) => void) {
        const before = await declare(stackFileSettings(DEV));
        const config = stackFileSettings(DEV);
        change(config);
        const after = await declare(config);
        const inputs = (rs: Registration[]) => new Map(rs.filter((r) => r.custom).map((r) => [r.name, JSON.stringify(unwrapSecrets(r.inputs))]));
        const [a, b] = [inputs(before), inputs(after)];
        return {
            changed: [...b.keys()].filter((name) => a.has(name) && a.get(name) !== b.get(name)).sort(),
            added: [...b.keys()].filter((name) => !a.has(name)).sort(),
            removed: [...a.keys()].filter((name) => !b.has(name)).sort(),
        };
    }

    it("changes nothing when nothing changed", async () => {
        expect(await changes(() => undefined)).to.deep.equal({ changed: [], added: [], removed: [] });
    });

    it("a site's backends: only the configuration, no certificate", async () => {
        expect(
            await changes((c) => {
                c.sites[1].backends = ["192.168.1.101:9090", "192.168.1.102:8080"];
            }),
        ).to.deep.equal({ changed: ["dev-config-delivery"], added: [], removed: [] });
    });

    it("a domain added to a site: that site's certificate, the configuration and the preparation (placeholders name the domains)", async () => {
        expect(
            await changes((c) => {
                c.sites[1].domains = ["wiki.example.com", "docs.example.com"];
            }),
        ).to.deep.equal({ changed: ["dev-cert-wiki-certbot", "dev-config-delivery", "dev-prepare-directories"], added: [], removed: [] });
    });

    it("a site added: its certificate only, plus placeholders, configuration, reload and renewal list", async () => {
        expect(
            await changes((c) => {
                c.sites.push({ ...c.sites[1], name: "blog", domains: ["blog.example.com"] });
            }),
        ).to.deep.equal({
            changed: ["dev-certificates-reload", "dev-config-delivery", "dev-prepare-directories", "dev-renewal-cron"],
            added: ["dev-cert-blog-certbot", "dev-cert-blog-pem"],
            removed: [],
        });
    });

    it("a site removed: its certificate resources go (the PEM is deleted, certbot's lineage stays)", async () => {
        expect(
            await changes((c) => {
                c.sites.pop();
            }),
        ).to.deep.equal({
            changed: ["dev-certificates-reload", "dev-config-delivery", "dev-prepare-directories", "dev-renewal-cron"],
            added: [],
            removed: ["dev-cert-wiki-certbot", "dev-cert-wiki-pem"],
        });
    });

    it("a new image tag: the image, the container (replaced) and the configuration check; no certificate, no extra reload", async () => {
        // The reload and the renewal job check the live files with the image of the running container,
        // so they do not change with the tag (a new container reads the files when it starts).
        expect(
            await changes((c) => {
                c.haproxyImage = "haproxy:1.7.14";
            }),
        ).to.deep.equal({
            changed: ["dev-config-delivery", "dev-haproxy-container", "dev-image"],
            added: [],
            removed: [],
        });
    });

    it("a new ACME server: every certificate script, which re-issues because the request differs, and the renewal job, which asks it for renewal windows", async () => {
        expect(
            await changes((c) => {
                c.acmeServer = "production";
            }),
        ).to.deep.equal({
            changed: ["dev-cert-wiki-certbot", "dev-cert-www-certbot", "dev-renewal-cron"],
            added: [],
            removed: [],
        });
    });

    it("acmeProfile: every certificate script, which re-issues because the request differs; nothing else", async () => {
        expect(
            await changes((c) => {
                c.acmeProfile = "shortlived";
            }),
        ).to.deep.equal({ changed: ["dev-cert-wiki-certbot", "dev-cert-www-certbot"], added: [], removed: [] });
    });

    it("a site's acmeProfile: that site's certificate script only", async () => {
        expect(
            await changes((c) => {
                c.sites[1].acmeProfile = "shortlived";
            }),
        ).to.deep.equal({ changed: ["dev-cert-wiki-certbot"], added: [], removed: [] });
    });

    it("the alert thresholds: the renewal job only, which writes the status's settings", async () => {
        for (const change of [
            (c: EdgeProxySettings) => {
                c.alertLifetimeFraction = "1/4";
            },
            (c: EdgeProxySettings) => {
                c.alertDaysBeforeExpiry = 14;
            },
        ]) {
            expect(await changes(change)).to.deep.equal({ changed: ["dev-renewal-cron"], added: [], removed: [] });
        }
    });

    it("an external account binding: its step, and every certificate script (certbot reads the binding when it creates the account)", async () => {
        expect(
            await changes((c) => {
                Object.assign(c, { acmeEabKid: "kid-1", acmeEabHmacKey: pulumi.secret("abcdefghijklmnopqrstuvwxyz_-0123") });
            }),
        ).to.deep.equal({ changed: ["dev-cert-wiki-certbot", "dev-cert-www-certbot"], added: ["dev-acme-eab-file"], removed: [] });
    });
});

describe("HAProxy's metrics", () => {
    const PASSWORD = "metrics-password-for-the-test";
    const METRICS = path.join(PROJECT_DIR, "test", "stacks", "metrics-2.6.yaml");

    it("publishes no metrics port unless metricsAddress is set", async () => {
        const ports = resource(await declare(stackFileSettings(DEV)), "dev-haproxy-container").inputs.ports;
        expect(ports.map((p: any) => p.ip)).to.deep.equal([undefined, undefined, undefined]);
    });

    it("publishes the metrics port on metricsAddress only, and delivers the password's hash as a secret, never the password", async () => {
        const config = stackFileSettings(METRICS);
        const registrations = await runProgram(
            () =>
                new EdgeProxy(
                    "m",
                    argsFromStackSettings({
                        ...config,
                        detectDrift: false,
                        sshPrivateKey: pulumi.secret(PRIVATE_KEY),
                        metricsPassword: pulumi.secret(PASSWORD),
                    }),
                ),
            { stack: "m" },
        );
        const ports = resource(registrations, "m-haproxy-container").inputs.ports;
        expect(ports.map((p: any) => [p.internal, p.external, p.ip])).to.deep.equal([
            [80, 80, undefined],
            [443, 443, undefined],
            [9101, 9101, "172.17.0.1"],
        ]);
        const delivery = resource(registrations, "m-config-delivery").inputs.stdin;
        expect(isSecret(delivery), "the delivery script carries the hash: a secret").to.equal(true);
        expect(unwrapSecrets(delivery)).to.contain(`user prometheus password ${metricsPasswordHash(loadStackFile(METRICS), PASSWORD)}\n`);
        for (const registration of registrations) {
            expect(JSON.stringify(unwrapSecrets(registration.inputs)), registration.name).to.not.contain(PASSWORD);
        }
        for (const command of commands(registrations).filter((c) => c.name !== "m-config-delivery")) {
            expect(isSecret(command.inputs.stdin), `${command.name}'s script`).to.equal(false);
        }
    });

    it("refuses metricsUser without a password given to EdgeProxy", async () => {
        const config = stackFileSettings(METRICS);
        let error: Error | undefined;
        try {
            await runProgram(() => new EdgeProxy("m", argsFromStackSettings({ ...config, detectDrift: false, sshPrivateKey: pulumi.secret(PRIVATE_KEY) })), {
                stack: "m",
            });
        } catch (e) {
            error = e as Error;
        }
        expect(error?.message).to.contain("metricsUser is set but no metricsPassword was given");
    });
});

describe("the outputs an operator reads", () => {
    const LINE = "serial=0A1B notAfter=2027-02-27T12:00:00Z issuer=CN=Pebble Intermediate CA 1a2b3c";
    /** The steps print what the host scripts print; the image has a repository digest. */
    const host: Realize = async (registration) => {
        const echoed = await echo(registration);
        const site = /^dev-cert-(.+)-pem$/.exec(registration.name)?.[1];
        if (site) {
            echoed.state.stdout = `${site} ${LINE}`;
        } else if (registration.name === "dev-config-delivery") {
            echoed.state.stdout = "configuration 0123456789abcdef";
        } else if (registration.type === "docker:index/remoteImage:RemoteImage") {
            echoed.state.repoDigest = "haproxy@sha256:feed";
        }
        return echoed;
    };

    it("reports each site's served certificate as its PEM step printed it, the image, and the installed configuration", async () => {
        let proxy!: EdgeProxy;
        await runProgram(
            () => {
                proxy = new EdgeProxy(
                    "dev",
                    argsFromStackSettings({ ...stackFileSettings(DEV), detectDrift: false, sshPrivateKey: pulumi.secret(PRIVATE_KEY) }),
                );
            },
            { stack: "dev", realize: host },
        );
        const certificate = { serial: "0A1B", notAfter: "2027-02-27T12:00:00Z", issuer: "CN=Pebble Intermediate CA 1a2b3c", staging: true };
        expect(await settled(proxy.sites)).to.deep.equal({
            www: {
                names: ["www.example.com", "example.com"],
                urls: ["https://www.example.com/", "https://example.com/"],
                certificate: "/srv/haproxy/certs/www.pem",
                ...certificate,
            },
            wiki: { names: ["wiki.example.com"], urls: ["https://wiki.example.com/"], certificate: "/srv/haproxy/certs/wiki.pem", ...certificate },
        });
        expect(await settled(proxy.haproxy)).to.deep.equal({
            image: "haproxy:1.7",
            version: "1.7",
            repoDigest: "haproxy@sha256:feed",
            imageId: "sha256:haproxy:1.7",
        });
        expect(await settled(proxy.configurationDigest)).to.equal("0123456789abcdef");
        expect(await pulumi.isSecret(proxy.configurationDigest)).to.equal(false);
    });

    it("says whether the certificates are Let's Encrypt's staging ones, however acmeServer names that directory", async () => {
        const staging = async (acmeServer: string) => {
            let proxy!: EdgeProxy;
            await runProgram(
                () => {
                    proxy = new EdgeProxy(
                        "dev",
                        argsFromStackSettings({ ...stackFileSettings(DEV), acmeServer, detectDrift: false, sshPrivateKey: pulumi.secret(PRIVATE_KEY) }),
                    );
                },
                { stack: "dev" },
            );
            return Object.values(await settled(proxy.sites)).map((site) => site.staging);
        };
        expect(await staging("staging")).to.deep.equal([true, true]);
        expect(await staging("https://acme-staging-v02.api.letsencrypt.org/directory")).to.deep.equal([true, true]);
        expect(await staging("production")).to.deep.equal([false, false]);
        expect(await staging("https://acme.internal.example.com/dir")).to.deep.equal([false, false]);
    });

    it("reports where the metrics are, and keeps the configuration digest secret when haproxy.cfg holds the password's hash", async () => {
        let proxy!: EdgeProxy;
        await runProgram(
            () => {
                proxy = new EdgeProxy(
                    "dev",
                    argsFromStackSettings({
                        ...stackFileSettings(path.join(PROJECT_DIR, "test", "stacks", "metrics-2.6.yaml")),
                        detectDrift: false,
                        sshPrivateKey: pulumi.secret(PRIVATE_KEY),
                        metricsPassword: pulumi.secret("metrics-password-for-the-test"),
                    }),
                );
            },
            { stack: "dev", realize: host },
        );
        expect(await settled(proxy.metrics)).to.deep.equal({
            address: "172.17.0.1",
            port: 9101,
            stats: "http://172.17.0.1:9101/stats",
            prometheus: "http://172.17.0.1:9101/metrics",
        });
        // Its salt derives from settings that are no secret: the digest would let anyone test password guesses.
        expect(await pulumi.isSecret(proxy.configurationDigest)).to.equal(true);
        expect(await settled(proxy.configurationDigest)).to.equal("0123456789abcdef");
        expect(await settled(proxy.haproxy)).to.include({ version: "2.6" });
    });
});

/** Waits for an Output's value. */
function settled<T>(output: pulumi.Output<T>): Promise<T> {
    return (output as any).promise();
}

describe("settings EdgeProxy refuses", () => {
    it("throw before any resource is declared (nothing on the host changes), with the key path", async () => {
        const config = stackFileSettings(DEV);
        (config.sites as any[])[0].healthCheck = { path: "/a b", interval: "2s" };
        let error: Error | undefined;
        // The program catches the error, so every registration made before it is seen.
        const declared = await runProgram(
            () => {
                try {
                    new EdgeProxy("dev", argsFromStackSettings({ ...config, detectDrift: false, sshPrivateKey: pulumi.secret(PRIVATE_KEY) }));
                } catch (e) {
                    error = e as Error;
                }
            },
            { stack: "dev" },
        );
        expect(error?.message).to.contain('sites[0].healthCheck.path: "/a b" is not an absolute path');
        expect(
            declared.filter((r) => r.custom),
            "custom resources declared",
        ).to.deep.equal([]);
    });
});

describe("index.ts", () => {
    /** A stack's configuration as the engine passes it. */
    const STACK_CONFIG: Record<string, string> = {
        "edge-proxy:hostAddress": "192.0.2.10",
        "edge-proxy:sshHostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheDevHost",
        "edge-proxy:detectDrift": "false",
        "edge-proxy:sshPrivateKey": PRIVATE_KEY,
        "edge-proxy:acmeEmail": "admin@example.com",
        "edge-proxy:sites": JSON.stringify([{ name: "www", domains: ["www.example.com"], backends: ["10.0.0.1:80"] }]),
    };
    /** Runs index.ts as the stack `staging` with `config`: what it declared and exported, or its error. */
    async function runIndex(config: Record<string, string>, secretKeys?: string[]) {
        let declared: Registration[] = [];
        let exports: any;
        let error: Error | undefined;
        try {
            declared = await runProgram(
                () => {
                    delete require.cache[require.resolve("../../index")];
                    exports = require("../../index");
                },
                { config, stack: "staging", ...(secretKeys ? { secretKeys } : {}) },
            );
        } catch (e) {
            error = e as Error;
        }
        return { declared, exports, error };
    }

    it("validates the engine's configuration and exports the outputs", async () => {
        const { declared: registrations, exports, error } = await runIndex({ ...STACK_CONFIG, "edge-proxy:httpsPort": "8443" });
        expect(error).to.equal(undefined);
        expect(resource(registrations, "staging-haproxy-container").inputs.ports[1]).to.include({ internal: 443, external: 8443 });
        const value = (output: pulumi.Output<unknown>) => new Promise((resolve) => output.apply(resolve));
        // The mocks' steps print `<name> done`: no certificate fields, no configuration digest.
        expect(await value(exports.sites)).to.deep.equal({
            www: { names: ["www.example.com"], urls: ["https://www.example.com:8443/"], certificate: "/srv/haproxy/certs/www.pem", staging: true },
        });
        expect(await value(exports.haproxy)).to.deep.equal({ image: "haproxy:1.7", version: "1.7", repoDigest: undefined, imageId: "sha256:haproxy:1.7" });
        expect(await value(exports.configurationDigest)).to.equal(undefined);
        expect(await value(exports.renewal)).to.deep.equal({
            schedule: defaultRenewSchedule("192.0.2.10", "edge-proxy"),
            script: "/usr/local/sbin/edge-proxy-renew-edge-proxy",
            log: "/srv/letsencrypt/log/edge-proxy-renew.log",
            status: "/srv/letsencrypt/edge-proxy/status.json",
            metricsFile: undefined,
            alert: false,
        });
        expect(await value(exports.metrics)).to.equal(undefined);
        expect(await value(exports.containerName)).to.equal("edge-proxy");
    });

    it("refuses an EAB HMAC key that is not base64url before declaring anything, naming the key, never its text", async () => {
        const config = { ...STACK_CONFIG, "edge-proxy:acmeEabKid": "kid-1", "edge-proxy:acmeEabHmacKey": "T0KEN+not/base64url" };
        const run = (values: Record<string, string>) => runIndex(values, ["edge-proxy:sshPrivateKey", "edge-proxy:acmeEabHmacKey"]);
        const refused = await run(config);
        expect(refused.error?.message).to.contain("acmeEabHmacKey: the secret is not a base64url HMAC key").and.not.contain("T0KEN");
        expect(refused.declared).to.deep.equal([]);
        // The same stack with a base64url key declares the binding's step.
        const accepted = await run({ ...config, "edge-proxy:acmeEabHmacKey": "abcdefghijklmnopqrstuvwxyz_-0123" });
        expect(accepted.error).to.equal(undefined);
        expect(accepted.declared.map((r) => r.name)).to.include("staging-acme-eab-file");
    });

    it("refuses a bad configuration before declaring anything", async () => {
        const { declared, error } = await runIndex({ "edge-proxy:hostAddress": "bad host", "edge-proxy:sites": "[]" });
        expect(error?.message).to.contain('hostAddress: "bad host" is not an IPv4 address or hostname').and.contain("sites: must not be empty");
        expect(declared).to.deep.equal([]);
    });
});

describe("an external account binding's resources", () => {
    /** An HMAC key as a CA gives it (base64url), with a marker no message may show. */
    const HMAC_KEY = "T0KEN-abcdefghijklmnopqrstuvwxyz_0123456789";
    const withEab = (): EdgeProxySettings => ({ ...stackFileSettings(DEV), acmeEabKid: "kid-1" });
    const declareEab = (config: EdgeProxySettings, key = HMAC_KEY) =>
        runProgram(
            () =>
                new EdgeProxy(
                    "dev",
                    argsFromStackSettings({
                        ...config,
                        detectDrift: false,
                        sshPrivateKey: pulumi.secret(PRIVATE_KEY),
                        acmeEabHmacKey: pulumi.secret(key),
                    }),
                ),
            { stack: "dev" },
        );

    it("writes the binding as a secret step after the preparation and before every certificate, and removes its file on destroy", async () => {
        const registrations = await declareEab(withEab());
        const eab = resource(registrations, "dev-acme-eab-file");
        expect(registrations.find((r) => r.urn === eab.parent)?.name, "the certificates' component owns it").to.equal("dev-certificates");
        expect(isSecret(eab.inputs.stdin), "the binding step's script is a secret").to.equal(true);
        expect(unwrapSecrets(eab.inputs.stdin)).to.contain(`\neab-kid = kid-1\neab-hmac-key = ${HMAC_KEY}\nEDGE_PROXY_EOF\n`);
        expect(eab.inputs.delete).to.equal("rm -f /srv/letsencrypt/etc/edge-proxy/eab.ini");
        expect([eab.inputs.create, eab.inputs.update]).to.deep.equal([HOST_SHELL, HOST_SHELL]);
        expect(dependsOn(registrations, "dev-acme-eab-file", "dev-prepare-directories")).to.equal(true);
        for (const site of ["www", "wiki"]) {
            const certbot = resource(registrations, `dev-cert-${site}-certbot`);
            expect(dependsOn(registrations, `dev-cert-${site}-certbot`, "dev-acme-eab-file"), `${site}'s certbot after the binding`).to.equal(true);
            expect(certbot.inputs.stdin).to.contain("    --config /etc/letsencrypt/edge-proxy/eab.ini \\\n");
            expect(isSecret(certbot.inputs.stdin), `${site}'s certbot script names the file only: no secret`).to.equal(false);
        }
        // The key is in the binding's step alone, and that step's connection is as secret as every other.
        expect(commands(registrations).length, "the dev stack's 8 commands and the binding's").to.equal(9);
        for (const registration of registrations.filter((r) => r.name !== "dev-acme-eab-file")) {
            expect(JSON.stringify(unwrapSecrets(registration.inputs)), registration.name).to.not.contain(HMAC_KEY);
        }
        expect(isSecret(eab.inputs.connection)).to.equal(true);
    });

    it("a new HMAC key changes the binding's step only: no certificate step, no reload", async () => {
        const inputs = (rs: Registration[]) => new Map(rs.filter((r) => r.custom).map((r) => [r.name, JSON.stringify(unwrapSecrets(r.inputs))]));
        const [before, after] = [inputs(await declareEab(withEab())), inputs(await declareEab(withEab(), "bmV3LWtleS1mcm9tLXRoZS1DQQ"))];
        expect([...after.keys()].filter((name) => before.get(name) !== after.get(name))).to.deep.equal(["dev-acme-eab-file"]);
    });

    it("fails the binding's step on a key that is not base64url, without echoing it", async () => {
        const failures = await unhandledRejections(async () => {
            await declareEab(withEab(), "not base64url T0KEN!");
        });
        expect(failures.length, "the failed step").to.be.greaterThan(0);
        for (const failure of failures) {
            expect(String((failure as Error).message ?? failure))
                .to.contain("acmeEabHmacKey: the secret is not a base64url HMAC key")
                .and.not.contain("T0KEN");
        }
    });

    it("refuses acmeEabKid without an HMAC key given to EdgeProxy, before declaring any certificate step", async () => {
        let error: Error | undefined;
        const declared = await runProgram(
            () => {
                try {
                    new EdgeProxy("dev", argsFromStackSettings({ ...withEab(), detectDrift: false, sshPrivateKey: pulumi.secret(PRIVATE_KEY) }));
                } catch (e) {
                    error = e as Error;
                }
            },
            { stack: "dev" },
        );
        expect(error?.message).to.contain("acmeEabKid is set but no acmeEabHmacKey was given to EdgeProxy");
        // As for the DNS credentials: the check is where the certificates are declared, so none is.
        expect(declared.filter((r) => r.custom && /^dev-(cert-|acme-eab)/.test(r.name)).map((r) => r.name)).to.deep.equal([]);
    });
});

describe("DNS-01 sites' resources", () => {
    const WILDCARD = path.join(PROJECT_DIR, "test", "stacks", "wildcard-3.2.yaml");
    const TSIG_SECRET = "c2VjcmV0IHRoYXQgaXMgYmFzZTY0Kw==";
    const declareDns = (config: EdgeProxySettings, secret = TSIG_SECRET) =>
        runProgram(
            () =>
                new EdgeProxy(
                    "prod",
                    argsFromStackSettings({
                        ...config,
                        detectDrift: false,
                        sshPrivateKey: pulumi.secret(PRIVATE_KEY),
                        rfc2136KeySecret: pulumi.secret(secret),
                    }),
                ),
            { stack: "prod" },
        );

    it("writes the TSIG credentials as a secret step before any certificate, and removes the file on destroy", async () => {
        const registrations = await declareDns(stackFileSettings(WILDCARD));
        const credentials = resource(registrations, "prod-dns-credentials-file");
        expect(isSecret(credentials.inputs.stdin), "the credentials step's script is a secret").to.equal(true);
        const script: string = unwrapSecrets(credentials.inputs.stdin);
        expect(script)
            .to.contain(`dns_rfc2136_secret = ${TSIG_SECRET}\n`)
            .and.contain("dns_rfc2136_server = 192.0.2.53\n")
            .and.contain("dns_rfc2136_name = edge-proxy.\n")
            .and.contain("dns_rfc2136_algorithm = HMAC-SHA512\n");
        expect(credentials.inputs.delete).to.equal("rm -f /srv/letsencrypt/etc/edge-proxy/dns-rfc2136.ini");
        for (const site of ["apps", "admin", "www"]) {
            expect(dependsOn(registrations, `prod-cert-${site}-certbot`, "prod-dns-credentials-file"), `${site}'s certbot after the credentials`).to.equal(
                true,
            );
            expect(JSON.stringify(unwrapSecrets(resource(registrations, `prod-cert-${site}-certbot`).inputs)), `${site}'s certbot step`).to.not.contain(
                TSIG_SECRET,
            );
        }
        const apps: string = resource(registrations, "prod-cert-apps-certbot").inputs.stdin;
        expect(apps)
            .to.contain("certbot_attempt apps certbot/dns-rfc2136:v5.8.0 certonly --authenticator dns-rfc2136")
            .and.contain("--dns-rfc2136-credentials /etc/letsencrypt/edge-proxy/dns-rfc2136.ini --dns-rfc2136-propagation-seconds 60")
            .and.contain("-d '*.apps.example.net'")
            .and.not.contain("preflight");
        const www: string = resource(registrations, "prod-cert-www-certbot").inputs.stdin;
        expect(www).to.contain("certbot_attempt www certbot/certbot:v5.8.0 certonly --standalone").and.contain("preflight");
        const renew: string = unwrapSecrets(resource(registrations, "prod-renewal-cron").inputs.stdin);
        expect(renew).to.contain('renew_certificate apps certbot/dns-rfc2136:v5.8.0 "$@"').and.contain('renew_certificate www certbot/certbot:v5.8.0 "$@"');
    });

    it("a new TSIG secret changes the credentials step only: no certificate step, no reload", async () => {
        const inputs = (rs: Registration[]) => new Map(rs.filter((r) => r.custom).map((r) => [r.name, JSON.stringify(unwrapSecrets(r.inputs))]));
        const [before, after] = [
            inputs(await declareDns(stackFileSettings(WILDCARD))),
            inputs(await declareDns(stackFileSettings(WILDCARD), "bmV3IHNlY3JldA==")),
        ];
        expect([...after.keys()].filter((name) => before.get(name) !== after.get(name))).to.deep.equal(["prod-dns-credentials-file"]);
    });

    it("fails the credentials step on a TSIG secret that is not base64, without echoing it", async () => {
        const failures = await unhandledRejections(async () => {
            await declareDns(stackFileSettings(WILDCARD), "not base64 T0KEN!");
        });
        expect(failures.length, "the failed step").to.be.greaterThan(0);
        for (const failure of failures) {
            expect(String((failure as Error).message ?? failure))
                .to.contain("rfc2136KeySecret is not a base64 TSIG secret")
                .and.not.contain("T0KEN");
        }
    });
});
