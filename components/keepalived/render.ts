/**
 * Renders keepalived's configuration and its health check for one host of a fleet: the hosts share virtual
 * addresses over VRRP, and the healthy host of the highest priority holds them. keepalived runs in a container
 * of its own on the host's network, with both files mounted read-only under /etc/keepalived.
 * Pure: the same view always gives the same bytes, so Pulumi sees a change only when there is one.
 */
import { isIPv4, isIPv6 } from "node:net";
import { quote } from "../config/checks";
import { isKeepalivedInclude, isKeepalivedToken } from "../quote";
import { renderTemplate } from "../templates";

/** Where keepalived's container sees its configuration (keepalived's default path). */
export const KEEPALIVED_CONFIG_PATH = "/etc/keepalived/keepalived.conf";
/** Where keepalived's container sees the health check, beside its configuration. */
export const KEEPALIVED_CHECK_PATH = "/etc/keepalived/check-haproxy.sh";

/**
 * How long, with `preempt`, a host of higher priority that serves again waits before it takes the addresses
 * back from the one holding them: each move cuts the connections open through the addresses, so a host that
 * flaps or has just rebooted should prove itself for a while first.
 */
export const PREEMPT_DELAY_SECONDS = 30;

/** What keepalived needs to know of one host of the fleet. */
export interface KeepalivedView {
    /** This host's name in the fleet (the router_id). */
    hostName: string;
    /** The interface carrying the shared network and the virtual address (e.g. eth0). */
    interface: string;
    /** VRRP router id 1-255, the same on every host of the fleet and unique on the network. */
    virtualRouterId: number;
    /** This host's priority 1-254 (highest holds the address). */
    priority: number;
    /** This host's address on the shared network (unicast_src_ip). */
    unicastSource: string;
    /** The other hosts' addresses on the shared network (unicast_peer): most clouds drop multicast. */
    unicastPeers: string[];
    /**
     * The virtual addresses, each with its prefix length (`10.0.0.100/24`): at least one IPv4 address, and
     * optionally IPv6 ones (virtual_ipaddress_excluded, as VRRP version 2 carries IPv4 only).
     */
    virtualAddresses: string[];
    /** VRRP PASS authentication, 1-8 characters (a secret of the stack); optional. */
    authPassword?: string;
    /**
     * Whether the address returns to the higher-priority host when it is healthy again (preempt) or stays
     * (nopreempt, which keepalived needs with state BACKUP on every host).
     */
    preempt: boolean;
    /** Advertisement interval, seconds (1 is keepalived's default). */
    advertIntervalSeconds: number;
    /** The health check of HAProxy on this host. */
    check: KeepalivedCheck;
}

/** The health check keepalived runs: an HTTP request to HAProxy on the host. */
export interface KeepalivedCheck {
    /** The HTTP port HAProxy listens on on the host (the published http port). */
    port: number;
    /** Seconds between two checks. */
    intervalSeconds: number;
    /** Failed checks in a row after which the host gives up the addresses. */
    fall: number;
    /** Passed checks in a row after which a host that failed may hold them again (at start, keepalived takes the first pass). */
    rise: number;
    /** Seconds a check may take before it counts as failed. */
    timeoutSeconds: number;
}

// ---------------------------------------------------------------------------------------------------------
// Checks of single values: each returns what is wrong (a phrase that follows the value) or undefined.

/**
 * What is wrong with a value that keepalived.conf must carry as one word. The validators refuse whatever the
 * quoting gate (components/quote.ts keepalivedToken) would, and first: the gate's message echoes the value,
 * theirs need not (one is a password).
 */
function wordProblem(value: string, what: string): string | undefined {
    if (isKeepalivedToken(value)) {
        return undefined;
    }
    return isKeepalivedInclude(value)
        ? "is a word keepalived reads as an include of other files"
        : `is not ${what} of letters, digits, '.', '_', ':', '/' and '-'`;
}

/** A name keepalived.conf can carry as one word (the router_id). */
export function routerNameProblem(value: string): string | undefined {
    return wordProblem(value, "one word");
}

/**
 * A Linux network interface name, as the kernel takes it: 1 to 15 characters, neither `.` nor `..`, no `/`,
 * `:` (an alias label, not an interface) or blank; here also only letters, digits, `.`, `_` and `-`.
 */
