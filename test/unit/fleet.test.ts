/**
 * A fleet's resource graph under Pulumi's mocks (test/stacks/fleet-2.6.yaml: three hosts, the second the
 * issuer, virtual addresses): who issues and who receives, the order that rolls a change out one host at a
 * time, the distribution's place, keepalived on every host, and the secrets kept secret. The fleet's
 * validation and its scripts' pure parts are here too; the scripts run for real in test/integration/fleet.test.ts.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { argsFromStackSettings, EdgeProxy, EdgeProxyFleet, type EdgeProxySettings } from "../../components";
import { issuerOf } from "../../components/config/schema";
import { type ConfigError, parseConfig } from "../../components/config/validate";
import { ignoredWithHosts } from "../../components/fleet/edgeProxyFleet";
import { keepalivedView, vrrpPasswordProblem } from "../../components/fleet/keepalived";
import { distributionTargets, followersOf, hostKeyOnly } from "../../components/fleet/roles";
import { authorizedKeyLine, parseDistribution, parsePublicKey } from "../../components/fleet/scripts";
import { takeFleetRole } from "../../components/hostState";
import { loadStackFile } from "../../components/plan";
import { dependsOn, echo, isSecret, type Registration, resource, runProgram, unwrapSecrets } from "../../dev/mocks";
import { PROJECT_DIR } from "../../dev/paths";
import { EngineUrns } from "../support/engineUrns";
import { stackFileSettings } from "../support/settings";

const FLEET = path.join(PROJECT_DIR, "test", "stacks", "fleet-2.6.yaml");
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAtest\n-----END OPENSSH PRIVATE KEY-----\n";
const ISSUER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIssuersOwnCertificateKey edge-proxy-certificates:edge-proxy";

/** Declares the fleet of the fleet stack, the fleet key step printing ISSUER_KEY. */
function declareFleet(change: (settings: EdgeProxySettings) => void = () => {}): Promise<Registration[]> {
    const settings = stackFileSettings(FLEET);
    change(settings);
    return runProgram(
        () =>
            new EdgeProxyFleet(
                "prod",
                argsFromStackSettings({ ...settings, detectDrift: false, sshPrivateKey: pulumi.secret(PRIVATE_KEY), vrrpPassword: pulumi.secret("s3cret") }),
            ),
        {
            stack: "prod",
            realize: async (r) => {
                const echoed = await echo(r);
                if (r.name.endsWith("-fleet-key")) {
                    echoed.state.stdout = `${ISSUER_KEY}\n`;
                }
                return echoed;
            },
        },
    );
}

