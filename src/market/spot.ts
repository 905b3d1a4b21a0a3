import { PROVIDER_TYPES, RESOURCE_CLASSES, SPEC_CLASSES, SPOT_KEYS } from '../protocol/glossary.js';
import { iso } from '../util/clock.js';
import { FLAG_INTERRUPTIBLE } from './columns.js';
import type { MarketEnv } from './env.js';
import type { Snapshot } from './index-store.js';

export type SpecClass = (typeof SPEC_CLASSES)[number];

export interface SpotDetail {
  /** USD per GPU-hour over offers with at least one node available now. */
  min: number | null;
  /** Nearest-rank percentiles of those offers' prices (one price per offer). */
  p10: number | null;
  median: number | null;
  offers: number;
  interruptible_min: number | null;
  on_demand_min: number | null;
  provider_of_min: string | null;
}

/**
 * GET /prices/spot. Top-level keys are glossary SPOT_KEYS (`p2p_market`, `traditional`, …), each
 * mapping every class of SPEC_CLASSES to the lowest available USD/GPU-hour now, or null; so the
 * spec's `prices['p2p_market']['GPU_A']` is a number. `detail` holds the figures behind each.
 */
export type SpotPrices = Record<string, Record<SpecClass, number | null>> & {
  detail: Record<string, Record<SpecClass, SpotDetail>>;
  unit: string;
  snapshot_at: string;
};

export const SPOT_UNIT = 'USD per GPU-hour';

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** p in (0,1]: the value at rank ceil(p·n) of an ascending list (nearest-rank method). */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1] as number;
}

export function computeSpot(snap: Snapshot, env: MarketEnv): SpotPrices {
  const specIdx = SPEC_CLASSES.map((c) => RESOURCE_CLASSES.indexOf(c));
  const bucket = (t: number, k: number) => t * SPEC_CLASSES.length + k;
  const prices: number[][] = Array.from({ length: PROVIDER_TYPES.length * SPEC_CLASSES.length }, () => []);
  const intrMin = new Float64Array(prices.length).fill(Number.NaN);
  const odMin = new Float64Array(prices.length).fill(Number.NaN);
  const minProvider = new Int32Array(prices.length).fill(-1);
  const { cls, ptype, available, unitPrice, flags, provider } = snap.cols;
  const perm = snap.perm.price;
  // Walking the price permutation fills each bucket already sorted ascending.
  for (let j = 0; j < perm.length; j++) {
    const i = perm[j] as number;
    if ((available[i] as number) === 0) continue;
    const k = specIdx.indexOf(cls[i] as number);
    if (k < 0) continue;
    const b = bucket(ptype[i] as number, k);
    const list = prices[b] as number[];
    const p = unitPrice[i] as number;
    if (list.length === 0) minProvider[b] = provider[i] as number;
    list.push(p);
    if ((flags[i] as number) & FLAG_INTERRUPTIBLE) {
      if (Number.isNaN(intrMin[b] as number)) intrMin[b] = p;
    } else if (Number.isNaN(odMin[b] as number)) odMin[b] = p;
  }
  const out = { detail: {}, unit: SPOT_UNIT, snapshot_at: iso(snap.at) } as SpotPrices;
  const nn = (x: number) => (Number.isNaN(x) ? null : r6(x));
  PROVIDER_TYPES.forEach((type, t) => {
    const key = SPOT_KEYS[type];
    const row = {} as Record<SpecClass, number | null>;
    const det = {} as Record<SpecClass, SpotDetail>;
    SPEC_CLASSES.forEach((c, k) => {
      const b = bucket(t, k);
      const list = prices[b] as number[];
      const min = list.length ? r6(list[0] as number) : null;
      row[c] = min;
      const med =
        list.length === 0
          ? null
          : list.length % 2
            ? (list[(list.length - 1) / 2] as number)
            : ((list[list.length / 2 - 1] as number) + (list[list.length / 2] as number)) / 2;
      det[c] = {
        min,
        p10: nn(nearestRank(list, 0.1) ?? Number.NaN),
        median: nn(med ?? Number.NaN),
        offers: list.length,
        interruptible_min: nn(intrMin[b] as number),
        on_demand_min: nn(odMin[b] as number),
        provider_of_min:
          minProvider[b] === -1 ? null : (env.providers.values[minProvider[b] as number] ?? null),
      };
    });
    (out as Record<string, unknown>)[key] = row;
    out.detail[key] = det;
  });
  return out;
}
