/**
 * `npm run fuzz [-- --runs N] [-- --seed S]`: the configuration property of the tests
 * (test/support/configArbitrary.ts) over many more configurations, from a random seed (printed, so
 * that a run can be repeated). Prints the counts and every broken invariant; exits 1 when one broke.
 */
import { parseArgs } from "util";
import { runProperty } from "../test/support/configArbitrary";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20000" }, seed: { type: "string" }, samples: { type: "string", default: "200" } } });
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const runs = Number(values.runs);
const samples = Number(values.samples);
console.log(`seed ${seed}, ${runs} runs; dash -n and shellcheck on ${samples} accepted configurations, haproxy -c on ${Math.min(samples, 50)}`);
const started = Date.now();
const run = runProperty({ seed, runs, samples, haproxySamples: Math.min(samples, 50) });
console.log(`tried ${run.tried}, refused ${run.refused}, accepted ${run.accepted}, violations ${run.violations.length} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
run.violations.forEach((violation) => console.log(`- ${violation}`));
process.exitCode = run.violations.length > 0 ? 1 : 0;
