/**
 * The shell scripts the components run on the Docker host, rendered from templates/host/. Pure: each
 * script is a function of the validated configuration, so tests read them without Pulumi, and a script
 * changes (and so re-runs on `pulumi up`) only when what it does changes.
 *
 * Every script runs as `sh -s` with its text on standard input: no value ever becomes part of the SSH
 * command line, and every value inside a script passes through the `sh` quoting helper.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ALERT_LIFETIME_FRACTION, eabHmacKeyProblem, parseFraction } from "./config/checks";
import type { AcmeSettings, EdgeProxyConfig, HaproxySettings, Site } from "./config/types";
import { DNS_PROVIDERS } from "./dns/providers";
import { distributionSettings, distributionTargets, fleetPaths } from "./fleet/roles";
import { haproxyFeatures } from "./haproxy/features";
import {
    CONFIG_FILES,
    CONTAINER_CERTS_DIR,
    CONTAINER_TICKET_KEYS_DIR,
    type HaproxyConfigFiles,
    METRICS_SOURCES_FILE,
    metricsFromPublishingOnly,
    RUNTIME_SOCKET_NAME,
    rotatesTicketKeys,
    TICKET_KEYS_FILE,
} from "./haproxy/render";
import type { HostRole } from "./hostState";
import { STEP } from "./hostSteps";
import { shellCommand } from "./quote";
import { renderTemplate, TEMPLATES_DIR } from "./templates";

/** The pre-flight's Python program (templates/host/preflight.py), fed to the certbot image's python3. */
const PREFLIGHT_PROGRAM = fs.readFileSync(path.join(TEMPLATES_DIR, "host", "preflight.py"), "utf8");
/** edge-proxy's questions to the ACME server (templates/host/acme.py: profiles, renewal windows), fed to the certbot image's python3. */
const ACME_PROGRAM = fs.readFileSync(path.join(TEMPLATES_DIR, "host", "acme.py"), "utf8");
/** The client of HAProxy's runtime API that installs certificates (templates/host/runtime.py), fed to the certbot image's python3. */
const RUNTIME_PROGRAM = fs.readFileSync(path.join(TEMPLATES_DIR, "host", "runtime.py"), "utf8");

/**
 * How long a reload may take before it counts as failed: the new worker parses the whole configuration and
 * loads every certificate first (about 6 s at 10,000 sites on a small machine).
 */
const RELOAD_WAIT_SECONDS = 300;

/** The command every host script runs under; the script itself arrives on standard input. */
export const HOST_SHELL = "sh -s";

/** The group that may read the certificates: the official 2.4+ images run HAProxy as uid/gid 99. */
function certsGroup(config: EdgeProxyConfig): number {
    return haproxyFeatures(config.haproxy.version).unprivilegedImage ? 99 : 0;
}

/**
 * The longest random delay (seconds) of a renewal started by cron: spreads installations that share a minute,
 * short enough that a twice-daily run stays well apart from the next (certbot's own is up to 8 minutes).
 */
export const RENEW_DELAY_SECONDS = 300;

/**
 * The cron file name of a container's job (`renew`, the renewal; `tls-keys`, the ticket keys). cron skips
 * file names with a dot, so a dot is spelled `_d` and an underscore doubled: every container name keeps a
 * file of its own (`edge.proxy` and `edge-proxy` once shared one, each `up` replacing the other stack's job).
 */
export function cronFileName(containerName: string, job: "renew" | "tls-keys" = "renew"): string {
    return `edge-proxy-${job}-${containerName.replace(/[_.]/g, (c) => (c === "_" ? "__" : "_d"))}`;
}

/**
 * Where a container's TLS session ticket keys are on the host (on /run, a tmpfs on Debian), and the job that
 * makes them at boot and rotates them (templates/host/tls-keys.sh.hbs).
 */
