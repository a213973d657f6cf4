/**
 * The golden renderings (test/unit/render.test.ts holds them to the renderer) checked by the real
 * `haproxy -c` of their own version, without a warning.
 *
 * A rendering for HAProxy X.Y is checked by every available binary of release X.Y.*: Debian's 2.6 and those
 * EDGE_PROXY_HAPROXY_BINARIES lists (see dev/haproxy.ts). Binaries of other versions do not check it: the
 * version comes from the image tag, so a rendering only ever runs on its own version, and a newer binary's
 * deprecation warnings or an older one's missing keywords would say nothing about it.
 */
import { expect } from "chai";
import { loadStackFile } from "../../components/plan";
import { BINARIES_ENV, checkWithHaproxy, haproxyBinaries, sameVersion } from "../../dev/haproxy";
import { goldenOf, STACKS } from "../support/golden";
import { describeWith, HAPROXY, ROOT } from "../support/needs";

describeWith([ROOT, HAPROXY], "the golden renderings under the real haproxy -c", () => {
    const { binaries, missing } = haproxyBinaries();
    const stacks = Object.entries(STACKS).map(([name, stackFile]) => ({ name, config: loadStackFile(stackFile) }));

    before(() => {
        const versions = [...new Set(stacks.map(({ config }) => `${config.haproxy.version.major}.${config.haproxy.version.minor}`))].sort();
        const checkers = versions.map((version) => {
            const found = binaries.filter((b) => `${b.version.major}.${b.version.minor}` === version).map((b) => b.release);
            return `${version} by ${found.length ? found.join(", ") : "nothing (no binary)"}`;
        });
        console.log(`      haproxy -c on the golden renderings: ${checkers.join("; ")}${missing.length ? `; not found: ${missing.join(", ")}` : ""}`);
    });

    it(`finds haproxy on PATH and every binary ${BINARIES_ENV} lists`, () => {
        expect(missing).to.deep.equal([]);
    });

    for (const { name, config } of stacks) {
        for (const binary of binaries.filter((b) => sameVersion(b.version, config.haproxy.version))) {
            it(`stack ${name} passes the real haproxy ${binary.release} -c without a warning`, () => {
                const golden = goldenOf(name);
                expect(golden, `no golden files for ${name}: run UPDATE_GOLDEN=1 npm test`).to.not.equal(undefined);
                const check = checkWithHaproxy(golden!, binary.path);
                expect(check.valid, check.output).to.equal(true);
                expect(check.findings, check.output).to.deep.equal([]);
            });
        }
    }
});
