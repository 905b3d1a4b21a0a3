import type protobuf from 'protobufjs';
import { defineKey, type JsonValue } from './json-model.js';

/**
 * JSON model ↔ computemd.v1.Value (wire-identical to google.protobuf.Value). The wire objects are
 * plain objects in protobufjs's keepCase shape: exactly one oneof member set per Value.
 */
export interface WireValue {
  null_value?: 0;
  number_value?: number;
  string_value?: string;
  bool_value?: boolean;
  struct_value?: WireStruct;
  list_value?: { values: WireValue[] };
}
export interface WireStruct {
  fields: { [key: string]: WireValue };
}

/** `v` must already be in the JSON model (toJsonModel). */
export function toValue(v: JsonValue): WireValue {
  switch (typeof v) {
    case 'number':
      return { number_value: v };
    case 'string':
      return { string_value: v };
    case 'boolean':
      return { bool_value: v };
    default:
      if (v === null) return { null_value: 0 };
      if (Array.isArray(v)) return { list_value: { values: v.map(toValue) } };
      return { struct_value: toStruct(v) };
  }
}

export function toStruct(o: { [key: string]: JsonValue }): WireStruct {
  const fields: { [key: string]: WireValue } = {};
  for (const k of Object.keys(o)) {
    const w = toValue(o[k] as JsonValue);
    if (k === '__proto__') Object.defineProperty(fields, k, { value: w, enumerable: true, writable: true });
    else fields[k] = w;
  }
  return { fields };
}

type Decoded = Record<string, unknown> & { kind?: string };

/** A decoded Value message back to JSON. An empty Value (no member set) is null, as in google.protobuf. */
export function fromValue(m: protobuf.Message): JsonValue {
  const d = m as unknown as Decoded;
  switch (d.kind) {
    case 'number_value':
      return d.number_value as number;
    case 'string_value':
      return d.string_value as string;
    case 'bool_value':
      return d.bool_value as boolean;
    case 'struct_value':
      return fromStruct(d.struct_value as protobuf.Message);
    case 'list_value':
      return ((d.list_value as { values?: protobuf.Message[] }).values ?? []).map(fromValue);
    default:
      return null;
  }
}

export function fromStruct(m: protobuf.Message): { [key: string]: JsonValue } {
  const fields = ((m as unknown as Decoded).fields ?? {}) as Record<string, protobuf.Message>;
  const out: { [key: string]: JsonValue } = {};
  for (const k of Object.keys(fields)) defineKey(out, k, fromValue(fields[k] as protobuf.Message));
  return out;
}
