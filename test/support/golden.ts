/** The stacks with golden renderings and their golden files under test/golden/. */
import * as fs from "node:fs";
import * as path from "node:path";
import { CONFIG_FILES, type HaproxyConfigFiles } from "../../components/haproxy/render";
import { PROJECT_DIR } from "../../dev/paths";

export const GOLDEN_DIR = path.join(PROJECT_DIR, "test", "golden");

/** The stacks with golden renderings: the dev stack and the files under test/stacks/. */
export const STACKS: Record<string, string> = {
    "dev-1.7": path.join(PROJECT_DIR, "Pulumi.dev.yaml"),
    ...Object.fromEntries(
        fs.readdirSync(path.join(PROJECT_DIR, "test", "stacks")).map((file) => [path.basename(file, ".yaml"), path.join(PROJECT_DIR, "test", "stacks", file)]),
    ),
};

export function goldenOf(name: string): HaproxyConfigFiles | undefined {
    const dir = path.join(GOLDEN_DIR, name);
    if (!fs.existsSync(dir)) {
        return undefined;
    }
    const read = (file: string) => fs.readFileSync(path.join(dir, file), "utf8");
    return { cfg: read(CONFIG_FILES.cfg), sitesMap: read(CONFIG_FILES.sitesMap), certsList: read(CONFIG_FILES.certsList) };
}

export function writeGolden(name: string, files: HaproxyConfigFiles): void {
    const dir = path.join(GOLDEN_DIR, name);
    fs.mkdirSync(dir, { recursive: true });
    for (const key of Object.keys(CONFIG_FILES) as (keyof typeof CONFIG_FILES)[]) {
        fs.writeFileSync(path.join(dir, CONFIG_FILES[key]), files[key]);
    }
}
