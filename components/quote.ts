/**
 * The two gates every configured value passes on its way out: into a shell command (`shellQuote`) or into
 * haproxy.cfg and its map files (`cfgToken`). Validation already restricts values; these gates make sure
 * that a value which slipped past it can never become a second command or a second directive.
 */

/** Quotes a value as one POSIX shell word: single quotes, with embedded single quotes spliced in. */
export function shellQuote(value: string | number): string {
    const text = String(value);
    if (text.includes("\0")) {
        throw new Error(`refusing to quote a value with a NUL byte for the shell: ${JSON.stringify(text)}`);
    }
    if (/^[A-Za-z0-9_@%+=:,.\/-]+$/.test(text)) {
        return text; // nothing the shell would interpret: keep commands readable
    }
    return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Quotes every argument and joins them into one command line. */
export function shellCommand(...args: (string | number)[]): string {
    return args.map(shellQuote).join(" ");
}

/**
 * Characters a haproxy.cfg word may carry here: no blank (word separator), no newline (directive
 * separator), no `#` (comment), no quote or backslash (HAProxy's own quoting, which 1.7 handles
 * differently from 2.x), no `%` or `$` (log-format and environment expansion).
 */
const CFG_TOKEN = /^[A-Za-z0-9._:\/\[\]@,=+*-]+$/;

/** Returns the value if it is one safe haproxy.cfg word, and throws otherwise. */
export function cfgToken(value: string | number): string {
    const text = String(value);
    if (!CFG_TOKEN.test(text)) {
        throw new Error(`refusing to write ${JSON.stringify(text)} into haproxy.cfg: not a single safe word`);
    }
    return text;
}
