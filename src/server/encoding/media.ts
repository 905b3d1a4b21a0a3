/**
 * The media types the gateway speaks. Each encoding has one canonical name and the aliases
 * clients use in the wild; a reply echoes the name the client asked for.
 */
export type Encoding = 'json' | 'msgpack' | 'protobuf';

export const JSON_TYPE = 'application/json';
export const MSGPACK_TYPES = [
  'application/msgpack',
  'application/x-msgpack',
  'application/vnd.msgpack',
] as const;
export const PROTOBUF_TYPES = [
  'application/x-protobuf',
  'application/protobuf',
  'application/vnd.google.protobuf',
] as const;

/** Server preference order for negotiate(): JSON first, so ties go to JSON. */
export const AVAILABLE_TYPES: readonly string[] = [JSON_TYPE, ...MSGPACK_TYPES, ...PROTOBUF_TYPES];

/** The canonical names, one per encoding, for the 406 problem and the docs. */
export const CANONICAL_TYPES: readonly string[] = [JSON_TYPE, MSGPACK_TYPES[0], PROTOBUF_TYPES[0]];

/** The encoding of a media type (parameters ignored), or undefined when it is none of ours. */
export function encodingOf(mediaType: string): Encoding | undefined {
  const t = mediaType.split(';')[0]!.trim().toLowerCase();
  if (t === JSON_TYPE) return 'json';
  if ((MSGPACK_TYPES as readonly string[]).includes(t)) return 'msgpack';
  if ((PROTOBUF_TYPES as readonly string[]).includes(t)) return 'protobuf';
  return undefined;
}

/** A media-type parameter's value (`proto` of `application/x-protobuf; proto=computemd.v1.Offer`). */
export function mediaParam(mediaType: string, name: string): string | undefined {
  for (const part of mediaType.split(';').slice(1)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim().toLowerCase() === name) {
      return part
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
    }
  }
  return undefined;
}
