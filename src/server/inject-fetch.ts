import { Readable } from 'node:stream';
import type { FastifyInstance, InjectOptions } from 'fastify';

/**
 * A `fetch` that answers from the gateway itself through Fastify's `inject`: the request runs the
 * whole pipeline — authentication, the route's ability, UCAN caveats, rate limits, problem+json —
 * without a socket. The SDK client takes it as its `fetch`, so code inside the gateway (the MCP
 * endpoint) calls the API exactly as a remote client would, with the caller's own token, and does
 * not depend on the address, TLS or HTTP version the server listens with. Bodies stream, so
 * Server-Sent Events arrive as they are written.
 */
export function injectFetch(app: FastifyInstance, opts: { remoteAddress?: string } = {}): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const body = init.body;
    if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array))
      throw new TypeError('injectFetch sends string or Uint8Array bodies only');
    const res = await app.inject({
      method: (init.method ?? 'GET') as InjectOptions['method'],
      url: url.pathname + url.search,
      headers,
      ...(body === undefined || body === null
        ? {}
        : { payload: typeof body === 'string' ? body : Buffer.from(body) }),
      ...(opts.remoteAddress ? { remoteAddress: opts.remoteAddress } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
      payloadAsStream: true,
    });
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [String(v)]) out.append(k, one);
    }
    const noBody = res.statusCode === 204 || res.statusCode === 304 || init.method === 'HEAD';
    const stream = res.stream();
    if (noBody) stream.resume();
    return new Response(noBody ? null : (Readable.toWeb(stream) as ReadableStream<Uint8Array>), {
      status: res.statusCode,
      statusText: res.statusMessage,
      headers: out,
    });
  }) as typeof fetch;
}
