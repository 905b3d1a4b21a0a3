import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simulate } from './index.js';
import { type ListedOffer, PRICE_BUCKET_MS } from './model.js';

const T0 = Date.UTC(2026, 0, 1);
const spot: ListedOffer = {
  provider: 'runpod',
  provider_type: 'serverless_compute',
  sku: '1x_A100-80GB_SECURE',
  gpu_model: 'A100-80GB',
  gpu_count: 1,
  vcpus: 8,
  memory_gb: 80,
  gpu_memory_gb: 80,
  list_price_per_hour: 1.19,
  interruptible: true,
  region: 'CA',
  zone: 'CA-MTL-1',
  verification: 'catalog_listed',
  data_quality: [],
  on_demand_price: 1.64,
  loaded_at: T0,
};
const onDemand: ListedOffer = { ...spot, interruptible: false, list_price_per_hour: 1.64 };

describe('simulate', () => {
  it('two gateways with the same seed agree; another seed differs', () => {
    const t = T0 + 3 * 3600_000;
    assert.deepEqual(simulate(spot, t, 42), simulate(spot, t, 42));
    const prices = [1, 2, 3, 4, 5].map((s) => simulate(spot, t, s).price_per_hour);
    assert.ok(new Set(prices).size > 1);
  });
  it('on-demand: price and observed_at are the catalog figures; simulated true', () => {
    const o = simulate(onDemand, T0 + 86_400_000, 1);
    assert.equal(o.price_per_hour, 1.64);
    assert.equal(o.list_price_per_hour, 1.64);
    assert.equal(o.observed_at, T0);
    assert.equal(o.simulated, true);
    assert.equal(o.reliability, 0.997);
    assert.ok(!('on_demand_price' in o) && !('loaded_at' in o));
  });
  it('spot: moves within [0.5 × 1.19, 1.64], constant within a bucket, observed at the bucket start', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const t = T0 + i * PRICE_BUCKET_MS;
      const o = simulate(spot, t, 9);
      assert.ok(o.price_per_hour >= 0.595 && o.price_per_hour <= 1.64, `${o.price_per_hour}`);
      assert.equal(o.list_price_per_hour, 1.19);
      assert.equal(o.observed_at, t);
      assert.ok(o.reliability >= 0.88 && o.reliability <= 0.95);
      assert.equal(simulate(spot, t + PRICE_BUCKET_MS - 1, 9).price_per_hour, o.price_per_hour);
      seen.add(o.price_per_hour);
    }
    assert.ok(seen.size > 100);
  });
  it('does not share data_quality arrays with the listed offer', () => {
    const listed = { ...spot, data_quality: ['spot_at_cap'] };
    const o = simulate(listed, T0, 1);
    o.data_quality.push('x');
    assert.deepEqual(listed.data_quality, ['spot_at_cap']);
  });
});
