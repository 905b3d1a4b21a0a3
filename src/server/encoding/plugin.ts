import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { problem } from '../../protocol/problem.js';
import { sendProblem } from '../problems.js';
import { EncodingError, type JsonValue, toJsonModel } from './json-model.js';
import {
  AVAILABLE_TYPES,
  CANONICAL_TYPES,
  type Encoding,
  encodingOf,
  JSON_TYPE,
  MSGPACK_TYPES,
  mediaParam,
  PROTOBUF_TYPES,
} from './media.js';
import { decodeMsgpack, encodeMsgpack } from './msgpack.js';
import { negotiate } from './negotiate.js';
import {
  createProtobufCodec,
  PROTO_PACKAGE,
  type ProtobufCodec,
  protoName,
  type TypedMessage,
  type WireMessage,
} from './protobuf.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the route keeps its own content type (metrics, docs, SSE); no Accept negotiation. */
    encodings?: boolean;
  }
}

export interface EncodingOptions {
  /** The typed Protobuf message for a route (its URL pattern, e.g. '/nodes'); else Envelope. */
  protobufMessageFor?: (routeUrl: string) => TypedMessage | undefined;
  /** The codec to use; default: proto/computemd.proto, loaded now so a bad file fails at startup. */
  protobuf?: ProtobufCodec;
  /**
   * Default true: a non-JSON reply of a route with a response schema goes through that schema's
   * JSON serializer first (JSON.parse of its output), so it carries exactly the fields the JSON
   * reply does. Costs about one JSON round trip (~0.1 ms for 50 offers); false skips it and
   * encodes the handler's value as JSON would see it without the schema.
   */
  respectResponseSchema?: boolean;
}

/**
 * Serves every JSON route in JSON, MessagePack or Protobuf by the request's Accept, and parses
 * MessagePack and Protobuf request bodies into the same value a JSON body would give.
 *
 * Left alone: routes with `config: { encodings: false }`, replies with status >= 400 (problems are
 * always JSON), and replies whose Content-Type the route set to anything but application/json
 * (problem+json, text/plain, text/html, text/event-stream). Call it on the root instance before
 * the routes are added.
 *
 * Negotiation runs in onRequest, so a 406 is answered before the body is read or the handler runs.
 * A non-JSON reply is first reduced to what JSON would carry: through the route's response-schema
 * serializer when it has one (so fields the schema leaves out are left out here too), else by
 * toJsonModel.
 */
export function registerEncodings(app: FastifyInstance, opts: EncodingOptions = {}): void {
  const codec = opts.protobuf ?? createProtobufCodec();
  const chosen = new WeakMap<FastifyRequest, string>();

  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.url === undefined || req.routeOptions.config?.encodings === false) return;
    appendVary(reply, 'Accept');
    const type = negotiate(req.headers.accept, AVAILABLE_TYPES);
    if (type === null) {
      const detail = `Nothing in "Accept: ${req.headers.accept}" is served here. Ask for one of ${CANONICAL_TYPES.join(', ')} (or leave Accept out for JSON).`;
      return sendProblem(reply, { ...problem('not-acceptable', detail), available: [...AVAILABLE_TYPES] });
    }
    if (type !== JSON_TYPE) chosen.set(req, type);
  });

  const encodeFor = (req: FastifyRequest, reply: FastifyReply, type: string, json: JsonValue): Buffer => {
    const enc = encodingOf(type) as Exclude<Encoding, 'json'>;
    let bytes: Uint8Array;
    if (enc === 'msgpack') {
      bytes = encodeMsgpack(json, true);
      reply.type(type);
    } else {
      const url = req.routeOptions.url ?? '';
      const schema = responseSchemaId(req, reply.statusCode) ?? `${req.method} ${url}`;
      const out = codec.encode(json, opts.protobufMessageFor?.(url), schema);
      bytes = out.bytes;
      reply.type(`${type}; proto=${protoName(out.message)}`);
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };

  const wantsEncoding = (req: FastifyRequest, reply: FastifyReply): string | undefined => {
    const type = chosen.get(req);
    if (type === undefined || reply.statusCode >= 400) return undefined;
    const ct = reply.getHeader('content-type');
    if (typeof ct === 'string' && ct.split(';')[0]!.trim().toLowerCase() !== JSON_TYPE) return undefined;
    return type;
  };

  // Fast path: the reply is still an object. The serializer replaces JSON's for this reply only.
  app.addHook('preSerialization', async (req, reply, payload) => {
    const type = wantsEncoding(req, reply);
    if (type === undefined) return payload;
    const viaSchema = opts.respectResponseSchema === false ? undefined : routeSerializer(reply);
    reply.serializer((body: unknown) => {
      const json = viaSchema ? (JSON.parse(viaSchema(body)) as JsonValue) : toJsonModel(body);
      return encodeFor(req, reply, type, json) as unknown as string;
    });
    return payload;
  });

  // Fallback: a handler that sent JSON text itself (reply.type('application/json').send(string)).
  app.addHook('onSend', async (req, reply, payload) => {
    if (typeof payload !== 'string') return payload;
    const type = wantsEncoding(req, reply);
    if (type === undefined) return payload;
    return encodeFor(req, reply, type, JSON.parse(payload) as JsonValue);
  });

  app.addContentTypeParser([...MSGPACK_TYPES], { parseAs: 'buffer' }, (_req, body, done) => {
    parseWith(() => decodeMsgpack(body as Buffer), done);
  });
  app.addContentTypeParser([...PROTOBUF_TYPES], { parseAs: 'buffer' }, (req, body, done) => {
    parseWith(() => {
      const message = requestMessage(req.headers['content-type'] ?? '');
      return codec.decodeRequest(body as Buffer, message);
    }, done);
  });
}

