import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface MetricsSource {
  /** Offers per provider in the current market snapshot. */
  offersByProvider(): Map<string, number>;
  /** Refresh failures so far per provider. */
  refreshErrorsByProvider(): Map<string, number>;
  /** Provider health as 1 (ok) / 0 (not). */
  providerUp(): Map<string, number>;
}

/**
 * Prometheus metrics on a registry owned by this app (never prom-client's global one, so two
 * gateways in one process — as tests run them — do not collide).
 */
export function installMetrics(app: FastifyInstance, source: MetricsSource): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'computemd_' });
  const requests = new Counter({
    name: 'computemd_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'computemd_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: 'computemd_market_offers',
    help: 'Offers in the market index by provider',
    labelNames: ['provider'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [p, n] of source.offersByProvider()) this.set({ provider: p }, n);
    },
  });
  new Gauge({
    name: 'computemd_provider_refresh_failures',
    help: 'Consecutive failed offer refreshes per provider (0 after a success)',
    labelNames: ['provider'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [p, n] of source.refreshErrorsByProvider()) this.set({ provider: p }, n);
    },
  });
  new Gauge({
    name: 'computemd_provider_up',
    help: '1 when the provider last refreshed successfully, else 0',
    labelNames: ['provider'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [p, n] of source.providerUp()) this.set({ provider: p }, n);
    },
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.get(
    '/metrics',
    {
      config: { encodings: false },
      schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['meta'] },
    },
    async (_req, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    },
  );
  return registry;
}
