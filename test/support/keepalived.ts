/**
 * The keepalived renderings with golden files under test/golden/keepalived/<variant>/: the unit tier holds the
 * renderer to them (test/unit/keepalived.test.ts), the integration tier gives them to the real
 * `keepalived --config-test` (test/integration/keepalived.test.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { KeepalivedView } from "../../components/keepalived/render";
import { PROJECT_DIR } from "../../dev/paths";

export const KEEPALIVED_GOLDEN_DIR = path.join(PROJECT_DIR, "test", "golden", "keepalived");

/** The rendered files of one host, by their names under /etc/keepalived. */
export interface KeepalivedFiles {
    "keepalived.conf": string;
    "check-haproxy.sh": string;
}

/** The first host of a fleet of three: nopreempt, a password, an IPv4 and an IPv6 address. */
const THREE_HOSTS: KeepalivedView = {
    hostName: "proxy-1",
    interface: "eth0",
    virtualRouterId: 51,
    priority: 150,
    unicastSource: "10.0.0.11",
    unicastPeers: ["10.0.0.12", "10.0.0.13"],
    virtualAddresses: ["10.0.0.100/24", "fd00::100/64"],
    authPassword: "s3cret-1",
    preempt: false,
    advertIntervalSeconds: 1,
    check: { port: 80, intervalSeconds: 2, fall: 2, rise: 2, timeoutSeconds: 1 },
};

/** Every variant: each field at a kind of value it takes, the limits of the numbers and of the password included. */
export const KEEPALIVED_VARIANTS: Record<string, KeepalivedView> = {
    "three-hosts": THREE_HOSTS,
    "two-hosts-preempt": {
        ...THREE_HOSTS,
        hostName: "edge-b.example.com",
        interface: "ens5.100",
        virtualRouterId: 7,
        priority: 100,
        unicastSource: "192.168.10.2",
        unicastPeers: ["192.168.10.1"],
        virtualAddresses: ["192.168.10.50/32"],
        authPassword: undefined,
        preempt: true,
        advertIntervalSeconds: 3,
        check: { port: 8080, intervalSeconds: 5, fall: 3, rise: 5, timeoutSeconds: 3 },
    },
    limits: {
        ...THREE_HOSTS,
        hostName: "proxy_9",
        interface: "enp0s31f6-vlan1",
        virtualRouterId: 255,
        priority: 254,
        unicastPeers: ["10.0.0.12"],
        virtualAddresses: ["10.0.0.100/24", "10.0.1.100/16", "2001:db8:0:1::100/128", "fd00::101/64"],
        authPassword: "Ab3._:/-",
        advertIntervalSeconds: 255,
        check: { port: 65535, intervalSeconds: 1, fall: 1, rise: 1, timeoutSeconds: 1 },
    },
    "lowest-priority": { ...THREE_HOSTS, virtualRouterId: 1, priority: 1, authPassword: "x" },
};

/** The golden files of a variant, or undefined when it has none yet. */
export function keepalivedGoldenOf(variant: string): KeepalivedFiles | undefined {
    const dir = path.join(KEEPALIVED_GOLDEN_DIR, variant);
    if (!fs.existsSync(dir)) {
        return undefined;
    }
    const read = (file: keyof KeepalivedFiles) => fs.readFileSync(path.join(dir, file), "utf8");
    return { "keepalived.conf": read("keepalived.conf"), "check-haproxy.sh": read("check-haproxy.sh") };
}

export function writeKeepalivedGolden(variant: string, files: KeepalivedFiles): void {
    const dir = path.join(KEEPALIVED_GOLDEN_DIR, variant);
    fs.mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) {
        fs.writeFileSync(path.join(dir, file), text);
    }
}