export function ticketKeysPaths(config: { haproxy: Pick<HaproxySettings, "containerName">; acme: Pick<AcmeSettings, "dataDir"> }) {
    const name = config.haproxy.containerName;
    const dir = `/run/edge-proxy/${name}`;
    return {
        dir,
        file: `${dir}/${TICKET_KEYS_FILE}`,
        scriptPath: `/usr/local/sbin/edge-proxy-tls-keys-${name}`,
        cronPath: `/etc/cron.d/${cronFileName(name, "tls-keys")}`,
        logPath: `${config.acme.dataDir}/log/edge-proxy-tls-keys.log`,
    };
}

/**
 * When the ticket keys rotate (cron's fields): every 12 hours, as Caddy and HAProxy's documentation advise.
 * With three keys, a key encrypts for 12 hours, decrypts for 12 more, and is gone 36 hours after it was made.
 */
const TICKET_KEYS_ROTATION = "41 */12 * * *";
/**
 * After how long without keys from the issuer a fleet's receiving host rotates its own (two rotations missed
 * and an hour): a key never serves much longer than it would have.
 */
const TICKET_KEYS_STALE_HOURS = 25;

/** Where the renewal job and the certificates' status live on the host. */
export function renewalPaths(config: { haproxy: Pick<HaproxySettings, "containerName">; acme: Pick<AcmeSettings, "dataDir"> }) {
    const name = config.haproxy.containerName;
    return {
        scriptPath: `/usr/local/sbin/edge-proxy-renew-${name}`,
        cronPath: `/etc/cron.d/${cronFileName(name)}`,
        /** Where an older edge-proxy put the cron file ('.' as '-'), when that is another name. */
        legacyCronPath: name.includes(".") ? `/etc/cron.d/edge-proxy-renew-${name.replace(/\./g, "-")}` : null,
        logPath: `${config.acme.dataDir}/log/edge-proxy-renew.log`,
        /** status.json (templates/partials/sh-status.hbs), written by the certificate steps and the renewal job. */
        statusPath: `${config.acme.dataDir}/edge-proxy/status.json`,
        /** The alert command, as a script only root reads (it may hold a webhook's token). */
        alertPath: `${config.acme.dataDir}/edge-proxy/alert.sh`,
    };
}

/**
 * Why an alert command cannot be installed, or undefined. Never echoes it: the command is a secret (a
 * webhook's URL often carries a token).
 */
export function alertCommandProblem(command: string): string | undefined {
    if (command.trim() === "") {
        return "alertCommand is empty: set a shell command with pulumi config set --secret alertCommand, or remove the key";
    }
    if (command.length > 4096) {
        return `alertCommand has ${command.length} characters; at most 4096 (put a longer program in a script on the host and run that)`;
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this check looks for (all but \t and \n, which a shell command may hold)
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(command)) {
        return "alertCommand contains a control character other than a newline or a tab";
    }
    return undefined;
}

/**
 * A part of the lifetime as the status's shell reads it (sh-status.hbs): the fraction's decimal for
 * status.json, and parts per million for its comparisons, as sh has whole numbers only.
 */
function alertFraction(fraction: number): { fraction: string; ppm: string } {
    return { fraction: String(Number(fraction.toFixed(6))), ppm: String(Math.round(fraction * 1_000_000)) };
}

