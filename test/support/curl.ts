/** HTTP requests with curl, as an operator (or a scraper) makes them. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

/** A request with curl: the status, the response headers (lower-case names) and the body. */
export async function curl(...args: string[]): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const { stdout } = await promisify(execFile)("curl", ["-sS", "--noproxy", "*", "--max-time", "5", "-D", "-", ...args], { encoding: "utf8" });
    const [head, ...body] = stdout.split("\r\n\r\n");
    const [statusLine, ...headerLines] = head.split("\r\n");
    const headers = Object.fromEntries(
        headerLines.map((line) => {
            const colon = line.indexOf(":");
            return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
        }),
    );
    return { status: Number(statusLine.split(" ")[1]), headers, body: body.join("\r\n\r\n") };
}
