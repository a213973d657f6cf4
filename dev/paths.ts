import * as path from "node:path";

/** The project root, from both the TypeScript sources and their compiled copy under bin/. */
export const PROJECT_DIR = path.resolve(__dirname, "..", ...(path.basename(path.resolve(__dirname, "..")) === "bin" ? [".."] : []));
