/**
 * The two ways the raw configuration arrives: from the Pulumi engine (every value a string) and from a
 * stack file read without the Pulumi CLI (YAML values, secrets still encrypted). Both give the same
 * RawConfig to the validator.
 */
import * as YAML from "yaml";
import { MAX_LIST_TEXT_LENGTH, MAX_STRING_LENGTH, OversizedValue, PLAIN_SECRET, type RawConfig, SECRET_PRESENT } from "./checks";
import { CONFIG_NAMESPACE, configKey } from "./schema";

const PREFIX = `${CONFIG_NAMESPACE}:`;

/** The variable in which the Pulumi language host hands the program the full keys of the configuration's secrets (a JSON list). */
const SECRET_KEYS_VARIABLE = "PULUMI_CONFIG_SECRET_KEYS";

/**
 * Which configuration keys (`edge-proxy:name`) the engine holds as secrets, from the list the language
 * host passes in PULUMI_CONFIG_SECRET_KEYS beside the values (PULUMI_CONFIG). The SDK's public API
 * (`pulumi.runtime.allConfig()`, `pulumi.Config`) gives the values but not which of them are secrets;
 * without the list no secret could be told apart, so a run without it stops here.
 */
export function engineSecretKeys(env: NodeJS.ProcessEnv = process.env): (fullKey: string) => boolean {
    const text = env[SECRET_KEYS_VARIABLE];
    const keys: unknown = text === undefined ? undefined : JSON.parse(text);
    if (!Array.isArray(keys)) {
        throw new Error(
            `${SECRET_KEYS_VARIABLE} holds no list of keys: cannot tell which configuration values are secrets (run the stack with the Pulumi CLI)`,
        );
    }
    return (fullKey) => keys.includes(fullKey);
}

/**
 * From the engine's config map (`pulumi.runtime.allConfig()`): numbers, booleans and lists arrive as
 * JSON text and are decoded by the key's declared type; a value that does not decode stays a string so
 * that the validator names the key. Values the engine holds as secrets are replaced by SECRET_PRESENT, so
 * that no problem can echo them (the program reads those of secret keys only with `requireSecret`; the
 * validator refuses them for any other key), and so are those of required secret keys, whose secrecy the CLI
 * enforces. An optional secret key's value held in plain text becomes PLAIN_SECRET,
 * which the validator refuses: the CLI enforces secrecy only for required keys (an optional secret's
 * Pulumi.yaml default is itself plain text), so the program checks it for the others.
 */
export function rawConfigFromEngine(all: Record<string, string>, isSecret: (fullKey: string) => boolean): RawConfig {
    const raw: RawConfig = {};
    for (const [fullKey, text] of Object.entries(all)) {
        if (!fullKey.startsWith(PREFIX)) {
            continue; // another package's configuration, such as docker:host
        }
        const key = fullKey.slice(PREFIX.length);
        const spec = configKey(key);
        const limit = spec?.type === "list" ? MAX_LIST_TEXT_LENGTH : MAX_STRING_LENGTH;
        // The CLI enforces secrecy for required secret keys (Pulumi.yaml says `secret: true`), not for optional ones.
        const secret = isSecret(fullKey) || (spec?.secret && spec.required);
        if (spec?.secret && !secret && text === "") {
            continue; // an optional secret key's Pulumi.yaml default, which the CLI hands over as plain ""
        }
        raw[key] = secret
            ? SECRET_PRESENT
            : spec?.secret
              ? PLAIN_SECRET // refused by the validator, without carrying the value any further
              : text.length > limit
                ? new OversizedValue(text.length, limit) // never parsed
                : decode(text, spec?.type);
    }
    return raw;
}

function decode(text: string, type: string | undefined): unknown {
    if (type === "string") {
        return text;
    }
    if (type === "integer") {
        return plainInteger(text) ? Number(text) : text;
    }
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** The largest stack file read: the YAML parser takes about 4 s per MiB, and 5,000 sites take about 1 MiB. */
const MAX_STACK_FILE_BYTES = 2 * 1024 * 1024;

/** Whether a number's text is a plain decimal integer: JSON and YAML also read 1e3, YAML 080, 0x50 and 0o17. */
function plainInteger(text: string): boolean {
    return /^(0|-?[1-9]\d*)$/.test(text);
}

/**
 * From a stack file's text (`Pulumi.<stack>.yaml`). Throws with the file name when it is not YAML. A number
 * written other than as a plain decimal integer (`080`, `0x50`, `1e3`, `.inf`, `1.5`) stays the text it
 * was written as, so that the validator refuses it with its key path instead of reading another port.
 */
export function rawConfigFromStackFile(text: string, fileName: string): RawConfig {
    const bytes = Buffer.byteLength(text);
    if (bytes > MAX_STACK_FILE_BYTES) {
        throw new Error(`${fileName}: ${bytes} bytes; a stack file may have at most ${MAX_STACK_FILE_BYTES / 1024 / 1024} MiB (5,000 sites take about 1 MiB)`);
    }
    let document: unknown;
    try {
        const parsed = YAML.parseDocument(text);
        if (parsed.errors.length > 0) {
            throw parsed.errors[0];
        }
        YAML.visit(parsed, {
            Scalar(_, node) {
                if (typeof node.value === "number" && node.source !== undefined && !plainInteger(node.source)) {
                    node.value = node.source;
                }
            },
        });
        document = parsed.toJS();
    } catch (error) {
        // Only the parser's first line (what, and where): the lines after it quote the file, and the line
        // at fault may hold a secret pasted in the wrong place.
        throw new Error(`${fileName}: not valid YAML: ${(error as Error).message.split("\n")[0].replace(/:$/, "")}`);
    }
    const config = (document as { config?: unknown } | null)?.config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw new Error(`${fileName}: "config" must be a map of keys to values`);
    }
    const raw: RawConfig = {};
    for (const [fullKey, value] of Object.entries(config as Record<string, unknown>)) {
        if (fullKey.startsWith(PREFIX)) {
            raw[fullKey.slice(PREFIX.length)] = withoutCiphertext(value);
        }
    }
    return raw;
}

/** The value with every encrypted part (`secure: <ciphertext>`, at any depth) replaced by SECRET_PRESENT. */
function withoutCiphertext(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(withoutCiphertext);
    }
    if (typeof value !== "object" || value === null) {
        return value;
    }
    if ("secure" in value) {
        return SECRET_PRESENT;
    }
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withoutCiphertext(item)]));
}