describe("a fleet's resources", () => {
    let registrations: Registration[];
    before(async () => {
        registrations = await declareFleet();
    });
    const names = () => registrations.map((r) => r.name);

    it("declares one EdgeProxy per host, the issuer first, and keepalived on each", () => {
        const proxies = registrations.filter((r) => r.type === "edge-proxy:index:EdgeProxy").map((r) => r.name);
        expect(proxies).to.have.members(["prod", "prod-edge-1", "prod-edge-3"]);
        expect(registrations.filter((r) => r.type === "edge-proxy:index:Keepalived").map((r) => r.name)).to.have.members([
            "prod-edge-1-keepalived",
            "prod-edge-2-keepalived",
            "prod-edge-3-keepalived",
        ]);
    });

    it("runs certbot and the renewal job on the issuer only; the others receive", () => {
        expect(names().filter((name) => name.endsWith("-certbot"))).to.have.members(["prod-cert-shop-certbot", "prod-cert-apps.example.org-certbot"]);
        expect(names().filter((name) => name.endsWith("-renewal-cron"))).to.deep.equal(["prod-renewal-cron"]);
        expect(names().filter((name) => name.endsWith("-certificate-receiver"))).to.have.members([
            "prod-edge-1-certificate-receiver",
            "prod-edge-3-certificate-receiver",
        ]);
        expect(names()).to.include("prod-fleet-key");
        expect(names().filter((name) => name.endsWith("-fleet-key"))).to.have.length(1);
    });

    it("reaches each host at its own address with its own pinned key, and sends the CA's requests to the issuer's certbot", () => {
        for (const [proxy, address, port, user, key] of [
            ["prod", "edge-2.example.net", 2222, "root", "HostKeyOfEdgeTwo"],
            ["prod-edge-3", "198.51.100.13", 22, "admin", "HostKeyOfEdgeThree"],
        ] as const) {
            const connection = unwrapSecrets(resource(registrations, `${proxy}-prepare-directories`).inputs.connection);
            expect(connection).to.include({ host: address, port, user });
            expect(connection.hostKey).to.contain(key);
            expect(unwrapSecrets(resource(registrations, `${proxy}-config-delivery`).inputs.stdin)).to.contain("server certbot 10.0.0.12:8888");
        }
        // Only the issuer, where certbot's port is published, must have acmeChallengeAddress.
        expect(unwrapSecrets(resource(registrations, "prod-prepare-directories").inputs.stdin)).to.contain("challenge_address=10.0.0.12");
        expect(unwrapSecrets(resource(registrations, "prod-edge-3-prepare-directories").inputs.stdin)).not.to.contain("challenge_address=");
    });

    it("rolls out one host at a time: each host's first step waits for the previous host's checked configuration and container", () => {
        expect(dependsOn(registrations, "prod-edge-1-prepare-directories", "prod-config-delivery")).to.equal(true);
        expect(dependsOn(registrations, "prod-edge-1-prepare-directories", "prod-haproxy-container")).to.equal(true);
        expect(dependsOn(registrations, "prod-edge-3-prepare-directories", "prod-edge-1-haproxy-container")).to.equal(true);
        expect(dependsOn(registrations, "prod-prepare-directories", "prod-edge-1-haproxy-container")).to.equal(false);
    });

    it("runs certbot only once every host and the virtual addresses serve on the HTTP port, wherever the CA's request comes", () => {
        const serving = resource(registrations, "prod-fleet-serving");
        expect(unwrapSecrets(serving.inputs.connection).host).to.equal("edge-2.example.net");
        const script: string = unwrapSecrets(serving.inputs.stdin);
        expect(script).to.contain("for address in 10.0.0.11 10.0.0.12 10.0.0.13 10.0.0.100; do");
        for (const needed of ["prod-haproxy-container", "prod-edge-1-haproxy-container", "prod-edge-3-haproxy-container", "prod-edge-1-keepalived-container"]) {
            expect(dependsOn(registrations, "prod-fleet-serving", needed), needed).to.equal(true);
        }
        for (const certbot of ["prod-cert-shop-certbot", "prod-cert-apps.example.org-certbot"]) {
            expect(dependsOn(registrations, certbot, "prod-fleet-serving"), certbot).to.equal(true);
        }
    });

    it("distributes from the issuer after its reload, to hosts that run HAProxy and authorized the issuer's key", () => {
        const distribution = resource(registrations, "prod-certificate-distribution");
        expect(unwrapSecrets(distribution.inputs.connection).host).to.equal("edge-2.example.net");
        for (const needed of [
            "prod-certificates-reload",
            "prod-edge-1-certificate-receiver",
            "prod-edge-3-certificate-receiver",
            "prod-edge-1-haproxy-container",
        ]) {
            expect(dependsOn(registrations, "prod-certificate-distribution", needed), needed).to.equal(true);
        }
        const script: string = unwrapSecrets(distribution.inputs.stdin);
        expect(script).to.contain("distribute_to edge-1 10.0.0.11 2222 root 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfEdgeOne'");
        expect(script).to.contain("distribute_to edge-3 10.0.0.13 22 admin");
        expect(script).not.to.contain("distribute_to edge-2");
    });

    it("authorizes the key the issuer made, from the issuer's address only, for the receiver only", () => {
        const receiver: string = unwrapSecrets(resource(registrations, "prod-edge-3-certificate-receiver").inputs.stdin);
        expect(receiver).to.contain(
            'restrict,from="10.0.0.12",command="/bin/sh /var/lib/edge-proxy/edge-proxy/receive-certificates" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIssuersOwnCertificateKey edge-proxy-certificates:edge-proxy',
        );
        expect(resource(registrations, "prod-edge-3-certificate-receiver").inputs.delete).to.contain("authorized_keys");
    });

    it("runs keepalived on the host's network with the capabilities VRRP needs, its configuration a secret with vrrpPassword", () => {
        const container = resource(registrations, "prod-edge-1-keepalived-container").inputs;
        expect(container).to.include({ name: "edge-proxy-keepalived", networkMode: "host", restart: "always" });
        expect(container.capabilities.adds).to.have.members(["NET_ADMIN", "NET_BROADCAST", "NET_RAW"]);
        expect(container.volumes).to.deep.equal([{ hostPath: "/var/lib/edge-proxy/edge-proxy/keepalived", containerPath: "/etc/keepalived", readOnly: true }]);
        const config = resource(registrations, "prod-edge-1-keepalived-config").inputs.stdin;
        expect(isSecret(config), "the configuration step's script carries the VRRP password").to.equal(true);
        expect(unwrapSecrets(config)).to.contain("auth_pass s3cret");
        expect(JSON.stringify(registrations.filter((r) => !r.name.endsWith("keepalived-config")).map((r) => unwrapSecrets(r.inputs)))).not.to.contain("s3cret");
    });

    it("takes over a one-host stack's resources on its issuer: each keeps its identity (an alias), the other hosts' are new", async () => {
        // The stack before: one EdgeProxy on the host that becomes the issuer.
        const settings = stackFileSettings(FLEET) as Record<string, unknown>;
        const issuer = (settings.hosts as Record<string, string>[])[1];
        const { hosts, issuerHost, virtualAddresses, vrrpInterface, ...single } = settings;
        const before = await runProgram(
            () =>
                new EdgeProxy(
                    "prod",
                    argsFromStackSettings({
                        ...(single as unknown as EdgeProxySettings),
                        hostAddress: issuer.address,
                        sshHostKey: issuer.sshHostKey,
                        detectDrift: false,
                        sshPrivateKey: pulumi.secret(PRIVATE_KEY),
                    }),
                ),
            { stack: "prod" },
        );
        const formerUrns = new EngineUrns(before);
        const fleetUrns = new EngineUrns(registrations);
        for (const resource of before) {
            const urn = formerUrns.urn(resource);
            const successors = registrations.filter((r) => fleetUrns.urn(r) === urn || fleetUrns.former(r).includes(urn));
            expect(
                successors.map((r) => r.name),
                urn,
            ).to.deep.equal([resource.name]);
        }
    });

    it("reports one host with an EdgeProxy of its own when hosts is empty", async () => {
        let failure: unknown;
        try {
            await declareFleet((settings) => {
                (settings as Record<string, unknown>).hosts = [];
                (settings as Record<string, unknown>).virtualAddresses = [];
                (settings as Record<string, unknown>).vrrpInterface = undefined;
                (settings as Record<string, unknown>).issuerHost = undefined;
                (settings as Record<string, unknown>).hostAddress = "203.0.113.1";
                (settings as Record<string, unknown>).sshHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey";
            });
        } catch (error) {
            failure = error;
        }
        expect(String(failure)).to.contain("EdgeProxyFleet prod: hosts is empty");
        expect(String(failure)).not.to.contain("invalid");
    });
});

