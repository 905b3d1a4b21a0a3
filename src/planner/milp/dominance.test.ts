/**
 * The per-provider cap K of pre-aggregation must never turn a feasible horizon infeasible. On big
 * markets at short horizons each provider's K cheapest offers are too small to matter, and the
 * "dearer than the cheapest capacity" rule (C*, taken over all offers) once dropped the rest, so
 * the reduced market could not cover the work: a 10k market whose fastest plan took ~0.15 h was
 * reported as ~6 h by the time search.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Candidate, MilpInput } from '../types.js';
import { bruteForce } from './brute.js';
import { preAggregate } from './dominance.js';
import { minShare } from './model.js';
import { createSolver } from './solver.js';

const solver = createSolver();
after(() => solver.close());

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` offers on 30 providers (a few big ones), 1–16 nodes each, like bench/planner.ts. */
function market(size: number, seed: number, redundancy: number): MilpInput {
  const r = rng(seed);
  const candidates: Candidate[] = [];
  for (let i = 0; i < size; i++) {
    const rate = 0.3 + r() * 2.2;
    candidates.push({
      index: i,
      offer_id: `o${i}`,
      provider: `p${Math.floor(r() ** 1.5 * 30)}`,
      work_rate: rate,
      effective_price: rate * (0.4 + r() * 1.6),
      max_nodes: 1 + Math.floor(r() ** 2 * 16),
    });
  }
  return {
    candidates,
    work: 1000,
    redundancy,
    horizon_hours: 1,
    budget_usd: null,
    min_nodes: 0,
    max_nodes: null,
  };
}

/** Whether the program without budget or max_nodes has a plan: capacity alone decides. */
function capacityFeasible(input: MilpInput): boolean {
  const s = minShare(input);
  const top = Math.max(1, s);
  let total = 0;
  const per = new Map<string, number>();
  for (const c of input.candidates) {
    const x = Math.min(top, (input.horizon_hours * c.work_rate * Math.floor(c.max_nodes)) / input.work);
    total += x;
    per.set(c.provider, (per.get(c.provider) ?? 0) + x);
  }
  if (total < 1 + 1e-7) return false;
  if (input.redundancy < 2) return true;
  return [...per.values()].filter((x) => x >= s * (1 + 1e-7)).length >= input.redundancy;
}

describe('pre-aggregation: the per-provider cap keeps feasibility', () => {
  for (const [size, R] of [
    [10_000, 2],
    [10_000, 1],
    [3_000, 2],
  ] as const) {
    it(`${size} offers, redundancy ${R}: full and reduced agree at every horizon`, async () => {
      const base = market(size, 42 + size + R, R);
      const perHour = base.candidates.reduce((s, c) => s + c.work_rate * c.max_nodes, 0);
      const h0 = base.work / perHour;
      let dropped = 0;
      let shortest: MilpInput | null = null;
      for (const f of [1.001, 1.01, 1.05, 1.2, 1.5, 2, 3, 5, 10, 30, 100, 1000]) {
        const input = { ...base, horizon_hours: h0 * f };
        const agg = preAggregate(input);
        const full = capacityFeasible(input);
        assert.equal(capacityFeasible(agg.input), full, `horizon ${input.horizon_hours} (×${f} the bound)`);
        dropped += agg.dominated + agg.capped;
        if (full && !shortest) shortest = input;
      }
      assert.ok(shortest, 'some horizon is feasible');
      // Pre-aggregation still reduces (before the fix the cap fired at every short horizon) …
      assert.ok(dropped > size, `only ${dropped} offers dropped`);
      // … and the solver finds a plan on the reduced input at the shortest feasible horizon; on
      // the smaller market, on both inputs (the reduced one no cheaper).
      const limit = { time_limit_ms: 30_000 };
      const part = await solver.solve({ ...preAggregate(shortest).input, ...limit });
      assert.equal(part.status, 'optimal', part.detail);
      if (size <= 3000) {
        const full = await solver.solve({ ...shortest, ...limit });
        assert.equal(full.status, 'optimal', full.detail);
        assert.ok(part.objective >= full.objective * (1 - 1e-6), `${part.objective} < ${full.objective}`);
      }
    });
  }

  it('small markets, any K: reduced is feasible exactly when full is (exhaustive search)', () => {
    const offer = fc.record({
      provider: fc.integer({ min: 0, max: 2 }),
      work_rate: fc.double({ min: 0.1, max: 3, noNaN: true }),
      effective_price: fc.double({ min: 0.01, max: 10, noNaN: true }),
      max_nodes: fc.integer({ min: 1, max: 2 }),
    });
    let capped = 0;
    fc.assert(
      fc.property(
        fc.array(offer, { minLength: 2, maxLength: 8 }),
        fc.double({ min: 0.3, max: 3, noNaN: true }),
        fc.constantFrom(1, 2),
        fc.option(fc.double({ min: 0.4, max: 1.2, noNaN: true })),
        fc.integer({ min: 1, max: 2 }),
        (offers, ratio, redundancy, maxNodesRatio, k) => {
          const candidates: Candidate[] = offers.map((o, i) => ({
            index: i,
            offer_id: `o${i}`,
            ...o,
            provider: `p${o.provider}`,
          }));
          const perHour = candidates.reduce((s, c) => s + c.max_nodes * c.work_rate, 0);
          const nodes = candidates.reduce((s, c) => s + c.max_nodes, 0);
          const input: MilpInput = {
            candidates,
            work: 100,
            redundancy,
            horizon_hours: (100 * ratio) / perHour,
            budget_usd: null,
            min_nodes: 0,
            max_nodes: maxNodesRatio === null ? null : Math.max(1, Math.round(maxNodesRatio * nodes)),
          };
          const agg = preAggregate(input, { perProvider: k });
          capped += agg.capped;
          assert.equal(bruteForce(agg.input).feasible, bruteForce(input).feasible);
        },
      ),
      { numRuns: 300, seed: 3, endOnFailure: true },
    );
    assert.ok(capped > 0, 'the cap never fired');
  });
});
