/**
 * The gates every configured value passes on its way out: into a shell command (`shellQuote`), into
 * haproxy.cfg and its map files (`cfgToken`; a password hash: `cfgCryptHash`), into keepalived.conf
 * (`keepalivedToken`), or as a whole file inside a host script (`shellHeredoc`). Validation already restricts
 * values; these gates make sure that a value which slipped past it can never become a second command or a
 * second directive.
 */

/** Quotes a value as one POSIX shell word: single quotes, with embedded single quotes spliced in. */
export function shellQuote(value: string | number): string {
    const text = String(value);
    if (text.includes("\0")) {
        throw new Error(`refusing to quote a value with a NUL byte for the shell: ${JSON.stringify(text)}`);
    }
    if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) {
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
 * differently from 2.x), no `%` or `$` (log-format and environment expansion). `~` is plain text to
 * HAProxy (a health-check path such as `/~health` passes `haproxy -c`), so the validator may accept it.
 */
const CFG_TOKEN = /^[A-Za-z0-9._:/[\]@,=+*~-]+$/;

/** Returns the value if it is one safe haproxy.cfg word, and throws otherwise. */
export function cfgToken(value: string | number): string {
    const text = String(value);
    if (!CFG_TOKEN.test(text)) {
        throw new Error(`refusing to write ${JSON.stringify(text)} into haproxy.cfg: not a single safe word`);
    }
    return text;
}

/** A SHA-512 crypt hash, `$6$salt$hash`: the only haproxy.cfg word that may carry `$` (outside double quotes HAProxy expands nothing). */
const CRYPT_HASH = /^\$6\$[A-Za-z0-9./]{1,16}\$[A-Za-z0-9./]{86}$/;

/** Returns the value if it is a SHA-512 crypt hash (a `userlist` password), and throws otherwise. */
export function cfgCryptHash(value: string): string {
    if (!CRYPT_HASH.test(value)) {
        throw new Error("refusing to write a password hash into haproxy.cfg: not a SHA-512 crypt hash");
    }
    return value;
}

/**
 * Characters a keepalived.conf word may carry here: letters, digits and `._:/-`, enough for an interface
 * name (eth0, ens5.100), an IPv4 or IPv6 address with its prefix (10.0.0.100/24, fd00::100/64), a path and a
 * VRRP password. Nothing keepalived's reader interprets: no blank (word separator), no newline (line
 * separator), no `#` or `!` (a comment, anywhere on a line), no `{` or `}` (blocks, anywhere on a line), no
 * `"`, `'` or `\` (quoting, escapes, line continuation), no `$` (definitions), no `@` or `~` (configuration
 * ids and sequences at the start of a line), no `%` (an IPv6 zone, which the address parsers would take).
 */
const KEEPALIVED_TOKEN = /^[A-Za-z0-9._:/-]+$/;

/** The words that make a line an `include` of other files when they start it (a virtual address does). */
const KEEPALIVED_INCLUDE = /^include[rmwba]?$/;

/** Whether a word is one keepalived reads as an include of other files where it starts a line. */
export function isKeepalivedInclude(value: string): boolean {
    return KEEPALIVED_INCLUDE.test(value);
}

/** Whether a value is one safe keepalived.conf word (for validators that must agree with the gate). */
export function isKeepalivedToken(value: string): boolean {
    return KEEPALIVED_TOKEN.test(value) && !isKeepalivedInclude(value);
}

/** Returns the value if it is one safe keepalived.conf word, and throws otherwise. */
export function keepalivedToken(value: string | number): string {
    const text = String(value);
    if (!isKeepalivedToken(text)) {
        throw new Error(`refusing to write ${JSON.stringify(text)} into keepalived.conf: not a single safe word`);
    }
    return text;
}

/** The delimiter of the host scripts' here-documents. */
const HEREDOC_END = "EDGE_PROXY_EOF";

/**
 * A quoted here-document carrying `body` unchanged: `<<'EDGE_PROXY_EOF'`, the text, the delimiter line.
 * The shell expands nothing inside it, so files stay readable in `pulumi preview --diff`. A body holding
 * that line (a script that itself carries a here-document, as the renewal script carries acme.py) gets
 * `EDGE_PROXY_EOF_1`, `_2`, ...: the first delimiter that is no line of it. Throws when the text lacks its
 * final newline.
 */
export function shellHeredoc(body: string): string {
    if (!body.endsWith("\n")) {
        throw new Error("a here-document body must end with a newline");
    }
    const lines = new Set(body.split("\n"));
    let end = HEREDOC_END;
    for (let n = 1; lines.has(end); n++) {
        end = `${HEREDOC_END}_${n}`;
    }
    return `<<'${end}'\n${body}${end}`;
}
