/** Files only the operator reads, on the machine running Pulumi (~/.edge-proxy by default). */
import * as fs from "node:fs";
import * as path from "node:path";

/** Writes `content` to `file` (0600, its directory 0700) unless it already holds it: beside it first, then one rename. */
export function writePrivateFile(file: string, content: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== content) {
        const next = `${file}.${process.pid}`;
        fs.writeFileSync(next, content, { mode: 0o600 });
        fs.renameSync(next, file);
    }
}
