import protobuf from 'protobufjs';
import { defineKey, type JsonValue } from './json-model.js';
import { fromStruct, toStruct } from './protobuf-value.js';

/**
 * JSON ↔ typed message (Offer, OfferList), driven by the .proto. Rules:
 * - a non-optional field must be present in the JSON with the field's type;
 * - an `optional` field is a nullable JSON field (present; null ↔ absent on the wire), except the
 *   omittable ones, which JSON leaves out when they are absent;
 * - keys a message does not declare go into its `extra` Struct (a message without one refuses them).
 * Each message's plan is compiled once, so a reply pays no reflection.
 */
const EXTRA = 'extra';

type Obj = { [key: string]: JsonValue };
type Kind = 'string' | 'bool' | 'double' | 'uint32' | 'message';

interface FieldPlan {
  name: string;
  kind: Kind;
  sub: Plan | undefined;
  repeated: boolean;
  nullable: boolean;
  omittable: boolean;
}

export interface Plan {
  type: protobuf.Type;
  fields: FieldPlan[];
  known: Set<string>;
  hasExtra: boolean;
  /** This message or one below it has `extra`, so its JSON may need reshaping before encode. */
  reshapes: boolean;
}

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `omittable`: message name → optional fields that JSON omits rather than nulls. */
export function compilePlan(t: protobuf.Type, omittable: Record<string, ReadonlySet<string>>): Plan {
  const fields: FieldPlan[] = [];
  const plan: Plan = {
    type: t,
    fields,
    known: new Set(),
    hasExtra: t.fields[EXTRA] !== undefined,
    reshapes: false,
  };
  for (const f of t.fieldsArray) {
    if (f.name === EXTRA) continue;
    plan.known.add(f.name);
    const msg = f.resolvedType instanceof protobuf.Type ? f.resolvedType : undefined;
    const kind = (msg ? 'message' : f.type) as Kind;
    if (!['string', 'bool', 'double', 'uint32', 'message'].includes(kind)) {
      throw new Error(
        `${t.name}.${f.name}: type ${f.type} has no JSON mapping here; use string, bool, double or uint32.`,
      );
    }
    const optional = f.options?.proto3_optional === true;
    const omit = omittable[t.name]?.has(f.name) === true;
    const sub = msg ? compilePlan(msg, omittable) : undefined;
    fields.push({
      name: f.name,
      kind,
      sub,
      repeated: f.repeated,
      nullable: optional && !omit,
      omittable: omit,
    });
  }
  plan.reshapes = plan.hasExtra || fields.some((f) => f.sub?.reshapes === true);
  return plan;
}

/** Whether a JSON value maps onto the message without loss. */
export function fits(p: Plan, v: JsonValue): boolean {
  if (!isObj(v)) return false;
  for (const k in v) {
    if (k === EXTRA || (!p.hasExtra && !p.known.has(k))) return false;
  }
  for (const f of p.fields) {
    const x = v[f.name];
    if (x === undefined) {
      if (!f.omittable || Object.hasOwn(v, f.name)) return false;
    } else if (x === null) {
      if (!f.nullable) return false;
    } else if (f.repeated) {
      if (!Array.isArray(x)) return false;
      for (const e of x) if (!fitsOne(f, e)) return false;
    } else if (!fitsOne(f, x)) return false;
  }
  return true;
}

function fitsOne(f: FieldPlan, x: JsonValue): boolean {
  switch (f.kind) {
    case 'string':
      return typeof x === 'string';
    case 'bool':
      return typeof x === 'boolean';
    case 'double':
      return typeof x === 'number';
    case 'uint32':
      return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
    case 'message':
      return fits(f.sub as Plan, x);
  }
}

/** The object protobufjs encodes: the JSON itself (it skips nulls as absent), extras moved into `extra`. */
export function toWire(p: Plan, v: Obj): Obj {
  if (!p.reshapes) return v;
  let out = v;
  if (p.hasExtra) {
    let rest: Obj | undefined;
    for (const k in v) {
      if (p.known.has(k)) continue;
      rest ??= {};
      defineKey(rest, k, v[k] as JsonValue);
    }
    if (rest) out = { ...v, [EXTRA]: toStruct(rest) as unknown as JsonValue };
  }
  for (const f of p.fields) {
    const sub = f.sub;
    const x = out[f.name];
    if (!sub?.reshapes || x === null || x === undefined) continue;
    let y: JsonValue;
    if (f.repeated) {
      const xs = x as Obj[];
      let ys: Obj[] | undefined;
      for (let i = 0; i < xs.length; i++) {
        const w = toWire(sub, xs[i] as Obj);
        if (w === xs[i]) continue;
        ys ??= xs.slice();
        ys[i] = w;
      }
      if (!ys) continue;
      y = ys;
    } else {
      y = toWire(sub, x as Obj);
      if (y === x) continue;
    }
    if (out === v) out = { ...v };
    out[f.name] = y;
  }
  return out;
}

/** The JSON value of a decoded typed message, keys in .proto order, extras last. */
export function fromWire(p: Plan, m: protobuf.Message): Obj {
  const src = m as unknown as Record<string, unknown>;
  const out: Obj = {};
  for (const f of p.fields) {
    const x = src[f.name];
    if (f.repeated) {
      const xs = (x as unknown[] | undefined) ?? [];
      out[f.name] = f.sub
        ? xs.map((e) => fromWire(f.sub as Plan, e as protobuf.Message))
        : (xs as JsonValue[]);
    } else if (!(f.nullable || f.omittable) || Object.hasOwn(src, f.name)) {
      out[f.name] = f.sub ? fromWire(f.sub, x as protobuf.Message) : (x as JsonValue);
    } else if (f.nullable) {
      out[f.name] = null;
    }
  }
  if (p.hasExtra && Object.hasOwn(src, EXTRA) && src[EXTRA]) {
    const extra = fromStruct(src[EXTRA] as protobuf.Message);
    for (const k of Object.keys(extra)) if (!Object.hasOwn(out, k)) defineKey(out, k, extra[k] as JsonValue);
  }
  return out;
}
