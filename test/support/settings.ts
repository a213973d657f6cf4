/** A stack file's settings as EdgeProxy takes them: its keys without the namespace and the secrets. */
import * as fs from "node:fs";
import type { EdgeProxySettings } from "../../components";
import { rawConfigFromStackFile } from "../../components/config/sources";

/** The settings of a stack file, unvalidated (EdgeProxy validates them). */
export function stackFileSettings(file: string): EdgeProxySettings {
    const { sshPrivateKey, metricsPassword, ...settings } = rawConfigFromStackFile(fs.readFileSync(file, "utf8"), file);
    return settings as unknown as EdgeProxySettings;
}
