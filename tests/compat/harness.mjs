// Shared pieces of the compatibility scripts: Dynamic's generated client wrapped so that every
// response is checked strictly against the package's own models, the headers Dynamic's clients
// send, a TOTP "authenticator app", and the helper server of the Python test (tests/compat/world.py).

import { createHmac, randomBytes } from "node:crypto";

import * as core from "@dynamic-labs/sdk-api-core";

import { loadModels, ModelChecker, responseModels } from "./dynamic_models.mjs";
import { PACKAGE_DIR } from "./package_dir.mjs";

export const API_CORE_VERSION = "0.40.0";

const checker = new ModelChecker(loadModels(PACKAGE_DIR));
const RESPONSE_MODELS = responseModels(PACKAGE_DIR);
const SESSION_ID = randomBytes(16).toString("hex");

export const env = {
  baseUrl: required("ACTIONMFA_BASE_URL"), // …/api/v0
  environmentId: required("ACTIONMFA_ENVIRONMENT_ID"),
  worldUrl: required("ACTIONMFA_WORLD_URL"),
};

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/**
 * The story's log: each step prints `ok <step>` or `FAIL <step>: why`. A response that does not fit
 * its model is a failure of its step too, but the story goes on with the raw JSON, so that one run
 * lists every mismatch; an HTTP error or a failed assertion stops the story.
 */
export class Story {
  constructor() {
    this.problems = [];
    this.steps = 0;
    this.current = null;
  }

  async step(name, fn) {
    this.steps += 1;
    this.current = { name, mismatches: [] };
    try {
      const value = await fn();
      const { mismatches } = this.current;
      if (mismatches.length) {
        console.log(`FAIL ${name}: ${mismatches.join("; ")}`);
        this.problems.push(`${name}: ${mismatches.join("; ")}`);
      } else {
        console.log(`ok ${name}`);
      }
      return value;
    } catch (err) {
      const why = await explain(err);
      console.log(`FAIL ${name}: ${why}`);
      this.problems.push(`${name}: ${why}`);
      throw new StoryStopped(name);
    } finally {
      this.current = null;
    }
  }

  /** A check of content: a failure is recorded, and the story goes on. */
  async check(name, fn) {
    try {
      return await this.step(name, fn);
    } catch (err) {
      if (!(err instanceof StoryStopped)) throw err;
      return undefined;
    }
  }

  mismatch(text) {
    if (this.current) this.current.mismatches.push(text);
    else this.problems.push(text);
  }

  /** Run the story's ``main``, then ``epilogue`` (a log of its own), then print the count and exit. */
  async run(main, epilogue = () => {}) {
    try {
      await main();
    } catch (err) {
      if (!(err instanceof StoryStopped)) {
        console.log(`FAIL (unexpected): ${err && err.stack ? err.stack : err}`);
        this.problems.push(String(err));
      }
    }
    epilogue();
    this.finish();
  }

  finish() {
    const bad = this.problems.length;
    console.log(`${this.steps - bad} passed, ${bad} failed`);
    // Exit now: Dynamic's SDK keeps timers (session expiry, nonce pool) that would hold the process.
    process.exit(bad ? 1 : 0);
  }
}

export const story = new Story();

export class StoryStopped extends Error {}


async function explain(err) {
  if (err instanceof Response) {
    let body = "";
    try {
      body = await err.text();
    } catch {
      body = "(unreadable body)";
    }
    return `HTTP ${err.status} ${body.slice(0, 400)}`;
  }
  if (err && err.response instanceof Response) return explain(err.response);
  return err && err.stack ? String(err.message) : String(err);
}

/**
 * Dynamic's generated `SDKApi`, configured the way Dynamic's JS SDK configures it
 * (`createBaseApiClient` in @dynamic-labs-sdk/client: the bearer and the `x-dyn-*` headers on every
 * call, the MFA headers when the call carries tokens), with every method's deserialized result
 * checked against its declared model.
 */
export function sdkApi({ jwt, mfaToken, elevatedToken } = {}) {
  const headers = {
    "Content-Type": "application/json",
    "x-dyn-api-version": `API/${API_CORE_VERSION}`,
    "x-dynamic-platform": "node",
    "x-dyn-request-id": randomBytes(25).toString("hex"),
    "x-dyn-session-id": SESSION_ID,
    "x-dyn-version": "ClientSDK/compat-test",
  };
  if (jwt) headers.Authorization = `Bearer ${jwt}`;
  if (mfaToken !== undefined) headers["x-mfa-auth-token"] = mfaToken;
  if (elevatedToken !== undefined) headers["x-dyn-elevated-access-token"] = elevatedToken;
  const configuration = new core.Configuration({ basePath: env.baseUrl, headers });
  const api = new core.SDKApi(configuration);
  return new Proxy(api, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || !(prop in RESPONSE_MODELS)) return value;
      return async (params, ...rest) => {
        const raw = await target[`${prop}Raw`]({ environmentId: env.environmentId, ...params }, ...rest);
        const model = RESPONSE_MODELS[prop];
        if (model === null) return raw.value();
        const json = await raw.raw.clone().json();
        let result;
        try {
          result = await raw.value(); // the package's own FromJSON
        } catch (err) {
          story.mismatch(`${model}FromJSON threw ${err.name}: ${err.message}`);
          return json;
        }
        const problems = checker.check(model, result);
        if (problems.length) story.mismatch(`${prop} -> ${problems.join("; ")}`);
        return result;
      };
    },
  });
}


export function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

// -- the world around the client (tests/compat/world.py) --------------------------------------------
async function world(method, path, body) {
  const response = await fetch(env.worldUrl + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(`world ${path}: ${data.error}`);
  return data;
}

export const mailbox = { code: async (to) => (await world("GET", `/mail/code?to=${encodeURIComponent(to)}`)).code };
export const idp = { jwt: async (claims) => (await world("POST", "/idp/jwt", claims)).jwt };
export const passkeyDevice = {
  create: (options) => world("POST", "/passkey/create", { options }),
  get: (options) => world("POST", "/passkey/get", { options }),
};

/** An authenticator app: the code for the next 30-second step of the server's clock (RFC 6238). */
export async function totpCode(otpauthUri) {
  const { now } = await world("POST", "/clock/advance", { seconds: 30 });
  const params = new URL(otpauthUri).searchParams;
  const period = Number(params.get("period") || 30);
  const digits = Number(params.get("digits") || 6);
  const algorithm = (params.get("algorithm") || "SHA1").toLowerCase();
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / period)));
  const mac = createHmac(algorithm, base32(params.get("secret"))).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(value).padStart(digits, "0");
}

function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of text.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The claims of a JWT (not verified: the server is the one that verifies). */
export function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}

export { core };