describe("a fleet's configuration", () => {
    it("is refused by a plain EdgeProxy, which would issue without sending", async () => {
        let failure: unknown;
        try {
            await runProgram(
                () =>
                    new EdgeProxy(
                        "prod",
                        argsFromStackSettings({
                            ...stackFileSettings(FLEET),
                            detectDrift: false,
                            sshPrivateKey: pulumi.secret(PRIVATE_KEY),
                            vrrpPassword: pulumi.secret("s3cret"),
                        }),
                    ),
                { stack: "prod" },
            );
        } catch (error) {
            failure = error;
        }
        expect(String(failure)).to.contain("EdgeProxy prod: hosts lists several hosts: declare an EdgeProxyFleet for them");
    });

    it("refuses the one-host keys beside hosts, where they would be ignored, but not their defaults", () => {
        expect(ignoredWithHosts({ hostAddress: "", acmeChallengeAddress: "172.17.0.1", sshTrustOnFirstUse: false })).to.deep.equal([]);
        expect(ignoredWithHosts({ hostAddress: "proxy.example.net", acmeChallengeAddress: "10.0.0.1" })).to.deep.equal([
            "hostAddress: has no effect with hosts: each host's address and key are in its entry (acmeChallengeAddress: the issuer's privateAddress)",
            "acmeChallengeAddress: has no effect with hosts: each host's address and key are in its entry (acmeChallengeAddress: the issuer's privateAddress)",
        ]);
    });

    it("takes a VRRP password keepalived takes: 1 to 8 characters of one word, named by its key and never echoed", () => {
        expect(vrrpPasswordProblem("Xq7rT2pa")).to.equal(undefined);
        expect(vrrpPasswordProblem("123456789")).to.equal("vrrpPassword: the secret is 9 characters long: VRRP authentication takes 1 to 8");
        const blank = vrrpPasswordProblem("a b");
        expect(blank).to.match(/^vrrpPassword: the secret is not a password/);
        expect(blank).not.to.contain("a b");
    });

    const fleet = loadStackFile(FLEET).fleet!;

    it("names the issuer (issuerHost, else the first host) and the hosts that receive, in the list's order", () => {
        expect(issuerOf(fleet).name).to.equal("edge-2");
        expect(followersOf(fleet).map((host) => host.name)).to.deep.equal(["edge-1", "edge-3"]);
        expect(distributionTargets(fleet)[0]).to.deep.equal({
            name: "edge-1",
            address: "10.0.0.11",
            port: 2222,
            user: "root",
            hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfEdgeOne",
            tokens: "",
        });
        const tokens = { "edge-1": { shop: "0a1b", "apps.example.org": "" }, "edge-3": { shop: "c0de" } };
        expect(distributionTargets(fleet, tokens).map((target) => target.tokens)).to.deep.equal(["shop:0a1b", "shop:c0de"]);
        expect(hostKeyOnly("ssh-ed25519 AAAA comment with words")).to.equal("ssh-ed25519 AAAA");
    });

    it("gives each host keepalived's view: its priority (stated, else from 150 down), its peers, the addresses", () => {
        const config = loadStackFile(FLEET);
        expect(keepalivedView(config, "edge-1")).to.deep.include({ priority: 150, unicastSource: "10.0.0.11", unicastPeers: ["10.0.0.12", "10.0.0.13"] });
        expect(keepalivedView(config, "edge-2").priority).to.equal(140);
        expect(keepalivedView(config, "edge-3").priority).to.equal(200);
        expect(keepalivedView(config, "edge-3").virtualAddresses).to.deep.equal(["10.0.0.100/24", "fd00::100/64"]);
    });

    const base = () => ({
        acmeEmail: "ops@example.org",
        sites: [{ domains: ["a.example.org"], backends: ["10.0.0.5:80"] }],
        hosts: [
            { name: "a", address: "10.0.0.1", sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA", privateAddress: "10.1.0.1" },
            { name: "b", address: "10.0.0.2", sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyB", privateAddress: "10.1.0.2" },
        ],
    });
    const problems = (change: (raw: Record<string, any>) => void): string[] => {
        const raw: Record<string, any> = base();
        change(raw);
        try {
            parseConfig(raw, { requireSecrets: false });
            return [];
        } catch (error) {
            return (error as ConfigError).problems;
        }
    };

    it("takes a fleet without hostAddress or sshHostKey of its own", () => {
        expect(problems(() => {})).to.deep.equal([]);
    });

    it("names each fleet mistake by its key", () => {
        expect(
            problems((raw) => {
                raw.hosts[1].name = "a";
                raw.hosts[1].privateAddress = "10.1.0.1";
                raw.issuerHost = "c";
            }),
        ).to.deep.equal([
            'hosts[1].name: "a" is already the name of hosts[0].name',
            'hosts[1].privateAddress: "10.1.0.1" is already the address of hosts[0].privateAddress',
            'issuerHost: "c" is none of the hosts\' names (a)',
        ]);
        expect(problems((raw) => delete raw.hosts[0].sshHostKey)).to.deep.equal(["hosts[0].sshHostKey: must be a string, got nothing"]);
        expect(problems((raw) => (raw.hosts[0].privateAddress = "fd00::1"))).to.deep.equal(['hosts[0].privateAddress: "fd00::1" is not an IPv4 address']);
        expect(problems((raw) => (raw.virtualAddresses = ["fd00::100/64"]))).to.deep.equal([
            "virtualAddresses: have no IPv4 address: VRRP version 2 announces IPv4 addresses, and IPv6 ones only move along with them",
        ]);
        expect(problems((raw) => (raw.virtualAddresses = ["10.0.0.100"]))).to.deep.equal([
            'virtualAddresses[0]: "10.0.0.100" is not an address with its prefix length, such as 10.0.0.100/24 or fd00::100/64',
        ]);
        expect(problems((raw) => (raw.vrrpRouterId = 7))).to.deep.equal(["vrrpRouterId: has no effect: keepalived is off until virtualAddresses is set"]);
        expect(
            problems((raw) => {
                raw.hosts[1].address = "10.0.0.1";
                raw.hosts[1].sshPort = 22;
            }),
        ).to.deep.equal(["hosts[1].address: 10.0.0.1:22 is already the SSH address of hosts[0]"]);
        expect(
            problems((raw) => {
                raw.hosts[1].sshPort = 2222;
                raw.tcpServices = [{ name: "ssh", port: 2222, backends: ["10.0.0.9:22"] }];
            }),
        ).to.deep.equal(["hosts[1].sshPort: port 2222 is already used by tcpServices[0].port"]);
    });

    it("requires hostAddress without hosts, and virtual addresses only with hosts", () => {
        expect(
            problems((raw) => {
                delete raw.hosts;
                raw.sshHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA";
                raw.virtualAddresses = ["10.0.0.100/24"];
            }),
        ).to.deep.equal([
            "hostAddress: is required: Address (DNS name or IP) of the Debian Docker host, as reached over SSH. Required unless `hosts` lists the hosts.",
            "virtualAddresses: needs hosts: the virtual addresses move between the hosts of a fleet",
        ]);
    });
});

describe("a fleet's scripts, their parsing", () => {
    it("takes what a host was made in its fleet out of its steps' records", () => {
        const prepare = { token: "0a1b", drift: "" };
        expect(takeFleetRole({ prepare, "fleet-role": { token: "", drift: "receiver" } })).to.deep.equal({ role: "receiver", steps: { prepare } });
        expect(takeFleetRole({ prepare })).to.deep.equal({ role: undefined, steps: { prepare } });
    });

    it("takes the issuer's public key only as ssh-keygen writes an ed25519 one", () => {
        expect(parsePublicKey(`${ISSUER_KEY}\n`)).to.equal("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIssuersOwnCertificateKey");
        for (const bad of ["", "ssh-rsa AAAAB3Nza", 'ssh-ed25519 AAAA",command="sh', "ssh-ed25519 AAAA\nssh-ed25519"]) {
            expect(() => parsePublicKey(bad), JSON.stringify(bad)).to.throw("printed no ed25519 public key");
        }
    });

    it("refuses to write an authorized_keys line from a key that could add options", () => {
        const config = loadStackFile(FLEET);
        expect(() => authorizedKeyLine(config, 'ssh-ed25519 AAAA" ,command="sh')).to.throw("unchecked parts");
    });

    it("reads what each host serves from the distribution's output", () => {
        expect(
            parseDistribution(
                "edge-1 shop serial=0A notAfter=2027-01-01T00:00:00Z issuer=CN=R11\nedge-1 blog serial=0B notAfter=2027-01-01T00:00:00Z issuer=CN=R11\n",
            ),
        ).to.deep.equal({
            "edge-1": ["shop serial=0A notAfter=2027-01-01T00:00:00Z issuer=CN=R11", "blog serial=0B notAfter=2027-01-01T00:00:00Z issuer=CN=R11"],
        });
    });
});