/** The settings every script's shared functions use. */
export function scriptSettings(config: EdgeProxyConfig) {
    const { haproxy, acme } = config;
    return {
        configDir: haproxy.configDir,
        certsDir: haproxy.certsDir,
        certsGroup: certsGroup(config),
        image: haproxy.image,
        containerName: haproxy.containerName,
        dataDir: acme.dataDir,
        certbotImage: acme.certbotImage,
        certbotContainer: `${haproxy.containerName}-certbot`,
        challengeAddress: acme.challengeAddress,
        challengePort: acme.challengePort,
        caBundle: acme.caBundle ?? null,
        acmeProgram: ACME_PROGRAM,
        // Certificates are installed into the running HAProxy where its version has the runtime API's
        // certificate commands (sh-apply-certificates.hbs); otherwise HAProxy reloads.
        runtimeCertificates: haproxyFeatures(haproxy.version).runtimeCertificates,
        runtimeContainer: `${haproxy.containerName}-runtime`,
        runtimeSocketName: RUNTIME_SOCKET_NAME,
        runtimeProgram: RUNTIME_PROGRAM,
        reloadWaitSeconds: RELOAD_WAIT_SECONDS,
        containerCertsDir: CONTAINER_CERTS_DIR,
        // Session tickets whose keys the host rotates (sh-ticket-keys.hbs), where haproxy.cfg names them.
        ...(rotatesTicketKeys(config)
            ? {
                  ticketKeysPath: ticketKeysPaths(config).file,
                  ticketKeysDir: ticketKeysPaths(config).dir,
                  containerTicketKeysDir: CONTAINER_TICKET_KEYS_DIR,
                  containerTicketKeysPath: `${CONTAINER_TICKET_KEYS_DIR}/${TICKET_KEYS_FILE}`,
              }
            : { ticketKeysPath: null }),
        // The status's thresholds until the renewal job's installation writes the stack's (alertLifetimeFraction).
        alertDefaults: alertFraction(parseFraction(ALERT_LIFETIME_FRACTION)),
        server: acme.server,
        renewSchedule: acme.renewSchedule,
        placeholders: config.sites.map((site) => ({ name: site.name, domains: site.domains })),
        // A fleet's issuer reports, and sends its certificates to, the other hosts (fleet/scripts.ts); the
        // status reads what each one took where the sending recorded it.
        followers: config.fleet ? distributionTargets(config.fleet) : [],
        fleetStateDir: fleetPaths(config).stateDir,
    };
}

/** The HAProxy files in delivery order: haproxy.cfg, then its map files. */
function configFileList(files: HaproxyConfigFiles): { name: string; content: string }[] {
    return (Object.keys(CONFIG_FILES) as (keyof typeof CONFIG_FILES)[]).map((key) => ({ name: CONFIG_FILES[key], content: files[key] }));
}

/**
 * The configuration's digest: names its release directory on the host, and `npm run status` compares the
 * live files with it (templates/host/status.sh.hbs hashes them in the same order, NUL-separated).
 */
export function configurationDigest(files: HaproxyConfigFiles): string {
    return createHash("sha256")
        .update(
            configFileList(files)
                .map((file) => file.content)
                .join("\0"),
        )
        .digest("hex")
        .slice(0, 16);
}

/**
 * Creates the directories and a placeholder PEM for every certificate that has none yet; on the host that
 * runs certbot (`issuer`), checks that acmeChallengeAddress, where certbot's port is published, is its own.
 */
export function prepareHostScript(config: EdgeProxyConfig, role: HostRole = "issuer"): string {
    return renderTemplate("host/prepare.sh.hbs", { ...scriptSettings(config), checkChallengeAddress: role === "issuer" });
}

/**
 * The ticket keys' job (templates/host/tls-keys.sh.hbs): on every host, makes the keys at boot; where they
 * rotate (one host, or a fleet's issuer), rotates them every 12 hours and sends them to the other hosts; on
 * a fleet's other hosts, rotates their own when none came from the issuer for a day.
 */
export function ticketKeysScript(config: EdgeProxyConfig, role: HostRole = "issuer"): string {
    const settings = scriptSettings(config);
    return renderTemplate("host/tls-keys.sh.hbs", {
        ...settings,
        ...distributionSettings(config),
        rotates: role === "issuer",
        followers: role === "issuer" ? settings.followers : [],
        staleHours: String(TICKET_KEYS_STALE_HOURS),
        staleMinutes: String(TICKET_KEYS_STALE_HOURS * 60),
    });
}

/** The cron entries of the ticket keys' job: at boot, and every 12 hours a rotation (or, on a receiving host, the check for keys gone stale). */
export function ticketKeysCron(config: EdgeProxyConfig, role: HostRole = "issuer"): string {
    return renderTemplate("host/tls-keys.cron.hbs", {
        ...ticketKeysPaths(config),
        rotation: TICKET_KEYS_ROTATION.split(" "),
        task: role === "issuer" ? "rotate" : "stale",
    });
}

/**
 * Stages, checks and installs the rendered HAProxy files, then reloads when they changed. With session
 * tickets, also makes their keys when there are none and installs the job that keeps them (removed without).
 */
