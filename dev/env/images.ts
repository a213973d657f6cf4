/**
 * The container images the stack runs (and the fleet's keepalived), built locally.
 *
 * No container registry can be reached here, so `haproxy:2.6` and
 * `certbot/certbot` cannot be pulled. We build stand-ins with `docker import`
 * of a root filesystem tarball (HAProxy and keepalived from Debian's
 * packages, certbot from PyPI on a minimal Debian), shaped like the official
 * images where the stack depends on it (entrypoint, command, paths).
 * A build happens only when the image is absent or was built by another
 * recipe: a recipe stamp is stored in a label and compared.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR } from "../paths";
import { run } from "./command";
import { holdLock } from "./process";

/** Tag of the HAProxy image (Debian's haproxy 2.6 in the official layout). */
export const HAPROXY_IMAGE = "edge-proxy-e2e/haproxy:2.6";
/**
 * The same HAProxy under another tag and image id: what a new `haproxyImage` tag looks like to the stack
 * (the image and the container are replaced).
 */
export const HAPROXY_IMAGE_VARIANT = "edge-proxy-e2e/haproxy:2.6-variant";
/**
 * Tag of the certbot image: certbot 5.8.0 with its dns-rfc2136 plugin from PyPI (the release of
 * certbot/certbot:v5.8.0), entrypoint `certbot`, `python3` the one certbot runs on.
 */
export const CERTBOT_IMAGE = "edge-proxy-e2e/certbot:5.8.0";
/** The same certbot image under another tag: what a new `certbotImage` looks like to the stack. */
export const CERTBOT_IMAGE_RETAGGED = "edge-proxy-e2e/certbot:5.8.0-retagged";
/**
 * Tag of the keepalived image (Debian's keepalived 2.2.7 with bash, dash and a few coreutils for its
 * vrrp_scripts): `docker run --network host --cap-add NET_ADMIN --cap-add NET_BROADCAST --cap-add NET_RAW
 * -v CONF:/etc/keepalived/keepalived.conf:ro IMAGE` runs VRRP in the foreground, logging to stdout.
 */
export const KEEPALIVED_IMAGE = "edge-proxy-e2e/keepalived:2.2.7";
/** Label on every image built here, so they can be found and removed. */
export const IMAGE_LABEL = "edge-proxy.e2e";
/** Label holding the recipe stamp; a different stamp means "rebuild". */
export const STAMP_LABEL = "edge-proxy.e2e.recipe";

/**
 * Bump when the build code below changes in a way the recipe objects do not
 * capture (they capture packages, changes and trimming).
 */
const RECIPE_VERSION = 1;

/** Where the config lives in the official image, and so in ours. */
const HAPROXY_CFG = "/usr/local/etc/haproxy/haproxy.cfg";

/**
 * The official image's docker-entrypoint.sh (1.8 and later): `haproxy ...` or
 * `-flags ...` become `haproxy -W -db ...` (master-worker, foreground), so
 * that SIGHUP/SIGUSR2 reload and `docker run IMAGE haproxy -c -f F` checks.
 */
const HAPROXY_ENTRYPOINT = `#!/bin/sh
set -e

# first arg is \`-f\` or \`--some-option\`
if [ "\${1#-}" != "$1" ]; then
	set -- haproxy "$@"
fi

if [ "$1" = 'haproxy' ]; then
	shift # "haproxy"
	# if the user wants "haproxy", let's add a couple useful flags
	#   -W  -- "master-worker mode" (similar to the old "haproxy-systemd-wrapper"; allows for reload via "SIGUSR2")
	#   -db -- disables background mode
	set -- haproxy -W -db "$@"
fi

exec "$@"
`;

/** `docker import --change` lines of the HAProxy image (STOPSIGNAL is refused by import). */
const HAPROXY_CHANGES = [
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    'ENTRYPOINT ["docker-entrypoint.sh"]',
    `CMD ["haproxy", "-f", "${HAPROXY_CFG}"]`,
    "WORKDIR /var/lib/haproxy",
    // As the official 2.4+ images: HAProxy runs as uid 99, which needs the stack's sysctl to bind
    // ports 80/443 and group 99 to read the certificates.
    "USER haproxy",
    `LABEL ${IMAGE_LABEL}=1`,
];

