/**
 * The configuration property over the whole model (dev/generators.ts), on a fixed seed and few runs so
 * that `npm test` stays fast; `npm run fuzz` runs it longer on a random seed. Its samples' shellcheck and
 * haproxy -c: test/integration/configProperty.test.ts.
 */
import { expect } from "chai";
import { runProperty } from "../../dev/generators";
import { PROPERTY_RUN } from "../support/property";

describe("configuration property (fast-check)", () => {
    it("refuses a generated configuration with every problem led by a key path, or renders it safely", function () {
        this.timeout(60_000);
        const run = runProperty(PROPERTY_RUN);
        console.log(`      (tried ${run.tried}, refused ${run.refused}, accepted ${run.accepted})`);
        expect(run.violations).to.deep.equal([]);
        // The generators must reach both sides of the property, or it proves nothing.
        expect(run.accepted).to.be.greaterThan(50);
        expect(run.refused).to.be.greaterThan(50);
    });
});
