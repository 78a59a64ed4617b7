// Strict checks of Dynamic's generated models, read from the package's own type declarations.
//
// The generated `*FromJSON` functions are lenient: a missing required field becomes `undefined`
// (or a TypeError deep inside), an unknown enum value passes through, a bad date becomes an
// Invalid Date. So after the package's own deserializer has run, every value is checked against
// the interface the package declares in `src/models/*.d.ts`: required properties present and not
// undefined, no `null` where the type has none, enums within their members, dates valid, arrays
// and nested models checked the same way.

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

// Split `text` on `sep` where it is not nested in <>, {}, () or [].
function splitTop(text, sep) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if ("<{([".includes(ch)) depth++;
    else if (">})]".includes(ch)) depth--;
    else if (ch === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function parseType(text) {
  const alternatives = splitTop(text.trim(), "|");
  if (alternatives.length > 1) return { kind: "union", of: alternatives.map(parseType) };
  const t = alternatives[0];
  let m = /^Array<([\s\S]+)>$/.exec(t);
  if (m) return { kind: "array", of: parseType(m[1]) };
  m = /^\{\s*\[key: string\]:\s*([\s\S]+?);?\s*\}$/.exec(t);
  if (m) return { kind: "map", of: parseType(m[1]) };
  m = /^'([^']*)'$|^"([^"]*)"$/.exec(t);
  if (m) return { kind: "literal", value: m[1] ?? m[2] };
  if (["string", "number", "boolean", "object", "any", "Date", "null", "Blob"].includes(t)) {
    return { kind: "primitive", name: t };
  }
  if (/^\w+$/.test(t)) return { kind: "ref", name: t };
  return { kind: "unknown", text: t };
}

function parseBody(body) {
  const props = {};
  // `name?: Type;` where Type may be a `{ [key: string]: X; }` block spanning lines.
  const re = /(\w+)(\??):\s*(\{[^{}]*\}|[^;{}]+);/g;
  let m;
  while ((m = re.exec(body))) {
    props[m[1]] = { optional: m[2] === "?", type: parseType(m[3]) };
  }
  return props;
}

/** Every interface, enum and type alias the package declares under src/models. */
export function loadModels(packageDir) {
  const dir = join(packageDir, "src", "models");
  const interfaces = {};
  const enums = {};
  const aliases = {};
  for (const file of readdirSync(dir)) {
    if (!file.endsWith(".d.ts")) continue;
    const text = stripComments(readFileSync(join(dir, file), "utf8"));
    for (const m of text.matchAll(/export interface (\w+)(?: extends ([\w, ]+))? \{([\s\S]*?)\n\}/g)) {
      interfaces[m[1]] = { props: parseBody(m[3]), extends: m[2] ? m[2].split(",").map((s) => s.trim()) : [] };
    }
    for (const m of text.matchAll(/export declare enum (\w+) \{([\s\S]*?)\}/g)) {
      enums[m[1]] = [...m[2].matchAll(/=\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)/g)].map((v) => JSON.parse(v[1]));
    }
    for (const m of text.matchAll(/export (?:declare )?type (\w+) = ([^;]+);/g)) {
      aliases[m[1]] = parseType(m[2]);
    }
  }
  return { interfaces, enums, aliases };
}

/** The model each `SDKApi` method deserializes its response with (`null` for void answers). */
export function responseModels(packageDir) {
  const src = readFileSync(join(packageDir, "src", "apis", "SDKApi.js"), "utf8");
  const models = {};
  const re = /async (\w+)Raw\(requestParameters, initOverrides\) \{([\s\S]*?)\n {4}\}\n/g;
  let m;
  while ((m = re.exec(src))) {
    const model = /=> (\w+)FromJSON\(jsonValue\)/.exec(m[2]);
    if (model) models[m[1]] = model[1];
    else if (/VoidApiResponse/.test(m[2])) models[m[1]] = null;
  }
  return models;
}

export class ModelChecker {
  constructor(models) {
    this.models = models;
  }

  /** Problems of `value` as `modelName` (an empty list when it conforms). */
  check(modelName, value) {
    const problems = [];
    this.#checkType({ kind: "ref", name: modelName }, value, modelName, problems);
    return problems;
  }

  #props(name) {
    const iface = this.models.interfaces[name];
    const own = { ...iface.props };
    for (const parent of iface.extends) Object.assign(own, this.#props(parent));
    return own;
  }

  #matches(type, value) {
    const scratch = [];
    this.#checkType(type, value, "", scratch);
    return scratch.length === 0;
  }

  #checkType(type, value, path, problems) {
    switch (type.kind) {
      case "union": {
        if (!type.of.some((alt) => this.#matches(alt, value))) {
          // Report the problems of the closest alternative (the non-null one, if there is a single one).
          const nonNull = type.of.filter((alt) => !(alt.kind === "primitive" && alt.name === "null"));
          if (nonNull.length === 1) this.#checkType(nonNull[0], value, path, problems);
          else problems.push(`${path}: ${JSON.stringify(value)} matches none of the union's types`);
        }
        return;
      }
      case "array":
        if (!Array.isArray(value)) {
          problems.push(`${path}: expected an array, got ${describe(value)}`);
          return;
        }
        value.forEach((item, i) => this.#checkType(type.of, item, `${path}[${i}]`, problems));
        return;
      case "map":
        if (!isPlainObject(value)) {
          problems.push(`${path}: expected an object map, got ${describe(value)}`);
          return;
        }
        for (const [k, v] of Object.entries(value)) this.#checkType(type.of, v, `${path}.${k}`, problems);
        return;
      case "literal":
        if (value !== type.value) problems.push(`${path}: expected ${JSON.stringify(type.value)}, got ${describe(value)}`);
        return;
      case "primitive":
        return this.#checkPrimitive(type.name, value, path, problems);
      case "ref":
        return this.#checkRef(type.name, value, path, problems);
      default:
        problems.push(`${path}: the checker cannot read the declared type ${JSON.stringify(type.text)}`);
    }
  }

  #checkPrimitive(name, value, path, problems) {
    const ok = {
      string: () => typeof value === "string",
      number: () => typeof value === "number" && Number.isFinite(value),
      boolean: () => typeof value === "boolean",
      object: () => value !== null && typeof value === "object",
      any: () => true,
      null: () => value === null,
      Date: () => value instanceof Date && !Number.isNaN(value.getTime()),
      Blob: () => true,
    }[name]();
    if (!ok) problems.push(`${path}: expected ${name}, got ${describe(value)}`);
  }

  #checkRef(name, value, path, problems) {
    const { interfaces, enums, aliases } = this.models;
    if (enums[name]) {
      if (!enums[name].includes(value)) {
        problems.push(`${path}: ${describe(value)} is not a member of ${name} (${enums[name].join(", ")})`);
      }
      return;
    }
    if (aliases[name]) return this.#checkType(aliases[name], value, path, problems);
    if (!interfaces[name]) {
      problems.push(`${path}: unknown model ${name}`);
      return;
    }
    if (!isPlainObject(value)) {
      problems.push(`${path}: expected a ${name} object, got ${describe(value)}`);
      return;
    }
    for (const [prop, spec] of Object.entries(this.#props(name))) {
      const v = value[prop];
      if (v === undefined) {
        if (!spec.optional) problems.push(`${path}.${prop}: required by ${name} but missing`);
        continue;
      }
      this.#checkType(spec.type, v, `${path}.${prop}`, problems);
    }
  }
}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date);
}

function describe(value) {
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? "invalid" : value.toISOString()})`;
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
