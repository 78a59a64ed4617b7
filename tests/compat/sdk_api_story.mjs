// The whole MFA story, told with Dynamic's own generated client (`SDKApi` of
// @dynamic-labs/sdk-api-core@0.40.0) against an ActionMFA server — unchanged, as an integrator
// moving from Dynamic would run it. Every response goes through the package's own `*FromJSON` and
// is then checked strictly against the model it declares (harness.mjs). Run by
// tests/compat/test_dynamic_sdk_api.py, which starts the server and the world around it.

import { assert, claimsOf, core, idp, mailbox, passkeyDevice, sdkApi, story, totpCode } from "./harness.mjs";

const email = `dyn-${Date.now()}@example.com`;

// Dynamic's JS SDK sends the minified JWT as its bearer (its absence fails the sign-in check, and
// the story goes on with the full one to find every other difference in the same run).
const bearer = (verifyResponse) => verifyResponse.minifiedJwt ?? verifyResponse.jwt;

async function main() {
  const anonymous = sdkApi();

  // -- settings: Dynamic's SDK reads them before anything else -------------------------------------
  const settings = await story.step("getEnvironmentSettings", () => anonymous.getEnvironmentSettings({}));
  await story.check("settings describe the MFA methods", () => {
    const methods = settings.security.mfa.methods.map((m) => m.type).sort();
    assert(JSON.stringify(methods) === JSON.stringify(["passkey", "totp"]), `methods ${methods}`);
    assert(settings.chains.some((c) => c.name === "evm" && c.enabled), "EVM listed as an enabled chain");
  });

  // -- email sign-in (a real mail through the SMTP sink) -------------------------------------------
  const created = await story.step("createEmailVerification", () =>
    anonymous.createEmailVerification({ emailVerificationCreateRequest: { email } }),
  );
  await story.check("createEmailVerification echoes the email", () => assert(created.email === email, created.email));
  const code = await mailbox.code(email);
  let verified = await story.step("signInWithEmailVerification", () =>
    anonymous.signInWithEmailVerification({
      emailVerificationVerifyRequest: { verificationUUID: created.verificationUUID, verificationToken: code },
    }),
  );
  await story.check("sign-in user carries its email credential", () => {
    const user = verified.user;
    assert(user.verifiedCredentials.some((c) => c.format === core.JwtVerifiedCredentialFormatEnum.Email && c.email === email), "email credential");
    assert(user.sessionId, "sessionId");
    assert(verified.minifiedJwt, "minifiedJwt");
  });
  let api = sdkApi({ jwt: bearer(verified) });
  const me = await story.step("getAuthenticatedUser", () => api.getAuthenticatedUser({}));
  await story.check("user's environment is projectEnvironmentId", () =>
    assert(me.projectEnvironmentId === process.env.ACTIONMFA_ENVIRONMENT_ID, me.projectEnvironmentId),
  );

  // -- TOTP register + verify ----------------------------------------------------------------------
  const totp = await story.step("registerTotpMfaDevice", () => api.registerTotpMfaDevice({}));
  const device = await story.step("registerTotpMfaDeviceVerify", async () =>
    api.registerTotpMfaDeviceVerify({
      mFARegisterTotpDevicePostRequest: { type: core.MFADeviceType.Totp, code: await totpCode(totp.uri) },
    }),
  );
  await story.check("verified device is the registered one", () => assert(device.id === totp.id && device.verified, JSON.stringify(device)));

  // -- devices list / get / update -----------------------------------------------------------------
  const list = await story.step("getUserMfaDevices", () => api.getUserMfaDevices({}));
  await story.check("device list counts one verified TOTP", () => assert(list.count === 1 && list.devices[0].id === device.id, JSON.stringify(list)));
  await story.step("getMfaDevice", () => api.getMfaDevice({ mfaDeviceId: device.id }));
  await story.step("updateUserMfaDevice (set default)", () =>
    api.updateUserMfaDevice({ mfaDeviceId: device.id, mFAUpdateDeviceRequest: { _default: true } }),
  );
  const methods = await story.step("getUserMfaMethods", () => api.getUserMfaMethods({ verifiedOnly: true }));
  await story.check("user has verified MFA methods", () => assert(methods.userHasVerifiedMfaMethods, JSON.stringify(methods)));

  // -- recovery codes: get, acknowledge ------------------------------------------------------------
  const codes = await story.step("getRecoveryCodes", () => api.getRecoveryCodes({}));
  await story.check("ten recovery codes", () => assert(codes.count === 10 && codes.recoveryCodes.length === 10, JSON.stringify(codes)));
  const acknowledged = await story.step("updateSelf (acknowledge recovery codes)", () =>
    api.updateSelf({ userFields: { mfaBackupCodeAcknowledgement: core.MfaBackupCodeAcknowledgement.Complete } }),
  );
  await story.check("acknowledgement is complete", () =>
    assert(acknowledged.user.mfaBackupCodeAcknowledgement === "complete" && acknowledged.nextView === core.NextViewEnum.Done, JSON.stringify(acknowledged)),
  );

  // -- TOTP MFA auth minting an MFA token; regenerate recovery codes with it -----------------------
  verified = await story.step("authMfaTotpDevice (createMfaToken)", async () =>
    api.authMfaTotpDevice({
      mFAAuthTotpDevicePostRequest: { id: device.id, code: await totpCode(totp.uri), createMfaToken: { singleUse: true } },
    }),
  );
  await story.check("TOTP auth answers an MFA token and the TOTP credential", () => {
    assert(verified.mfaToken, "mfaToken");
    assert(verified.user.verifiedCredentials.some((c) => c.format === core.JwtVerifiedCredentialFormatEnum.Totp && c.id === device.id), "totp credential");
  });
  api = sdkApi({ jwt: bearer(verified) });
  const fresh = await story.step("createNewRecoveryCodes (x-mfa-auth-token)", () =>
    sdkApi({ jwt: bearer(verified), mfaToken: verified.mfaToken }).createNewRecoveryCodes({}),
  );
  await story.check("regenerated codes differ", () => assert(fresh.recoveryCodes.every((c) => !codes.recoveryCodes.includes(c)), "new codes"));

  // -- TOTP MFA auth with requestedScopes; a gated profile update with the elevated token ---------
  verified = await story.step("authMfaTotpDevice (requestedScopes user:update)", async () =>
    api.authMfaTotpDevice({
      mFAAuthTotpDevicePostRequest: { code: await totpCode(totp.uri), requestedScopes: [core.TokenScope.Userupdate] },
    }),
  );
  await story.check("elevated token carries the scope", () => {
    assert(verified.elevatedAccessToken, "elevatedAccessToken");
    const claims = claimsOf(verified.elevatedAccessToken);
    assert(claims.scope.split(" ").includes("user:update") && claims.exp, JSON.stringify(claims));
  });
  const updated = await story.step("updateSelf (alias, x-dyn-elevated-access-token)", () =>
    sdkApi({ jwt: bearer(verified), elevatedToken: verified.elevatedAccessToken }).updateSelf({
      userFields: { alias: "dyn-compat", firstName: "Ada" },
    }),
  );
  await story.check("profile updated", () => assert(updated.user.alias === "dyn-compat" && updated.user.firstName === "Ada", JSON.stringify(updated.user)));
  await story.check("updateSelf without a token is refused", async () => {
    try {
      await api.updateSelf({ userFields: { alias: "no-token" } });
    } catch (err) {
      assert(err instanceof Response && err.status === 403, `status ${err.status}`);
      return;
    }
    throw new Error("the gated update went through without MFA");
  });

  // -- recovery-code MFA auth ----------------------------------------------------------------------
  verified = await story.step("authMfaRecovery (createMfaToken)", () =>
    api.authMfaRecovery({ mFAAuthRecoveryDevicePostRequest: { code: fresh.recoveryCodes[0], createMfaToken: { singleUse: true } } }),
  );
  await story.check("recovery auth answers an MFA token", () => assert(verified.mfaToken, "mfaToken"));

  // -- passkey register (gated: the user has a method) + MFA auth ----------------------------------
  api = sdkApi({ jwt: bearer(verified) });
  const regOptions = await story.step("getPasskeyRegistrationOptions", () => api.getPasskeyRegistrationOptions({}));
  const credential = await passkeyDevice.create(core.GetPasskeyRegistrationOptionsResponseToJSON(regOptions));
  verified = await story.step("registerPasskey (x-mfa-auth-token)", () =>
    sdkApi({ jwt: bearer(verified), mfaToken: verified.mfaToken }).registerPasskey({ passkeyRegisterRequest: credential }),
  );
  await story.check("registered passkey is a credential of the user", () =>
    assert(verified.user.verifiedCredentials.some((c) => c.format === core.JwtVerifiedCredentialFormatEnum.Passkey), "passkey credential"),
  );
  api = sdkApi({ jwt: bearer(verified) });
  const passkeys = await story.step("getUserPasskeys", () => api.getUserPasskeys({}));
  await story.check("one passkey listed", () => assert(passkeys.count === 1, JSON.stringify(passkeys)));
  const authOptions = await story.step("getPasskeyAuthenticationOptions", () => api.getPasskeyAuthenticationOptions({}));
  const assertion = await passkeyDevice.get(core.GetPasskeyAuthenticationOptionsResponseToJSON(authOptions));
  verified = await story.step("authenticateMfaPasskeyDevice (requestedScopes credential:unlink)", () =>
    api.authenticateMfaPasskeyDevice({ passkeyAuthRequest: { ...assertion, requestedScopes: [core.TokenScope.Credentialunlink] } }),
  );
  await story.check("passkey auth answers an elevated token", () => assert(verified.elevatedAccessToken, "elevatedAccessToken"));

  // -- step-up check; device delete with the elevated token ----------------------------------------
  api = sdkApi({ jwt: bearer(verified) });
  const stepUp = await story.step("stepUpCheck (wallet:sign)", () => api.stepUpCheck({ stepUpCheckRequest: { scope: core.TokenScope.Walletsign } }));
  await story.check("step-up lists the user's credentials", () =>
    assert(stepUp.isRequired && stepUp.credentials.length >= 2, JSON.stringify(stepUp)),
  );
  // Dynamic's step-up flow sends an empty x-mfa-auth-token beside the elevated token.
  await story.step("deleteMfaDevice (x-dyn-elevated-access-token credential:unlink)", () =>
    sdkApi({ jwt: bearer(verified), elevatedToken: verified.elevatedAccessToken }).deleteMfaDevice({
      mfaDeviceId: device.id,
      xMfaAuthToken: "",
    }),
  );
  await story.check("device is gone", async () => assert((await api.getUserMfaDevices({})).count === 0, "count 0"));

  // -- refresh, revoke -----------------------------------------------------------------------------
  verified = await story.step("refreshAuth", () => api.refreshAuth({}));
  api = sdkApi({ jwt: bearer(verified) });
  await story.step("revokeSession", () => api.revokeSession({}));
  await story.check("a revoked session is refused", async () => {
    try {
      await api.getAuthenticatedUser({});
    } catch (err) {
      assert(err instanceof Response && err.status === 401, `status ${err.status}`);
      return;
    }
    throw new Error("the revoked session still works");
  });

  // -- external-JWT sign-in (the developer's own IdP) ----------------------------------------------
  const external = await story.step("externalAuthSignin", async () =>
    anonymous.externalAuthSignin({ externalAuthSigninRequest: { jwt: await idp.jwt({ sub: "idp-user-7", email: "seven@example.com" }) } }),
  );
  await story.check("external user carries its externalUser credential", () =>
    assert(external.user.verifiedCredentials.some((c) => c.format === core.JwtVerifiedCredentialFormatEnum.ExternalUser && c.publicIdentifier === "idp-user-7"), JSON.stringify(external.user.verifiedCredentials)),
  );
  await story.step("external session works", () => sdkApi({ jwt: bearer(external) }).getAuthenticatedUser({}));
}

await story.run(main);
