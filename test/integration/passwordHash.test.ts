/** The metrics password's SHA-512 crypt hash agrees with the C library's crypt(3), which HAProxy calls to check it. */

import { spawnSync } from "node:child_process";
import { expect } from "chai";
import { sha512Crypt } from "../../components/haproxy/passwordHash";
import { describeWith, PYTHON_CRYPT } from "../support/needs";

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

describeWith([PYTHON_CRYPT], "SHA-512 crypt against the C library", () => {
    const samples: [string, string][] = [
        ["x", "abc"],
        ["", "saltsaltsaltsalt"],
        ["correct horse:battery staple", "Zz./9"],
        ["ü€ unicode", "a"],
        ["p".repeat(63), "0123456789abcdef"],
        ["q".repeat(64), "s"],
        ["r".repeat(65), "s"],
        ["long ".repeat(60), "./../"],
    ];
    for (const [password, salt] of samples) {
        it(`agrees with the C library's crypt(3) for a ${password.length}-character password and salt ${JSON.stringify(salt)}`, () => {
            expect(sha512Crypt(password, salt)).to.equal(libcCrypt(password, salt));
        });
    }
});
