import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { mulberry32 } from '../../util/random.js';
import type { Candidate, MilpInput } from '../types.js';
import { planViolations } from './check.js';
import { buildLp } from './model.js';
import { createSolver } from './solver.js';

const solver = createSolver();
after(() => solver.close());

let next = 0;
function offer(provider: string, work_rate: number, effective_price: number, max_nodes: number): Candidate {
  const index = next++;
  return { index, offer_id: `${provider}-${index}`, provider, work_rate, effective_price, max_nodes };
}

function market(candidates: Candidate[], over: Partial<MilpInput> = {}): MilpInput {
  return {
    candidates,
    work: 1000,
    redundancy: 1,
    horizon_hours: 100,
    budget_usd: null,
    min_nodes: 0,
    max_nodes: null,
    ...over,
  };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

describe('MILP: hand-worked markets', () => {
  const A = offer('alpha', 1.0, 2.0, 8);
  const B = offer('beta', 0.3153, 0.6, 64);

  it('picks the cheaper unit work even at a lower rate', async () => {
    // 1000 ref-h; A: rate 1.0 $2.00 → 1000 node-h × 2.00 = $2000;
    // B: rate 0.3153 $0.60 → 1000/0.3153 = 3171.58 node-h × 0.60 = $1902.95 → B wins.
    // Nodes on B: 3171.58 node-h / 100 h = 31.7 → 32 nodes.
    const input = market([A, B]);
    const r = await solver.solve(input);
    assert.equal(r.status, 'optimal');
    assert.ok(close(r.objective, (1000 / 0.3153) * 0.6), `${r.objective}`);
    assert.deepEqual(
      r.allocations.map((a) => [a.index, a.nodes]),
      [[B.index, 32]],
    );
    assert.deepEqual(planViolations(input, r.allocations), []);
  });

  it('redundancy 2 forces a second provider to carry its share', async () => {
    // share = 1/(2·2) = 25% → alpha carries 250 ref-h = 250 node-h × $2 = $500 (3 nodes);
    // beta the other 750: 750/0.3153 = 2378.69 node-h × $0.60 = $1427.21 → $1927.21 (+$24.26).
    const input = market([A, B], { redundancy: 2 });
    const r = await solver.solve(input);
    assert.equal(r.status, 'optimal');
    assert.ok(close(r.objective, 500 + (750 / 0.3153) * 0.6), `${r.objective}`);
    const onA = r.allocations.find((a) => a.index === A.index);
    assert.ok(onA && close(onA.node_hours, 250) && onA.nodes === 3);
    assert.deepEqual(planViolations(input, r.allocations), []);
  });

  it('an explicit min_share moves more work to the dearer provider', async () => {
    // min_share 0.4 → alpha 400 ref-h × $2 = $800; beta 600/0.3153 × 0.6 = $1141.77 → $1941.77.
    const r = await solver.solve(market([A, B], { redundancy: 2, min_share: 0.4 }));
    assert.ok(close(r.objective, 800 + (600 / 0.3153) * 0.6), `${r.objective}`);
  });

  it('a budget under the cheapest plan is infeasible', async () => {
    // The cheapest plan is $1902.95; $1900 cannot buy it.
    const r = await solver.solve(market([A, B], { budget_usd: 1900 }));
    assert.equal(r.status, 'infeasible');
    const ok = await solver.solve(market([A, B], { budget_usd: 1903 }));
    assert.equal(ok.status, 'optimal');
  });

  it('a short horizon forces more nodes, then the dearer offer', async () => {
    // Horizon 20 h: beta can deliver at most 64 nodes × 20 h × 0.3153 = 403.58 ref-h ($0.6/0.3153 =
    // $1.903 per ref-h), so alpha carries the remaining 596.42 ref-h at $2: 596.42 node-h on
    // ⌈596.42/20⌉ = 30 nodes… but alpha has only 8 nodes × 20 h = 160 node-h → infeasible.
    const short = await solver.solve(market([A, B], { horizon_hours: 20 }));
    assert.equal(short.status, 'infeasible');
    // Horizon 50 h: beta 64 × 50 × 0.3153 = 1008.96 ref-h ≥ 1000, all on beta: 3171.58 node-h on
    // ⌈3171.58/50⌉ = 64 nodes (vs 32 at 100 h); cost unchanged $1902.95.
    const input = market([A, B], { horizon_hours: 50 });
    const r = await solver.solve(input);
    assert.equal(r.status, 'optimal');
    assert.deepEqual(
      r.allocations.map((a) => [a.index, a.nodes]),
      [[B.index, 64]],
    );
    // Horizon 40 h: beta 64 × 40 × 0.3153 = 807.17 ref-h ($1536.00); alpha 192.83 ref-h ($385.66,
    // ⌈192.83/40⌉ = 5 nodes) → $1921.66.
    const mixed = await solver.solve(market([A, B], { horizon_hours: 40 }));
    assert.ok(close(mixed.objective, 64 * 40 * 0.6 + (1000 - 64 * 40 * 0.3153) * 2), `${mixed.objective}`);
    assert.equal(mixed.allocations.find((a) => a.index === A.index)?.nodes, 5);
  });

  it('max_nodes caps the plan; min_nodes adds idle nodes', async () => {
    // max_nodes 40 at 50 h: beta alone needs 64 nodes. Best: beta 32 nodes (1600 node-h =
    // 504.48 ref-h) + alpha 8 nodes (400 ref-h) = 904.48 ref-h < 1000 → infeasible.
    assert.equal(
      (await solver.solve(market([A, B], { horizon_hours: 50, max_nodes: 40 }))).status,
      'infeasible',
    );
    const capped = await solver.solve(market([A, B], { horizon_hours: 70, max_nodes: 40 }));
    assert.equal(capped.status, 'optimal');
    // Beta is cheaper per ref-h ($0.6/0.3153 = $1.903 vs $2), so give it as many of the 40 nodes
    // as capacity allows: a alpha + b beta nodes need 70a + 22.071b ≥ 1000 with a + b ≤ 40 →
    // 47.93a ≥ 117.16 → a = 3, b = 37: beta 37 × 70 × 0.3153 = 816.63 ref-h ($1554.00), alpha
    // 183.37 ref-h ($366.74, 183.37 node-h ≤ 3 × 70) → $1920.74.
    assert.ok(close(capped.objective, 37 * 70 * 0.6 + (1000 - 37 * 70 * 0.3153) * 2), `${capped.objective}`);
    assert.deepEqual(
      capped.allocations.map((a) => a.nodes).sort((x, y) => x - y),
      [3, 37],
    );
    const input = market([A, B], { min_nodes: 40 });
    const idle = await solver.solve(input);
    assert.ok(close(idle.objective, (1000 / 0.3153) * 0.6));
    assert.equal(
      idle.allocations.reduce((s, a) => s + a.nodes, 0),
      40,
    );
    assert.deepEqual(planViolations(input, idle.allocations), []);
  });

  it('short-cuts: no candidates, too few providers', async () => {
    assert.equal((await solver.solve(market([]))).status, 'infeasible');
    const r = await solver.solve(market([A, B], { redundancy: 3 }));
    assert.equal(r.status, 'infeasible');
    assert.match(r.detail ?? '', /redundancy 3/);
    assert.equal((await solver.solve(market([A], { work: 0 }))).status, 'error');
  });

  it('names columns by index, never by provider text', () => {
    const lp = buildLp(market([offer('we!rd provider: x <= 1', 1, 1, 1), A], { redundancy: 2 }));
    assert.ok(!lp.includes('we!rd'));
    assert.match(lp, /share0: .* - 0\.25 z0 >= 0/);
  });
});

describe('MILP: worker lifecycle', () => {
  it('a stuck worker is replaced by the wall-clock guard and the next solve succeeds', async () => {
    const s = createSolver({ guardGraceMs: 0 });
    try {
      // A 1 ms guard fires before a fresh worker has even loaded HiGHS.
      const stuck = await s.solve(market([offer('a', 1, 1, 4)], { work: 100, time_limit_ms: 1 }));
      assert.equal(stuck.status, 'error');
      assert.match(stuck.detail ?? '', /overran/);
      const ok = await s.solve(market([offer('a', 1, 1, 4)], { work: 100, time_limit_ms: 10_000 }));
      assert.equal(ok.status, 'optimal');
      assert.equal(s.stats().failures, 1);
      assert.equal(s.stats().workers, 2);
    } finally {
      await s.close();
    }
  });

  it('solves 3,000 markets in a row, recycling the worker every 500', async () => {
    const s = createSolver({ recycleAfter: 500 });
    const rng = mulberry32(3000);
    try {
      const statuses = new Map<string, number>();
      for (let k = 0; k < 3000; k++) {
        const cands = Array.from({ length: 2 + Math.floor(rng.next() * 5) }, (_, i) => ({
          index: i,
          offer_id: `o${i}`,
          provider: `p${Math.floor(rng.next() * 3)}`,
          work_rate: 0.2 + rng.next() * 2,
          effective_price: 0.05 + rng.next() * 4,
          max_nodes: 1 + Math.floor(rng.next() * 8),
        }));
        const input = market(cands, {
          work: 100 + rng.next() * 900,
          redundancy: 1 + Math.floor(rng.next() * 2),
        });
        const r = await s.solve(input);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        assert.ok(r.status === 'optimal' || r.status === 'infeasible', `${k}: ${r.status} ${r.detail}`);
        if (r.status === 'optimal') assert.deepEqual(planViolations(input, r.allocations), []);
      }
      const st = s.stats();
      assert.ok(st.recycles >= 5, JSON.stringify(st));
      assert.equal(st.failures, 0);
      assert.ok((statuses.get('optimal') ?? 0) > 1000, JSON.stringify([...statuses]));
    } finally {
      await s.close();
    }
  });

  it('close settles queued solves', async () => {
    const s = createSolver();
    const pending = [s.solve(market([offer('a', 1, 1, 4)])), s.solve(market([offer('a', 1, 1, 4)]))];
    await s.close();
    const rs = await Promise.all(pending);
    for (const r of rs) assert.equal(r.status, 'error');
  });
});
