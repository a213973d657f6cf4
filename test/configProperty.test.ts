/**
 * The configuration property over the whole model (test/support/configArbitrary.ts), on a fixed seed and
 * few runs so that `npm test` stays fast; `npm run fuzz` runs it longer on a random seed.
 */
import { expect } from "chai";
import { runProperty } from "./support/configArbitrary";

describe("configuration property (fast-check)", () => {
    it("refuses a generated configuration with every problem led by a key path, or renders it safely", function () {
        this.timeout(60_000);
        const run = runProperty({ seed: 20240917, runs: 300, samples: 10, haproxySamples: 6 });
        console.log(`      (tried ${run.tried}, refused ${run.refused}, accepted ${run.accepted})`);
        expect(run.violations).to.deep.equal([]);
        // The generators must reach both sides of the property, or it proves nothing.
        expect(run.accepted).to.be.greaterThan(50);
        expect(run.refused).to.be.greaterThan(50);
    });
});
