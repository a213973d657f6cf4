/**
 * The configuration property's samples (test/unit/configProperty.test.ts runs the property) through the
 * programs that read them on a host: shellcheck on every script, and the real `haproxy -c` without warning.
 */
import { expect } from "chai";
import { haproxyViolations, runProperty, shellcheckViolations } from "../../dev/generators";
import { describeWith, HAPROXY, program, ROOT } from "../support/needs";
import { PROPERTY_RUN } from "../support/property";

describeWith(
    [ROOT, HAPROXY, program("shellcheck", "apt-get install shellcheck; tools/install.sh does")],
    "configuration property (fast-check): the samples",
    () => {
        it("pass shellcheck and haproxy -c", function () {
            this.timeout(60_000);
            const { samples } = runProperty(PROPERTY_RUN);
            expect(samples.length).to.equal(PROPERTY_RUN.samples);
            expect([...shellcheckViolations(samples), ...haproxyViolations(samples, 6)]).to.deep.equal([]);
        });
    },
);
