/**
 * `npm run fuzz [-- --runs N] [-- --seed S]`: the configuration property of the tests
 * (dev/generators.ts) over many more configurations, from a random seed (printed, so
 * that a run can be repeated). Prints the counts and every broken invariant; exits 1 when one broke.
 */
import { parseArgs } from "node:util";
import { haproxyViolations, runProperty, shellcheckViolations } from "../dev/generators";

const USAGE = "usage: npm run fuzz -- [--runs N] [--seed S] [--samples N]";

/** The command line's options as given, or undefined (having said why) when parseArgs refuses them. */
function parseOptions() {
    try {
        return parseArgs({
            options: {
                runs: { type: "string", default: "20000" },
                seed: { type: "string" },
                samples: { type: "string", default: "200" },
                help: { type: "boolean" },
            },
        }).values;
    } catch (error) {
        console.error(`${(error as Error).message}\n${USAGE}`);
        return undefined;
    }
}

/** The options, or undefined (having said why) when they are not numbers this tool takes. */
function readOptions(): { seed: number; runs: number; samples: number } | undefined {
    const values = parseOptions();
    if (values === undefined) {
        return undefined;
    }
    if (values.help) {
        console.log(USAGE);
        return undefined;
    }
    const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
    const [runs, samples] = [Number(values.runs), Number(values.samples)];
    if (![seed, runs, samples].every((n) => Number.isInteger(n) && n >= 0)) {
        console.error(`--runs, --seed and --samples take whole numbers\n${USAGE}`);
        return undefined;
    }
    return { seed, runs, samples };
}

const options = readOptions();
if (!options) {
    process.exit(process.argv.includes("--help") ? 0 : 2);
}
const { seed, runs, samples } = options;
console.log(`seed ${seed}, ${runs} runs; dash -n and shellcheck on ${samples} accepted configurations, haproxy -c on ${Math.min(samples, 50)}`);
const started = Date.now();
const run = runProperty({ seed, runs, samples });
const violations = [...run.violations, ...shellcheckViolations(run.samples), ...haproxyViolations(run.samples, Math.min(samples, 50))];
console.log(
    `tried ${run.tried}, refused ${run.refused}, accepted ${run.accepted}, violations ${violations.length} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
);
for (const violation of violations) {
    console.log(`- ${violation}`);
}
process.exitCode = violations.length > 0 ? 1 : 0;
