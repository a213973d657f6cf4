/**
 * Long-running child processes for the end-to-end harness.
 *
 * Every service the harness starts (dockerd, sshd, pebble, ...) goes through
 * `startProcess`, which records the child's PID and registers a stop action.
 * A failing or interrupted test must not leave daemons behind on the machine,
 * and the workplace rule is to end only what we started, by PID: so we never
 * kill by name, only the PIDs we spawned ourselves.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** Options for {@link startProcess}. */
export interface StartOptions {
    /** Short name used in logs and error messages. */
    name: string;
    /** File that receives the child's stdout and stderr (appended to). */
    logFile: string;
    /** Extra environment, merged over the current one; an undefined value removes a variable. */
    env?: NodeJS.ProcessEnv;
    /** Working directory of the child. */
    cwd?: string;
    /** How long `stop()` waits after SIGTERM before SIGKILL (default 10 s). */
    stopTimeoutMs?: number;
}

/** A started child process that we own. */
export interface ManagedProcess {
    /** The name given at start. */
    readonly name: string;
    /** PID of the child we spawned (the only process `stop()` signals). */
    readonly pid: number;
    /** Where its output goes. */
    readonly logFile: string;
    /** True once the child has exited. */
    exited(): boolean;
    /** Exit code or signal, once exited. */
    exitStatus(): string | undefined;
    /** SIGTERM, wait (bounded), then SIGKILL. Idempotent. */
    stop(): Promise<void>;
    /** The last `maxChars` characters of the log, for error messages. */
    logTail(maxChars?: number): string;
}

/** One cleanup action in the registry. */
interface CleanupEntry {
    name: string;
    run: () => Promise<void>;
    /** PID to SIGTERM synchronously if the process exits before `run` could. */
    pid?: number;
}

const cleanups: CleanupEntry[] = [];
let handlersInstalled = false;

/**
 * Registers an action to run by {@link stopAll} (e.g. removing a container).
 * Returns a function that unregisters it, for actions already done by hand.
 */
export function onCleanup(name: string, run: () => Promise<void>, pid?: number): () => void {
    installExitHandlers();
    const entry: CleanupEntry = { name, run, pid };
    cleanups.push(entry);
    return () => {
        const i = cleanups.indexOf(entry);
        if (i >= 0) cleanups.splice(i, 1);
    };
}

let stopping: Promise<void> | undefined;

/**
 * Runs every registered cleanup action, last registered first (a service may
 * depend on one started before it, e.g. containers on dockerd). Errors are
 * logged, not thrown, so that one failed stop does not leave the rest running.
 * Calls made while a run is in progress share it, so a SIGINT during a
 * failure's cleanup cannot stop dockerd before the containers on it.
 */
export function stopAll(): Promise<void> {
    stopping ??= (async () => {
        while (cleanups.length > 0) {
            const entry = cleanups.pop()!;
            try {
                await entry.run();
            } catch (err) {
                console.error(`[e2e-env] cleanup of ${entry.name} failed: ${(err as Error).message}`);
            }
        }
    })().finally(() => {
        stopping = undefined;
    });
    return stopping;
}

/**
 * Installs, once, handlers that stop everything on SIGINT/SIGTERM and, as a
 * last resort on a synchronous exit, SIGTERM the PIDs still registered
 * (an 'exit' handler cannot wait for anything asynchronous).
 */
export function installExitHandlers(): void {
    if (handlersInstalled) return;
    handlersInstalled = true;
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.once(sig, () => {
            console.error(`[e2e-env] ${sig}: stopping ${cleanups.length} service(s)`);
            stopAll().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
        });
    }
    process.once("exit", () => {
        for (const entry of cleanups.slice().reverse()) {
            if (entry.pid === undefined) continue;
            try {
                process.kill(entry.pid, "SIGTERM");
            } catch {
                // Already gone: nothing to do.
            }
        }
    });
}

/**
 * Spawns `command args` in the background with its output in a log file and
 * registers it for {@link stopAll}. Resolves once the process has been
 * spawned (not once it is ready: use {@link waitFor} for that).
 */
