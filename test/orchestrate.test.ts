import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PlanResponse } from '../src/planner/response.js';
import { LATENCY_BANDS } from '../src/protocol/glossary.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/** POST /orchestrate through the whole gateway on the shipped catalogs, the spec's bodies verbatim. */
let t: TestGateway;
before(async () => {
  t = await startTestGateway();
});
after(async () => {
  await t.gw.close();
});

/** The wire plan as GET /plans/:id adds to it. */
type Plan = PlanResponse & {
  status?: string;
  endpoints?: string[];
  load_balancer?: string;
  health_check?: string;
  auto_failover?: boolean;
};

const post = (payload: unknown) =>
  t.gw.app.inject({ method: 'POST', url: '/orchestrate', payload: payload as object });

const SPEC_BODY = {
  requester: 'agent_model_trainer',
  workload: { type: 'batch_processing', compute_hours: 1000, memory_gb: 80, interconnect: 'optional' },
  constraints: { max_price_per_hour: 2.0, latency_band: 'regional', redundancy: 2 },
};

describe("POST /orchestrate with the spec's body", () => {
  let plan: Plan;
  test('201 with a plan in the spec shape whose arithmetic adds up', async () => {
    const res = await post(SPEC_BODY);
    assert.equal(res.statusCode, 201, res.body.slice(0, 500));
    plan = res.json() as Plan;
    assert.match(plan.plan_id, /^plan_/);
    assert.equal(res.headers.location, `/plans/${plan.plan_id}`);
    const providers = new Set(plan.allocations.map((a) => a.provider));
    assert.ok(providers.size >= 2, 'redundancy 2: two distinct providers');
    let fractions = 0;
    let cost = 0;
    for (const a of plan.allocations) {
      assert.ok(a.price_per_hour_usd <= 2.0, `${a.offer_id} at ${a.price_per_hour_usd}/GPU-hour`);
      assert.match(a.price, /^\$\d+(\.\d+)?\/hr$/);
      assert.match(a.allocation, /^\d+(\.\d+)?%$/);
      assert.ok(LATENCY_BANDS.indexOf(a.latency_band as never) <= LATENCY_BANDS.indexOf('regional'));
      assert.ok(a.nodes >= 1 && a.hours > 0 && a.work_rate > 0);
      fractions += a.allocation_fraction;
      cost += a.cost_usd;
    }
    assert.ok(Math.abs(fractions - 1) < 0.01, `shares sum to ${fractions}`);
    assert.ok(Math.abs(cost - plan.total_cost_usd) < 0.05, `${cost} vs ${plan.total_cost_usd}`);
    assert.match(plan.total_cost, /^\$[\d,]+(\.\d+)?$/);
    assert.match(plan.estimated_time, /hours?$/);
    assert.match(plan.sla, /^\d+(\.\d+)?%$/);
    assert.ok(plan.sla_percent > 0 && plan.sla_percent <= 100);
    const ttl = Date.parse(plan.expires_at) - Date.parse(plan.created_at);
    assert.equal(ttl, 10 * 60_000, 'prices held for 10 minutes');
    assert.ok(Array.isArray(plan.alternatives) && Array.isArray(plan.fallbacks));
    assert.ok(plan.explain && typeof plan.explain === 'object');
  });

  test('GET /plans/:id returns it; after expires_at it says expired', async () => {
    const res = await t.gw.app.inject(`/plans/${plan.plan_id}`);
    assert.equal(res.statusCode, 200);
    const stored = res.json() as Plan;
    assert.equal(stored.plan_id, plan.plan_id);
    assert.equal(stored.status, 'active');
    assert.equal(stored.total_cost_usd, plan.total_cost_usd);
    t.clock.advance(11 * 60_000);
    const later = (await t.gw.app.inject(`/plans/${plan.plan_id}`)).json() as Plan;
    assert.equal(later.status, 'expired');
    assert.equal((await t.gw.app.inject('/plans/plan_nope')).statusCode, 404);
  });
});

