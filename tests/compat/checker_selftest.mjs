// The strict model check must catch what the lenient generated deserializers let through.
// Run by test_dynamic_sdk_api.py; prints "N passed, M failed" like the stories.

import * as core from "@dynamic-labs/sdk-api-core";

import { loadModels, ModelChecker, responseModels } from "./dynamic_models.mjs";
import { PACKAGE_DIR } from "./package_dir.mjs";

const checker = new ModelChecker(loadModels(PACKAGE_DIR));
const good = {
  expiresAt: 1767225600,
  jwt: "a.b.c",
  minifiedJwt: "a.b.c",
  user: {
    id: "u1",
    projectEnvironmentId: "e1",
    sessionId: "s1",
    email: "a@example.com",
    verifiedCredentials: [{ id: "c1", format: "email", email: "a@example.com", signInEnabled: true }],
  },
};
const cases = [
  ["a conforming VerifyResponse passes", good, 0],
  ["a missing required field (user.projectEnvironmentId)", { ...good, user: { ...good.user, projectEnvironmentId: undefined } }, 1],
  ["a missing required list (user.verifiedCredentials)", { ...good, user: { ...good.user, verifiedCredentials: undefined } }, 1],
  ["an enum value outside the enum (format)", { ...good, user: { ...good.user, verifiedCredentials: [{ id: "c", format: "mail", signInEnabled: true }] } }, 1],
  // (An optional field's null becomes undefined in FromJSON — `exists()` — so Dynamic's code never sees it.)
  ["null in a required field (user.id)", { ...good, user: { ...good.user, id: null } }, 1],
  ["a string where a number is declared (expiresAt)", { ...good, expiresAt: "soon" }, 1],
];
let failed = 0;
for (const [name, json, expectedProblems] of cases) {
  let problems;
  try {
    problems = checker.check("VerifyResponse", core.VerifyResponseFromJSON(JSON.parse(JSON.stringify(json))));
  } catch (err) {
    problems = [`FromJSON threw ${err.message}`]; // the package's own deserializer caught it
  }
  const ok = expectedProblems === 0 ? problems.length === 0 : problems.length >= expectedProblems;
  if (!ok) failed += 1;
  console.log(`${ok ? "ok" : "FAIL"} ${name}${ok ? "" : `: ${JSON.stringify(problems)}`}`);
}
const dates = checker.check("UserPasskey", core.UserPasskeyFromJSON({ id: "p", credentialId: "c", createdAt: "not a date" }));
console.log(`${dates.length ? "ok" : "FAIL"} an unreadable date is caught`);
if (!dates.length) failed += 1;
const models = responseModels(PACKAGE_DIR);
const mapped = models.authMfaTotpDevice === "VerifyResponse" && models.revokeSession === null && models.updateSelf === "UpdateSelfResponse";
console.log(`${mapped ? "ok" : "FAIL"} SDKApi methods map to their response models`);
if (!mapped) failed += 1;
console.log(`${cases.length + 2 - failed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
