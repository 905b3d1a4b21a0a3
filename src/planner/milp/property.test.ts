/**
 * Random small markets (fast-check, fixed seeds so a failure reproduces): the MILP against an
 * exhaustive search, the greedy baseline against the MILP, and pre-aggregation against the full
 * market. Every plan any of them returns must pass planViolations.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Candidate, MilpInput } from '../types.js';
import { bruteForce } from './brute.js';
import { planViolations } from './check.js';
import { preAggregate } from './dominance.js';
import { greedy } from './greedy.js';
import { createSolver } from './solver.js';

const solver = createSolver();
after(() => solver.close());

const RUNS = 300;
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

const offerArb = (nodes: [number, number]) =>
  fc.record({
    provider: fc.integer({ min: 0, max: 3 }),
    work_rate: fc.double({ min: 0.1, max: 3, noNaN: true }),
    effective_price: fc.double({ min: 0.01, max: 10, noNaN: true }),
    max_nodes: fc.integer({ min: nodes[0], max: nodes[1] }),
  });

/** ≤ maxOffers offers on 1–4 providers; the horizon puts total capacity at 0.5–4× the work. */
function marketArb(maxOffers: number, nodeRange: [number, number] = [1, 3]): fc.Arbitrary<MilpInput> {
  return fc
    .record({
      offers: fc.array(offerArb(nodeRange), { minLength: 1, maxLength: maxOffers }),
      work: fc.double({ min: 1, max: 1e5, noNaN: true }),
      capacityRatio: fc.double({ min: 0.5, max: 4, noNaN: true }),
      redundancy: fc.constantFrom(1, 1, 2, 2, 3),
      budgetRatio: fc.option(fc.double({ min: 0.7, max: 3, noNaN: true })),
      maxNodesRatio: fc.option(fc.double({ min: 0.4, max: 1.5, noNaN: true })),
      minNodes: fc.constantFrom(0, 0, 0, 1, 2, 4),
      minShare: fc.option(fc.double({ min: 0.05, max: 0.5, noNaN: true })),
    })
    .map((m) => {
      const candidates: Candidate[] = m.offers.map((o, i) => ({
        index: 100 + i,
        offer_id: `o${i}`,
        provider: `prov-${o.provider}`,
        work_rate: o.work_rate,
        effective_price: o.effective_price,
        max_nodes: o.max_nodes,
      }));
      const nodes = candidates.reduce((s, c) => s + c.max_nodes, 0);
      const perHour = candidates.reduce((s, c) => s + c.max_nodes * c.work_rate, 0);
      const meanUnit =
        candidates.reduce((s, c) => s + c.effective_price / c.work_rate, 0) / candidates.length;
      const input: MilpInput = {
        candidates,
        work: m.work,
        redundancy: m.redundancy,
        horizon_hours: (m.work * m.capacityRatio) / perHour,
        budget_usd: m.budgetRatio === null ? null : m.budgetRatio * meanUnit * m.work,
        min_nodes: m.minNodes,
        max_nodes: m.maxNodesRatio === null ? null : Math.max(1, Math.round(m.maxNodesRatio * nodes)),
      };
      if (m.minShare !== null) input.min_share = m.minShare;
      return input;
    });
}