/** `docker import --change` lines of the keepalived image: no entrypoint, so `docker run IMAGE keepalived --version` works. */
const KEEPALIVED_CHANGES = [
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    'CMD ["keepalived", "--dont-fork", "--log-console", "--log-detail"]',
    `LABEL ${IMAGE_LABEL}=1`,
];

/** What a vrrp_script may use in the keepalived image beyond keepalived itself (bash for /dev/tcp probes). */
const KEEPALIVED_TOOLS = ["/usr/bin/bash", "/usr/bin/dash", "/usr/bin/timeout", "/usr/bin/sleep", "/usr/bin/cat"];

/** The certbot image's Python packages, every one pinned (the file is part of the recipe: a change rebuilds). */
const CERTBOT_REQUIREMENTS = path.join(PROJECT_DIR, "dev", "env", "certbot-requirements.txt");

/** Where certbot's venv lives in the image; its bin/ comes first on PATH, so `python3` is the venv's. */
const CERTBOT_VENV = "/opt/certbot/venv";

/** What the image's `certbot --version` says. */
const CERTBOT_VERSION = "certbot 5.8.0";

/** certbot's directories for the build's own checks, removed with the build's files (none in the image). */
const CERTBOT_BUILD_DIRS = ["--config-dir", "/tmp/certbot-build/etc", "--work-dir", "/tmp/certbot-build/lib", "--logs-dir", "/tmp/certbot-build/log"];

/** The variables of the build host's that say how pip reaches the package index, passed to the image's build. */
const PIP_NETWORK_VARIABLES = [
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_DEFAULT_TIMEOUT",
    "PIP_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
];

/**
 * Packages and shaping of the certbot image, as in certbot/certbot: certbot 5.8.0 from PyPI (Debian 12's
 * certbot is 2.1, without profiles or ARI), in a venv on a minimal Debian bookworm.
 */
