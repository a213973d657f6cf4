/**
 * What a suite of the integration and end-to-end tiers needs of the machine beyond Node.js. Where something
 * is missing the suite is not run: it stands as one pending test that names what is missing, so the run
 * says so in one line and never counts the suite as passed. The fast tier (test/unit/) uses none of this:
 * it needs nothing that a checkout with `npm ci` lacks.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { pebbleProgram } from "../../dev/env/pebble";

/** One need: undefined when the machine meets it, else what is missing, in a few words. */
export type Need = () => string | undefined;

/** Root: the host scripts run as on the host (the container's group, /var/lib/edge-proxy, a tmpfs), haproxy in a mount namespace. */
export const ROOT: Need = () => (process.getuid?.() === 0 ? undefined : "root");

/** A program on PATH (or at an absolute path); `hint` says where it comes from. */
export function program(name: string, hint: string): Need {
    return () => (spawnSync("sh", ["-c", 'command -v "$0"', name]).status === 0 ? undefined : `${name} (${hint})`);
}

/** A file, e.g. a binary that a build script makes. */
export function file(filePath: string, hint: string): Need {
    return () => (fs.existsSync(filePath) ? undefined : `${filePath} (${hint})`);
}

/** Debian's haproxy, the one every rendering check and run-time test uses (more: EDGE_PROXY_HAPROXY_BINARIES). */
export const HAPROXY = program("haproxy", "apt-get install haproxy; tools/install.sh does");

/** python3 with its crypt module (gone from Python 3.13; Debian 12's is 3.11): the C library's crypt(3) from a test. */
export const PYTHON_CRYPT: Need = () =>
    spawnSync("python3", ["-W", "ignore", "-c", "import crypt"]).status === 0 ? undefined : "python3 with its crypt module (Python 3.12 or older)";

/** The end-to-end environment's programs (dev/environment.ts), as tools/install.sh installs them, and root to run them. */
export const ENVIRONMENT: Need[] = [
    ROOT,
    ...[
        "docker",
        "/usr/sbin/dockerd",
        "/usr/sbin/sshd",
        "ssh",
        "ssh-keygen",
        "/usr/sbin/named",
        "named-checkconf",
        "tsig-keygen",
        "dig",
        "debootstrap",
        "curl",
        "openssl",
    ].map((name) => program(name, "tools/install.sh installs it")),
    ...(["pebble", "pebble-challtestsrv"] as const).map((name) => program(pebbleProgram(name), "tools/pebble/build.sh builds it; tools/install.sh runs it")),
];

/** Beyond the environment's programs, what a fleet's hosts (dev/env/fleet.ts) and the keepalived image are made with. */
export const FLEET_ENVIRONMENT: Need[] = [
    ...ENVIRONMENT,
    program("keepalived", "tools/install.sh installs it"),
    program("ip", "iproute2; tools/install.sh installs it"),
    program("iptables", "tools/install.sh installs it"),
    program("nsenter", "util-linux"),
    program("unshare", "util-linux"),
];

/** `describe`, or where a need is missing, one pending test naming every missing need. */
export function describeWith(needs: Need[], title: string, body: (this: Mocha.Suite) => void): void {
    const missing = needs.map((need) => need()).filter((why): why is string => why !== undefined);
    if (missing.length === 0) {
        describe(title, body);
    } else {
        describe(title, () => it(`not run here: needs ${missing.join(", ")}`));
    }
}
