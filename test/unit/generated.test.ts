/** The files generated from the configuration schema (`npm run generate`) are as the schema says now. */

import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { PROJECT_DIR } from "../../dev/paths";
import { GENERATED_FILES } from "../../tools/generate-config-docs";

describe("generated from the configuration schema", () => {
    for (const { file, render } of GENERATED_FILES) {
        it(`${file} is up to date (npm run generate rewrites it)`, () => {
            const committed = fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
            expect(render(committed) === committed, `${file} is stale: run npm run generate`).to.equal(true);
        });
    }
});
