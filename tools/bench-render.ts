/**
 * `npm run bench:render`: validates and renders a stack of 1,000 sites (two domains each) and prints
 * the figures, plus the real `haproxy -c` time on the result when haproxy is installed.
 * Target: render under 1 s on a 2-core machine.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RawConfig, SECRET_PRESENT, parseConfig } from "../components/config/validate";
import { CONFIG_FILES, CONTAINER_CERTS_DIR, CONTAINER_CONFIG_DIR, renderHaproxyConfig } from "../components/haproxy/render";

const SITES = Number(process.env.BENCH_SITES ?? 1000);
const RUNS = 7;

function stack(): RawConfig {
    return {
        hostAddress: "192.0.2.10",
        sshPrivateKey: SECRET_PRESENT,
        haproxyImage: "haproxy:2.6",
        acmeEmail: "admin@example.com",
        sites: Array.from({ length: SITES }, (_, i) => ({
            name: `site${i}`,
            domains: [`site${i}.example.com`, `www.site${i}.example.com`],
            backends: [`10.0.${i >> 8}.${i & 255}:8080`, `10.1.${i >> 8}.${i & 255}:8080`],
            healthCheck: { path: "/healthz" },
        })),
        tcpServices: [{ name: "ssh", port: 22, backends: ["10.0.0.1:22"] }],
    };
}

/** Median milliseconds of RUNS calls. */
function time<T>(work: () => T): { ms: number; result: T } {
    const samples: number[] = [];
    let result!: T;
    for (let i = 0; i < RUNS; i++) {
        const start = process.hrtime.bigint();
        result = work();
        samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    samples.sort((a, b) => a - b);
    return { ms: samples[Math.floor(RUNS / 2)], result };
}

const raw = stack();
const validate = time(() => parseConfig(raw));
const render = time(() => renderHaproxyConfig(validate.result));
const files = render.result;
console.log(`sites: ${SITES}, ${os.cpus().length} cores, median of ${RUNS} runs`);
console.log(`validate: ${validate.ms.toFixed(1)} ms`);
console.log(`render:   ${render.ms.toFixed(1)} ms (haproxy.cfg ${files.cfg.length} bytes, sites.map ${files.sitesMap.split("\n").length - 2} lines)`);
console.log(`total:    ${(validate.ms + render.ms).toFixed(1)} ms (target: render under 1000 ms)`);

if (spawnSync("sh", ["-c", "command -v haproxy"]).status === 0) {
    // haproxy -c on the full rendering, with one shared placeholder certificate linked under every PEM name.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-bench-"));
    try {
        const local = (text: string) => text.split(`${CONTAINER_CONFIG_DIR}/`).join(`${dir}/`).split(`${CONTAINER_CERTS_DIR}/`).join(`${dir}/`);
        for (const key of Object.keys(CONFIG_FILES) as (keyof typeof CONFIG_FILES)[]) {
            fs.writeFileSync(path.join(dir, CONFIG_FILES[key]), local(files[key]));
        }
        spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=bench",
            "-days", "1", "-keyout", path.join(dir, "key"), "-out", path.join(dir, "crt")]);
        fs.writeFileSync(path.join(dir, "placeholder"), fs.readFileSync(path.join(dir, "crt"), "utf8") + fs.readFileSync(path.join(dir, "key"), "utf8"));
        for (const site of validate.result.sites) {
            fs.symlinkSync(path.join(dir, "placeholder"), path.join(dir, `${site.name}.pem`));
        }
        const start = process.hrtime.bigint();
        const check = spawnSync("haproxy", ["-c", "-f", path.join(dir, CONFIG_FILES.cfg)], { encoding: "utf8" });
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        console.log(`haproxy -c: ${ms.toFixed(0)} ms, exit ${check.status}${check.status === 0 ? "" : `\n${check.stderr}`}`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
