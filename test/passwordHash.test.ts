/** The metrics password's SHA-512 crypt hash: the C library's crypt(3) agrees, and the salt is the stack's own. */
import { expect } from "chai";
import { spawnSync } from "child_process";
import { loadStackFile } from "../components/plan";
import { metricsPasswordHash, metricsPasswordSalt, sha512Crypt, UNKNOWN_PASSWORD_HASH } from "../components/haproxy/passwordHash";
import { cfgCryptHash } from "../components/quote";
import { PROJECT_DIR } from "./support/paths";

/**
 * The C library's crypt(3), which HAProxy calls to check a password, through Python's crypt module (the
 * password on standard input, never a command line). `openssl passwd -6` would do, but it reads a line of
 * limited length and refuses an empty one.
 */
function libcCrypt(password: string, salt: string): string {
    const script = "import crypt, json, sys; p, s = json.load(sys.stdin); print(crypt.crypt(p, '$6$' + s))";
    const result = spawnSync("python3", ["-W", "ignore", "-c", script], { input: JSON.stringify([password, salt]), encoding: "utf8" });
    expect(result.status, result.stderr).to.equal(0);
    return result.stdout.trim();
}

describe("SHA-512 crypt", () => {
    const samples: [string, string][] = [
        ["x", "abc"], ["", "saltsaltsaltsalt"], ["correct horse:battery staple", "Zz./9"], ["ü€ unicode", "a"],
        ["p".repeat(63), "0123456789abcdef"], ["q".repeat(64), "s"], ["r".repeat(65), "s"], ["long ".repeat(60), "./../"],
    ];
    for (const [password, salt] of samples) {
        it(`agrees with the C library's crypt(3) for a ${password.length}-character password and salt ${JSON.stringify(salt)}`, () => {
            expect(sha512Crypt(password, salt)).to.equal(libcCrypt(password, salt));
        });
    }

    it("refuses a salt crypt would cut or misread", () => {
        for (const salt of ["", "with$dollar", "x".repeat(17), "new\nline"]) {
            expect(() => sha512Crypt("pw", salt), JSON.stringify(salt)).to.throw(/salt/);
        }
    });

    it("salts by the stack's identity: stable for one stack, different for another host, container or user", () => {
        const stack = () => loadStackFile(`${PROJECT_DIR}/test/stacks/metrics-2.6.yaml`);
        expect(metricsPasswordHash(stack(), "pw")).to.equal(metricsPasswordHash(stack(), "pw"));
        const salts = new Set([stack(), { ...stack(), host: { ...stack().host, address: "198.51.100.5" } },
            { ...stack(), haproxy: { ...stack().haproxy, containerName: "edge-2" } },
            { ...stack(), haproxy: { ...stack().haproxy, metrics: { ...stack().haproxy.metrics!, user: "other" } } }].map(metricsPasswordSalt));
        expect(salts.size).to.equal(4);
        expect(cfgCryptHash(metricsPasswordHash(stack(), "pw"))).to.match(/^\$6\$[./0-9A-Za-z]{16}\$/);
    });

    it("renders a placeholder that passes the haproxy.cfg gate, and the gate refuses anything else", () => {
        expect(cfgCryptHash(UNKNOWN_PASSWORD_HASH)).to.equal(UNKNOWN_PASSWORD_HASH);
        for (const value of ["plain password", "$6$salt$short", `$1$salt$${".".repeat(22)}`, `${UNKNOWN_PASSWORD_HASH}\n    bind :1`, `"${UNKNOWN_PASSWORD_HASH}"`]) {
            expect(() => cfgCryptHash(value), JSON.stringify(value)).to.throw(/not a SHA-512 crypt hash/);
        }
    });
});
