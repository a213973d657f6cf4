/**
 * `npm run bench:render`: validates and renders a stack of 1,000 sites (two domains each) and prints
 * the figures, plus the real `haproxy -c` time on the result (dev/haproxy.ts's check) when
 * haproxy is installed.
 * Target: render under 1 s on a 2-core machine.
 */
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import { type RawConfig, SECRET_PRESENT } from "../components/config/checks";
import { parseConfig } from "../components/config/validate";
import { renderHaproxyConfig } from "../components/haproxy/render";
import { checkWithHaproxy } from "../dev/haproxy";

const SITES = Number(process.env.BENCH_SITES ?? 1000);
const RUNS = 7;

function stack(): RawConfig {
    return {
        hostAddress: "192.0.2.10",
        sshPort: 2222, // the SSH service below publishes 22
        sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheBenchHost",
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
    const check = checkWithHaproxy(files);
    console.log(`haproxy -c: ${check.ms.toFixed(0)} ms, exit ${check.valid ? 0 : 1}${check.valid ? "" : `\n${check.output}`}`);
}