export function interfaceNameProblem(value: string): string | undefined {
    if (value.length < 1 || value.length > 15) {
        return "is not 1 to 15 characters long, as Linux interface names are";
    }
    if (!/^[A-Za-z0-9._-]+$/.test(value) || value === "." || value === "..") {
        return "is not a network interface name of letters, digits, '.', '_' and '-', such as eth0";
    }
    return wordProblem(value, "an interface name");
}

/** A whole number within a range, for the numeric fields; `what` names what it is. */
function wholeNumberProblem(value: number, min: number, max: number, what: string): string | undefined {
    return Number.isInteger(value) && value >= min && value <= max ? undefined : `is not ${what}: a whole number from ${min} to ${max}`;
}

/** The VRRP virtual router id: one byte of the advertisement, 0 being reserved. */
export const routerIdProblem = (value: number) => wholeNumberProblem(value, 1, 255, "a VRRP virtual router id");

/** A host's VRRP priority: 255 belongs to a router that owns the addresses, which no host of a fleet does, and 0 means leaving. */
export const priorityProblem = (value: number) => wholeNumberProblem(value, 1, 254, "a VRRP priority (255 is the owner's)");

/** The advertisement interval: VRRP version 2 carries it in whole seconds, in one byte. */
export const advertIntervalProblem = (value: number) => wholeNumberProblem(value, 1, 255, "an advertisement interval in seconds");

/**
 * The VRRP password. VRRP's simple authentication carries at most 8 characters (keepalived cuts a longer one,
 * and two hosts would then compare different passwords than the stack holds), in plain text on the network: it
 * keeps another router with the same id from joining, it protects nothing. Never echoes the value.
 */
export function authPasswordProblem(value: string): string | undefined {
    if (value.length < 1 || value.length > 8) {
        return `is ${value.length} characters long: VRRP authentication takes 1 to 8`;
    }
    return wordProblem(value, "a password");
}

/** An IPv4 address without prefix, as the hosts' own addresses on the shared network are. */
export function ipv4AddressProblem(value: string): string | undefined {
    return isIPv4(value) ? undefined : "is not an IPv4 address (VRRP version 2 runs over IPv4)";
}

/** An IPv4 address with its prefix length (`10.0.0.100/24`) or an IPv6 one (`fd00::100/64`), without zone. */
export function addressWithPrefixProblem(value: string): string | undefined {
    const [address, prefix, ...rest] = value.split("/");
    const maxPrefix = isIPv4(address) ? 32 : isIPv6(address) && !address.includes("%") ? 128 : 0;
    const prefixOk = rest.length === 0 && /^[1-9]\d{0,2}$/.test(prefix ?? "") && Number(prefix) <= maxPrefix;
    return maxPrefix > 0 && prefixOk ? undefined : "is not an address with its prefix length, such as 10.0.0.100/24 or fd00::100/64";
}

/** Whether an address with prefix (valid) is an IPv4 one. */
function isIPv4WithPrefix(value: string): boolean {
    return isIPv4(value.split("/")[0]);
}

/** The first value listed twice, if any. */
function firstDuplicate(values: string[]): string | undefined {
    return values.find((value, i) => values.indexOf(value) !== i);
}

/**
 * The other hosts' addresses: at least one (with none keepalived falls back to multicast, which most clouds
 * drop), never this host's own, none twice.
 */
export function unicastPeersProblem(peers: string[], source: string): string | undefined {
    if (peers.length === 0) {
        return "lists no other host: keepalived would fall back to multicast, and a single host has no one to hand the addresses to";
    }
    if (peers.includes(source)) {
        return `include this host's own address ${quote(source)}`;
    }
    const twice = firstDuplicate(peers);
    return twice === undefined ? undefined : `list ${quote(twice)} twice`;
}

/**
 * The virtual addresses: at least one IPv4 address (VRRP version 2 announces IPv4 addresses; IPv6 ones move
 * along with them unannounced), none twice.
 */
export function virtualAddressesProblem(addresses: string[]): string | undefined {
    if (!addresses.some(isIPv4WithPrefix)) {
        return "have no IPv4 address: VRRP version 2 announces IPv4 addresses, and IPv6 ones only move along with them";
    }
    const twice = firstDuplicate(addresses.map((address) => address.split("/")[0].toLowerCase()));
    return twice === undefined ? undefined : `list ${quote(twice)} twice`;
}

