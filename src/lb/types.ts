/**
 * What a load balancer is made of: its spec (as the runtime creates it from a serving booking),
 * its tuning knobs with their defaults, and the events it reports. Field names are snake_case:
 * they are the same words as the wire (`health_check`, `endpoints`).
 */

export type Policy = 'least_outstanding' | 'round_robin' | 'weighted';
export const POLICIES: readonly Policy[] = ['least_outstanding', 'round_robin', 'weighted'];

export interface EndpointSpec {
  /** Unique within the balancer (e.g. the lease id, or `ep-1`). */
  id: string;
  /** `http://host:port` with an optional base path (`http://host:8000/v1`); http or https. */
  url: string;
  /** Share under the `weighted` policy: the endpoint's measured throughput, in any one unit. Default 1. */
  weight?: number;
  /** The lease serving this endpoint, reported back in events so the runtime can replace it. */
  lease_id?: string;
  /** Headers added to every request to this endpoint (its own credential, for one). */
  headers?: Record<string, string>;
}

export interface HealthTuning {
  /** Between two probes of one endpoint. */
  interval_ms: number;
  /** A probe slower than this fails. */
  timeout_ms: number;
  /** Consecutive failed probes that make an endpoint unhealthy (a refused connection: one is enough). */
  unhealthy_threshold: number;
  /** Consecutive passed probes that make an unhealthy endpoint healthy again. */
  healthy_threshold: number;
}

export interface OutlierTuning {
  /** Consecutive failures (5xx, connect failure, reset, timeout) that eject an endpoint. */
  consecutive_failures: number;
  /** The first ejection's length; each further ejection doubles it, up to `max_ejection_ms`. */
  base_ejection_ms: number;
  max_ejection_ms: number;
  /** At most this share of the endpoints is ejected at once (100: all may be). */
  max_ejection_percent: number;
}

export interface RetryTuning {
  /** Tries per request, the first included; each retry goes to an endpoint not yet tried. */
  max_attempts: number;
  /** Retries allowed as a share of requests over the last `window_ms` (Finagle's retry budget). */
  budget_ratio: number;
  /** Retries allowed per second whatever the ratio says, so a quiet balancer can still retry. */
  min_retries_per_s: number;
  window_ms: number;
  /** Request bodies up to this size are held so the request can be retried; larger ones stream, unretried. */
  body_buffer_bytes: number;
}

export interface LbTuning {
  health: HealthTuning;
  outlier: OutlierTuning;
  retry: RetryTuning;
  /** Deadline from the request's arrival to the upstream's response headers, retries included (504). */
  timeout_ms: number;
  /** Longest silence between two chunks of a response body (a stream may last as long as it talks). */
  body_idle_timeout_ms: number;
  connect_timeout_ms: number;
  /** Upstream connections kept per endpoint (keep-alive pool). */
  connections_per_endpoint: number;
  /** Endpoints at or below this count are scanned exactly by least-outstanding; above, two random choices. */
  exact_scan_max: number;
}

export const DEFAULT_TUNING: LbTuning = {
  health: { interval_ms: 500, timeout_ms: 1000, unhealthy_threshold: 2, healthy_threshold: 2 },
  outlier: {
    consecutive_failures: 3,
    base_ejection_ms: 2000,
    max_ejection_ms: 60_000,
    max_ejection_percent: 100,
  },
  retry: {
    max_attempts: 3,
    budget_ratio: 0.2,
    min_retries_per_s: 10,
    window_ms: 10_000,
    body_buffer_bytes: 64 * 1024,
  },
  timeout_ms: 60_000,
  body_idle_timeout_ms: 300_000,
  connect_timeout_ms: 2000,
  connections_per_endpoint: 128,
  exact_scan_max: 8,
};

/** Tuning as a spec gives it: any knob may be left out. */
export type TuningInput = {
  [K in keyof LbTuning]?: LbTuning[K] extends object ? Partial<LbTuning[K]> : LbTuning[K];
};

export interface LbSpec extends TuningInput {
  id: string;
  /** The principal that owns the serving booking; only it (and tokens derived from it) may call. */
  owner: string;
  endpoints: EndpointSpec[];
  /** Path probed with GET on every endpoint (e.g. `/health`); absent: passive detection only. */
  health_check?: string;
  policy?: Policy;
}

export type EndpointState = 'healthy' | 'ejected' | 'unhealthy';

export interface EndpointEvent {
  lb: string;
  endpoint: string;
  lease_id: string | null;
  /** Why it stopped (or started again) serving. */
  reason: 'ejected' | 'unhealthy' | 'recovered';
  /** Epoch ms. */
  at: number;
}

/** A spec the balancer cannot be built from: a bug in the caller, so it is thrown (STYLE.md 9). */
export class LbSpecError extends Error {
  constructor(
    public readonly field: string,
    detail: string,
  ) {
    super(`load balancer spec: ${field}: ${detail}`);
    this.name = 'LbSpecError';
  }
}

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** The spec's tuning over the defaults, each knob checked. */
export function resolveTuning(spec: TuningInput): LbTuning {
  const t: LbTuning = {
    ...DEFAULT_TUNING,
    ...stripGroups(spec),
    health: { ...DEFAULT_TUNING.health, ...spec.health },
    outlier: { ...DEFAULT_TUNING.outlier, ...spec.outlier },
    retry: { ...DEFAULT_TUNING.retry, ...spec.retry },
  };
  const check = (field: string, v: unknown, ok = positive(v)) => {
    if (!ok) throw new LbSpecError(field, `${JSON.stringify(v)} is not a positive number. To fix: give one.`);
  };
  for (const k of ['timeout_ms', 'body_idle_timeout_ms', 'connect_timeout_ms'] as const) check(k, t[k]);
  check('connections_per_endpoint', t.connections_per_endpoint, Number.isInteger(t.connections_per_endpoint));
  for (const [group, values] of [
    ['health', t.health],
    ['outlier', t.outlier],
    ['retry', t.retry],
  ] as const)
    for (const [k, v] of Object.entries(values))
      check(`${group}.${k}`, v, k === 'budget_ratio' || k === 'min_retries_per_s' ? v >= 0 : positive(v));
  if (t.outlier.max_ejection_percent > 100)
    throw new LbSpecError('outlier.max_ejection_percent', 'is a percentage. To fix: give 1–100.');
  return t;
}

function stripGroups(spec: TuningInput): Partial<LbTuning> {
  const out: Record<string, unknown> = {};
  for (const k of [
    'timeout_ms',
    'body_idle_timeout_ms',
    'connect_timeout_ms',
    'connections_per_endpoint',
    'exact_scan_max',
  ] as const)
    if (spec[k] !== undefined) out[k] = spec[k];
  return out as Partial<LbTuning>;
}