const CERTBOT_RECIPE = {
    suite: "bookworm",
    // python3-venv: the venv and its pip, which installs certbot; ca-certificates: the public roots, as in
    // the official image (certbot's own requests use the certifi package instead).
    include: ["python3", "python3-venv", "ca-certificates"],
    venv: CERTBOT_VENV,
    // --no-deps: the requirements file is the complete set (checked by `pip check` after), so nothing
    // unpinned can come in; wheels only: no compiler in the image, and no build that differs between runs.
    pip: ["install", "--no-cache-dir", "--no-deps", "--only-binary=:all:", "--no-input", "-r"],
    // Nothing installs into the image once built: the venv's own pip and setuptools go (a fifth of it).
    uninstall: ["pip", "setuptools"],
    trim: [
        "usr/share/doc",
        "usr/share/man",
        "usr/share/info",
        "usr/share/locale",
        "usr/share/lintian",
        "var/lib/apt/lists",
        "var/cache/apt",
        "var/cache/debconf/templates.dat-old",
        "var/log",
        "root/.cache",
        // The wheels python3-venv makes new venvs with: no venv is made in the image.
        "usr/share/python-wheels",
    ],
    // certbot's configuration, work and log directories (its defaults), there before the first run.
    dirs: ["etc/letsencrypt", "var/lib/letsencrypt", "var/log/letsencrypt"],
    changes: [
        `ENV PATH=${CERTBOT_VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        'ENTRYPOINT ["certbot"]',
        'VOLUME ["/etc/letsencrypt", "/var/lib/letsencrypt"]',
        "WORKDIR /opt/certbot",
        `LABEL ${IMAGE_LABEL}=1`,
    ],
};

/** Options for {@link ensureImages}. */
export interface ImageOptions {
    /** Scratch space for root filesystems (default /var/tmp/edge-proxy-e2e/images). */
    workDir?: string;
    /** Debian mirror for debootstrap (default: the first URI in /etc/apt/sources.list.d/debian.sources). */
    mirror?: string;
    /** Print timings (default true). */
    verbose?: boolean;
}

/** What {@link ensureImages} did for one image. */
export interface ImageResult {
    /** The tag. */
    image: string;
    /** True if it was built now, false if an up-to-date one was found. */
    built: boolean;
    /** Build time in ms (0 when reused). */
    ms: number;
    /** Image size in bytes. */
    sizeBytes: number;
}

/**
 * Makes sure the images exist and match the current recipe, building the
 * missing or stale ones. Needs a running engine (see ensureDockerd). Holds a
 * lock while building so concurrent test runs do not build twice at once.
 */
export async function ensureImages(opts: ImageOptions = {}): Promise<ImageResult[]> {
    const workDir = opts.workDir ?? "/var/tmp/edge-proxy-e2e/images";
    fs.mkdirSync(workDir, { recursive: true });
    const log = opts.verbose === false ? () => undefined : (m: string) => console.log(`[e2e-env] ${m}`);
    const release = await holdLock(path.join(workDir, "build.lock"), "the image build lock");
    try {
        const haproxyStamp = stampOf({ v: RECIPE_VERSION, changes: HAPROXY_CHANGES, entry: HAPROXY_ENTRYPOINT, haproxy: await debVersion("haproxy") });
        const mirror = opts.mirror ?? debianMirror();
        const certbotStamp = stampOf({ v: RECIPE_VERSION, recipe: CERTBOT_RECIPE, mirror, requirements: fs.readFileSync(CERTBOT_REQUIREMENTS, "utf8") });
        const keepalivedStamp = stampOf({
            v: RECIPE_VERSION,
            changes: KEEPALIVED_CHANGES,
            tools: KEEPALIVED_TOOLS,
            packages: await Promise.all(["keepalived", "bash", "dash", "coreutils"].map(debVersion)),
        });
        const results = [
            await ensureOne(HAPROXY_IMAGE, haproxyStamp, log, () => buildHaproxy(path.join(workDir, "haproxy"), haproxyStamp)),
            await ensureOne(CERTBOT_IMAGE, certbotStamp, log, () => buildCertbot(path.join(workDir, "certbot"), certbotStamp, mirror)),
            await ensureOne(KEEPALIVED_IMAGE, keepalivedStamp, log, () => buildKeepalived(path.join(workDir, "keepalived"), keepalivedStamp)),
        ];
        await ensureVariant();
        await run("docker", ["tag", CERTBOT_IMAGE, CERTBOT_IMAGE_RETAGGED]);
        return results;
    } finally {
        release();
    }
}

/** HAPROXY_IMAGE_VARIANT: the HAProxy image committed again with a label naming its base (instant). */
async function ensureVariant(): Promise<void> {
    const base = (await run("docker", ["image", "inspect", "-f", "{{.Id}}", HAPROXY_IMAGE])).stdout.trim();
    const current = await run("docker", ["image", "inspect", "-f", '{{index .Config.Labels "edge-proxy.e2e.variant-of"}}', HAPROXY_IMAGE_VARIANT], {
        allowFailure: true,
    });
    if (current.code === 0 && current.stdout.trim() === base) {
        return;
    }
    const container = `edge-proxy-e2e-variant-${process.pid}`;
    await run("docker", ["create", "--name", container, HAPROXY_IMAGE]);
    try {
        await run("docker", ["commit", "--change", `LABEL edge-proxy.e2e.variant-of=${base}`, container, HAPROXY_IMAGE_VARIANT]);
    } finally {
        await run("docker", ["rm", "-f", container], { allowFailure: true });
    }
}

/** Builds one image unless an image with the same stamp exists; reports the time. */
async function ensureOne(image: string, stamp: string, log: (m: string) => void, build: () => Promise<void>): Promise<ImageResult> {
    const existing = await inspect(image);
    if (existing && existing.stamp === stamp) {
        log(`${image}: up to date (recipe ${stamp}, ${mb(existing.size)})`);
        return { image, built: false, ms: 0, sizeBytes: existing.size };
    }
    log(`${image}: ${existing ? `stale (recipe ${existing.stamp})` : "absent"}, building recipe ${stamp}`);
    const started = Date.now();
    await build();
    const ms = Date.now() - started;
    const built = await inspect(image);
    if (!built || built.stamp !== stamp) throw new Error(`${image}: built, but no image with recipe ${stamp} is there`);
    if (existing && existing.id !== built.id) await removeIfUntagged(existing.id);
    log(`${image}: built in ${(ms / 1000).toFixed(1)} s, ${mb(built.size)}`);
    return { image, built: true, ms, sizeBytes: built.size };
}

/** What {@link buildFromHostBinaries} puts into an image besides the binaries and their libraries. */
interface HostBinariesImage {
    /** Host binary and its path in the image (relative). */
    binaries: Array<[string, string]>;
    /** Symbolic links: path in the image (relative) and target. */
    links: Array<[string, string]>;
    /** Empty directories (relative); `tmp` is made 1777. */
    dirs: string[];
    /** Files (relative path, contents, mode). */
    files: Array<[string, string, number]>;
    /** The image's changes, the stamp label added. */
    changes: string[];
}

/**
 * An image of binaries copied from this machine: each at its path in the image, the libraries `ldd` lists
 * at the very paths ldd printed (/lib/..., /lib64/ for the loader, Debian being merged-/usr: real
 * directories in the image, so no /lib -> usr/lib symlinks are needed), plus libgcc_s, which glibc loads at
 * run time (thread cancellation at exit) whether or not ldd lists it.
 */
async function buildFromHostBinaries(dir: string, image: string, stamp: string, spec: HostBinariesImage): Promise<void> {
    fs.rmSync(dir, { recursive: true, force: true });
    const rootfs = path.join(dir, "rootfs");
    const libs = new Set<string>();
    for (const [src] of spec.binaries) for (const lib of await lddPaths(src)) libs.add(lib);
    libs.add("/lib/x86_64-linux-gnu/libgcc_s.so.1");
    for (const [src, dest] of spec.binaries) copyFile(src, path.join(rootfs, dest), 0o755);
    for (const lib of libs) copyFile(lib, path.join(rootfs, lib), 0o755);
    for (const [link, target] of spec.links) {
        fs.mkdirSync(path.dirname(path.join(rootfs, link)), { recursive: true });
        fs.symlinkSync(target, path.join(rootfs, link));
    }
    for (const d of spec.dirs) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
    if (spec.dirs.includes("tmp")) fs.chmodSync(path.join(rootfs, "tmp"), 0o1777);
    for (const [file, text, mode] of spec.files) writeFile(path.join(rootfs, file), text, mode);
    await importRootfs(rootfs, image, [...spec.changes, `LABEL ${STAMP_LABEL}=${stamp}`]);
    fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * HAProxy image: /usr/sbin/haproxy at the official path /usr/local/sbin, dash as /bin/sh for the official
 * entrypoint script, and the files glibc reads at run time.
 */
async function buildHaproxy(dir: string, stamp: string): Promise<void> {
    await buildFromHostBinaries(dir, HAPROXY_IMAGE, stamp, {
        binaries: [
            ["/usr/sbin/haproxy", "usr/local/sbin/haproxy"],
            ["/usr/bin/dash", "usr/bin/dash"],
        ],
        links: [
            ["usr/bin/sh", "dash"],
            ["bin/sh", "/usr/bin/dash"],
        ],
        dirs: ["usr/local/etc/haproxy", "var/lib/haproxy", "run", "tmp", "etc", "dev", "proc", "sys"],
        files: [
            ["usr/local/bin/docker-entrypoint.sh", HAPROXY_ENTRYPOINT, 0o755],
            ["etc/passwd", "root:x:0:0:root:/root:/bin/sh\nhaproxy:x:99:99:haproxy:/var/lib/haproxy:/bin/false\n", 0o644],
            ["etc/group", "root:x:0:\nhaproxy:x:99:\n", 0o644],
            ["etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n", 0o644],
        ],
        changes: HAPROXY_CHANGES,
    });
}

/**
 * keepalived image: Debian's /usr/sbin/keepalived and the tools a vrrp_script may use (bash, also as
 * /bin/bash for `#!/bin/bash` scripts; dash as /bin/sh; timeout, sleep, cat). What keepalived needs at
 * run time: /etc/passwd with root (`script_user root` is looked up), /run and /var/run for its pid files,
 * /etc/keepalived for the config, /tmp for the data it dumps on signals.
 */
async function buildKeepalived(dir: string, stamp: string): Promise<void> {
    await buildFromHostBinaries(dir, KEEPALIVED_IMAGE, stamp, {
        binaries: [["/usr/sbin/keepalived", "usr/sbin/keepalived"], ...KEEPALIVED_TOOLS.map((tool): [string, string] => [tool, tool.slice(1)])],
        links: [
            ["usr/bin/sh", "dash"],
            ["bin/sh", "/usr/bin/dash"],
            ["bin/bash", "/usr/bin/bash"],
            ["var/run", "../run"],
        ],
        dirs: ["etc/keepalived", "run", "tmp", "dev", "proc", "sys"],
        files: [
            ["etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644],
            ["etc/group", "root:x:0:\n", 0o644],
            ["etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n", 0o644],
        ],
        changes: KEEPALIVED_CHANGES,
    });
}

/**
 * certbot image: a minimal Debian bookworm (debootstrap from the configured mirror) with python3, and
 * certbot in a venv, installed by the venv's pip inside the root filesystem (chroot) from the pinned
 * requirements; trimmed of docs and apt lists, entrypoint `certbot` like certbot/certbot.
 */
async function buildCertbot(dir: string, stamp: string, mirror: string): Promise<void> {
    fs.rmSync(dir, { recursive: true, force: true });
    const rootfs = path.join(dir, "rootfs");
    fs.mkdirSync(dir, { recursive: true });
    await run("debootstrap", ["--variant=minbase", `--include=${CERTBOT_RECIPE.include.join(",")}`, CERTBOT_RECIPE.suite, rootfs, mirror], {
        timeoutMs: 900_000,
    });
    // What pip needs from the build host for the build only, under /tmp of the root filesystem: the
    // requirements, the certificates the build host's pip trusts (PIP_CERT, else the system's bundle: a
    // proxy's own CA would be in them, not in the image's ca-certificates), and its global settings
    // (an index or a proxy in /etc/pip.conf). The image keeps none of them.
    const build = path.join(rootfs, "tmp", "certbot-build");
    fs.mkdirSync(build, { recursive: true });
    fs.copyFileSync(CERTBOT_REQUIREMENTS, path.join(build, "requirements.txt"));
    fs.copyFileSync(process.env.PIP_CERT ?? "/etc/ssl/certs/ca-certificates.crt", path.join(build, "ca.pem"));
    const pipConf = fs.existsSync("/etc/pip.conf");
    if (pipConf) fs.copyFileSync("/etc/pip.conf", path.join(build, "pip.conf"));
    // A clean environment (env -i): the build host's variables name its own files, which the root
    // filesystem does not have or has in another version (REQUESTS_CA_BUNDLE, for one, would win over
    // PIP_CERT in pip's requests). Only how to reach the package index comes from here.
    const env = [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/root",
        "LANG=C.UTF-8",
        "PIP_CERT=/tmp/certbot-build/ca.pem",
        "PIP_DISABLE_PIP_VERSION_CHECK=1",
        ...(pipConf ? ["PIP_CONFIG_FILE=/tmp/certbot-build/pip.conf"] : []),
        ...PIP_NETWORK_VARIABLES.flatMap((name) => (process.env[name] === undefined ? [] : [`${name}=${process.env[name]}`])),
    ];
    const chroot = (...command: string[]) => run("env", ["-i", ...env, "chroot", rootfs, ...command], { timeoutMs: 900_000 });
    const venv = CERTBOT_RECIPE.venv;
    await chroot("/usr/bin/python3", "-m", "venv", venv);
    await chroot(`${venv}/bin/pip`, ...CERTBOT_RECIPE.pip, "/tmp/certbot-build/requirements.txt");
    // With --no-deps, a dependency missing from the requirements would only show when certbot runs.
    await chroot(`${venv}/bin/pip`, "check");
    await chroot(`${venv}/bin/python3`, "-m", "pip", "uninstall", "--yes", "--quiet", ...CERTBOT_RECIPE.uninstall);
    const version = (await chroot(`${venv}/bin/certbot`, "--version")).stdout.trim();
    const plugins = (await chroot(`${venv}/bin/certbot`, "plugins", ...CERTBOT_BUILD_DIRS)).stdout;
    if (version !== CERTBOT_VERSION || !/^\* dns-rfc2136$/m.test(plugins)) {
        throw new Error(`certbot image: the venv's certbot says "${version}" and lists these plugins:\n${plugins}`);
    }
    fs.rmSync(build, { recursive: true, force: true });
    for (const p of CERTBOT_RECIPE.trim) {
        fs.rmSync(path.join(rootfs, p), { recursive: true, force: true });
    }
    // Tools expect these to exist even when empty.
    for (const d of ["var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/log", "opt/certbot", ...CERTBOT_RECIPE.dirs]) {
        fs.mkdirSync(path.join(rootfs, d), { recursive: true });
    }
    await importRootfs(rootfs, CERTBOT_IMAGE, [...CERTBOT_RECIPE.changes, `LABEL ${STAMP_LABEL}=${stamp}`]);
    fs.rmSync(dir, { recursive: true, force: true });
}

/** `tar | docker import` with the given Dockerfile-like changes. */
async function importRootfs(rootfs: string, image: string, changes: string[]): Promise<void> {
    const changeArgs = changes.flatMap((c) => ["--change", c]);
    const tarball = `${rootfs}.tar`;
    // --numeric-owner: the ids in the tarball must be the ids inside the image.
    await run("tar", ["--numeric-owner", "-C", rootfs, "-cf", tarball, "."]);
    await run("docker", ["import", ...changeArgs, tarball, image], { timeoutMs: 600_000 });
    fs.rmSync(tarball, { force: true });
}

/** The libraries (and loader) a binary needs, as absolute paths from `ldd`. */
async function lddPaths(binary: string): Promise<string[]> {
    const { stdout } = await run("ldd", [binary]);
    const paths: string[] = [];
    for (const line of stdout.split("\n")) {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
        if (match) paths.push(match[1]);
    }
    if (!paths.some((p) => p.includes("ld-linux"))) throw new Error(`ldd ${binary}: no dynamic loader in:\n${stdout}`);
    return paths;
}

/** Copies a file's contents (following symlinks), creating parent directories. */
function copyFile(src: string, dest: string, mode: number): void {
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(fs.realpathSync(src), dest);
    fs.chmodSync(dest, mode);
}

/** Writes a file with a mode, creating parent directories. */
function writeFile(dest: string, text: string, mode: number): void {
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, text);
    fs.chmodSync(dest, mode);
}

/**
 * Removes the stale image that lost its tag to the new build, but only if no
 * tag names it any more (and docker refuses while a container uses it).
 */
async function removeIfUntagged(id: string): Promise<void> {
    const tags = await run("docker", ["image", "inspect", "--format", "{{len .RepoTags}}", id], { allowFailure: true });
    if (tags.code === 0 && tags.stdout.trim() === "0") {
        await run("docker", ["image", "rm", id], { allowFailure: true });
    }
}

/** An image's id, recipe stamp and size, or undefined if there is no such image. */
async function inspect(image: string): Promise<{ id: string; stamp: string; size: number } | undefined> {
    const format = `{{.Id}} {{.Size}} {{index .Config.Labels "${STAMP_LABEL}"}}`;
    const result = await run("docker", ["image", "inspect", "--format", format, image], { allowFailure: true });
    if (result.code !== 0) return undefined;
    const [id, size, stamp] = result.stdout.trim().split(" ");
    // A missing label prints "<no value>".
    return { id, size: Number(size), stamp: stamp === undefined || stamp.startsWith("<no") ? "" : stamp };
}

/** Installed version of a Debian package (part of the recipe: an upgrade rebuilds). */
async function debVersion(pkg: string): Promise<string> {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's --showformat syntax, for dpkg-query to expand
    const { stdout } = await run("dpkg-query", ["-W", "-f", "${Version}", pkg]);
    return stdout.trim();
}

/** The Debian mirror apt uses here (deb822 or one-line format). */
function debianMirror(): string {
    for (const file of ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"]) {
        let text: string;
        try {
            text = fs.readFileSync(file, "utf8");
        } catch {
            continue;
        }
        const deb822 = /^URIs:\s*(\S+)/m.exec(text);
        if (deb822 && !deb822[1].includes("security")) return deb822[1];
        const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text);
        if (oneLine) return oneLine[1];
    }
    return "http://deb.debian.org/debian";
}

/** Short content hash of a recipe description. */
function stampOf(recipe: unknown): string {
    return createHash("sha256").update(JSON.stringify(recipe)).digest("hex").slice(0, 12);
}

/** "12.3 MB" */
function mb(bytes: number): string {
    return `${(bytes / 1e6).toFixed(1)} MB`;
}
