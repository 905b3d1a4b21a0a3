import { Decoder, decodeTimestampExtension, Encoder, ExtensionCodec } from '@msgpack/msgpack';
import { assertJsonModel, EncodingError, type JsonValue, toJsonModel } from './json-model.js';

/**
 * MessagePack carrying exactly the JSON data model: the reply is first brought to what JSON would
 * carry (toJsonModel: undefined dropped, Dates as ISO strings, non-finite numbers null), so a
 * client gets the same value in either encoding. Integers go out as MessagePack ints, other numbers
 * as float64.
 */
const encoder = new Encoder({ ignoreUndefined: true, forceFloat32: false, useBigInt64: false });

/** A timestamp in a request body (what most MessagePack libraries make of a Date) becomes its ISO string. */
const requestExtensions = new ExtensionCodec();
requestExtensions.register({
  type: -1,
  encode: () => null,
  decode: (data: Uint8Array) => decodeTimestampExtension(data).toISOString(),
});
const decoder = new Decoder({ extensionCodec: requestExtensions, useBigInt64: false });

/** Encodes any reply value as JSON would see it. `canonical` skips the JSON-model pass for values already in it. */
export function encodeMsgpack(value: unknown, canonical = false): Uint8Array {
  return encoder.encode(canonical ? value : toJsonModel(value));
}

/**
 * Decodes a MessagePack body into the value JSON.parse would give for the same data. Binary data,
 * extension types other than timestamps and prototype-poisoning keys are refused with an
 * EncodingError (the HTTP layer answers 400).
 */
export function decodeMsgpack(bytes: Uint8Array): JsonValue {
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (err) {
    throw new EncodingError(`The MessagePack body does not decode: ${(err as Error).message}.`, {
      cause: err,
    });
  }
  return assertJsonModel(value);
}
