import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SPEC_CLASSES, SPOT_KEYS } from '../protocol/glossary.js';
import type { PriceTick } from './market.js';
import { nearestRank } from './spot.js';
import { newMarket, offer, T0 } from './testing.js';

const base = () =>
  newMarket({
    lambda: [offer({ provider: 'lambda', sku: 'h100', price_per_hour: 2.49 })],
    aws: [
      offer({ provider: 'aws', sku: 'p5', gpu_count: 8, price_per_hour: 40, interruptible: true }), // $5/GPU-h
      offer({ provider: 'aws', sku: 'p5', gpu_count: 8, price_per_hour: 98.32 }), // $12.29/GPU-h
      offer({ provider: 'aws', sku: 'p5-empty', gpu_count: 8, price_per_hour: 1, available: 0 }), // not available: ignored
    ],
    gcp: [offer({ provider: 'gcp', sku: 'a3', gpu_count: 8, price_per_hour: 88, region: 'europe-west4' })], // $11/GPU-h
    vast: [
      offer({
        provider: 'vast',
        provider_type: 'p2p_marketplace',
        sku: 'm1',
        gpu_model: 'RTX4090',
        price_per_hour: 0.35,
      }),
    ],
  });

describe('spot prices', () => {
  it('has every SPOT_KEY × SPEC_CLASS, null where nothing is available', () => {
    const { market } = base();
    const s = market.spotPrices();
    for (const key of Object.values(SPOT_KEYS)) {
      assert.deepEqual(Object.keys(s[key] ?? {}), [...SPEC_CLASSES], key);
    }
    assert.equal(s.p2p_market?.GPU_B, 0.35);
    assert.equal(s.p2p_market?.GPU_A, null);
    assert.equal(s.traditional?.GPU_A, 2.49);
    assert.equal(s.unit, 'USD per GPU-hour');
  });

  it('details min, p10, median, counts and market split', () => {
    const { market } = base();
    // traditional GPU_A available prices: 2.49, 5, 11, 12.29 → p10 rank ceil(0.4)=1 → 2.49;
    // median (5 + 11) / 2 = 8.
    assert.deepEqual(market.spotPrices().detail.traditional?.GPU_A, {
      min: 2.49,
      p10: 2.49,
      median: 8,
      offers: 4,
      interruptible_min: 5,
      on_demand_min: 2.49,
      provider_of_min: 'lambda',
    });
    assert.equal(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.1), 2); // ceil(1.1) = 2
  });

  it('emits ticks and records history when prices move', () => {
    const { market, clock } = base();
    const ticks: PriceTick[] = [];
    const off = market.onTick((t) => ticks.push(t));
    clock.advance(60_000);
    market.replaceOffers(
      new Map([['lambda', [offer({ provider: 'lambda', sku: 'h100', price_per_hour: 2.99 })]]]),
    );
    off();
    const agg = ticks.filter((t) => t.kind === 'aggregate');
    // The cheapest traditional GPU_A was lambda's $2.49; now it is lambda's $2.99.
    assert.deepEqual(
      agg.map((t) => t.kind === 'aggregate' && [t.spot_key, t.resource_type, t.previous, t.price]),
      [['traditional', 'GPU_A', 2.49, 2.99]],
    );
    const moved = ticks.find((t) => t.kind === 'offer');
    assert.ok(moved && moved.kind === 'offer' && moved.previous === 2.49 && moved.price_per_hour === 2.99);
    const h = market.history('GPU_A', T0, 'traditional_cloud');
    assert.deepEqual(
      h.series[0]?.points.map((p) => p.price),
      [2.49, 2.99],
    );
    assert.equal(
      market.history('GPU_A', T0 + 1).series.find((s) => s.spot_key === 'traditional')?.points.length,
      1,
    );
    const id = market.query({ sort: 'price_asc', limit: 1, providers: new Set(['lambda']) }).offers[0]
      ?.id as string;
    assert.deepEqual(
      market.offerHistory(id, 0)?.map((p) => p.price_per_hour),
      [2.49, 2.99],
    );
  });
});
