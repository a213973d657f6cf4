/** The metrics password's SHA-512 crypt hash: its salt, the stack's own, and the haproxy.cfg gate (the C library's agreement: test/integration/). */
import { expect } from "chai";
import { metricsPasswordHash, metricsPasswordSalt, sha512Crypt, UNKNOWN_PASSWORD_HASH } from "../../components/haproxy/passwordHash";
import { loadStackFile } from "../../components/plan";
import { cfgCryptHash } from "../../components/quote";
import { PROJECT_DIR } from "../../dev/paths";

describe("SHA-512 crypt", () => {
    it("refuses a salt crypt would cut or misread", () => {
        for (const salt of ["", "with$dollar", "x".repeat(17), "new\nline"]) {
            expect(() => sha512Crypt("pw", salt), JSON.stringify(salt)).to.throw(/salt/);
        }
    });

    it("salts by the stack's identity: stable for one stack, different for another host, container or user", () => {
        const stack = () => loadStackFile(`${PROJECT_DIR}/test/stacks/metrics-2.6.yaml`);
        expect(metricsPasswordHash(stack(), "pw")).to.equal(metricsPasswordHash(stack(), "pw"));
        const salts = new Set(
            [
                stack(),
                { ...stack(), host: { ...stack().host, address: "198.51.100.5" } },
                { ...stack(), haproxy: { ...stack().haproxy, containerName: "edge-2" } },
                { ...stack(), haproxy: { ...stack().haproxy, metrics: { ...stack().haproxy.metrics!, user: "other" } } },
            ].map(metricsPasswordSalt),
        );
        expect(salts.size).to.equal(4);
        expect(cfgCryptHash(metricsPasswordHash(stack(), "pw"))).to.match(/^\$6\$[./0-9A-Za-z]{16}\$/);
    });

    it("renders a placeholder that passes the haproxy.cfg gate, and the gate refuses anything else", () => {
        expect(cfgCryptHash(UNKNOWN_PASSWORD_HASH)).to.equal(UNKNOWN_PASSWORD_HASH);
        for (const value of [
            "plain password",
            "$6$salt$short",
            `$1$salt$${".".repeat(22)}`,
            `${UNKNOWN_PASSWORD_HASH}\n    bind :1`,
            `"${UNKNOWN_PASSWORD_HASH}"`,
        ]) {
            expect(() => cfgCryptHash(value), JSON.stringify(value)).to.throw(/not a SHA-512 crypt hash/);
        }
    });
});
