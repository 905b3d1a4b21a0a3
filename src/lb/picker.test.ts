import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../util/random.js';
import { Endpoint } from './endpoints.js';
import { LeastOutstandingPicker, RoundRobinPicker, WeightedPicker } from './picker.js';

const eps = (n: number, weights: number[] = []) =>
  Array.from(
    { length: n },
    (_, i) => new Endpoint({ id: `e${i}`, url: `http://h${i}:80`, weight: weights[i] ?? 1 }),
  );

function counts(list: Endpoint[], picks: (Endpoint | null)[]) {
  return list.map((ep) => picks.filter((p) => p === ep).length);
}

describe('pickers', () => {
  it('least outstanding takes the endpoint with fewest requests in flight', () => {
    const list = eps(3);
    const p = new LeastOutstandingPicker(mulberry32(1));
    list[0]!.outstanding = 5;
    list[1]!.outstanding = 2;
    list[2]!.outstanding = 7;
    for (let i = 0; i < 10; i++) assert.equal(p.pick(list, 0, []), list[1]);
  });

  it('least outstanding shares ties evenly (rotating start), so equal endpoints get equal traffic', () => {
    const list = eps(4);
    const p = new LeastOutstandingPicker(mulberry32(1));
    // Nothing in flight: every pick is a four-way tie; 400 picks → 100 each.
    const picks = Array.from({ length: 400 }, () => p.pick(list, 0, []));
    assert.deepEqual(counts(list, picks), [100, 100, 100, 100]);
  });

  it('least outstanding keeps load level when requests stay in flight', () => {
    const list = eps(3);
    const p = new LeastOutstandingPicker(mulberry32(1));
    // 9 concurrent requests, none finishing: 3 each.
    for (let i = 0; i < 9; i++) p.pick(list, 0, [])!.outstanding++;
    assert.deepEqual(
      list.map((e) => e.outstanding),
      [3, 3, 3],
    );
  });

  it('two random choices above the scan limit: never the busier of two, and fair over many picks', () => {
    const list = eps(20);
    const p = new LeastOutstandingPicker(mulberry32(7), 8);
    const busy = list[3]!;
    busy.outstanding = 1_000;
    const picks = Array.from({ length: 20_000 }, () => p.pick(list, 0, []));
    const c = counts(list, picks);
    // The busy one is chosen only when both draws land on it: (1/20)² = 0.25% → ~50 of 20,000.
    assert.ok(c[3]! < 120, `busy endpoint picked ${c[3]} times`);
    // The other 19 share the rest: ~1,050 each; allow ±25%.
    for (const [i, k] of c.entries()) if (i !== 3) assert.ok(k > 780 && k < 1320, `e${i}: ${k}`);
  });

  it('skips endpoints not serving and those already tried; null when none is left', () => {
    const list = eps(3);
    list[0]!.ejectedUntil = 1000;
    list[1]!.unhealthy = true;
    for (const p of [
      new LeastOutstandingPicker(mulberry32(1)),
      new RoundRobinPicker(),
      new WeightedPicker(),
    ]) {
      assert.equal(p.pick(list, 500, []), list[2]);
      assert.equal(p.pick(list, 500, [list[2]!]), null);
      // The ejection is over at t=1000: e0 serves again.
      assert.equal(p.pick(list, 1000, [list[2]!]), list[0]);
    }
  });

  it('round robin cycles in order', () => {
    const list = eps(3);
    const p = new RoundRobinPicker();
    const ids = Array.from({ length: 6 }, () => p.pick(list, 0, [])!.id);
    assert.deepEqual(ids, ['e0', 'e1', 'e2', 'e0', 'e1', 'e2']);
  });

  it('weighted: shares in proportion to weight, interleaved (smooth), and exact over a cycle', () => {
    const list = eps(3, [5, 1, 1]);
    const p = new WeightedPicker();
    // nginx's example: weights 5:1:1 → a a b a c a a per cycle of 7.
    const seq = Array.from({ length: 7 }, () => p.pick(list, 0, [])!.id).join(' ');
    assert.equal(seq, 'e0 e0 e1 e0 e2 e0 e0');
    // Throughputs 300:200:100 tokens/s over 600 picks → 300, 200, 100 exactly.
    const t = eps(3, [300, 200, 100]);
    const q = new WeightedPicker();
    assert.deepEqual(
      counts(
        t,
        Array.from({ length: 600 }, () => q.pick(t, 0, [])),
      ),
      [300, 200, 100],
    );
  });
});