/** Everything wrong with a view, each problem led by the field it is about; empty when keepalived can take it. */
export function keepalivedProblems(view: KeepalivedView): string[] {
    const problems: string[] = [];
    const text = (field: string, value: string, problem: string | undefined) => problem && problems.push(`${field} ${quote(value)} ${problem}`);
    const number = (field: string, value: number, problem: string | undefined) => problem && problems.push(`${field} ${value} ${problem}`);
    text("hostName", view.hostName, routerNameProblem(view.hostName));
    text("interface", view.interface, interfaceNameProblem(view.interface));
    number("virtualRouterId", view.virtualRouterId, routerIdProblem(view.virtualRouterId));
    number("priority", view.priority, priorityProblem(view.priority));
    number("advertIntervalSeconds", view.advertIntervalSeconds, advertIntervalProblem(view.advertIntervalSeconds));
    text("unicastSource", view.unicastSource, ipv4AddressProblem(view.unicastSource));
    view.unicastPeers.forEach((peer, i) => {
        text(`unicastPeers[${i}]`, peer, ipv4AddressProblem(peer));
    });
    const peers = unicastPeersProblem(view.unicastPeers, view.unicastSource);
    if (peers) {
        problems.push(`unicastPeers ${peers}`);
    }
    view.virtualAddresses.forEach((address, i) => {
        text(`virtualAddresses[${i}]`, address, addressWithPrefixProblem(address));
    });
    const addresses = virtualAddressesProblem(view.virtualAddresses.filter((address) => !addressWithPrefixProblem(address)));
    if (addresses) {
        problems.push(`virtualAddresses ${addresses}`);
    }
    if (view.authPassword !== undefined) {
        // A secret: the problem names the field, never the value.
        const password = authPasswordProblem(view.authPassword);
        if (password) {
            problems.push(`authPassword ${password}`);
        }
    }
    problems.push(...checkProblems(view.check));
    return problems;
}

/** Everything wrong with the health check's settings, each led by its field. */
export function checkProblems(check: KeepalivedCheck): string[] {
    const problems = [
        ["check.port", check.port, wholeNumberProblem(check.port, 1, 65535, "a TCP port")],
        ["check.intervalSeconds", check.intervalSeconds, wholeNumberProblem(check.intervalSeconds, 1, 3600, "an interval in seconds")],
        ["check.timeoutSeconds", check.timeoutSeconds, wholeNumberProblem(check.timeoutSeconds, 1, 3600, "a timeout in seconds")],
        ["check.fall", check.fall, wholeNumberProblem(check.fall, 1, 1000, "a count of checks")],
        ["check.rise", check.rise, wholeNumberProblem(check.rise, 1, 1000, "a count of checks")],
    ] as const;
    return problems.filter(([, , problem]) => problem !== undefined).map(([field, value, problem]) => `${field} ${value} ${problem}`);
}

/** Throws with every problem when the view is not one keepalived can take. */
function assertValid(problems: string[]): void {
    if (problems.length > 0) {
        throw new Error(`invalid keepalived settings: ${problems.join("; ")}`);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Rendering.

/** The view templates/keepalived.conf.hbs reads, without any check of the values (tests forge values with it). */
export function keepalivedTemplateView(view: KeepalivedView) {
    const addresses = view.virtualAddresses;
    return {
        hostName: view.hostName,
        interface: view.interface,
        virtualRouterId: view.virtualRouterId,
        priority: view.priority,
        advertIntervalSeconds: view.advertIntervalSeconds,
        preempt: view.preempt,
        preemptDelaySeconds: PREEMPT_DELAY_SECONDS,
        unicastSource: view.unicastSource,
        unicastPeers: view.unicastPeers,
        ipv4Addresses: addresses.filter(isIPv4WithPrefix),
        ipv6Addresses: addresses.filter((address) => !isIPv4WithPrefix(address)),
        authPassword: view.authPassword ?? null,
        check: {
            scriptPath: KEEPALIVED_CHECK_PATH,
            intervalSeconds: view.check.intervalSeconds,
            // The script stops itself after the check's timeout; keepalived's own limit comes a second later.
            scriptTimeoutSeconds: view.check.timeoutSeconds + 1,
            fall: view.check.fall,
            rise: view.check.rise,
        },
    };
}

/** keepalived.conf for one host; throws with every problem when the view is not valid. */
export function renderKeepalivedConfig(view: KeepalivedView): string {
    assertValid(keepalivedProblems(view));
    return renderTemplate("keepalived.conf.hbs", keepalivedTemplateView(view));
}

/** The health check script (bash) keepalived runs; throws with every problem when the settings are not valid. */
export function renderKeepalivedCheck(view: Pick<KeepalivedView, "check">): string {
    assertValid(checkProblems(view.check));
    return renderTemplate("keepalived-check.sh.hbs", { check: view.check });
}
