import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  availability,
  type ListedOffer,
  moveSpot,
  reliability,
  TYPE_PARAMS,
  tierFactor,
  walk,
} from './model.js';

const offer = (over: Partial<ListedOffer> = {}): ListedOffer => ({
  provider: 'aws',
  provider_type: 'traditional_cloud',
  sku: 'p5.48xlarge',
  gpu_model: 'H100',
  gpu_count: 8,
  vcpus: 192,
  memory_gb: 2048,
  gpu_memory_gb: 80,
  list_price_per_hour: 18.7,
  interruptible: true,
  region: 'us-east-1',
  zone: 'use1-az2',
  verification: 'catalog_listed',
  data_quality: [],
  on_demand_price: 55.04,
  loaded_at: 0,
  ...over,
});

describe('walk: a pure, mean-reverting AR(1) deviation', () => {
  it('is a pure function of (seed, key, bucket)', () => {
    assert.equal(walk(7, 'k', 1000, 0.1), walk(7, 'k', 1000, 0.1));
    assert.notEqual(walk(7, 'k', 1000, 0.1), walk(8, 'k', 1000, 0.1));
    assert.notEqual(walk(7, 'k', 1000, 0.1), walk(7, 'k2', 1000, 0.1));
  });
  it('has mean ≈ 0 and sd ≈ sigma over many buckets, and moves smoothly', () => {
    // 4000 buckets, sigma 0.1: the sample mean's sd is about 0.1 × √((1+φ)/(1−φ)) / √4000 ≈ 0.0047.
    const xs = Array.from({ length: 4000 }, (_, b) => walk(1, 'k', b, 0.1));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
    assert.ok(sd > 0.08 && sd < 0.12, `sd ${sd}`);
    // Lag-1 autocorrelation ≈ φ = 0.8.
    let c = 0;
    for (let i = 1; i < xs.length; i++) c += (xs[i]! - mean) * (xs[i - 1]! - mean);
    const rho = c / (xs.length - 1) / sd ** 2;
    assert.ok(rho > 0.7 && rho < 0.9, `rho ${rho}`);
  });
});

describe('moveSpot', () => {
  const cases: Array<[string, number, number | null, number, number, number]> = [
    // listed × e^0 = listed; tightness (18.7 − 9.35) / (55.04 − 9.35) = 0.2046…
    ['no deviation', 18.7, 55.04, 0, 18.7, 0.2046],
    // 18.7 × e^5 ≫ 55.04 → capped at on-demand, tightness 1
    ['capped at on-demand', 18.7, 55.04, 5, 55.04, 1],
    // 18.7 × e^−5 ≪ 9.35 → floored at half the listed spot, tightness 0
    ['floored at half', 18.7, 55.04, -5, 9.35, 0],
    // spot at cap (55.04/55.04): any upward move stays at 55.04
    ['spot_at_cap row', 55.04, 55.04, 0.1, 55.04, 1],
    // no on-demand price: ceiling 1.25 × 4.893 = 6.11625
    ['no on-demand: 1.25 × listed', 4.893, null, 1, 6.11625, 1],
  ];
  for (const [name, listed, ceiling, dev, price, tight] of cases) {
    it(name, () => {
      const m = moveSpot(listed, ceiling, dev);
      assert.equal(m.price, price);
      assert.ok(Math.abs(m.tightness - tight) < 1e-3, `${m.tightness}`);
    });
  }
});

describe('availability and reliability', () => {
  it('is deterministic, non-negative, and some shapes have none', () => {
    let zeros = 0;
    for (let b = 0; b < 500; b++) {
      const a = availability(3, 'k', b, offer());
      assert.equal(a, availability(3, 'k', b, offer()));
      assert.ok(Number.isInteger(a) && a >= 0);
      if (a === 0) zeros++;
    }
    // p_none traditional 0.1 + 0.1 (18.7/8 = 2.34 per GPU-hour is mid tier: +0) → ≈ 10% of 500 = 50
    assert.ok(zeros > 25 && zeros < 80, `${zeros}`);
  });
  it('price tiers: < $1 plentiful, > $3 scarce', () => {
    assert.deepEqual([tierFactor(0.5), tierFactor(2), tierFactor(4)], [1.5, 1, 0.5]);
  });
  it('reliability: on-demand ≥ 0.98; spot 0.80–0.97, lower for p2p and when the market is tight', () => {
    assert.equal(reliability(offer({ interruptible: false }), 0), 0.999);
    assert.equal(reliability(offer(), 0), 0.97);
    assert.equal(reliability(offer(), 1), 0.9);
    // p2p at half tightness: 0.88 − (0.88 − 0.80) × 0.5 = 0.84
    assert.equal(reliability(offer({ provider_type: 'p2p_marketplace' }), 0.5), 0.84);
    for (const [type, p] of Object.entries(TYPE_PARAMS)) {
      if (type === 'edge') continue;
      assert.ok(p.spot_reliability_tight >= 0.8 && p.spot_reliability_slack <= 0.97, type);
      assert.ok(p.on_demand_reliability >= 0.98, type);
    }
  });
});
