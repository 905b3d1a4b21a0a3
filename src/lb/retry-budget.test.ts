import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetryBudget } from './retry-budget.js';

/** Retries granted out of `want` asked for at `now`. */
const take = (b: RetryBudget, want: number, now: number) => {
  let n = 0;
  for (let i = 0; i < want; i++) if (b.tryRetry(now)) n++;
  return n;
};

describe('retry budget', () => {
  it('a quiet balancer still gets min_retries_per_s × window', () => {
    // 2/s over a 10 s window → 20 retries with no traffic at all.
    const b = new RetryBudget(0.2, 2, 10_000);
    assert.equal(take(b, 50, 0), 20);
  });

  it('grants ratio × requests on top, and no more', () => {
    // 1,000 requests × 0.2 = 200, plus 10/s × 10 s = 100 → 300.
    const b = new RetryBudget(0.2, 10, 10_000);
    for (let i = 0; i < 1000; i++) b.request(0);
    assert.equal(b.remaining(0), 300);
    assert.equal(take(b, 1000, 0), 300);
    assert.equal(b.tryRetry(0), false);
  });

  it('a failing fleet is sent at most (1 + ratio) × its traffic once the floor is spent', () => {
    // Every request fails and wants two retries; the floor is 0. 10,000 requests → 2,000 retries.
    const b = new RetryBudget(0.2, 0, 10_000);
    let retries = 0;
    for (let i = 0; i < 10_000; i++) {
      b.request(i);
      retries += take(b, 2, i);
    }
    assert.equal(retries, 2000);
  });

  it('requests and retries leave the window as it slides', () => {
    // Window 10 s in ten 1 s buckets.
    const b = new RetryBudget(0.5, 0, 10_000);
    for (let i = 0; i < 100; i++) b.request(0);
    assert.equal(take(b, 100, 0), 50);
    assert.equal(b.remaining(9_999), 0, 'still inside the window');
    // At 10 s the bucket of t=0 drops out: its requests and its retries with it.
    assert.equal(b.remaining(10_000), 0);
    for (let i = 0; i < 10; i++) b.request(10_000);
    assert.equal(b.remaining(10_000), 5);
    // A long silence empties it all.
    assert.equal(b.remaining(100_000), 0);
  });
});
