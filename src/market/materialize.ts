import { LATENCY_BANDS, PROVIDER_TYPES, RESOURCE_CLASSES, VERIFICATION } from '../protocol/glossary.js';
import type { Offer } from '../protocol/schemas/offer.js';
import { iso } from '../util/clock.js';
import { FLAG_INTERRUPTIBLE, FLAG_LAN, FLAG_SIMULATED, LAN_RADIUS_KM } from './columns.js';
import type { LocView, MarketEnv } from './env.js';
import { encodeOfferId } from './ids.js';
import type { Snapshot } from './index-store.js';

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** One row → the wire Offer (only rows that leave the market are ever built as objects). */
export function toOffer(snap: Snapshot, env: MarketEnv, view: LocView, i: number): Offer {
  const c = snap.cols;
  const model = c.model[i] as number;
  const gpu = model !== 0;
  const flags = c.flags[i] as number;
  const loc = c.loc[i] as number;
  const km = view.dist[loc] as number;
  const gpuMem = c.gpuMem[i] as number;
  const dq = c.dq[i] as number;
  return {
    id: encodeOfferId(c.idHi[i] as number, c.idLo[i] as number),
    provider: env.providers.values[c.provider[i] as number] as string,
    provider_type: PROVIDER_TYPES[c.ptype[i] as number] as Offer['provider_type'],
    resource_type: RESOURCE_CLASSES[c.cls[i] as number] as Offer['resource_type'],
    profile: env.modelProfile(model),
    sku: env.skus.values[c.sku[i] as number] as string,
    gpu_model: env.modelName(model),
    gpu_count: c.gpuCount[i] as number,
    gpu_memory_gb: gpu && !Number.isNaN(gpuMem) ? r3(gpuMem) : null,
    vcpus: r3(c.vcpus[i] as number),
    memory_gb: r3(c.mem[i] as number),
    price_per_hour: c.price[i] as number,
    price_per_gpu_hour: gpu ? r6(c.unitPrice[i] as number) : null,
    list_price_per_hour: c.listPrice[i] as number,
    currency: 'USD',
    interruptible: (flags & FLAG_INTERRUPTIBLE) !== 0,
    reliability: c.reliability[i] as number,
    region: env.locRegion(loc),
    zone: c.zone[i] === 0 ? null : (env.zones.values[c.zone[i] as number] as string),
    latency_band:
      flags & FLAG_LAN && km <= LAN_RADIUS_KM
        ? 'LAN'
        : (LATENCY_BANDS[view.band[loc] as number] as Offer['latency_band']),
    distance_km: Number.isNaN(km) ? null : Math.round(km),
    available: c.available[i] as number,
    verification: VERIFICATION[c.verification[i] as number] as string,
    capabilities: gpu ? env.modelCaps(model, gpuMem) : null,
    observed_at: iso(c.observedAt[i] as number),
    simulated: (flags & FLAG_SIMULATED) !== 0,
    data_quality: dq === 0 ? [] : (env.dqs.values[dq] as string).split('\u0001'),
  };
}
