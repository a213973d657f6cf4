/**
 * keepalived's rendering for one host of a fleet: golden files for every variant (test/support/keepalived.ts;
 * `UPDATE_GOLDEN=1 npm test` rewrites them after an intended change), the choices the view makes, the
 * validators' messages, and values that try to smuggle in a directive. The real `keepalived --config-test`
 * and the check script run for real: test/integration/keepalived.test.ts.
 */
import { expect } from "chai";
import {
    addressWithPrefixProblem,
    advertIntervalProblem,
    authPasswordProblem,
    checkProblems,
    interfaceNameProblem,
    ipv4AddressProblem,
    KEEPALIVED_CHECK_PATH,
    type KeepalivedView,
    keepalivedProblems,
    keepalivedTemplateView,
    PREEMPT_DELAY_SECONDS,
    priorityProblem,
    renderKeepalivedCheck,
    renderKeepalivedConfig,
    routerIdProblem,
    routerNameProblem,
    unicastPeersProblem,
    virtualAddressesProblem,
} from "../../components/keepalived/render";
import { renderTemplate } from "../../components/templates";
import { KEEPALIVED_VARIANTS, type KeepalivedFiles, keepalivedGoldenOf, writeKeepalivedGolden } from "../support/keepalived";

const BASE = KEEPALIVED_VARIANTS["three-hosts"];
/** The base view with some fields changed. */
const viewWith = (change: Partial<KeepalivedView>): KeepalivedView => ({ ...BASE, ...change });

