import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Balancer } from '../../lb/registry.js';
import { problem } from '../../protocol/problem.js';
import { ROUTE_ABILITIES } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { sendProblem } from '../problems.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const INFER = 'compute/infer';

/** `/lb/<id>/rest?q` → `/rest?q`; `/lb/<id>` and `/lb/<id>?q` → `/` and `/?q`. */
export function upstreamPathOf(url: string): string {
  let i = 4; // after '/lb/'
  while (i < url.length && url.charCodeAt(i) !== 47 /* / */ && url.charCodeAt(i) !== 63 /* ? */) i++;
  const rest = url.slice(i);
  if (rest === '') return '/';
  return rest.charCodeAt(0) === 63 ? `/${rest}` : rest;
}

/**
 * The load balancers' URLs (issue 8; src/lb): `/lb/:id/*` proxies to the balancer's endpoints,
 * `GET /lb/:id/status` reports them. Only the balancer's owner — with its own key or a token
 * derived from it that grants `compute/infer` — and the operator may call; anyone else gets the
 * same 404 as for a balancer that does not exist. Bodies are not parsed here: the raw request
 * streams through to the endpoint.
 */
export function lbRoutes(
  app: FastifyInstance,
  deps: Pick<GatewayDeps, 'lb' | 'auth'>,
  metrics?: Registry,
): void {
  const lb = deps.lb;
  if (!lb) return;
  if (metrics) lb.registerMetrics(metrics);

  const notFound = (reply: FastifyReply, id: string) =>
    sendProblem(
      reply,
      problem('not-found', `No load balancer ${id} of yours. GET /bookings lists your serving bookings.`),
    );

  /** The balancer the caller may use, or null once a problem has been sent. */
  const authorize = (req: FastifyRequest, reply: FastifyReply, ability: string | null): Balancer | null => {
    const id = (req.params as { id: string }).id;
    const p = req.principal;
    if (!p) {
      sendProblem(
        reply,
        problem(
          'unauthorized',
          `${req.method} ${req.url.split('?')[0]} needs a principal: send Authorization: Bearer <token>.`,
        ),
      ).header('www-authenticate', 'Bearer realm="computemd"');
      return null;
    }
    // The route table grants the ability before this runs; a route it does not list checks here.
    if (ability && req.auth) {
      const g = deps.auth.can(req.auth, ability);
      if (!g.ok) {
        sendProblem(reply, g.problem).header(
          'www-authenticate',
          'Bearer realm="computemd", error="insufficient_scope"',
        );
        return null;
      }
    }
    const b = lb.get(id);
    if (!b || (b.owner !== p.id && p.role !== 'operator')) {
      notFound(reply, id);
      return null;
    }
    return b;
  };

  const idParams = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };

  app.register(async (sub) => {
    // Bodies stay unread: the proxy streams them to the endpoint.
    sub.removeAllContentTypeParsers();
    sub.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

    sub.get(
      '/lb/:id/status',
      {
        schema: {
          summary:
            "A load balancer's endpoints: state (healthy / ejected / unhealthy), load, errors, latency",
          tags: ['leases'],
          params: idParams,
          security: [{ bearer: [] }],
        },
      },
      async (req, reply) => {
        const b = authorize(req, reply, null);
        if (!b) return reply;
        return reply.header('cache-control', 'no-store').send(b.status());
      },
    );

    for (const url of ['/lb/:id/*', '/lb/:id']) {
      const listed = METHODS.every((m) => ROUTE_ABILITIES[`${m} ${url}`] !== undefined);
      sub.route({
        method: [...METHODS],
        url,
        config: { encodings: false },
        schema: {
          summary:
            "Proxied to the balancer's endpoints (least outstanding requests by default), with failover and retries of idempotent requests",
          tags: ['leases'],
          params: idParams,
          security: [{ bearer: [] }],
        },
        handler: (req, reply) => {
          const b = authorize(req, reply, listed ? null : INFER);
          if (!b) return reply;
          reply.hijack();
          return b.handle(req.raw, reply.raw, upstreamPathOf(req.raw.url ?? '/'));
        },
      });
    }
  });
}
