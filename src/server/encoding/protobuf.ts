import protobuf from 'protobufjs';
import { packagePath } from '../../util/paths.js';
import { assertJsonModel, EncodingError, type JsonValue, toJsonModel } from './json-model.js';
import { compilePlan, fits, fromWire, type Plan, toWire } from './protobuf-typed.js';
import { fromValue, toValue } from './protobuf-value.js';

/**
 * Protobuf replies and request bodies, from proto/computemd.proto loaded at startup (no generated
 * code). Offer and OfferList are typed (mapping rules in protobuf-typed.ts); every other body
 * travels in an Envelope whose Value is the JSON model. A body that does not fit its typed message
 * goes out as an Envelope instead; encodeProtobufAs says which message it used, and the reply's
 * Content-Type names it.
 */
export type TypedMessage = 'OfferList' | 'Offer';
export type WireMessage = TypedMessage | 'Envelope';

export const PROTO_PACKAGE = 'computemd.v1';

/** Optional fields that JSON leaves out (rather than sets to null) when they are absent. */
const OMITTABLE: Record<string, ReadonlySet<string>> = {
  OfferList: new Set(['count', 'snapshot_at', 'simulated', 'units']),
};

type Obj = { [key: string]: JsonValue };

export interface ProtobufCodec {
  /** Encodes a body with its typed message when it fits, else as an Envelope. */
  encode(
    body: unknown,
    messageName?: TypedMessage,
    schema?: string,
  ): { bytes: Uint8Array; message: WireMessage };
  /** Decodes bytes of the named message (Envelope by default) back into the JSON value. */
  decode(bytes: Uint8Array, messageName?: WireMessage): JsonValue;
  /** Decodes an Envelope with its schema name. */
  decodeEnvelope(bytes: Uint8Array): { schema: string; body: JsonValue };
  /** decode, plus the JSON model and prototype-poisoning checks a JSON request body gets. */
  decodeRequest(bytes: Uint8Array, messageName?: WireMessage): JsonValue;
}

/** Loads the .proto (default: the shipped proto/computemd.proto) and builds the codec. */
export function createProtobufCodec(protoPath = packagePath('proto', 'computemd.proto')): ProtobufCodec {
  const root = new protobuf.Root().loadSync(protoPath, { keepCase: true });
  root.resolveAll();
  const type = (name: string) => root.lookupType(`${PROTO_PACKAGE}.${name}`);
  const envelope = type('Envelope');
  const typed: Record<TypedMessage, Plan> = {
    OfferList: compilePlan(type('OfferList'), OMITTABLE),
    Offer: compilePlan(type('Offer'), OMITTABLE),
  };

  function encode(body: unknown, messageName?: TypedMessage, schema = '') {
    const json = toJsonModel(body);
    if (messageName !== undefined) {
      const p = typed[messageName];
      if (fits(p, json))
        return { bytes: p.type.encode(toWire(p, json as Obj)).finish(), message: messageName };
    }
    const bytes = envelope.encode({ schema, body: toValue(json) }).finish();
    return { bytes, message: 'Envelope' as const };
  }

  function decodeEnvelope(bytes: Uint8Array) {
    const msg = decodeWith(envelope, bytes) as unknown as { schema: string; body?: protobuf.Message };
    return { schema: msg.schema, body: msg.body ? fromValue(msg.body) : null };
  }

  function decode(bytes: Uint8Array, messageName: WireMessage = 'Envelope'): JsonValue {
    if (messageName === 'Envelope') return decodeEnvelope(bytes).body;
    const p = typed[messageName];
    return fromWire(p, decodeWith(p.type, bytes));
  }

  const decodeRequest = (bytes: Uint8Array, messageName?: WireMessage) =>
    assertJsonModel(decode(bytes, messageName));
  return { encode, decode, decodeEnvelope, decodeRequest };
}

function decodeWith(t: protobuf.Type, bytes: Uint8Array): protobuf.Message {
  try {
    return t.decode(bytes);
  } catch (err) {
    throw new EncodingError(
      `The Protobuf body is not a valid ${t.fullName.slice(1)}: ${(err as Error).message}.`,
      {
        cause: err,
      },
    );
  }
}

let shared: ProtobufCodec | undefined;
/** The codec over the shipped .proto, loaded on first use. */
export function defaultProtobufCodec(): ProtobufCodec {
  shared ??= createProtobufCodec();
  return shared;
}

/** Encodes with the typed message when the body fits it, else as an Envelope (see encodeProtobufAs). */
export function encodeProtobuf(body: unknown, messageName?: TypedMessage): Uint8Array {
  return defaultProtobufCodec().encode(body, messageName).bytes;
}

/** Like encodeProtobuf, and says which message the bytes are (for the Content-Type `proto=` parameter). */
export function encodeProtobufAs(
  body: unknown,
  messageName?: TypedMessage,
  schema?: string,
): { bytes: Uint8Array; message: WireMessage } {
  return defaultProtobufCodec().encode(body, messageName, schema);
}

/** Decodes bytes of the named message (Envelope by default) to the JSON value that was encoded. */
export function decodeProtobuf(bytes: Uint8Array, messageName?: WireMessage): JsonValue {
  return defaultProtobufCodec().decode(bytes, messageName);
}

/** The fully qualified name for a Content-Type `proto=` parameter. */
export const protoName = (m: WireMessage): string => `${PROTO_PACKAGE}.${m}`;
