import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Offer } from '../protocol/schemas/offer.js';
import {
  isProblem,
  lineCost,
  type OfferSource,
  priceProviderLine,
  savingsPercent,
  tokenPrice,
} from './pricing.js';
import type { PaymentRequest } from './request.js';

const offer = (id: string, over: Partial<Offer>): Offer =>
  ({
    id,
    provider: 'akash',
    provider_type: 'decentralized_compute',
    resource_type: 'GPU_B',
    gpu_model: 'RTX4090',
    gpu_count: 1,
    price_per_hour: 0.4,
    price_per_gpu_hour: 0.4,
    available: 5,
    vcpus: 16,
    interruptible: false,
    simulated: true,
    ...over,
  }) as Offer;

const PAY: PaymentRequest = {
  method: 'credits',
  model: 'per_second',
  stream: false,
  epoch: null,
  price_per_million_tokens_usd: null,
};

/** A market of fixed offers: `gpu` for GPU asks, `cpu` for CPU asks, a fixed baseline. */
function source(gpu: Offer[], cpu: Offer[], baseline: Offer | null = null): OfferSource {
  const all = [...gpu, ...cpu];
  return {
    runKinds: () => [],
    get: (id) => all.find((o) => o.id === id) ?? null,
    supply: (id) => all.find((o) => o.id === id)?.available ?? null,
    cheapest: (q) =>
      q.provider === 'nobody'
        ? { ok: false, reason: 'unknown_provider' }
        : { ok: true, offers: (q.cpu ? cpu : gpu).filter((o) => o.available >= q.minAvailable) },
    baselineFor: () => baseline,
  };
}

describe('priceProviderLine', () => {
  it('spreads GPU-hours over the nodes of the cheapest offer', () => {
    const s = source([offer('of_8x', { gpu_count: 8, price_per_hour: 3.2, price_per_gpu_hour: 0.4 })], []);
    const l = priceProviderLine(
      s,
      {
        kind: 'provider',
        provider: 'network_b',
        gpu_hours: 400,
        gpu_type: null,
        cpu_fallback: false,
        nodes: 2,
      },
      0,
      PAY,
    );
    assert.ok(!isProblem(l));
    // 400 GPU-hours / (2 nodes × 8 GPUs) = 25 h; cost 2 × 25 × $3.20 = $160
    assert.equal(l.hours, 25);
    assert.equal(l.cost, 160_000_000);
    assert.equal(l.cpu_fallback, false);
  });

  it('cpu_fallback: a CPU offer stands in when no GPU offer is free, one node-hour per GPU-hour', () => {
    const s = source(
      [offer('of_gpu', { available: 0 })],
      [
        offer('of_cpu', {
          gpu_count: 0,
          gpu_model: null,
          resource_type: 'CPU',
          price_per_hour: 0.1,
          price_per_gpu_hour: null,
        }),
      ],
    );
    const a = {
      kind: 'provider' as const,
      provider: 'network_b',
      gpu_hours: 400,
      gpu_type: null,
      cpu_fallback: true,
      nodes: 1,
    };
    const l = priceProviderLine(s, a, 1, PAY);
    assert.ok(!isProblem(l));
    assert.equal(l.offer.id, 'of_cpu');
    assert.equal(l.cpu_fallback, true);
    assert.equal(l.hours, 400);
    assert.equal(l.cost, 40_000_000); // 400 h × $0.10
    // Without the flag the same ask is sold out, naming the allocation.
    const no = priceProviderLine(s, { ...a, cpu_fallback: false }, 1, PAY);
    assert.ok(isProblem(no) && no.kind === 'sold_out' && no.param === '/allocations/1/provider');
  });

  it('skips offers a concurrent booking just sold', () => {
    const s = source([offer('of_a', { price_per_hour: 0.3 }), offer('of_b', { price_per_hour: 0.5 })], []);
    const l = priceProviderLine(
      s,
      { kind: 'provider', provider: 'x', gpu_hours: 1, gpu_type: null, cpu_fallback: false, nodes: 1 },
      0,
      PAY,
      new Set(['of_a']),
    );
    assert.ok(!isProblem(l) && l.offer.id === 'of_b');
  });

  it('an unknown provider is not_found', () => {
    const l = priceProviderLine(
      source([], []),
      { kind: 'provider', provider: 'nobody', gpu_hours: 1, gpu_type: null, cpu_fallback: false, nodes: 1 },
      0,
      PAY,
    );
    assert.ok(isProblem(l) && l.kind === 'not_found');
  });
});

describe('arithmetic', () => {
  it('lineCost rounds once in micros', () => {
    // 3 nodes × 0.333333 h × $1.000001 = $1.000000... → 1,000,000 micros (rounded half up)
    assert.equal(lineCost(3, 0.333333, 1_000_001), 1_000_000);
    assert.equal(lineCost(2, 1.5, 1_500_000), 4_500_000);
  });
  it('per-token price from the node price at 1,000 tokens/s per GPU', () => {
    // $3.60 per node-hour, 1 GPU: 3.6M tokens/h → $1.00 per million tokens
    assert.equal(tokenPrice(offer('o', {}), 3_600_000, { ...PAY, model: 'per_token' }), 1_000_000);
    assert.equal(tokenPrice(offer('o', {}), 3_600_000, PAY), null);
    assert.equal(
      tokenPrice(offer('o', {}), 3_600_000, {
        ...PAY,
        model: 'per_token',
        price_per_million_tokens_usd: 0.25,
      }),
      250_000,
    );
  });
  it('savings against the baseline, a line without one counting at its own cost', () => {
    const l = (cost: number, baseline_cost: number | null) => ({ cost, baseline_cost }) as never;
    // baseline 1000 + 200 (own) = 1200; cost 300 + 200 = 500 → (1200 − 500) / 1200 = 58.3%
    assert.deepEqual(savingsPercent([l(300, 1000), l(200, null)]), { percent: 58.3, baseline: 1200 });
    assert.deepEqual(savingsPercent([l(300, null)]), { percent: 0, baseline: null });
  });
});
