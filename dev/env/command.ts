/**
 * Short-lived commands (docker, openssl, ssh-keygen, ...) for the harness.
 *
 * Kept apart from process.ts: these run to completion and we want their
 * output, while services run in the background with output in a log file.
 */
import { spawn } from "node:child_process";

/** Options for {@link run}. */
export interface RunOptions {
    /** Extra environment, merged over the current one. */
    env?: NodeJS.ProcessEnv;
    /** Working directory. */
    cwd?: string;
    /** Text written to the command's stdin. */
    input?: string;
    /** Kill the command (SIGKILL, by its PID) after this long; default 10 min. */
    timeoutMs?: number;
    /** Resolve with the result instead of throwing on a non-zero exit. */
    allowFailure?: boolean;
}

/** What a finished command printed and how it ended. */
export interface RunResult {
    /** Exit code, or null if killed by a signal. */
    code: number | null;
    /** Everything it wrote to stdout. */
    stdout: string;
    /** Everything it wrote to stderr. */
    stderr: string;
}

/**
 * Runs `command args` to completion and returns its output. Throws on a
 * non-zero exit (unless `allowFailure`), with the command line and the tail
 * of stderr in the message, so a failed step explains itself.
 */
export function run(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, {
            cwd: opts.cwd,
            env: { ...process.env, ...opts.env },
            stdio: ["pipe", "pipe", "pipe"],
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        const timeoutMs = opts.timeoutMs ?? 600_000;
        let timedOut = false;
        // Bounded: a hung command is killed by its own PID, never by name.
        const timer = setTimeout(() => {
            timedOut = true;
            if (child.pid !== undefined) {
                try {
                    process.kill(child.pid, "SIGKILL");
                } catch {
                    // Already gone.
                }
            }
        }, timeoutMs);
        child.once("error", (e) => {
            clearTimeout(timer);
            reject(new Error(`cannot run ${command}: ${e.message}`));
        });
        child.once("close", (code) => {
            clearTimeout(timer);
            const result = { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
            if (timedOut) {
                reject(new Error(`${describe(command, args)} timed out after ${timeoutMs} ms\n${result.stderr.slice(-2000)}`));
            } else if (code !== 0 && !opts.allowFailure) {
                reject(new Error(`${describe(command, args)} failed (exit ${code})\n${(result.stderr || result.stdout).slice(-2000)}`));
            } else {
                resolve(result);
            }
        });
        child.stdin.on("error", () => undefined); // the command may not read its input
        child.stdin.end(opts.input ?? "");
    });
}

/** A readable command line for error messages. */
function describe(command: string, args: string[]): string {
    return [command, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
}
