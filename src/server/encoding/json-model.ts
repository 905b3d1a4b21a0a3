/**
 * The JSON data model: what every encoding carries. MessagePack and Protobuf replies hold exactly
 * the value `JSON.parse(JSON.stringify(x))` would give, so a client sees the same data whatever it
 * asked for. toJsonModel gets there without the string round trip.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Thrown when a value has no JSON form (BigInt, cycles) or a decoded body holds a non-JSON value. */
export class EncodingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EncodingError';
  }
}

interface HasToJson {
  toJSON(key?: string): unknown;
}

function hasToJson(x: object): x is HasToJson {
  return typeof (x as Partial<HasToJson>).toJSON === 'function';
}

/**
 * JSON.stringify's rules, applied to values instead of text: `toJSON` is called (a Date becomes its
 * ISO string), `undefined`, functions and symbols are dropped from objects and become null in
 * arrays, non-finite numbers become null, -0 becomes 0. A BigInt or a cycle throws, as in JSON.
 */
export function toJsonModel(value: unknown): JsonValue {
  // Most replies are already plain data: check without allocating, copy only when something differs.
  if (isJsonModel(value, 0)) return value as JsonValue;
  const out = walk(value, '', new Set());
  return out === undefined ? null : out;
}

/** True when JSON would carry `v` unchanged. Deep or cyclic values answer false (walk decides). */
function isJsonModel(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (depth > 64) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!isJsonModel(v[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v);
      if ((proto !== Object.prototype && proto !== null) || 'toJSON' in v) return false;
      const rec = v as Record<string, unknown>;
      for (const k in rec) if (!isJsonModel(rec[k], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

function walk(value: unknown, key: string, seen: Set<object>): JsonValue | undefined {
  let v = value;
  if (v !== null && typeof v === 'object' && hasToJson(v)) v = v.toJSON(key);
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? (v === 0 ? 0 : v) : null;
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      throw new EncodingError('A BigInt has no JSON form; send it as a string or a number.');
    default:
      break;
  }
  if (v === null) return null;
  const obj = v as object;
  if (seen.has(obj)) throw new EncodingError('The reply contains a cycle; JSON cannot carry it.');
  seen.add(obj);
  let out: JsonValue;
  if (Array.isArray(obj)) {
    const arr: JsonValue[] = new Array(obj.length);
    for (let i = 0; i < obj.length; i++) arr[i] = walk(obj[i], String(i), seen) ?? null;
    out = arr;
  } else if (obj instanceof Number || obj instanceof String || obj instanceof Boolean) {
    out = walk(obj.valueOf(), key, seen) ?? null;
  } else {
    const rec: { [key: string]: JsonValue } = {};
    const src = obj as Record<string, unknown>;
    for (const k of Object.keys(src)) {
      const item = walk(src[k], k, seen);
      if (item !== undefined) defineKey(rec, k, item);
    }
    out = rec;
  }
  seen.delete(obj);
  return out;
}

/** Sets a key without invoking the `__proto__` setter (JSON.parse makes it an own key too). */
export function defineKey(rec: { [key: string]: JsonValue }, k: string, v: JsonValue): void {
  if (k === '__proto__')
    Object.defineProperty(rec, k, { value: v, enumerable: true, writable: true, configurable: true });
  else rec[k] = v;
}

/**
 * Checks a decoded request body against the JSON model and the same prototype-poisoning rule
 * Fastify's JSON parser applies by default: a `__proto__` key, or a `constructor` key holding a
 * `prototype`, is refused. `where` names the spot in error messages.
 */
export function assertJsonModel(value: unknown, where = 'body'): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new EncodingError(`${where} holds ${value}, which JSON cannot carry.`);
    return value;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertJsonModel(value[i], `${where}[${i}]`);
    return value as JsonValue[];
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    const rec = value as Record<string, unknown>;
    for (const k of Object.keys(rec)) {
      const item = rec[k];
      if (k === '__proto__' || (k === 'constructor' && isObj(item) && 'prototype' in item)) {
        throw new EncodingError(`${where} has a forbidden key "${k}"; remove it.`);
      }
      assertJsonModel(item, `${where}.${k}`);
    }
    return value as { [key: string]: JsonValue };
  }
  throw new EncodingError(`${where} holds ${describe(value)}, which JSON cannot carry; send a JSON value.`);
}

function isObj(x: unknown): x is object {
  return x !== null && typeof x === 'object';
}

function isPlainObject(x: object): boolean {
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
}

function describe(x: unknown): string {
  if (x instanceof Uint8Array) return 'binary data';
  if (x instanceof Date) return 'a timestamp';
  if (x instanceof Map) return 'a map with non-string keys';
  return `a ${typeof x === 'object' ? (x?.constructor?.name ?? 'object') : typeof x}`;
}
