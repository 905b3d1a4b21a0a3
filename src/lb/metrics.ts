import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import type { Balancer } from './balancer.js';
import type { Endpoint } from './endpoints.js';
import { PROM_BUCKETS_S } from './histogram.js';

/**
 * The balancers' figures on the gateway's /metrics, read from the endpoints' own counters when
 * scraped: the request path adds to plain fields and never touches prom-client.
 */
export function registerLbMetrics(registry: Registry, balancers: () => Iterable<Balancer>): void {
  const each = (f: (b: Balancer, ep: Endpoint) => void) => {
    for (const b of balancers()) for (const ep of b.set.list) f(b, ep);
  };
  const perEndpoint = (name: string, help: string, value: (ep: Endpoint, now: number) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['lb', 'endpoint'] as const,
      registers: [registry],
      collect() {
        this.reset();
        each((b, ep) => this.inc({ lb: b.id, endpoint: ep.id }, value(ep, b.clock.now())));
      },
    });
  perEndpoint(
    'computemd_lb_requests_total',
    'Tries sent to each endpoint (retries included)',
    (ep) => ep.requests,
  );
  perEndpoint(
    'computemd_lb_errors_total',
    'Failed tries per endpoint: 5xx, failed connections, resets, timeouts',
    (ep) => ep.errors,
  );
  perEndpoint(
    'computemd_lb_ejections_total',
    'Ejections of each endpoint by outlier detection',
    (ep) => ep.ejections,
  );
  const gauge = (name: string, help: string, value: (ep: Endpoint, now: number) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['lb', 'endpoint'] as const,
      registers: [registry],
      collect() {
        this.reset();
        each((b, ep) => this.set({ lb: b.id, endpoint: ep.id }, value(ep, b.clock.now())));
      },
    });
  gauge('computemd_lb_outstanding', 'Requests in flight per endpoint', (ep) => ep.outstanding);
  gauge(
    'computemd_lb_endpoint_serving',
    '1 when the endpoint takes requests, 0 when ejected or unhealthy',
    (ep, now) => (ep.serving(now) ? 1 : 0),
  );
  const perLb = (name: string, help: string, value: (b: Balancer) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['lb'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const b of balancers()) this.inc({ lb: b.id }, value(b));
      },
    });
  perLb('computemd_lb_retries_total', 'Retries on another endpoint', (b) => b.counters.retries);
  perLb(
    'computemd_lb_unavailable_total',
    'Requests answered 503: no endpoint serving',
    (b) => b.counters.unavailable,
  );
  perLb(
    'computemd_lb_timeouts_total',
    'Requests answered 504: past the deadline',
    (b) => b.counters.timeouts,
  );
  registry.registerMetric(latencyMetric(each) as unknown as Metric);
}

/**
 * The latency histogram as prom-client's collector contract wants it (name, help, type and a
 * `get()` of values), built from the endpoints' own bucket counts; prom-client has no histogram
 * whose buckets can be set from outside.
 */
function latencyMetric(each: (f: (b: Balancer, ep: Endpoint) => void) => void) {
  const name = 'computemd_lb_upstream_duration_seconds';
  const help = 'Time from sending a try to its last byte, per endpoint';
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    reset() {},
    async get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      each((b, ep) => {
        const labels = { lb: b.id, endpoint: ep.id };
        const h = ep.latency;
        let cumulative = 0;
        PROM_BUCKETS_S.forEach((le, i) => {
          cumulative += h.coarse[i]!;
          values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` });
        });
        values.push({ labels: { ...labels, le: '+Inf' }, value: h.count, metricName: `${name}_bucket` });
        values.push({ labels, value: h.sumS, metricName: `${name}_sum` });
        values.push({ labels, value: h.count, metricName: `${name}_count` });
      });
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
  };
}
