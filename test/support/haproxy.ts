/**
 * Checks rendered configuration files with the real `haproxy -c`, exactly as the container would read
 * them: the container paths in the files are pointed at a scratch directory that holds the map files
 * and one self-signed placeholder certificate per PEM the certificate list names.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONFIG_FILES, CONTAINER_CERTS_DIR, CONTAINER_CONFIG_DIR, HaproxyConfigFiles } from "../../components/haproxy/render";

/** The haproxy binary; a missing one fails the test run (it is never a skip). */
export function haproxyBinary(): string {
    const found = spawnSync("sh", ["-c", "command -v haproxy"], { encoding: "utf8" }).stdout.trim();
    if (!found) {
        throw new Error("haproxy is not installed: the configuration tests need the real binary (apt-get install haproxy; .ci/run does it)");
    }
    return found;
}

/** Writes a self-signed ECDSA certificate and its key, concatenated, to `file`. */
export function writePlaceholderPem(file: string, commonName: string): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-pem-"));
    try {
        execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", `/CN=${commonName}`, "-days", "1", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")],
        { stdio: "pipe" });
        fs.writeFileSync(file, fs.readFileSync(path.join(dir, "cert.pem")) + fs.readFileSync(path.join(dir, "key.pem"), "utf8"));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The outcome of `haproxy -c`. */
export interface HaproxyCheck {
    /** Exit code 0. */
    valid: boolean;
    /** The `[WARNING]` and `[ALERT]` lines. */
    findings: string[];
    /** Everything haproxy printed. */
    output: string;
    /** How long `haproxy -c` itself took, in milliseconds. */
    ms: number;
}

/** Runs `haproxy -c` on the rendered files. */
export function checkWithHaproxy(files: HaproxyConfigFiles): HaproxyCheck {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-check-"));
    try {
        const configDir = path.join(scratch, "cfg");
        const certsDir = path.join(scratch, "certs");
        fs.mkdirSync(configDir);
        fs.mkdirSync(certsDir);
        const local = (text: string) => text
            .split(`${CONTAINER_CONFIG_DIR}/`).join(`${configDir}/`)
            .split(`${CONTAINER_CERTS_DIR}/`).join(`${certsDir}/`);
        for (const key of Object.keys(CONFIG_FILES) as (keyof typeof CONFIG_FILES)[]) {
            fs.writeFileSync(path.join(configDir, CONFIG_FILES[key]), local(files[key]));
        }
        // One placeholder linked under every PEM name the list gives: a thousand sites need no thousand keys.
        const placeholder = path.join(scratch, "placeholder.pem");
        writePlaceholderPem(placeholder, "edge-proxy check");
        for (const line of files.certsList.split("\n").filter((l) => l.startsWith(`${CONTAINER_CERTS_DIR}/`))) {
            fs.symlinkSync(placeholder, local(line));
        }
        const started = process.hrtime.bigint();
        const result = spawnSync(haproxyBinary(), ["-c", "-f", path.join(configDir, CONFIG_FILES.cfg)], { encoding: "utf8" });
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const output = `${result.stdout}${result.stderr}`;
        return {
            valid: result.status === 0,
            findings: output.split("\n").filter((line) => /\[(WARNING|ALERT)\]/.test(line)),
            output,
            ms,
        };
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}
