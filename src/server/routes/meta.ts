import type { FastifyInstance } from 'fastify';
import { problem } from '../../protocol/problem.js';
import { HealthResponse, RefreshResponse } from '../../protocol/schemas/responses.js';
import { requireOperator } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { type OpenApiDoc, renderDocs } from '../docs-page.js';
import { sendProblem } from '../problems.js';

/** GET /health, /openapi.json, /docs and the operator's POST /catalog/refresh. */
export function metaRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  app.get(
    '/health',
    { schema: { summary: 'Liveness and market size', tags: ['meta'], response: { 200: HealthResponse } } },
    async () => {
      const health = deps.discovery.providerHealth();
      const ok = [...health.values()].filter((h) => h.up).length;
      return {
        status: ok === health.size ? ('ok' as const) : ('degraded' as const),
        version: deps.version,
        uptime_s: Math.round((deps.clock.now() - deps.startedAt) / 1000),
        offers: deps.discovery.offerCount(),
        providers: { ok, total: health.size },
        ...(deps.gatewayDid ? { did: deps.gatewayDid } : {}),
      };
    },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/docs', { config: { encodings: false }, schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', 'text/html; charset=utf-8');
    return renderDocs(app.swagger() as unknown as OpenApiDoc);
  });

  app.post(
    '/catalog/refresh',
    {
      schema: {
        summary: 'Reload price catalogs (operator)',
        description:
          "Downloads each cloud's vms.csv from `from` (an http(s) base URL, or a directory on the gateway host; default the public SkyPilot catalog), validates it and replaces the local copy only when it is valid and not much smaller. Corrections of known-bad rows are re-applied on load.",
        tags: ['catalog'],
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { type: 'string', minLength: 1 },
            clouds: { type: 'array', items: { type: 'string', minLength: 1 } },
          },
        },
        response: { 200: RefreshResponse },
      },
    },
    async (req, reply) => {
      const denied = requireOperator(req);
      if (denied) return sendProblem(reply, denied);
      if (!deps.refreshCatalogs) {
        return sendProblem(
          reply,
          problem(
            'conflict',
            'Catalog providers are disabled in the configuration (providers.catalog.enabled).',
          ),
        );
      }
      return deps.refreshCatalogs((req.body ?? {}) as { from?: string; clouds?: string[] });
    },
  );
}
