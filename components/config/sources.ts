/**
 * The two ways the raw configuration arrives: from the Pulumi engine (every value a string) and from a
 * stack file read without the Pulumi CLI (YAML values, secrets still encrypted). Both give the same
 * RawConfig to the validator.
 */
import * as YAML from "yaml";
import { CONFIG_NAMESPACE, configKey } from "./schema";
import { RawConfig, SECRET_PRESENT } from "./validate";

const PREFIX = `${CONFIG_NAMESPACE}:`;

/**
 * From the engine's config map (`pulumi.runtime.allConfig()`): numbers, booleans and lists arrive as
 * JSON text and are decoded by the key's declared type; a value that does not decode stays a string so
 * that the validator names the key. Keys the schema declares secret are replaced by SECRET_PRESENT:
 * the program reads them only with `requireSecret`, and the CLI enforces `secret: true` from Pulumi.yaml.
 */
export function rawConfigFromEngine(all: Record<string, string>): RawConfig {
    const raw: RawConfig = {};
    for (const [fullKey, text] of Object.entries(all)) {
        if (!fullKey.startsWith(PREFIX)) {
            continue; // another package's configuration, such as docker:host
        }
        const key = fullKey.slice(PREFIX.length);
        const spec = configKey(key);
        raw[key] = spec?.secret ? SECRET_PRESENT : decode(text, spec?.type);
    }
    return raw;
}

function decode(text: string, type: string | undefined): unknown {
    if (type === "string") {
        return text;
    }
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** From a stack file's text (`Pulumi.<stack>.yaml`). Throws with the file name when it is not YAML. */
export function rawConfigFromStackFile(text: string, fileName: string): RawConfig {
    let document: unknown;
    try {
        document = YAML.parse(text);
    } catch (error) {
        throw new Error(`${fileName}: not valid YAML: ${(error as Error).message}`);
    }
    const config = (document as { config?: unknown } | null)?.config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw new Error(`${fileName}: "config" must be a map of keys to values`);
    }
    const raw: RawConfig = {};
    for (const [fullKey, value] of Object.entries(config as Record<string, unknown>)) {
        if (fullKey.startsWith(PREFIX)) {
            raw[fullKey.slice(PREFIX.length)] = isEncrypted(value) ? SECRET_PRESENT : value;
        }
    }
    return raw;
}

function isEncrypted(value: unknown): boolean {
    return typeof value === "object" && value !== null && "secure" in value;
}