describe('MILP properties on random small markets', () => {
  it(`equals exhaustive search (${RUNS} markets, ≤ 8 offers)`, async () => {
    let feasible = 0;
    await fc.assert(
      fc.asyncProperty(marketArb(8), async (input) => {
        const milp = await solver.solve(input);
        const brute = bruteForce(input);
        assert.notEqual(milp.status, 'error', milp.detail);
        assert.equal(
          milp.status === 'infeasible',
          !brute.feasible,
          `milp ${milp.status}, brute ${brute.objective}`,
        );
        if (!brute.feasible) return;
        feasible++;
        assert.equal(milp.status, 'optimal');
        assert.ok(
          rel(milp.objective, brute.objective) <= 1e-6,
          `milp ${milp.objective} brute ${brute.objective}`,
        );
        assert.deepEqual(planViolations(input, milp.allocations), []);
      }),
      { numRuns: RUNS, seed: 20250301, endOnFailure: true },
    );
    // The generator must exercise both outcomes, not just infeasible markets.
    assert.ok(feasible > RUNS / 4 && feasible < RUNS, `feasible ${feasible}/${RUNS}`);
  });

  it('greedy is never cheaper than the MILP, and its plans are valid', async () => {
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(marketArb(12, [1, 8]), async (input) => {
        const g = greedy(input);
        if (g.status === 'infeasible') return;
        assert.equal(g.status, 'feasible');
        assert.deepEqual(planViolations(input, g.allocations), []);
        const milp = await solver.solve(input);
        assert.equal(milp.status, 'optimal', `greedy found a plan, milp ${milp.status} ${milp.detail}`);
        assert.ok(
          milp.objective <= g.objective * (1 + 1e-7),
          `milp ${milp.objective} > greedy ${g.objective}`,
        );
        compared++;
      }),
      { numRuns: RUNS, seed: 7, endOnFailure: true },
    );
    assert.ok(compared > RUNS / 4, `compared ${compared}`);
  });

  it('exact pre-aggregation keeps the optimum (exhaustive search on both)', () => {
    let reduced = 0;
    fc.assert(
      fc.property(marketArb(8), fc.integer({ min: 1, max: 8 }), (input, k) => {
        const agg = preAggregate(input, { perProvider: k });
        reduced += input.candidates.length - agg.input.candidates.length;
        if (!agg.exact) return;
        const full = bruteForce(input);
        const part = bruteForce(agg.input);
        assert.equal(part.feasible, full.feasible);
        if (full.feasible)
          assert.ok(rel(part.objective, full.objective) <= 1e-9, `${part.objective} vs ${full.objective}`);
      }),
      { numRuns: RUNS, seed: 11, endOnFailure: true },
    );
    assert.ok(reduced > 0, 'the rules never fired');
  });

  it('rules B2/B3 under max_nodes keep the optimum (exhaustive search on both)', () => {
    // Many small offers on few providers, max_nodes always set, min_nodes sometimes: the node
    // bounds L(B), the all-provider rule (redundancy ≤ 1) and B3 (redundancy ≥ 2) all fire here.
    let reduced = 0;
    let feasible = 0;
    fc.assert(
      fc.property(
        marketArb(9, [1, 2]).filter((m) => m.max_nodes !== null),
        fc.double({ min: 1, max: 6, noNaN: true }),
        (m, stretch) => {
          // A longer horizon makes each node carry more, so fewer nodes bound the plan (L(B) < N).
          const input = { ...m, horizon_hours: m.horizon_hours * stretch };
          const agg = preAggregate(input, { perProvider: 100 });
          assert.ok(agg.exact);
          reduced += input.candidates.length - agg.input.candidates.length;
          const full = bruteForce(input);
          const part = bruteForce(agg.input);
          assert.equal(part.feasible, full.feasible);
          if (!full.feasible) return;
          feasible++;
          assert.ok(rel(part.objective, full.objective) <= 1e-9, `${part.objective} vs ${full.objective}`);
        },
      ),
      { numRuns: RUNS, seed: 29, endOnFailure: true },
    );
    assert.ok(reduced > RUNS, `the rules dropped only ${reduced} offers`);
    assert.ok(feasible > RUNS / 4, `feasible ${feasible}/${RUNS}`);
  });

  it('pre-aggregation keeps the optimum on 300-offer markets (MILP on both)', async () => {
    const statuses: string[] = [];
    let dropped = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(offerArb([1, 16]), { minLength: 300, maxLength: 300 }),
        fc.record({
          work: fc.double({ min: 100, max: 1e5, noNaN: true }),
          capacityRatio: fc.double({ min: 1, max: 20, noNaN: true }),
          redundancy: fc.integer({ min: 1, max: 3 }),
          maxNodesRatio: fc.option(fc.double({ min: 0.15, max: 0.6, noNaN: true })),
        }),
        async (offers, m) => {
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
            work: m.work,
            redundancy: m.redundancy,
            horizon_hours: (m.work * m.capacityRatio) / perHour,
            budget_usd: null,
            min_nodes: 0,
            max_nodes: m.maxNodesRatio === null ? null : Math.round(m.maxNodesRatio * nodes),
          };
          const agg = preAggregate(input, { perProvider: 1000 });
          assert.ok(agg.exact);
          dropped += agg.dominated;
          const [full, part] = [await solver.solve(input), await solver.solve(agg.input)];
          statuses.push(full.status);
          assert.equal(part.status, full.status);
          if (full.status === 'optimal') {
            assert.ok(rel(part.objective, full.objective) <= 1e-6, `${part.objective} vs ${full.objective}`);
          }
        },
      ),
      { numRuns: 30, seed: 5, endOnFailure: true },
    );
    assert.ok(statuses.filter((x) => x === 'optimal').length >= 12, statuses.join());
    assert.ok(dropped > 30 * 20, `only ${dropped} offers dropped`);
  });
});