describe('constraints change the plan', () => {
  test('redundancy 1 vs 3: one provider may carry it all; three must share it', async () => {
    const one = (
      await post({ ...SPEC_BODY, constraints: { ...SPEC_BODY.constraints, redundancy: 1 } })
    ).json() as Plan;
    const three = (
      await post({ ...SPEC_BODY, constraints: { ...SPEC_BODY.constraints, redundancy: 3 } })
    ).json() as Plan;
    assert.ok(new Set(three.allocations.map((a) => a.provider)).size >= 3);
    assert.ok(one.total_cost_usd <= three.total_cost_usd + 1e-6, 'a looser constraint never costs more');
  });
});

describe("the spec's inference form", () => {
  test('large_model_serve on three providers: endpoints, load_balancer, health_check, auto_failover', async () => {
    const res = await post({
      workload: 'large_model_serve',
      requests_per_second: 100,
      redundancy: 3,
      providers: ['network_a', 'platform_b', 'marketplace_c'],
    });
    assert.equal(res.statusCode, 201, res.body.slice(0, 500));
    const plan = res.json() as Plan;
    assert.equal(plan.endpoints?.length, 3);
    assert.equal(new Set(plan.allocations.map((a) => a.provider)).size, 3);
    assert.match(String(plan.load_balancer), /\/lb\//);
    assert.equal(plan.health_check, '/health');
    assert.equal(plan.auto_failover, true);
  });
});

describe('bad bodies and infeasible constraints', () => {
  test('a malformed field is a 400 naming its path', async () => {
    const res = await post({ ...SPEC_BODY, workload: { ...SPEC_BODY.workload, compute_hours: -1 } });
    assert.equal(res.statusCode, 400);
    assert.equal((res.json() as { param: string }).param, 'workload.compute_hours');
    const unknown = await post({ ...SPEC_BODY, constraints: { ...SPEC_BODY.constraints, colour: 'blue' } });
    assert.equal(unknown.statusCode, 400);
    assert.equal((unknown.json() as { param: string }).param, 'constraints.colour');
  });
  test('a body that is not JSON is a 400 problem; a wrong token is a 401, not an anonymous quote', async () => {
    const garbled = await t.gw.app.inject({
      method: 'POST',
      url: '/orchestrate',
      headers: { 'content-type': 'application/json' },
      payload: '{"workload": ',
    });
    assert.equal(garbled.statusCode, 400);
    assert.match(String(garbled.headers['content-type']), /problem\+json/);
    const wrong = await t.gw.app.inject({
      method: 'POST',
      url: '/orchestrate',
      headers: { authorization: 'Bearer nope' },
      payload: SPEC_BODY,
    });
    assert.equal(wrong.statusCode, 401);
  });
  test('nothing fits: 422 naming the binding constraint and the nearest feasible change', async () => {
    const res = await post({
      ...SPEC_BODY,
      constraints: { ...SPEC_BODY.constraints, max_price_per_hour: 0.05 },
    });
    assert.equal(res.statusCode, 422);
    assert.match(String(res.headers['content-type']), /problem\+json/);
    const p = res.json() as { detail: string; param: string };
    assert.match(p.detail, /To fix/);
    assert.match(p.param, /max_price_per_hour/);
  });
});

describe('which solver answers', () => {
  const body = (workload: Record<string, unknown>) => ({
    workload: { type: 'training', compute_hours: 200, ...workload },
    constraints: { max_price_per_hour: 3, redundancy: 2 },
  });
  test('without max_nodes the exact fill answers, proven optimal; with max_nodes HiGHS does', async () => {
    const free = await post(body({}));
    assert.equal(free.statusCode, 201, free.body.slice(0, 300));
    const fe = (free.json() as { explain: { solver: { name: string; status: string; gap: number } } })
      .explain;
    assert.equal(fe.solver.name, 'fill');
    assert.equal(fe.solver.status, 'optimal');
    assert.equal(fe.solver.gap, 0);
    const capped = await post(body({ max_nodes: 3 }));
    assert.equal(capped.statusCode, 201, capped.body.slice(0, 300));
    const cp = capped.json() as { explain: { solver: { name: string } }; allocations: { nodes: number }[] };
    assert.equal(cp.explain.solver.name, 'highs');
    assert.ok(cp.allocations.reduce((s, a) => s + a.nodes, 0) <= 3);
  });
});
