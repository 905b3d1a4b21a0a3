import { createCapabilityCatalog } from '../capabilities/index.js';
import { loadGeo } from '../market/geo.js';
import type { ProviderType } from '../protocol/glossary.js';
import type { Offer } from '../protocol/schemas/offer.js';
import { ManualClock } from '../util/clock.js';
import { parseOrchestrate } from './request.js';
import type { PlanRequest } from './types.js';

/**
 * Test fixtures for the planner: hand-built offers in the real wire shape, the real capability
 * catalog and region table, a hand-moved clock. Prices are USD per node-hour as on the wire.
 */

export const T0 = Date.UTC(2025, 0, 1);
export const capabilities = createCapabilityCatalog();
export const geo = loadGeo();

export interface OfferSpec {
  id: string;
  provider: string;
  provider_type?: ProviderType;
  gpu_model?: string | null;
  gpu_count?: number;
  /** USD per node-hour. */
  price: number;
  region?: string;
  latency_band?: Offer['latency_band'];
  available?: number;
  reliability?: number;
  interruptible?: boolean;
  vcpus?: number;
  memory_gb?: number;
}

export function mkOffer(s: OfferSpec): Offer {
  const model = s.gpu_model === undefined ? 'H100' : s.gpu_model;
  const p = model === null ? null : capabilities.profile(model);
  const count = model === null ? 0 : (s.gpu_count ?? 1);
  return {
    id: s.id,
    provider: s.provider,
    provider_type: s.provider_type ?? 'traditional_cloud',
    resource_type: capabilities.classOf(model),
    profile: model,
    sku: `${s.id}-sku`,
    gpu_model: model,
    gpu_count: count,
    gpu_memory_gb: p?.memory_gb ?? null,
    vcpus: s.vcpus ?? 16,
    memory_gb: s.memory_gb ?? 128,
    price_per_hour: s.price,
    price_per_gpu_hour: count > 0 ? s.price / count : null,
    list_price_per_hour: s.price,
    currency: 'USD',
    interruptible: s.interruptible ?? false,
    reliability: s.reliability ?? 1,
    region: s.region ?? 'us-east-1',
    zone: null,
    latency_band: s.latency_band ?? 'regional',
    distance_km: null,
    available: s.available ?? 4,
    verification: 'catalog_listed',
    capabilities: p
      ? {
          fp16_tflops: p.fp16_tflops,
          fp32_tflops: p.fp32_tflops,
          int8_tops: p.int8_tops,
          memory_gb: p.memory_gb,
          bandwidth_gb_s: p.bandwidth_gb_s,
          interconnect: p.interconnect,
        }
      : null,
    observed_at: new Date(T0).toISOString(),
    simulated: true,
    data_quality: [],
  };
}

/**
 * The market of the spec example. Reliability 1 keeps the risk model out of the arithmetic
 * (efficiency 1), so work_rate is the capability ratio: H100 1.0, A100-80GB 312/989.4 = 0.315343.
 */
export function specMarket(): Offer[] {
  return [
    // decentralized_compute H100 at $0.79/GPU-hour: unit cost 0.79 per reference-hour (cheapest).
    mkOffer({
      id: 'of_ionet_h100',
      provider: 'ionet',
      provider_type: 'decentralized_compute',
      price: 0.79,
      available: 4,
    }),
    // p2p A100-80GB at $0.44: unit cost 0.44 / 0.315343 = 1.3953 per reference-hour.
    mkOffer({
      id: 'of_vast_a100',
      provider: 'vast',
      provider_type: 'p2p_marketplace',
      gpu_model: 'A100-80GB',
      price: 0.44,
      available: 40,
    }),
    // traditional cloud H100 at $2.49: over the $2.00 cap; the baseline.
    mkOffer({ id: 'of_lambda_h100', provider: 'lambda', price: 2.49, available: 8 }),
    // 8×H100 node at $98.32 = $12.29/GPU-hour: over the cap, a dearer baseline.
    mkOffer({ id: 'of_aws_p5', provider: 'aws', gpu_count: 8, price: 98.32, available: 2 }),
    // 24 GB cards: under memory_gb 80.
    mkOffer({
      id: 'of_runpod_4090',
      provider: 'runpod',
      provider_type: 'serverless_compute',
      gpu_model: 'RTX4090',
      price: 0.35,
      available: 10,
    }),
    // Cheap but far: global band.
    mkOffer({
      id: 'of_far_h100',
      provider: 'faraway',
      provider_type: 'decentralized_cloud',
      price: 0.5,
      latency_band: 'global',
      region: 'ap-southeast-1',
    }),
  ];
}

export const knownProviders = (offers: readonly Offer[]) => new Set(offers.map((o) => o.provider));

/** Parse a body a test wrote; throws on problems because the test is wrong then. */
export function req(body: unknown, offers: readonly Offer[] = specMarket()): PlanRequest {
  const r = parseOrchestrate(body, { capabilities, geo, knownProviders: knownProviders(offers) });
  if (!r.ok) throw new Error(`bad test body: ${JSON.stringify(r.problems)}`);
  return r.value;
}

export const SPEC_BODY = {
  requester: 'agent_model_trainer',
  workload: { type: 'batch_processing', compute_hours: 1000, memory_gb: 80, interconnect: 'optional' },
  constraints: { max_price_per_hour: 2.0, latency_band: 'regional', redundancy: 2 },
};

export const SPEC_SERVE_BODY = {
  workload: 'large_model_serve',
  requests_per_second: 100,
  redundancy: 3,
  providers: ['network_a', 'platform_b', 'marketplace_c'],
};

export function newClock(): ManualClock {
  return new ManualClock(T0);
}

let seq = 0;
export const newId = () => `t${++seq}`;
