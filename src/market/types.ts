import type { LatencyBand, ProviderType, Sort } from '../protocol/glossary.js';

/** A parsed, validated /nodes query (market/query.ts builds it from the wire). */
export interface MarketQuery {
  /**
   * resource_type: an offer matches when its model is in `models` OR its class is in `classes`
   * (a comma list mixes both: `GPU_A,RTX4090`). Both undefined = any.
   */
  models?: ReadonlySet<string>;
  /** Classes any of which match (resource_type=GPU_A, or CPU). */
  classes?: ReadonlySet<string>;
  /** gpu_model: canonical models, ANDed with resource_type. */
  gpu_models?: ReadonlySet<string>;
  min_gpu_count?: number;
  /** GPU memory per GPU for GPU offers, host memory for CPU offers. */
  min_memory_gb?: number;
  /** USD per GPU-hour for GPU offers, per node-hour for CPU offers. */
  max_price?: number;
  latency_band?: LatencyBand;
  /** Where bands and distances are measured from; default the gateway's configured location. */
  near?: { lat: number; lon: number };
  providers?: ReadonlySet<string>;
  /**
   * Spec placeholder names (marketplace_beta…) → the type they name; each resolves, per query, to
   * the cheapest provider of that type with an offer matching the other filters, and is ORed with
   * `providers`.
   */
  provider_placeholders?: ReadonlyMap<string, ProviderType>;
  provider_types?: ReadonlySet<ProviderType>;
  regions?: ReadonlySet<string>;
  interruptible?: boolean;
  min_reliability?: number;
  min_fp16_tflops?: number;
  min_available?: number;
  sort: Sort;
  limit: number;
  cursor?: string;
}

export interface ProviderHealth {
  provider: string;
  status: 'ok' | 'degraded' | 'down' | 'pending';
  last_refresh_at: string | null;
  last_success_at: string | null;
  last_error: string | null;
  consecutive_failures: number;
  offers: number;
}
