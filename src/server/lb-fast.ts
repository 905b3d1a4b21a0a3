import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../identity/authn.js';
import type { LbRegistry } from '../lb/registry.js';
import { type Problem, problem } from '../protocol/problem.js';
import { bearerToken } from './auth.js';
import { PROBLEM_CONTENT_TYPE } from './problems.js';
import { upstreamPathOf } from './routes/lb.js';

/**
 * The load balancers' data path, taken before Fastify (issue 8): a request to `/lb/<id>/…` is
 * authenticated and authorised exactly as the route would (a bearer token granting
 * `compute/infer`, from the balancer's owner or the operator; anyone else gets the same 404 as a
 * balancer that does not exist) and then streamed to the balancer, without Fastify's routing,
 * hooks and request logging. That halves the gateway's CPU per proxied request (BENCHMARKS.md).
 *
 * What this path does not do, by choice: count requests against the per-principal API rate limit
 * (this is data-plane traffic, bounded by the balancer's endpoints and its retry budget), log each
 * request, or record it in the HTTP request metrics (the balancer keeps its own per-endpoint
 * metrics). `GET /lb/:id/status` still goes through Fastify.
 */
export function installLbFastPath(app: FastifyInstance, lb: LbRegistry, auth: Authenticator): void {
  const server = app.server;
  const listeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  const fastify = listeners[0];
  if (listeners.length !== 1 || !fastify) return; // an unexpected server: leave it to the routes
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if (!url.startsWith('/lb/') || isStatus(url)) return fastify.call(server, req, res);
    handle(req, res, url).catch((err) => {
      app.log.error({ err }, 'lb fast path failed');
      if (!res.headersSent) send(res, url, problem('internal', 'The load balancer failed on this request.'));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, url: string): Promise<void> {
    const token = bearerToken(req.headers.authorization);
    if (token === null)
      return send(
        res,
        url,
        problem('invalid-token', 'The Authorization header must be "Bearer <token>".', {
          param: 'Authorization',
          reason: 'malformed',
        }),
      );
    if (token === undefined)
      return send(
        res,
        url,
        problem(
          'unauthorized',
          `${req.method} ${url.split('?')[0]} needs a principal: send Authorization: Bearer <token>.`,
        ),
      );
    const proofs = String(req.headers.ucans ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .slice(0, 16);
    const r = await auth.authenticate(token, proofs);
    if (!r.ok) return send(res, url, r.problem);
    const g = auth.can(r.ctx, 'compute/infer');
    if (!g.ok) return send(res, url, g.problem);
    const id = idOf(url);
    const b = lb.get(id);
    const p = r.ctx.principal;
    if (!b || (b.owner !== p.id && p.role !== 'operator'))
      return send(
        res,
        url,
        problem('not-found', `No load balancer ${id} of yours. GET /bookings lists your serving bookings.`),
      );
    await b.handle(req, res, upstreamPathOf(url));
  }
}

function idOf(url: string): string {
  let i = 4;
  while (i < url.length && url[i] !== '/' && url[i] !== '?') i++;
  return decodeURIComponent(url.slice(4, i));
}

function isStatus(url: string): boolean {
  const rest = url.slice(4 + idOf(url).length);
  return rest === '/status' || rest.startsWith('/status?');
}

function send(res: ServerResponse, url: string, p: Problem): void {
  const body = JSON.stringify({ ...p, instance: url.split('?')[0] });
  const headers: Record<string, string | number> = {
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'x-problem': '1',
  };
  if (p.status === 401) headers['www-authenticate'] = 'Bearer realm="computemd", error="invalid_token"';
  if (p.status === 403) headers['www-authenticate'] = 'Bearer realm="computemd", error="insufficient_scope"';
  if (typeof p.retry_after_s === 'number') headers['retry-after'] = p.retry_after_s;
  res.writeHead(p.status, headers);
  res.end(body);
}
