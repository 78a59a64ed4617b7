// Where npm ci put Dynamic's generated client (tests/compat/node_modules, git-ignored).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "node_modules", "@dynamic-labs", "sdk-api-core");
