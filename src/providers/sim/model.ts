import type { ProviderType } from '../../protocol/glossary.js';
import { type Rng, rngFor } from '../../util/random.js';
import type { OfferInput } from '../offer.js';

/**
 * The market model behind catalog providers: how many nodes are rentable now, how spot prices move,
 * how often nodes are interrupted. Every figure is a pure function of (seed, offer key, time bucket),
 * so two gateways started with the same seed show the same market at the same instant, and a test
 * reproduces any moment exactly. Nothing here reads a clock or Math.random.
 */

/** A catalog offer before the model runs: the listed figures only. */
export interface ListedOffer
  extends Omit<OfferInput, 'price_per_hour' | 'available' | 'reliability' | 'observed_at' | 'simulated'> {
  /** On-demand price of the same node where one is listed: the ceiling of a simulated spot price. */
  on_demand_price: number | null;
  /** Epoch ms the catalog file was loaded: observed_at of unmoved (on-demand) prices. */
  loaded_at: number;
}

/** Spot prices move once per bucket. */
export const PRICE_BUCKET_MS = 5 * 60_000;
/** Stock changes once per bucket. */
export const AVAILABILITY_BUCKET_MS = 15 * 60_000;
/** AR(1) coefficient per price bucket: a shock halves in ln 0.5 / ln 0.8 ≈ 3.1 buckets (15 min). */
export const WALK_PHI = 0.8;
/** Buckets summed; 0.8^24 ≈ 0.005, so truncating the infinite sum changes nothing visible. */
export const WALK_TERMS = 24;

export interface TypeParams {
  /** Stationary standard deviation of the log spot price around the listed spot price. */
  spot_sigma: number;
  /** Mean nodes rentable for a 1-GPU, mid-priced shape. */
  base_available: number;
  /** Probability a shape has none rentable in a bucket. */
  p_none: number;
  /** On-demand uptime per hour. */
  on_demand_reliability: number;
  /** Spot: probability of an uninterrupted hour when the spot market is slack / at its cap. */
  spot_reliability_slack: number;
  spot_reliability_tight: number;
}

export const TYPE_PARAMS: Record<ProviderType, TypeParams> = {
  traditional_cloud: {
    spot_sigma: 0.06,
    base_available: 12,
    p_none: 0.1,
    on_demand_reliability: 0.999,
    spot_reliability_slack: 0.97,
    spot_reliability_tight: 0.9,
  },
  serverless_compute: {
    spot_sigma: 0.08,
    base_available: 10,
    p_none: 0.12,
    on_demand_reliability: 0.997,
    spot_reliability_slack: 0.95,
    spot_reliability_tight: 0.88,
  },
  decentralized_cloud: {
    spot_sigma: 0.1,
    base_available: 8,
    p_none: 0.18,
    on_demand_reliability: 0.99,
    spot_reliability_slack: 0.92,
    spot_reliability_tight: 0.84,
  },
  decentralized_compute: {
    spot_sigma: 0.12,
    base_available: 8,
    p_none: 0.2,
    on_demand_reliability: 0.985,
    spot_reliability_slack: 0.9,
    spot_reliability_tight: 0.82,
  },
  p2p_marketplace: {
    spot_sigma: 0.12,
    base_available: 5,
    p_none: 0.25,
    on_demand_reliability: 0.98,
    spot_reliability_slack: 0.88,
    spot_reliability_tight: 0.8,
  },
  // The local host is not simulated; these keep the record total.
  edge: {
    spot_sigma: 0,
    base_available: 1,
    p_none: 0,
    on_demand_reliability: 0.99,
    spot_reliability_slack: 0.99,
    spot_reliability_tight: 0.99,
  },
};

/** Stable identity of an offer across refreshes and gateways. */
export function offerKey(o: ListedOffer): string {
  return `${o.provider}|${o.sku}|${o.region}|${o.zone ?? ''}|${o.interruptible ? 'spot' : 'od'}`;
}

/** Standard normal from two uniforms (Box–Muller). */
export function gaussian(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * The log-price deviation at `bucket`: a truncated AR(1) sum Σ φ^k ε(bucket−k), each ε drawn from
 * rngFor(seed, key|bucket−k). Mean-reverting (E = 0) with stationary sd = sigma; consecutive buckets
 * share all but one shock, so the walk is smooth.
 */
export function walk(seed: number, key: string, bucket: number, sigma: number): number {
  // Var(Σ φ^k ε) = 1/(1−φ²) for unit ε, so scale ε by sigma·√(1−φ²).
  const scale = sigma * Math.sqrt(1 - WALK_PHI * WALK_PHI);
  let x = 0;
  let w = 1;
  for (let k = 0; k < WALK_TERMS; k++) {
    x += w * gaussian(rngFor(seed, `${key}|${bucket - k}`));
    w *= WALK_PHI;
  }
  return x * scale;
}

export interface SpotMove {
  price: number;
  /** 0 = at the floor, 1 = at the on-demand ceiling. */
  tightness: number;
}

/**
 * Listed spot × e^walk, kept within [0.5 × listed, ceiling]. The ceiling is the on-demand price (a spot
 * price never exceeds it); with no on-demand price it is 1.25 × the listed spot price.
 */
export function moveSpot(listed: number, ceiling: number | null, deviation: number): SpotMove {
  const floor = listed * 0.5;
  const cap = Math.max(ceiling ?? listed * 1.25, listed);
  const price = Math.min(cap, Math.max(floor, listed * Math.exp(deviation)));
  const tightness = cap > floor ? (price - floor) / (cap - floor) : 1;
  return { price: round6(price), tightness };
}

/** Price tier factor of a node by its per-GPU (or per-node for CPU) hourly price: cheap shapes are plentiful. */
export function tierFactor(pricePerUnit: number): number {
  if (pricePerUnit < 1) return 1.5;
  if (pricePerUnit <= 3) return 1;
  return 0.5;
}

/**
 * Nodes of a shape rentable now. Zero with probability p_none (+0.1 for the top tier), else
 * mean × (0.25 … 1.75) where mean = base × tier / √gpus (an 8-GPU node is rarer than a 1-GPU one).
 */
export function availability(seed: number, key: string, bucket: number, o: ListedOffer): number {
  const p = TYPE_PARAMS[o.provider_type];
  const rng = rngFor(seed, `avail|${key}|${bucket}`);
  const perUnit = o.gpu_count > 0 ? o.list_price_per_hour / o.gpu_count : o.list_price_per_hour;
  const tier = tierFactor(perUnit);
  const pNone = p.p_none + (tier < 1 ? 0.1 : 0);
  if (rng.next() < pNone) return 0;
  const mean = (p.base_available * tier) / Math.sqrt(Math.max(1, o.gpu_count));
  return Math.max(1, Math.floor(mean * (0.25 + 1.5 * rng.next())));
}

/** Probability of an uninterrupted hour: interpolated from slack to tight by the spot price's position. */
export function reliability(o: ListedOffer, tightness: number): number {
  const p = TYPE_PARAMS[o.provider_type];
  if (!o.interruptible) return p.on_demand_reliability;
  const t = Math.min(1, Math.max(0, tightness));
  return round6(p.spot_reliability_slack - (p.spot_reliability_slack - p.spot_reliability_tight) * t);
}

export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