export async function startProcess(command: string, args: string[], opts: StartOptions): Promise<ManagedProcess> {
    fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
    const fd = fs.openSync(opts.logFile, "a");
    const child = spawn(command, args, {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        // Own process group: a Ctrl-C in the terminal reaches only us, and we
        // stop the services in order (containers before dockerd).
        detached: true,
        // stdin closed; stdout and stderr straight into the file, so that the
        // log survives us and no pipe can fill up and block the child.
        stdio: ["ignore", fd, fd],
    });
    fs.closeSync(fd);
    await new Promise<void>((resolve, reject) => {
        child.once("spawn", () => resolve());
        child.once("error", (err) => reject(new Error(`${opts.name}: cannot start ${command}: ${err.message}`)));
    });
    const pid = child.pid!;
    // Do not keep node alive just because a service runs: a test runner must
    // be able to finish; the registry stops the service on the way out.
    child.unref();
    let status: string | undefined;
    const exitPromise = new Promise<void>((resolve) => {
        child.once("exit", (code, signal) => {
            status = signal ? `signal ${signal}` : `exit code ${code}`;
            resolve();
        });
    });
    const stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
    let stopping: Promise<void> | undefined;
    let unregister: () => void = () => undefined;

    const proc: ManagedProcess = {
        name: opts.name,
        pid,
        logFile: opts.logFile,
        exited: () => status !== undefined,
        exitStatus: () => status,
        logTail: (maxChars = 2000) => tailOf(opts.logFile, maxChars),
        stop: () => {
            stopping ??= (async () => {
                unregister();
                if (status !== undefined) return;
                signal(pid, "SIGTERM");
                const timer = delay(stopTimeoutMs);
                await Promise.race([exitPromise, timer.promise]);
                timer.cancel();
                if (status === undefined) {
                    console.error(`[e2e-env] ${opts.name} (pid ${pid}) ignored SIGTERM for ${stopTimeoutMs} ms: SIGKILL`);
                    signal(pid, "SIGKILL");
                    await exitPromise;
                }
            })();
            return stopping;
        },
    };
    unregister = onCleanup(opts.name, () => proc.stop(), pid);
    return proc;
}

/** Options for {@link waitFor}. */
export interface WaitOptions {
    /** Give up after this long. */
    timeoutMs: number;
    /** What we are waiting for, named in the error ("dockerd to answer"). */
    what: string;
    /** Pause between checks (default 200 ms). */
    intervalMs?: number;
    /** If this process exits meanwhile, fail at once with its log tail. */
    process?: ManagedProcess;
}

/**
 * Polls `check` until it returns a value other than false/undefined/null (or
 * stops throwing), then returns that value. Bounded: after `timeoutMs` it
 * throws naming `what` and the last error seen, so a hung service fails the
 * run with a reason instead of hanging it.
 */
export async function waitFor<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, opts: WaitOptions): Promise<T> {
    const deadline = Date.now() + opts.timeoutMs;
    let lastError = "";
    for (;;) {
        try {
            const value = await check();
            if (value !== undefined && value !== null && value !== false) return value;
            lastError = "";
        } catch (err) {
            lastError = (err as Error).message;
        }
        if (opts.process?.exited()) {
            throw new Error(
                `gave up waiting for ${opts.what}: ${opts.process.name} exited (${opts.process.exitStatus()}); ` +
                    `log ${opts.process.logFile}:\n${opts.process.logTail()}`,
            );
        }
        if (Date.now() >= deadline) {
            throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${lastError ? ` (last error: ${lastError})` : ""}`);
        }
        await delay(opts.intervalMs ?? 200).promise;
    }
}

/** Sends a signal to a PID, ignoring "no such process" (it already exited). */
function signal(pid: number, sig: NodeJS.Signals): void {
    try {
        process.kill(pid, sig);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
}

/** A cancellable sleep, so a finished wait leaves no timer keeping node alive. */
function delay(ms: number): { promise: Promise<void>; cancel: () => void } {
    let timer: NodeJS.Timeout | undefined;
    const promise = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
    });
    return { promise, cancel: () => clearTimeout(timer) };
}

/** Last characters of a file, or "" if it cannot be read. */
function tailOf(file: string, maxChars: number): string {
    try {
        const text = fs.readFileSync(file, "utf8");
        return text.slice(-maxChars);
    } catch {
        return "";
    }
}

/**
 * Takes a lock directory with our PID inside, waiting (at most 20 minutes) while another live process
 * holds it: mkdir is atomic, and a lock whose PID is dead (a killed run) is taken over instead of waited
 * for. Returns the release.
 */
export async function holdLock(dir: string, what: string): Promise<() => void> {
    const pidFile = path.join(dir, "pid");
    let told = false;
    await waitFor(
        () => {
            try {
                fs.mkdirSync(dir);
                fs.writeFileSync(pidFile, String(process.pid));
                return true;
            } catch (err) {
                if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
            }
            const holder = Number(readOr(pidFile, "0"));
            if (holder > 0 && !alive(holder)) {
                fs.rmSync(dir, { recursive: true, force: true });
            } else if (!told) {
                console.log(`      waiting for ${what}, held by process ${holder}`);
                told = true;
            }
            return false;
        },
        { timeoutMs: 20 * 60_000, intervalMs: 1000, what },
    );
    return () => fs.rmSync(dir, { recursive: true, force: true });
}

/** Contents of a file, or a default if it cannot be read. */
function readOr(file: string, fallback: string): string {
    try {
        return fs.readFileSync(file, "utf8").trim() || fallback;
    } catch {
        return fallback;
    }
}

/** Whether a process with this PID exists. */
function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}
