/**
 * Validation of the stack configuration: takes the raw key/value map (from Pulumi, a stack file or
 * EdgeProxy's settings), reports every problem at once, each led by its stack key path, and returns the
 * defaulted, typed configuration. The schema (schema.ts) and the rules (rules.ts) find the problems; this
 * module names them, as a stack sets them, and lists them in the order of the reference. Nothing here
 * touches Pulumi or the host, so a bad stack fails before any resource is declared.
 */
import type { z } from "zod";
import { keyPath, type RawConfig, UNKNOWN_KEYS_LISTED, unknownKeyProblem } from "./checks";
import { rulesFor } from "./rules";
import { CONFIG_KEYS, type ConfigKey, configModel, deriveConfig, innerSchema, modelInput } from "./schema";

/**
 * The configuration's schema: the model, the rules that span several values (which run however many
 * values the model refused, on the others), and the values derived from several keys.
 */
function validated(requireSecrets: boolean) {
    return configModel.superRefine(rulesFor({ requireSecrets }), { when: () => true }).transform(deriveConfig);
}

/** The schema of a deployment's configuration: the secrets it needs are required. */
export const configSchema = validated(true);
/** The schema of a configuration validated without its secrets (ParseOptions.requireSecrets). */
const configWithoutSecrets = validated(false);

/** Thrown with every problem found; `problems` holds one line per problem, each led by its key path. */
export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(
            `invalid edge-proxy configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
        );
        this.name = "ConfigError";
    }
}

/** How strict validation is about what a deployment needs but rendering does not. */
export interface ParseOptions {
    /**
     * Whether the secrets a deployment needs (the SSH private key, and the passwords and keys the settings
     * call for) must be set. The render tool passes false: it renders without the host and cannot decrypt
     * secrets anyway; so does EdgeProxy, which takes the secrets as arguments of their own. Default true.
     */
    requireSecrets?: boolean;
    /**
     * Key paths whose values are not known yet (EdgeProxy's Outputs, such as `hostAddress` or
     * `sites[1].domains`): they are left out of the raw configuration, and so are the problems about them.
     */
    unknown?: readonly string[];
}

/** Validates and defaults the raw configuration; throws ConfigError listing every problem. */
export function parseConfig(raw: RawConfig, options: ParseOptions = {}): z.output<typeof configSchema> {
    const { problems, config } = inspectConfig(raw, options);
    if (!config) {
        throw new ConfigError(problems);
    }
    return config;
}

/** Every problem of the raw configuration, in the order of the reference, and the configuration when there is none. */
export function inspectConfig(raw: RawConfig, options: ParseOptions = {}): { problems: string[]; config?: z.output<typeof configSchema> } {
    const { input, unknownKeys } = modelInput(raw);
    const found: Problem[] = unknownKeyProblems(
        "",
        unknownKeys,
        CONFIG_KEYS.map((spec) => spec.key),
    ).map((text, i) => ({ phase: 0, order: [i], path: "", text }));
    const result = ((options.requireSecrets ?? true) ? configSchema : configWithoutSecrets).safeParse(input, { reportInput: true });
    found.push(...(result.error?.issues ?? []).flatMap(problemsOf));
    const unknown = options.unknown ?? [];
    const problems = found
        .filter((problem) => !unknown.some((path) => problem.path === path || problem.path.startsWith(`${path}.`) || problem.path.startsWith(`${path}[`)))
        .sort(byPlace)
        .map((problem) => problem.text);
    return { problems, config: problems.length === 0 ? result.data : undefined };
}

/**
 * One problem and its place in the list: a key nobody knows first, then a required key missing, then a
 * secret stored in plain text (`phase`), then the rest; within each, in the order of the model's leaves,
 * down to the entries of lists and their keys (`order`).
 */
interface Problem {
    phase: number;
    order: number[];
    /** The stack key path (`sites[2].domains[0]`). */
    path: string;
    /** The line reported: the path, then what is wrong. */
    text: string;
}

function byPlace(a: Problem, b: Problem): number {
    const x = [a.phase, ...a.order];
    const y = [b.phase, ...b.order];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
        if (x[i] !== y[i]) {
            return x[i] - y[i];
        }
    }
    return x.length - y.length;
}

/** The unknown keys of one object: the first UNKNOWN_KEYS_LISTED one by one, then how many more. */
function unknownKeyProblems(parent: string, keys: string[], known: readonly string[]): string[] {
    return keys.slice(0, UNKNOWN_KEYS_LISTED + 1).map((key, i) => {
        const more = i === UNKNOWN_KEYS_LISTED ? ` (and ${keys.length - i - 1} more unknown keys not listed)` : "";
        return `${keyPath(parent, key)}: ${i === UNKNOWN_KEYS_LISTED ? "unknown key" : unknownKeyProblem(key, known)}${more}`;
    });
}

const KEY_INDEX = new Map(CONFIG_KEYS.map((spec, i) => [spec.path.join("."), { spec, index: i }]));

/** The stack key whose leaf holds a model path, and the rest of the path inside its value. */
function leafOf(path: readonly PropertyKey[]): { spec: ConfigKey; index: number; rest: PropertyKey[] } {
    for (let length = 1; length <= path.length; length++) {
        const found = KEY_INDEX.get(path.slice(0, length).join("."));
        if (found) {
            return { ...found, rest: path.slice(length) };
        }
    }
    throw new Error(`no configuration key holds ${path.join(".")}`);
}

/** Along `rest` inside a leaf's value: each part's position (a list index, a key's place in its object, -1 for an unknown key) and the schema reached. */
function walk(schema: z.core.$ZodType, rest: readonly PropertyKey[]): { positions: number[]; reached: z.core.$ZodType } {
    let reached = innerSchema(schema);
    const positions = rest.map((part) => {
        const def = reached._zod.def as { element?: z.core.$ZodType; shape?: Record<string, z.core.$ZodType> };
        if (typeof part === "number" && def.element) {
            reached = innerSchema(def.element);
            return part;
        }
        const keys = Object.keys(def.shape ?? {});
        const position = keys.indexOf(String(part));
        reached = position >= 0 ? innerSchema(def.shape![String(part)]) : reached;
        return position;
    });
    return { positions, reached };
}

/** The problems one zod issue stands for, named by stack key path. */
function problemsOf(issue: z.core.$ZodIssue): Problem[] {
    const { spec, index, rest } = leafOf(issue.path);
    const path = rest.reduce<string>((text, part) => (typeof part === "number" ? `${text}[${part}]` : keyPath(text, String(part))), spec.key);
    const { positions, reached } = walk(spec.schema, rest);
    const order = [index, ...positions];
    const required = (issue as { params?: { required?: boolean } }).params?.required === true;
    if (issue.code === "unrecognized_keys") {
        const known = Object.keys((reached._zod.def as { shape?: object }).shape ?? {});
        return unknownKeyProblems(path, issue.keys, known).map((text) => ({ phase: 3, order: [...order, -1], path, text }));
    }
    if (required || (rest.length === 0 && spec.required && issue.input == null && issue.code === "invalid_type")) {
        return [{ phase: 1, order, path, text: `${path}: is required: ${spec.description}` }];
    }
    // A secret's leaf refuses only values that are no secret (a rule's issue about it carries no value).
    if (spec.secret && issue.input !== undefined) {
        return [{ phase: 2, order, path, text: `${path}: must be stored as a secret: pulumi config set --secret ${spec.key} (never in plain text)` }];
    }
    return [{ phase: 3, order, path, text: `${path}: ${issue.message}` }];
}
