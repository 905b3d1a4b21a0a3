import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createSolver } from './milp/index.js';
import {
  capabilities,
  mkOffer,
  newClock,
  newId,
  req,
  SPEC_BODY,
  specMarket,
} from './orchestrate.fixtures.js';
import { createPlanner } from './orchestrate.js';
import type { PlanResponse } from './response.js';

const solver = createSolver();
after(() => solver.close());
const planner = createPlanner({ capabilities, solver, clock: newClock(), newId });

async function plan(objective: unknown, offers = specMarket()): Promise<PlanResponse> {
  const body = { ...SPEC_BODY, constraints: { ...SPEC_BODY.constraints, objective } };
  const out = await planner.plan(req(body, offers), offers);
  assert.ok(out.ok, JSON.stringify(!out.ok && out.infeasible));
  return out.plan;
}

describe('objectives over the spec market', () => {
  it('balanced with weight 1 is the cost plan, weight 0 the time plan, 0.5 lies between', async () => {
    const cost = await plan('cost');
    const time = await plan('time');
    const w1 = await plan({ balanced: 1 });
    const w0 = await plan({ balanced: 0 });
    const mid = await plan('balanced');
    // cost: $941.33 in 187.5 h; time: ≈ 62.5 h at a higher cost (see orchestrate.test.ts).
    assert.ok(Math.abs(w1.total_cost_usd - cost.total_cost_usd) < 1e-6);
    assert.ok(Math.abs(w0.estimated_hours - time.estimated_hours) < 1e-6);
    assert.ok(time.estimated_hours < cost.estimated_hours && time.total_cost_usd > cost.total_cost_usd);
    assert.ok(
      mid.total_cost_usd >= cost.total_cost_usd - 1e-6 && mid.estimated_hours >= time.estimated_hours - 1e-6,
    );
    assert.equal(mid.objective, 'balanced(0.5)');
    for (const p of [cost, time, mid]) {
      assert.equal(p.alternatives.filter((a) => a.selected).length, 1);
      const sel = p.alternatives.find((a) => a.selected)!;
      assert.ok(
        Math.abs(sel.total_cost_usd - p.total_cost_usd) < 1e-6,
        'the selected alternative is the plan',
      );
    }
  });

  it('fallbacks: unused offers, other providers first, then by unit cost', async () => {
    const offers = [
      ...specMarket(),
      mkOffer({ id: 'of_ionet_2', provider: 'ionet', provider_type: 'decentralized_compute', price: 0.85 }),
      mkOffer({ id: 'of_tensordock', provider: 'tensordock', provider_type: 'p2p_marketplace', price: 1.2 }),
    ];
    const p = await plan('cost', offers);
    // Unit costs: ionet 0.79, ionet_2 0.85, tensordock H100 1.20, vast 0.44 / 0.315343 = 1.3953.
    // The plan: ionet 75% + tensordock 25% (the cheaper second provider). Fallbacks: vast (a
    // provider the plan does not use) before ionet's second offer, although it costs more per unit.
    assert.deepEqual(p.allocations.map((a) => a.provider).sort(), ['ionet', 'tensordock']);
    assert.deepEqual(
      p.fallbacks.map((f) => f.offer_id),
      ['of_vast_a100', 'of_ionet_2'],
    );
    assert.ok(Math.abs(p.fallbacks[0]!.unit_cost_usd - 0.44 / (312 / 989.4)) < 1e-9);
  });

  it('no traditional cloud offer: savings are null and the note says why', async () => {
    const offers = specMarket().filter((o) => o.provider_type !== 'traditional_cloud');
    const p = await plan('cost', offers);
    assert.equal(p.baseline, null);
    assert.equal(p.savings_percent, null);
    assert.equal(p.baseline_note, 'no traditional_cloud offers in the market');
  });
});

describe('alternatives budget', () => {
  it('a spent budget drops alternatives, says so, and leaves the selected plan as it was', async () => {
    const spent = createPlanner({ capabilities, solver, clock: newClock(), newId, alternativesBudgetMs: 0 });
    const body = { ...SPEC_BODY, constraints: { ...SPEC_BODY.constraints, objective: 'cost' } };
    const offers = specMarket();
    const full = await plan('cost', offers);
    const out = await spent.plan(req(body, offers), offers);
    assert.ok(out.ok);
    const p = out.plan;
    assert.ok(Math.abs(p.total_cost_usd - full.total_cost_usd) < 1e-9);
    assert.ok(Math.abs(p.estimated_hours - full.estimated_hours) < 1e-9);
    const ex = p.explain as unknown as Record<string, unknown>;
    assert.equal(ex.alternatives_truncated, true);
    assert.match(String(ex.alternatives_truncated_reason), /budget/);
    assert.deepEqual(
      p.alternatives.map((a) => a.objectives),
      [['cost']],
    );
    assert.equal((full.explain as unknown as Record<string, unknown>).alternatives_truncated, undefined);
  });
});

describe('which solver plans', () => {
  it('the fill without max_nodes (every candidate, proven optimal); HiGHS with it (the reduced list)', async () => {
    const offers = specMarket();
    const fill = await plan('time', offers);
    assert.equal(fill.explain.solver.name, 'fill');
    assert.equal(fill.explain.solver.status, 'optimal');
    assert.equal(fill.explain.solver.gap, 0);
    assert.equal(fill.explain.candidates_after_dominance, fill.explain.candidates);
    const body = { ...SPEC_BODY, workload: { ...SPEC_BODY.workload, max_nodes: 64 } };
    const out = await planner.plan(req(body, offers), offers);
    assert.ok(out.ok);
    assert.equal(out.plan.explain.solver.name, 'highs');
    assert.ok(out.plan.explain.candidates_after_dominance <= out.plan.explain.candidates);
    // The node limit does not bind here: the same plan either way.
    const cost = await plan('cost', offers);
    assert.ok(Math.abs(out.plan.total_cost_usd - cost.total_cost_usd) < 1e-6);
  });
});