export function deliverConfigScript(config: EdgeProxyConfig, files: HaproxyConfigFiles, role: HostRole = "issuer"): string {
    const metricsSources = metricsFromPublishingOnly(config) ? METRICS_SOURCES_FILE : null;
    const rendered = configFileList(files);
    return renderTemplate("host/deliver-config.sh.hbs", {
        ...scriptSettings(config),
        ticketKeysJob: rotatesTicketKeys(config)
            ? { ...ticketKeysPaths(config), rotates: role === "issuer", script: ticketKeysScript(config, role), cron: ticketKeysCron(config, role) }
            : null,
        formerTicketKeys: ticketKeysPaths(config),
        files: rendered,
        metricsSources,
        // Every file of a release: the rendered ones and the one the host writes.
        names: [...rendered.map((file) => file.name), ...(metricsSources ? [metricsSources] : [])],
        digest: configurationDigest(files),
    });
}

/** Where the DNS provider's credentials file is, on the host and in the certbot container (undefined without DNS-01). */
export function dnsCredentialsPaths(config: {
    acme: Pick<AcmeSettings, "dns" | "dataDir">;
}): { path: string; inContainer: string; plugin: string } | undefined {
    const { dns } = config.acme;
    if (!dns) {
        return undefined;
    }
    const { plugin } = DNS_PROVIDERS[dns.provider];
    return { path: `${config.acme.dataDir}/etc/edge-proxy/${plugin}.ini`, inContainer: `/etc/letsencrypt/edge-proxy/${plugin}.ini`, plugin };
}

/** The certbot image that issues and renews a site's certificate: the DNS provider's for DNS-01. */
function certbotImageOf(config: EdgeProxyConfig, site: Pick<Site, "challenge">): string {
    return site.challenge === "dns-01" && config.acme.dns ? config.acme.dns.image : config.acme.certbotImage;
}

/** What a DNS-01 site's certbot run needs of the provider (null for HTTP-01). */
function dnsOf(config: EdgeProxyConfig, site: Site) {
    const paths = dnsCredentialsPaths(config);
    if (site.challenge !== "dns-01" || !config.acme.dns || !paths) {
        return null;
    }
    return {
        plugin: paths.plugin,
        credentialsOption: `--${paths.plugin}-credentials`,
        credentialsInContainer: paths.inContainer,
        propagationOption: `--${paths.plugin}-propagation-seconds`,
        propagationSeconds: config.acme.dns.propagationSeconds,
    };
}

/**
 * Installs the DNS provider's credentials file (root only). The script carries the secret: callers keep
 * it in a secret Output.
 */
export function installDnsCredentialsScript(config: EdgeProxyConfig, secret: string): string {
    const paths = dnsCredentialsPaths(config);
    const { dns } = config.acme;
    if (!paths || !dns) {
        throw new Error("installDnsCredentialsScript needs dnsProvider");
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret)) {
        throw new Error("rfc2136KeySecret is not a base64 TSIG secret (as tsig-keygen prints it after `secret`)");
    }
    return renderTemplate("host/install-credentials.sh.hbs", {
        ...scriptSettings(config),
        credentialsPath: paths.path,
        step: STEP.dnsCredentials,
        what: paths.plugin,
        credentials: DNS_PROVIDERS[dns.provider].credentials(dns.rfc2136, secret),
    });
}

/**
 * Installs the external account binding's file (root only), a certbot configuration file with the key
 * identifier and the HMAC key. The script carries the secret: callers keep it in a secret Output.
 */
export function installEabScript(config: EdgeProxyConfig, hmacKey: string): string {
    const paths = eabPaths(config);
    if (!paths || !config.acme.eab) {
        throw new Error("installEabScript needs acmeEabKid");
    }
    const problem = eabHmacKeyProblem(hmacKey);
    if (problem) {
        throw new Error(problem);
    }
    return renderTemplate("host/install-credentials.sh.hbs", {
        ...scriptSettings(config),
        credentialsPath: paths.path,
        step: STEP.eab,
        what: "the ACME account's external binding",
        // certbot's configuration file syntax: `option = value`; both values are checked to be single words.
        credentials: `eab-kid = ${config.acme.eab.kid}\neab-hmac-key = ${hmacKey}\n`,
    });
}

