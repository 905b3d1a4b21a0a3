import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencyHistogram, PROM_BUCKETS_S } from './histogram.js';

describe('latency histogram', () => {
  it('quantiles are within one fine bucket (2^(1/8) ≈ 9%) above the true value, never below', () => {
    const h = new LatencyHistogram();
    assert.equal(h.quantile(0.5), null);
    // 1..1000 ms uniformly: p50 = 500 ms, p99 = 990 ms.
    for (let ms = 1; ms <= 1000; ms++) h.observe(ms);
    const p50 = h.quantile(0.5)!;
    const p99 = h.quantile(0.99)!;
    assert.ok(p50 >= 500 && p50 <= 500 * 2 ** (1 / 8), String(p50));
    assert.ok(p99 >= 990 && p99 <= 990 * 2 ** (1 / 8), String(p99));
  });

  it('Prometheus buckets: each observation counted once, in the first bucket whose bound holds it', () => {
    const h = new LatencyHistogram();
    // 0.3 ms → le 0.0005; 0.5 ms → le 0.0005 (bounds are inclusive); 0.7 ms → le 0.001; 10 min → +Inf.
    for (const ms of [0.3, 0.5, 0.7, 600_000]) h.observe(ms);
    assert.equal(h.coarse[0], 2);
    assert.equal(h.coarse[1], 1);
    assert.equal(h.coarse[PROM_BUCKETS_S.length], 1);
    assert.equal(h.count, 4);
    assert.ok(Math.abs(h.sumS - (0.0003 + 0.0005 + 0.0007 + 600)) < 1e-9);
  });
});
