/**
 * The glossary: one place where computemd fixes units and names so they never drift between
 * endpoints, issues and clients. docs/glossary.md is the prose version of this file; keep both in
 * step. Every later module cites these constants instead of restating a unit.
 *
 * Units
 * - Prices of GPU offers, every `max_price` filter, every `max_price_per_hour` constraint and every
 *   price caveat are USD per GPU-hour. For CPU-only offers they are USD per node-hour.
 * - `price_per_hour` on an offer is the whole node (all its GPUs); `price_per_gpu_hour` divides it
 *   by `gpu_count`.
 * - Workload and filter `memory_gb` is GPU memory per GPU for GPU work (host memory for CPU work).
 * - `compute_hours` / `gpu_hours` in /orchestrate and /discover are reference GPU-hours: hours of
 *   work on the reference profile (default GPU_TYPE_A), normalised by capability. `gpu_hours` next
 *   to a named `gpu_type` in /book are raw hours on that type.
 * - Money inside the system is integer micro-USD (1 USD = 1,000,000). Wire prices are numbers in USD.
 * - Times are RFC 3339 UTC; durations are seconds unless a field name says hours.
 */

export const PROVIDER_TYPES = [
  'traditional_cloud',
  'p2p_marketplace',
  'decentralized_cloud',
  /** The spec's "Distributed GPU Network". */
  'decentralized_compute',
  'serverless_compute',
  'edge',
] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

export function isProviderType(s: string): s is ProviderType {
  return (PROVIDER_TYPES as readonly string[]).includes(s);
}

/**
 * Keys of GET /prices/spot. The spec's Python loop reads `prices['p2p_market']` and
 * `prices['traditional']`; the other types use their own names.
 */
export const SPOT_KEYS: Record<ProviderType, string> = {
  traditional_cloud: 'traditional',
  p2p_marketplace: 'p2p_market',
  decentralized_cloud: 'decentralized_cloud',
  decentralized_compute: 'decentralized_compute',
  serverless_compute: 'serverless_compute',
  edge: 'edge',
};

/** The spec's "Active Compute Markets" table, row for row, with our type for each. */
export const ACTIVE_MARKETS: ReadonlyArray<{ type: ProviderType; label: string; latency_band: LatencyBand }> =
  [
    { type: 'decentralized_compute', label: 'Distributed GPU Network', latency_band: 'metro' },
    { type: 'decentralized_cloud', label: 'Decentralized Cloud', latency_band: 'regional' },
    { type: 'p2p_marketplace', label: 'P2P Marketplace', latency_band: 'regional' },
    { type: 'serverless_compute', label: 'Serverless Platform', latency_band: 'metro' },
    { type: 'traditional_cloud', label: 'Traditional Cloud', latency_band: 'regional' },
    { type: 'edge', label: 'Edge Fleet', latency_band: 'LAN' },
  ];

/** Latency bands, best first. An offer matches a band filter when its band is that one or better. */
export const LATENCY_BANDS = ['LAN', 'metro', 'regional', 'global'] as const;
export type LatencyBand = (typeof LATENCY_BANDS)[number];

export function isLatencyBand(s: string): s is LatencyBand {
  return (LATENCY_BANDS as readonly string[]).includes(s);
}

/** The spec's round-trip figures for each band (GET /capabilities shows them as written). */
export const LATENCY_BAND_RTT: Record<LatencyBand, string> = {
  LAN: '1-3ms',
  metro: '3-10ms',
  regional: '10-30ms',
  global: '30-100ms',
};

/**
 * Great-circle distance limits used to estimate a band from region coordinates. Light in fibre
 * covers ~100 km per ms of round trip after routing overhead, so 3 ms ≈ 300 km, 30 ms ≈ 2,500 km.
 * LAN is only ever the local host (distance is not enough to be on the same LAN).
 */
export const LATENCY_BAND_MAX_KM: Record<Exclude<LatencyBand, 'LAN' | 'global'>, number> = {
  metro: 300,
  regional: 2500,
};

/**
 * Resource classes. Configurable aliases over real models (capabilities/classes.ts holds the
 * default membership): GPU_A flagship data-centre, GPU_B 24 GB-class consumer/prosumer, GPU_C
 * previous-generation data-centre. CPU is every offer without a GPU.
 */
export const RESOURCE_CLASSES = ['GPU_A', 'GPU_B', 'GPU_C', 'GPU_OTHER', 'CPU'] as const;
export type ResourceClass = (typeof RESOURCE_CLASSES)[number];

/** The classes the spec names and that /prices/spot always reports (null where none). */
export const SPEC_CLASSES = ['GPU_A', 'GPU_B', 'GPU_C'] as const;

/** The draft's verification words for offers. */
export const VERIFICATION = ['benchmark_based', 'provider_attested', 'catalog_listed'] as const;
export type Verification = (typeof VERIFICATION)[number];

export const MICRO_USD_PER_USD = 1_000_000;

/** Default reference profile for normalised work (stated in the API docs). */
export const DEFAULT_REFERENCE_PROFILE = 'GPU_TYPE_A';

/** Sort orders accepted by the market. */
export const SORTS = ['price_asc', 'price_desc', 'perf_per_dollar_desc', 'reliability_desc'] as const;
export type Sort = (typeof SORTS)[number];