/** The ACME profile a site's certificate is ordered with: its own, else acmeProfile's; undefined for the CA's default. */
export function profileOf(config: EdgeProxyConfig, site: Pick<Site, "acmeProfile">): string | undefined {
    return site.acmeProfile ?? config.acme.profile;
}

/**
 * Where the external account binding's file is (acmeEabKid, acmeEabHmacKey), on the host and in the
 * certbot container (a certbot configuration file, read with --config when certbot creates the account);
 * undefined without EAB.
 */
export function eabPaths(config: { acme: Pick<AcmeSettings, "eab" | "dataDir"> }): { path: string; inContainer: string } | undefined {
    return config.acme.eab ? { path: `${config.acme.dataDir}/etc/edge-proxy/eab.ini`, inContainer: "/etc/letsencrypt/edge-proxy/eab.ini" } : undefined;
}

/** Runs certbot for one site's certificate. */
export function issueCertificateScript(config: EdgeProxyConfig, site: Site): string {
    const dns = dnsOf(config, site);
    const profile = profileOf(config, site);
    return renderTemplate("host/issue-certificate.sh.hbs", {
        ...scriptSettings(config),
        name: site.name,
        domains: site.domains,
        email: config.acme.email,
        server: config.acme.server,
        keyType: config.acme.keyType,
        image: certbotImageOf(config, site),
        dns,
        // The pre-flight fetches through port 80: it has nothing to check for DNS-01.
        preflight: config.acme.preflight && !dns,
        preflightResolver: config.acme.preflightResolver ?? "",
        validationPort: config.acme.validationPort,
        preflightProgram: PREFLIGHT_PROGRAM,
        profile: profile ?? null,
        // What runs before certbot may order: the profile's check with the CA, the pre-flight.
        checksBeforeOrder: profile !== undefined || (config.acme.preflight && !dns),
        eabConfig: eabPaths(config)?.inContainer ?? null,
        // What the lineage was asked for: a change re-issues it (lineages keep the form they had before DNS-01
        // and profiles existed, so that an upgrade re-issues nothing).
        requested: [
            config.acme.server,
            config.acme.keyType,
            site.domains.join(","),
            ...(dns ? [`dns-01:${config.acme.dns!.provider}`] : []),
            ...(profile ? [`profile:${profile}`] : []),
        ].join(" "),
    });
}

/**
 * Assembles one site's PEM from certbot's lineage; prints the certificate's line, `<name> serial=<hex>
 * notAfter=<ISO 8601> issuer=<RFC 2253>` (certificates.parseCertificateLine). `issued` is what the
 * site's certbot step printed (the same line for the lineage's certificate), so the step runs again
 * exactly when certbot produced a new certificate.
 */
export function installPemScript(config: EdgeProxyConfig, site: Pick<Site, "name">, issued: string): string {
    return renderTemplate("host/install-pem.sh.hbs", { ...scriptSettings(config), name: site.name, issued });
}

/**
 * Puts the new certificates in service: into the running HAProxy through its runtime API (2.2+), otherwise
 * by a checked, graceful reload. `served` holds every PEM step's output (its certificate's line), so the step
 * runs again exactly when a served certificate changed.
 */
export function reloadScript(config: EdgeProxyConfig, served: string[]): string {
    return renderTemplate("host/reload.sh.hbs", { ...scriptSettings(config), served, certificates: config.sites.map((site) => site.name) });
}

/** The renewal script itself, as installed on the host. */
export function renewScript(config: EdgeProxyConfig): string {
    return renderTemplate("host/renew.sh.hbs", {
        ...scriptSettings(config),
        ...distributionSettings(config),
        alertPath: renewalPaths(config).alertPath,
        renewals: config.sites.map((site) => ({ name: site.name, image: certbotImageOf(config, site) })),
        renewalInfo: true,
    });
}

