// Dynamic's higher-level JS SDK (`@dynamic-labs-sdk/client`, pointed at ActionMFA with
// `coreConfig.apiBaseUrl`) driving its MFA functions. Node stands in for the browser: storage,
// keychain and cross-tab channel are in memory, and every request goes through `fetch` below, which
// refuses any host but the test server (so nothing of Dynamic's own services is ever called).
// Run by tests/compat/test_dynamic_sdk_api.py.

import * as dyn from "@dynamic-labs-sdk/client";
import { updateAuthFromVerifyResponse } from "@dynamic-labs-sdk/client/core";

import { assert, env, idp, mailbox, passkeyDevice, sdkApi, story, totpCode } from "./harness.mjs";

const server = new URL(env.baseUrl);
const requests = [];

async function loopbackFetch(url, init) {
  const target = new URL(String(url));
  if (target.host !== server.host) throw new Error(`refused a request to ${target.host}: only the test server is reachable`);
  const response = await fetch(url, init);
  requests.push(`${init?.method ?? "GET"} ${target.pathname.replace(env.environmentId, "{env}")} -> ${response.status}`);
  return response;
}

function memoryStorage() {
  const items = new Map();
  return {
    getItem: async (key) => items.get(key) ?? null,
    setItem: async (key, value) => void items.set(key, value),
    removeItem: async (key) => void items.delete(key),
  };
}

// The browser keychain keeps P-256 keys in IndexedDB; here they live in memory.
function memoryKeychain() {
  const keys = new Map();
  const hex = (buf) => Buffer.from(buf).toString("hex");
  return {
    async generateKey(name) {
      const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
      const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
      const compressed = hex([raw[64] & 1 ? 3 : 2, ...raw.slice(1, 33)]);
      keys.set(name, { pair, compressed });
      return compressed;
    },
    importKey: async () => {
      throw new Error("not needed by this test");
    },
    getPublicKey: async (name) => keys.get(name)?.compressed ?? null,
    hasKey: async (name) => keys.has(name),
    removeKey: async (name) => void keys.delete(name),
    async sign(name, message) {
      const entry = keys.get(name);
      const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, entry.pair.privateKey, new TextEncoder().encode(message));
      return hex(signature);
    },
  };
}

// The SDK's passkey service is pluggable (coreConfig.passkey: a React Native app plugs its native
// module in). Here the software authenticator answers, as a browser's WebAuthn would (clientDataJSON).
function webAuthnJson(credential) {
  const { clientDataJson, ...response } = credential.response;
  return { ...credential, response: { ...response, clientDataJSON: response.clientDataJSON ?? clientDataJson } };
}
const softwarePasskeys = {
  isSupported: () => true,
  register: async ({ optionsJSON }) => webAuthnJson(await passkeyDevice.create(optionsJSON)),
  authenticate: async ({ optionsJSON }) => webAuthnJson(await passkeyDevice.get(optionsJSON)),
};

const client = dyn.createDynamicClient({
  environmentId: env.environmentId,
  autoInitialize: false,
  logLevel: "error",
  coreConfig: {
    apiBaseUrl: env.baseUrl,
    fetch: loopbackFetch,
    storageAdapter: memoryStorage(),
    keychain: memoryKeychain(),
    crossTabBroadcast: { on() {}, off() {}, send() {} },
    passkey: softwarePasskeys,
  },
});