type Done = (err: Error | null, body?: unknown) => void;

function parseWith(parse: () => JsonValue, done: Done): void {
  let body: JsonValue;
  try {
    body = parse();
  } catch (err) {
    const e = err instanceof EncodingError ? err : new EncodingError(String(err), { cause: err });
    done(Object.assign(e, { statusCode: 400 }));
    return;
  }
  done(null, body);
}

const WIRE_MESSAGES: readonly WireMessage[] = ['Envelope', 'Offer', 'OfferList'];

/** The message a Protobuf body is, from `proto=` in its Content-Type; Envelope by default. */
function requestMessage(contentType: string): WireMessage {
  const p = mediaParam(contentType, 'proto');
  if (p === undefined) return 'Envelope';
  const short = p.startsWith(`${PROTO_PACKAGE}.`) ? p.slice(PROTO_PACKAGE.length + 1) : p;
  const m = WIRE_MESSAGES.find((x) => x === short);
  if (m === undefined) {
    throw new EncodingError(`Unknown proto=${p}; send one of ${WIRE_MESSAGES.map(protoName).join(', ')}.`);
  }
  return m;
}

type Serialize = (payload: unknown) => string;

/** The route's compiled response-schema serializer for this status (exact, NXX, default), if any. */
function routeSerializer(reply: FastifyReply): Serialize | undefined {
  const status = String(reply.statusCode);
  for (const key of [status, `${status[0]}xx`, 'default']) {
    const plain = reply.getSerializationFunction(key) as unknown;
    if (typeof plain === 'function') return plain as Serialize;
    const byType = reply.getSerializationFunction(key, JSON_TYPE) as unknown;
    if (typeof byType === 'function') return byType as Serialize;
  }
  return undefined;
}

function responseSchemaId(req: FastifyRequest, statusCode: number): string | undefined {
  const response = (req.routeOptions.schema as { response?: Record<string, unknown> } | undefined)?.response;
  if (!response) return undefined;
  const status = String(statusCode);
  const s = response[status] ?? response[`${status[0]}xx`] ?? response.default;
  const id = (s as { $id?: unknown } | undefined)?.$id;
  return typeof id === 'string' ? id : undefined;
}

function appendVary(reply: FastifyReply, field: string): void {
  const prev = reply.getHeader('vary');
  const list = typeof prev === 'string' ? prev : Array.isArray(prev) ? prev.join(', ') : '';
  if (list === '') reply.header('vary', field);
  else if (!list.split(',').some((x) => x.trim().toLowerCase() === field.toLowerCase() || x.trim() === '*')) {
    reply.header('vary', `${list}, ${field}`);
  }
}