/** The cron entry that runs the renewal script. */
export function renewCron(config: EdgeProxyConfig): string {
    return renderTemplate("host/renew.cron.hbs", {
        ...scriptSettings(config),
        ...renewalPaths(config),
        // The validator holds the schedule as five fields separated by single spaces (or an @-shorthand).
        scheduleFields: config.acme.renewSchedule.split(" "),
        renewDelaySeconds: RENEW_DELAY_SECONDS,
    });
}

/**
 * Installs the renewal script, its cron entry and the alert command (removed when there is none). With an
 * alert command the script is a secret: callers keep it in a secret Output.
 */
export function installRenewalScript(config: EdgeProxyConfig, alertCommand?: string): string {
    const problem = alertCommand === undefined ? undefined : alertCommandProblem(alertCommand);
    if (problem) {
        throw new Error(problem);
    }
    return renderTemplate("host/install-renewal.sh.hbs", {
        ...scriptSettings(config),
        ...renewalPaths(config),
        script: renewScript(config),
        cron: renewCron(config),
        alertLifetime: alertFraction(config.acme.alertLifetimeFraction),
        alertDaysBeforeExpiry: config.acme.alertDaysBeforeExpiry > 0 ? String(config.acme.alertDaysBeforeExpiry) : null,
        metricsFile: config.acme.metricsFile ?? null,
        // A here-document's body ends with a newline.
        alertCommand: alertCommand === undefined ? null : alertCommand.replace(/\n?$/, "\n"),
    });
}

/**
 * What `npm run status` runs on the host (changing nothing): the container, the live configuration's
 * digest, each name's certificate as served (an SNI handshake), and status.json (status/probe.ts reads it).
 */
export function statusProbeScript(config: EdgeProxyConfig): string {
    return renderTemplate("host/status.sh.hbs", {
        ...scriptSettings(config),
        httpsPort: config.haproxy.httpsPort,
        files: Object.values(CONFIG_FILES),
        names: config.sites.flatMap((site) =>
            site.domains.map((name) => ({ site: site.name, name, serverName: name.replace(/^\*\./, "edge-proxy-status-check.") })),
        ),
        statusPath: renewalPaths(config).statusPath,
    });
}

/**
 * The delete command of a step (run by `pulumi destroy`, or when the step leaves the stack): `sh -c` with
 * templates/host/remove.sh.hbs, removing what that step wrote in the directories given.
 */
export function removeCommand(directories: RemovedDirectories): string {
    return shellCommand("sh", "-c", removeScript(directories));
}

/** The directories whose edge-proxy files a delete command removes. */
export interface RemovedDirectories {
    configDir?: string;
    certsDir?: string;
    /** certbotDataDir: edge-proxy's own files there (certbot's stay). */
    dataDir?: string;
    /** The container's record of where its directories are (hostStatePath). */
    stateDir?: string;
    /** The TLS session ticket keys and the job that keeps them (ticketKeysPaths). */
    ticketKeys?: Pick<ReturnType<typeof ticketKeysPaths>, "dir" | "scriptPath" | "cronPath">;
}

/** The script of removeCommand. */
export function removeScript(directories: RemovedDirectories): string {
    return renderTemplate("host/remove.sh.hbs", { configDir: null, certsDir: null, dataDir: null, stateDir: null, ticketKeys: null, ...directories });
}

/** The host scripts that depend on the configuration alone (the rest depend on what certbot printed). */
export interface HostScripts {
    /** The host's preparation step's script (DockerHost). */
    prepare: string;
    /** The configuration step's script (HaproxyService). */
    deliver: string;
    /** Each site's certbot script, by site name. */
    issue: Record<string, string>;
    /** The renewal job's installing script (RenewalJob). */
    installRenewal: string;
}

/**
 * Renders every configuration-only host script at once, so that a configuration which cannot be rendered
 * fails before any resource is declared (and so before anything on the host changes).
 */
export function renderHostScripts(config: EdgeProxyConfig, files: HaproxyConfigFiles, role: HostRole = "issuer"): HostScripts {
    return {
        prepare: prepareHostScript(config, role),
        deliver: deliverConfigScript(config, files, role),
        issue: Object.fromEntries(config.sites.map((site) => [site.name, issueCertificateScript(config, site)])),
        installRenewal: installRenewalScript(config),
    };
}