async function main() {
  await story.step("initializeClient (reads the project settings)", () => dyn.initializeClient(client));

  // Dynamic's own sign-in functions sign a server nonce with a device key (GET /nonces, the
  // x-dynamic-device-* headers): device registration, which ActionMFA does not do. So the session
  // comes from the generated client and is handed to the SDK the way its sign-in functions do.
  await story.check("signInWithExternalJwt needs device registration (GET /nonces), not served", async () => {
    try {
      await dyn.signInWithExternalJwt({ externalJwt: await idp.jwt({ sub: "hl-user-0" }) });
    } catch (err) {
      assert(err.status === 404 && requests.some((r) => r.startsWith("GET /api/v0/sdk/{env}/nonces")), err.message);
      return;
    }
    throw new Error("signed in without device registration: update this test and the migration guide");
  });
  await story.step("updateAuthFromVerifyResponse (a session from externalAuthSignin)", async () => {
    const jwt = await idp.jwt({ sub: "hl-user-1", email: "hl@example.com" });
    const response = await sdkApi().externalAuthSignin({ externalAuthSigninRequest: { jwt } });
    updateAuthFromVerifyResponse({ response }, client);
    assert(client.user?.id === response.user.id && client.token === response.minifiedJwt, "session handed over");
  });

  const totp = await story.step("registerTotpMfaDevice", () => dyn.registerTotpMfaDevice());
  await story.step("authenticateTotpMfaDevice (first use enrols the device)", async () =>
    dyn.authenticateTotpMfaDevice({ deviceId: totp.id, code: await totpCode(totp.uri) }),
  );
  await story.check("getMfaDevices lists the device", async () => {
    const devices = await dyn.getMfaDevices();
    assert(devices.some((d) => d.id === totp.id && d.verified), JSON.stringify(devices));
  });
  await story.step("getMfaMethods", () => dyn.getMfaMethods());
  const codes = await story.step("getMfaRecoveryCodes", () => dyn.getMfaRecoveryCodes());
  await story.check("isPendingRecoveryCodesAcknowledgment", () => assert(dyn.isPendingRecoveryCodesAcknowledgment() === true, "pending"));
  await story.step("acknowledgeRecoveryCodes", () => dyn.acknowledgeRecoveryCodes());
  await story.check("acknowledged", () => assert(dyn.isPendingRecoveryCodesAcknowledgment() === false, "complete"));
  await story.check("isMfaRequiredForAction (wallet.waas.sign)", async () =>
    assert((await dyn.isMfaRequiredForAction({ mfaAction: "wallet.waas.sign" })) === true, "required"),
  );
  await story.check("checkStepUpAuth (wallet:sign)", async () => {
    const check = await dyn.checkStepUpAuth({ scope: "wallet:sign" });
    assert(check.isRequired && check.credentials.length === 1, JSON.stringify(check));
  });
  await story.step("authenticateTotpMfaDevice (createMfaTokenOptions)", async () =>
    dyn.authenticateTotpMfaDevice({ code: await totpCode(totp.uri), createMfaTokenOptions: { singleUse: true } }),
  );
  await story.check("consumeMfaToken", () => assert(dyn.consumeMfaToken() && client.mfaToken === null, "consumed"));
  await story.step("authenticateMfaRecoveryCode (createMfaTokenOptions)", () =>
    dyn.authenticateMfaRecoveryCode({ code: codes.recoveryCodes[0], createMfaTokenOptions: { singleUse: true } }),
  );
  // Regenerating recovery codes needs MFA proof here (DESIGN §3); Dynamic's SDK attaches none to
  // this call, so the server refuses it with mfa_required (docs/migrating-from-dynamic.md).
  await story.check("createNewMfaRecoveryCodes is refused without MFA proof (403 mfa_required)", async () => {
    try {
      await dyn.createNewMfaRecoveryCodes();
    } catch (err) {
      assert(err.status === 403 && err.code === "mfa_required", `${err.status} ${err.code}`);
      return;
    }
    throw new Error("recovery codes were regenerated without MFA proof");
  });
  await story.step("setDefaultMfaDevice", () => dyn.setDefaultMfaDevice({ deviceId: totp.id }));
  await story.step("authenticateTotpMfaDevice (requestedScopes credential:unlink)", async () =>
    dyn.authenticateTotpMfaDevice({ code: await totpCode(totp.uri), requestedScopes: ["credential:unlink"] }),
  );
  await story.check("getElevatedAccessToken keeps it", () =>
    assert(dyn.getElevatedAccessToken({ scope: "credential:unlink", consume: false }), "elevated token stored"),
  );
  await story.step("deleteMfaDevice (the elevated token)", () => dyn.deleteMfaDevice({ deviceId: totp.id }));

  // Passkeys as the second factor (the user has no method left, so registering needs no proof).
  await story.step("registerPasskey", () => dyn.registerPasskey());
  const passkeys = await story.step("getPasskeys", () => dyn.getPasskeys());
  await story.check("one passkey", () => assert(passkeys.length === 1, JSON.stringify(passkeys)));
  await story.step("authenticatePasskeyMFA (createMfaToken)", () =>
    dyn.authenticatePasskeyMFA({ createMfaToken: { singleUse: true } }),
  );
  await story.check("the passkey MFA token is stored", () => assert(client.mfaToken, "mfa token"));
  await story.step("authenticatePasskeyMFA (requestedScopes credential:unlink)", () =>
    dyn.authenticatePasskeyMFA({ requestedScopes: ["credential:unlink"] }),
  );
  await story.step("deletePasskey (the elevated token and the MFA token)", () =>
    dyn.deletePasskey({ passkeyId: passkeys[0].id }),
  );
  await story.check("no passkey left", async () => assert((await dyn.getPasskeys()).length === 0, "deleted"));
  await story.step("refreshUser", () => dyn.refreshUser());
  await story.step("logout", () => dyn.logout());
  await story.check("logged out", () => assert(!client.token, "no token"));

  // Dynamic's own email OTP: sending works; verifying is a sign-in, so it needs device registration too.
  const email = `hl-${Date.now()}@example.com`;
  const otp = await story.step("sendEmailOTP", () => dyn.sendEmailOTP({ email }));
  await story.check("verifyOTP needs device registration (GET /nonces), not served", async () => {
    try {
      await dyn.verifyOTP({ otpVerification: otp, verificationToken: await mailbox.code(email) });
    } catch (err) {
      assert(err.status === 404, err.message);
      return;
    }
    throw new Error("signed in without device registration: update this test and the migration guide");
  });
}

await story.run(main, () => console.log(`requests:\n  ${requests.join("\n  ")}`));
