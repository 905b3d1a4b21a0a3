import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hash32 } from '../util/random.js';

export interface ResponseCacheOptions {
  /**
   * The state every cached body was computed from (the market snapshot). When it is a different
   * object than the cached entries', the whole cache is dropped: nothing stale is ever served.
   */
  version: () => object;
  /** Route URLs (Fastify patterns) whose 200 GET replies depend only on `version`. */
  routes: readonly string[];
  maxEntries?: number;
  maxBytes?: number;
}

interface Entry {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * Encoded replies of read-only discovery routes, kept until the market snapshot changes. A
 * snapshot is immutable, so the same URL and Accept give the same bytes until the next refresh;
 * agents poll the same queries, and serving their bytes again skips the query, the serializer
 * and the encoder. Every reply carries an ETag; `If-None-Match` gets a 304, and a request with
 * `Cache-Control: no-cache` is computed afresh.
 */
export function installResponseCache(app: FastifyInstance, opts: ResponseCacheOptions): void {
  const routes = new Set(opts.routes);
  const maxEntries = opts.maxEntries ?? 512;
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  const entries = new Map<string, Entry>();
  const served = new WeakSet<FastifyRequest>();
  let version: object | null = null;
  let generation = 0;
  let bytes = 0;

  const current = (): void => {
    const v = opts.version();
    if (v !== version) {
      version = v;
      generation++;
      entries.clear();
      bytes = 0;
    }
  };
  const keyOf = (req: FastifyRequest) => `${req.headers.accept ?? ''}\u0000${req.url}`;
  const cacheable = (req: FastifyRequest) =>
    req.method === 'GET' &&
    routes.has(req.routeOptions.url ?? '') &&
    !/no-cache/i.test(req.headers['cache-control'] ?? '');

  app.addHook('onRequest', async (req, reply) => {
    if (reply.sent || !cacheable(req)) return;
    current();
    const key = keyOf(req);
    const hit = entries.get(key);
    if (!hit) return;
    entries.delete(key);
    entries.set(key, hit); // most recently used last
    served.add(req);
    reply.header('etag', hit.etag).header('vary', 'Accept').header('x-cache', 'hit');
    if (req.headers['if-none-match'] === hit.etag) return reply.code(304).send();
    return reply.type(hit.type).send(hit.body);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    if (served.has(req) || reply.statusCode !== 200 || !cacheable(req)) return payload;
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
    const type = reply.getHeader('content-type');
    if (typeof type !== 'string') return payload;
    current();
    const key = keyOf(req);
    // A compact copy: an encoder's output may be a view into a much larger scratch buffer.
    const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
    const etag = `"${generation.toString(36)}-${hash32(key).toString(36)}-${body.length.toString(36)}"`;
    reply.header('etag', etag).header('x-cache', 'miss');
    if (body.length <= maxBytes / 16) {
      entries.set(key, { body, type, etag });
      bytes += body.length;
      while (entries.size > maxEntries || bytes > maxBytes) {
        const [oldest, e] = entries.entries().next().value as [string, Entry];
        entries.delete(oldest);
        bytes -= e.body.length;
      }
    }
    if (req.headers['if-none-match'] === etag) {
      reply.code(304);
      return '';
    }
    return body;
  });
}