describe("rendered keepalived configuration", () => {
    for (const [variant, view] of Object.entries(KEEPALIVED_VARIANTS)) {
        it(`variant ${variant} matches its golden files`, () => {
            const files: KeepalivedFiles = { "keepalived.conf": renderKeepalivedConfig(view), "check-haproxy.sh": renderKeepalivedCheck(view) };
            if (process.env.UPDATE_GOLDEN === "1") {
                writeKeepalivedGolden(variant, files);
            }
            const golden = keepalivedGoldenOf(variant);
            expect(golden, `no golden files for ${variant}: run UPDATE_GOLDEN=1 npm test`).to.not.equal(undefined);
            expect(files).to.deep.equal(golden);
        });
    }

    it("renders the same bytes for the same view", () => {
        expect(renderKeepalivedConfig(structuredClone(BASE))).to.equal(renderKeepalivedConfig(BASE));
        expect(renderKeepalivedCheck(structuredClone(BASE))).to.equal(renderKeepalivedCheck(BASE));
    });

    it("starts every host as BACKUP, with nopreempt, or with preempt_delay when the addresses return", () => {
        /** The directives, without the comments (which may name the others). */
        const directives = (config: string) => config.split("\n").filter((line) => !line.trimStart().startsWith("#"));
        const stays = directives(renderKeepalivedConfig(viewWith({ preempt: false })));
        expect(stays).to.include.members(["    state BACKUP", "    nopreempt"]);
        expect(stays.filter((line) => /preempt|MASTER/.test(line))).to.deep.equal(["    nopreempt"]);
        const returns = directives(renderKeepalivedConfig(viewWith({ preempt: true })));
        expect(returns).to.include.members(["    state BACKUP", `    preempt_delay ${PREEMPT_DELAY_SECONDS}`]);
        expect(returns.filter((line) => /preempt|MASTER/.test(line))).to.deep.equal([`    preempt_delay ${PREEMPT_DELAY_SECONDS}`]);
    });

    it("puts IPv4 addresses in virtual_ipaddress and IPv6 ones in virtual_ipaddress_excluded, each on the interface", () => {
        const config = renderKeepalivedConfig(viewWith({ interface: "ens5", virtualAddresses: ["fd00::100/64", "10.0.0.100/24", "10.0.0.101/24"] }));
        expect(config).to.contain("    virtual_ipaddress {\n        10.0.0.100/24 dev ens5\n        10.0.0.101/24 dev ens5\n    }\n");
        expect(config).to.contain("    virtual_ipaddress_excluded {\n        fd00::100/64 dev ens5\n    }\n");
        expect(renderKeepalivedConfig(viewWith({ virtualAddresses: ["10.0.0.100/24"] }))).to.not.contain("virtual_ipaddress_excluded");
    });

    it("sends advertisements to each peer from the host's own address", () => {
        const config = renderKeepalivedConfig(viewWith({ unicastSource: "10.0.0.12", unicastPeers: ["10.0.0.11", "10.0.0.13"] }));
        expect(config).to.contain("    unicast_src_ip 10.0.0.12\n    unicast_peer {\n        10.0.0.11\n        10.0.0.13\n    }\n");
    });

    it("authenticates with the password only when there is one", () => {
        expect(renderKeepalivedConfig(viewWith({ authPassword: "pw" }))).to.contain(
            "    authentication {\n        auth_type PASS\n        auth_pass pw\n    }\n",
        );
        expect(renderKeepalivedConfig(viewWith({ authPassword: undefined }))).to.not.match(/authentication|auth_/);
    });

    it("tracks the check script: keepalived's timeout a second after the script's own, which stops the probe itself", () => {
        const check = { port: 8080, intervalSeconds: 5, fall: 3, rise: 4, timeoutSeconds: 2 };
        const config = renderKeepalivedConfig(viewWith({ check }));
        expect(config).to.match(new RegExp(`    script ${KEEPALIVED_CHECK_PATH}\n    interval 5\n(    #.*\n)*    timeout 3\n    fall 3\n    rise 4\n}\n`));
        expect(config).to.contain("    track_script {\n        chk_haproxy\n    }\n");
        const script = renderKeepalivedCheck({ check });
        expect(script).to.match(/^#!\/bin\/bash\n/);
        expect(script).to.contain("/dev/tcp/127.0.0.1/8080 ").and.contain('exec timeout --signal=KILL 2 "$BASH" -c probe\n');
    });

    it("runs the check as root under keepalived's script security", () => {
        const config = renderKeepalivedConfig(BASE);
        expect(config).to.contain("    script_user root\n    enable_script_security\n");
        expect(config).to.contain("    router_id proxy-1\n");
    });
});

describe("keepalived validators", () => {
    it("router name: one keepalived word", () => {
        expect(routerNameProblem("edge-b.example.com")).to.equal(undefined);
        for (const bad of ["", "a b", "proxy#1", "x{"]) {
            expect(routerNameProblem(bad), bad).to.equal("is not one word of letters, digits, '.', '_', ':', '/' and '-'");
        }
        expect(routerNameProblem("includer")).to.equal("is a word keepalived reads as an include of other files");
    });

    it("interface name: 1 to 15 characters as Linux takes them, no '/', ':' or blank", () => {
        for (const good of ["eth0", "ens5.100", "enp0s31f6", "br-lan", "wg_0", "a", "x".repeat(15)]) {
            expect(interfaceNameProblem(good), good).to.equal(undefined);
        }
        for (const long of ["", "x".repeat(16)]) {
            expect(interfaceNameProblem(long), long).to.equal("is not 1 to 15 characters long, as Linux interface names are");
        }
        for (const bad of ["eth0/1", "eth0:1", "eth 0", "eth0\n", ".", "..", "eth0#", "éth0"]) {
            expect(interfaceNameProblem(bad), bad).to.equal("is not a network interface name of letters, digits, '.', '_' and '-', such as eth0");
        }
        expect(interfaceNameProblem("include")).to.equal("is a word keepalived reads as an include of other files");
    });

    it("router id 1-255, priority 1-254, advertisement interval 1-255: whole numbers", () => {
        for (const [problem, min, max, message] of [
            [routerIdProblem, 1, 255, "is not a VRRP virtual router id: a whole number from 1 to 255"],
            [priorityProblem, 1, 254, "is not a VRRP priority (255 is the owner's): a whole number from 1 to 254"],
            [advertIntervalProblem, 1, 255, "is not an advertisement interval in seconds: a whole number from 1 to 255"],
        ] as const) {
            expect(problem(min)).to.equal(undefined);
            expect(problem(max)).to.equal(undefined);
            for (const bad of [min - 1, max + 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
                expect(problem(bad), String(bad)).to.equal(message);
            }
        }
    });

    it("password: 1 to 8 safe characters, and the message never holds it", () => {
        for (const good of ["x", "s3cret-1", "Ab3._:/-"]) {
            expect(authPasswordProblem(good), good).to.equal(undefined);
        }
        expect(authPasswordProblem("")).to.equal("is 0 characters long: VRRP authentication takes 1 to 8");
        expect(authPasswordProblem("123456789")).to.equal("is 9 characters long: VRRP authentication takes 1 to 8");
        for (const bad of ["pa ss", "pa#ss", "pa{ss", "pa\nss", "pa$s", "pä"]) {
            const problem = authPasswordProblem(bad);
            expect(problem, bad).to.equal("is not a password of letters, digits, '.', '_', ':', '/' and '-'");
        }
        expect(authPasswordProblem("include")).to.equal("is a word keepalived reads as an include of other files");
    });

    it("the hosts' own addresses: IPv4 without prefix", () => {
        expect(ipv4AddressProblem("10.0.0.11")).to.equal(undefined);
        for (const bad of ["10.0.0.11/24", "fd00::11", "010.0.0.11", "10.0.0.256", "proxy-1", ""]) {
            expect(ipv4AddressProblem(bad), bad).to.equal("is not an IPv4 address (VRRP version 2 runs over IPv4)");
        }
    });

    it("virtual addresses: IPv4 or IPv6 with a prefix length, no zone", () => {
        for (const good of ["10.0.0.100/24", "10.0.0.100/32", "10.0.0.100/1", "fd00::100/64", "2001:db8::1/128", "::1/128"]) {
            expect(addressWithPrefixProblem(good), good).to.equal(undefined);
        }
        for (const bad of [
            "10.0.0.100",
            "10.0.0.100/0",
            "10.0.0.100/33",
            "10.0.0.100/024",
            "10.0.0.100/24/1",
            "10.0.0.300/24",
            "fd00::100/129",
            "fe80::1%eth0/64",
            "fd00::100",
            "proxy/24",
            "",
        ]) {
            expect(addressWithPrefixProblem(bad), bad).to.equal("is not an address with its prefix length, such as 10.0.0.100/24 or fd00::100/64");
        }
    });

    it("peers: at least one, never the host itself, none twice", () => {
        expect(unicastPeersProblem(["10.0.0.12"], "10.0.0.11")).to.equal(undefined);
        expect(unicastPeersProblem([], "10.0.0.11")).to.equal(
            "lists no other host: keepalived would fall back to multicast, and a single host has no one to hand the addresses to",
        );
        expect(unicastPeersProblem(["10.0.0.12", "10.0.0.11"], "10.0.0.11")).to.equal(`include this host's own address "10.0.0.11"`);
        expect(unicastPeersProblem(["10.0.0.12", "10.0.0.13", "10.0.0.12"], "10.0.0.11")).to.equal(`list "10.0.0.12" twice`);
    });

    it("virtual addresses together: at least one IPv4 address, none twice (whatever the prefix)", () => {
        expect(virtualAddressesProblem(["fd00::100/64", "10.0.0.100/24"])).to.equal(undefined);
        for (const noIPv4 of [[], ["fd00::100/64"]]) {
            expect(virtualAddressesProblem(noIPv4)).to.equal(
                "have no IPv4 address: VRRP version 2 announces IPv4 addresses, and IPv6 ones only move along with them",
            );
        }
        expect(virtualAddressesProblem(["10.0.0.100/24", "10.0.0.100/32"])).to.equal(`list "10.0.0.100" twice`);
        expect(virtualAddressesProblem(["10.0.0.100/24", "FD00::1/64", "fd00::1/64"])).to.equal(`list "fd00::1" twice`);
    });

    it("the check: a port, whole seconds and counts", () => {
        expect(checkProblems(BASE.check)).to.deep.equal([]);
        expect(checkProblems({ port: 0, intervalSeconds: 0.5, timeoutSeconds: 0, fall: 0, rise: 1001 })).to.deep.equal([
            "check.port 0 is not a TCP port: a whole number from 1 to 65535",
            "check.intervalSeconds 0.5 is not an interval in seconds: a whole number from 1 to 3600",
            "check.timeoutSeconds 0 is not a timeout in seconds: a whole number from 1 to 3600",
            "check.fall 0 is not a count of checks: a whole number from 1 to 1000",
            "check.rise 1001 is not a count of checks: a whole number from 1 to 1000",
        ]);
    });

    it("every variant is valid; every problem of a view is listed, led by its field, and never with the password", () => {
        for (const [variant, view] of Object.entries(KEEPALIVED_VARIANTS)) {
            expect(keepalivedProblems(view), variant).to.deep.equal([]);
        }
        const problems = keepalivedProblems({
            ...BASE,
            hostName: "proxy 1",
            interface: "eth0:1",
            virtualRouterId: 0,
            priority: 255,
            advertIntervalSeconds: 0,
            unicastSource: "fd00::11",
            unicastPeers: ["10.0.0.12", "10.0.0.12", "peer"],
            virtualAddresses: ["fd00::100/64", "10.0.0.100"],
            authPassword: "too-long-secret",
            check: { ...BASE.check, port: 70000 },
        });
        expect(problems).to.deep.equal([
            `hostName "proxy 1" is not one word of letters, digits, '.', '_', ':', '/' and '-'`,
            `interface "eth0:1" is not a network interface name of letters, digits, '.', '_' and '-', such as eth0`,
            "virtualRouterId 0 is not a VRRP virtual router id: a whole number from 1 to 255",
            "priority 255 is not a VRRP priority (255 is the owner's): a whole number from 1 to 254",
            "advertIntervalSeconds 0 is not an advertisement interval in seconds: a whole number from 1 to 255",
            `unicastSource "fd00::11" is not an IPv4 address (VRRP version 2 runs over IPv4)`,
            `unicastPeers[2] "peer" is not an IPv4 address (VRRP version 2 runs over IPv4)`,
            `unicastPeers list "10.0.0.12" twice`,
            `virtualAddresses[1] "10.0.0.100" is not an address with its prefix length, such as 10.0.0.100/24 or fd00::100/64`,
            "virtualAddresses have no IPv4 address: VRRP version 2 announces IPv4 addresses, and IPv6 ones only move along with them",
            "authPassword is 15 characters long: VRRP authentication takes 1 to 8",
            "check.port 70000 is not a TCP port: a whole number from 1 to 65535",
        ]);
        expect(problems.join("\n")).to.not.contain("too-long-secret");
    });

    it("the renderers refuse a view with problems, naming every one", () => {
        expect(() => renderKeepalivedConfig(viewWith({ priority: 0, unicastPeers: [] }))).to.throw(
            /^invalid keepalived settings: priority 0 is not a VRRP priority .*; unicastPeers lists no other host/,
        );
        expect(() => renderKeepalivedCheck({ check: { ...BASE.check, port: 0 } })).to.throw(/^invalid keepalived settings: check\.port 0 /);
    });
});

describe("values that would add a keepalived directive", () => {
    /** A valid view with one value replaced behind the validators' back, rendered by the template alone. */
    function forged(change: (view: ReturnType<typeof keepalivedTemplateView>) => void): () => string {
        const view = keepalivedTemplateView(structuredClone(BASE));
        change(view);
        return () => renderTemplate("keepalived.conf.hbs", view);
    }
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a keepalived definition, hostile input the gate must refuse
    const hostile = ["eth0 dev lo", "proxy#1", "proxy!1", "x {", "}", "10.0.0.100/24\n}\nvrrp_instance evil {", 'a"b', "$DEF", "${DEF}", "include", "a\\"];
    for (const value of hostile) {
        it(`refuses ${JSON.stringify(value)} in every field the configuration prints`, () => {
            const fields: [string, (view: ReturnType<typeof keepalivedTemplateView>) => void][] = [
                ["hostName", (v) => Object.assign(v, { hostName: value })],
                ["interface", (v) => Object.assign(v, { interface: value })],
                ["priority", (v) => Object.assign(v, { priority: value })],
                ["unicastSource", (v) => Object.assign(v, { unicastSource: value })],
                ["a peer", (v) => v.unicastPeers.push(value)],
                ["an IPv4 address", (v) => v.ipv4Addresses.push(value)],
                ["an IPv6 address", (v) => v.ipv6Addresses.push(value)],
                ["the password", (v) => Object.assign(v, { authPassword: value })],
                ["the check interval", (v) => Object.assign(v.check, { intervalSeconds: value })],
            ];
            expect(forged(() => undefined)()).to.equal(renderKeepalivedConfig(BASE));
            for (const [field, change] of fields) {
                expect(forged(change), field).to.throw(/into keepalived\.conf: not a single safe word/);
            }
        });
    }

    it("refuses them through the renderer too, before the template", () => {
        for (const value of hostile) {
            expect(() => renderKeepalivedConfig(viewWith({ interface: value })), value).to.throw(/^invalid keepalived settings: interface /);
            expect(() => renderKeepalivedConfig(viewWith({ authPassword: value })), value).to.throw(/^invalid keepalived settings: authPassword /);
        }
    });
});
