import { LATENCY_BANDS, type LatencyBand, RESOURCE_CLASSES } from '../protocol/glossary.js';
import { FLAG_INTERRUPTIBLE, FLAG_LAN, FLAG_SIMULATED, LAN_RADIUS_KM } from './columns.js';
import type { MarketEnv } from './env.js';
import type { GeoPoint } from './geo.js';
import type { Snapshot } from './index-store.js';

/** What GET /providers shows of one provider, computed from the offers in a snapshot. */
export interface ProviderStats {
  offers: number;
  /** GPUs rentable now: Σ available nodes × GPUs per node over GPU offers. */
  available_gpus: number;
  /** vCPUs rentable now: Σ available nodes × vCPUs per node. */
  available_vcpus: number;
  /** Nodes rentable now. */
  available_nodes: number;
  classes: Set<string>;
  models: Set<string>;
  /** USD per GPU-hour over GPU offers with capacity (all GPU offers when none has any). */
  price_min: number | null;
  price_max: number | null;
  /** USD per node-hour over CPU-only offers. */
  cpu_price_min: number | null;
  cpu_price_max: number | null;
  best_band: LatencyBand | null;
  regions: Set<string>;
  interruptible: boolean;
  simulated: boolean;
}

const cache = new WeakMap<Snapshot, Map<string, ProviderStats>>();

function empty(): ProviderStats {
  return {
    offers: 0,
    available_gpus: 0,
    available_vcpus: 0,
    available_nodes: 0,
    classes: new Set(),
    models: new Set(),
    price_min: null,
    price_max: null,
    cpu_price_min: null,
    cpu_price_max: null,
    best_band: null,
    regions: new Set(),
    interruptible: false,
    simulated: false,
  };
}

/** Drop a snapshot's cached stats (its `available` column was patched). */
export function forgetProviderStats(snap: Snapshot): void {
  cache.delete(snap);
}

/**
 * Per-provider aggregates of a snapshot in one pass over its columns, cached per snapshot (a
 * WeakMap: it goes when the snapshot does). Only `available` ever changes in a live snapshot (a
 * reservation), and the market then calls forgetProviderStats.
 */
export function providerStats(snap: Snapshot, env: MarketEnv, from: GeoPoint): Map<string, ProviderStats> {
  const hit = cache.get(snap);
  if (hit) return hit;
  const c = snap.cols;
  const view = env.locView(from);
  const out = new Map<string, ProviderStats>();
  // Capacity-weighted price bounds: track both "with capacity" and "any" and pick after the pass.
  const anyMin = new Map<string, number>();
  const anyMax = new Map<string, number>();
  const lan = LATENCY_BANDS.indexOf('LAN');
  for (let r = 0; r < snap.n; r++) {
    const name = env.providers.values[c.provider[r] as number] as string;
    let s = out.get(name);
    if (!s) {
      s = empty();
      out.set(name, s);
    }
    const avail = c.available[r] as number;
    const gpus = c.gpuCount[r] as number;
    const flags = c.flags[r] as number;
    const price = c.unitPrice[r] as number;
    s.offers++;
    s.available_nodes += avail;
    s.available_vcpus += avail * (c.vcpus[r] as number);
    s.classes.add(RESOURCE_CLASSES[c.cls[r] as number] as string);
    if (flags & FLAG_INTERRUPTIBLE) s.interruptible = true;
    if (flags & FLAG_SIMULATED) s.simulated = true;
    const region = env.locRegion(c.loc[r] as number);
    if (region) s.regions.add(region);
    const near = (view.dist[c.loc[r] as number] as number) <= LAN_RADIUS_KM;
    const band = flags & FLAG_LAN && near ? lan : (view.band[c.loc[r] as number] as number);
    const bestIdx = s.best_band === null ? 99 : LATENCY_BANDS.indexOf(s.best_band);
    if (band < bestIdx) s.best_band = LATENCY_BANDS[band] as LatencyBand;
    if (gpus > 0) {
      s.available_gpus += avail * gpus;
      const m = env.modelName(c.model[r] as number);
      if (m) s.models.add(m);
      if (Number.isFinite(price)) {
        anyMin.set(name, Math.min(anyMin.get(name) ?? Infinity, price));
        anyMax.set(name, Math.max(anyMax.get(name) ?? -Infinity, price));
        if (avail > 0) {
          s.price_min = s.price_min === null ? price : Math.min(s.price_min, price);
          s.price_max = s.price_max === null ? price : Math.max(s.price_max, price);
        }
      }
    } else if (Number.isFinite(price)) {
      s.cpu_price_min = s.cpu_price_min === null ? price : Math.min(s.cpu_price_min, price);
      s.cpu_price_max = s.cpu_price_max === null ? price : Math.max(s.cpu_price_max, price);
    }
  }
  for (const [name, s] of out) {
    if (s.price_min === null && anyMin.has(name)) {
      s.price_min = anyMin.get(name) ?? null;
      s.price_max = anyMax.get(name) ?? null;
    }
    s.available_gpus = Math.round(s.available_gpus);
  }
  cache.set(snap, out);
  return out;
}
