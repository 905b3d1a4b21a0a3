import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Offer } from '../protocol/schemas/offer.js';
import { createSolver } from './milp/index.js';
import {
  capabilities,
  geo,
  mkOffer,
  newClock,
  newId,
  req,
  SPEC_BODY,
  SPEC_SERVE_BODY,
  specMarket,
} from './orchestrate.fixtures.js';
import { createPlanner, type PlanOutcome } from './orchestrate.js';
import type { PlanResponse } from './response.js';

const solver = createSolver();
after(() => solver.close());
const planner = createPlanner({ capabilities, solver, clock: newClock(), newId, geo });

const near = (a: number, b: number, tol = 1e-6) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
const A100 = 312 / 989.4; // fp16 work rate of an A100-80GB against GPU_TYPE_A: 0.315343

async function plan(body: object, offers: Offer[] = specMarket()): Promise<PlanResponse> {
  const out = await planner.plan(req(body, offers), offers);
  assert.ok(out.ok, JSON.stringify(!out.ok && out.infeasible));
  assertArithmetic(out.plan);
  return out.plan;
}

async function infeasible(body: object, offers: Offer[] = specMarket()) {
  const out: PlanOutcome = await planner.plan(req(body, offers), offers);
  assert.ok(!out.ok, 'expected no plan');
  return out.infeasible;
}

/** Every number on the wire can be recomputed from the others. */
function assertArithmetic(p: PlanResponse): void {
  let work = 0;
  let micro = 0;
  let hours = 0;
  for (const a of p.allocations) {
    assert.ok(near(a.cost_usd, a.price_per_node_hour_usd * a.node_hours), `cost of ${a.offer_id}`);
    assert.ok(
      Math.abs(a.work - a.node_hours * a.work_rate) <= 1e-6 * Math.max(1, a.node_hours),
      `work of ${a.offer_id}`,
    );
    assert.ok(near(a.hours, a.node_hours / a.nodes), `hours of ${a.offer_id}`);
    assert.ok(
      near(a.price_per_hour_usd * Math.max(1, a.gpu_count), a.price_per_node_hour_usd),
      `price of ${a.offer_id}`,
    );
    work += a.work;
    micro += Math.round(a.cost_usd * 1e6);
    hours = Math.max(hours, a.hours);
  }
  assert.ok(work >= p.work - 1e-6, `Σ work ${work} ≥ ${p.work}`);
  assert.ok(near(p.total_cost_usd, micro / 1e6), 'total = Σ cost');
  assert.ok(near(p.estimated_hours, hours), 'estimated = max hours');
  const fractions = p.allocations.reduce((s, a) => s + a.allocation_fraction, 0);
  assert.ok(Math.abs(fractions - 1) < 1e-5, `fractions sum to 1: ${fractions}`);
  if (p.baseline) {
    assert.ok(
      near(
        p.savings_percent ?? Number.NaN,
        Math.round((1000 * (p.baseline.cost_usd - p.total_cost_usd)) / p.baseline.cost_usd) / 10,
        1e-9,
      ),
    );
  }
}

const withC = (c: object, body: typeof SPEC_BODY = SPEC_BODY) => ({
  ...body,
  constraints: { ...body.constraints, ...c },
});

describe('createPlanner: the spec example', () => {
  it('plans across ≥ 2 providers, each under $2/GPU-hour, regional or better, and the numbers add up', async () => {
    const p = await plan(SPEC_BODY);
    // Unit costs (USD per reference GPU-hour): ionet H100 0.79 / 1 = 0.79; vast A100 0.44 / 0.315343 = 1.3953.
    // Redundancy 2 → each provider carries ≥ 1/(2·2) = 25%: the dearer vast gets exactly 25%.
    //   ionet 750 ref-h × $0.79 = $592.50; vast 250 / 0.315343 = 792.788 node-h × $0.44 = $348.83
    //   total $941.33; fastest at that cost: ionet's 4 nodes take 750 / 4 = 187.5 h.
    assert.deepEqual(p.allocations.map((a) => a.provider).sort(), ['ionet', 'vast']);
    for (const a of p.allocations) {
      assert.ok(a.price_per_hour_usd <= 2);
      assert.ok(['LAN', 'metro', 'regional'].includes(a.latency_band));
    }
    const ionet = p.allocations.find((a) => a.provider === 'ionet')!;
    const vast = p.allocations.find((a) => a.provider === 'vast')!;
    assert.ok(near(ionet.work, 750) && near(vast.work, 250));
    assert.ok(near(vast.node_hours, 250 / A100));
    assert.ok(near(p.total_cost_usd, 592.5 + (250 / A100) * 0.44));
    assert.equal(p.total_cost, '$941');
    assert.deepEqual(
      [ionet.price, ionet.allocation, vast.price, vast.allocation],
      ['$0.79/hr', '75%', '$0.44/hr', '25%'],
    );
    assert.ok(near(p.estimated_hours, 187.5) && p.estimated_time === '188 hours');
    // Baseline: lambda H100 at $2.49 × 1000 = $2,490 → savings 100 × (2490 − 941.33) / 2490 = 62.2%.
    assert.equal(p.baseline?.provider, 'lambda');
    assert.ok(near(p.baseline!.cost_usd, 2490));
    assert.equal(p.savings_percent, 62.2);
    // Reliability 1 everywhere: nothing can fail, so the computed SLA is 100%.
    assert.equal(p.sla, '100.0%');
    assert.match(p.plan_id, /^plan_/);
    assert.equal(p.expires_at, '2025-01-01T00:10:00.000Z');
    assert.equal(p.explain.offers_considered, 6);
    assert.deepEqual(
      p.explain.dropped.map((d) => [d.filter, d.count]),
      [
        ['memory', 1],
        ['max_price', 2],
        ['latency_band', 1],
      ],
    );
    assert.equal(p.explain.solver.status, 'optimal');
  });

  it('alternatives: cost-optimal (selected) and a faster, dearer time-optimal plan', async () => {
    const p = await plan(SPEC_BODY);
    const cost = p.alternatives.find((a) => a.objectives.includes('cost'))!;
    const time = p.alternatives.find((a) => a.objectives.includes('time'))!;
    assert.ok(cost.selected && !time.selected);
    // Fastest: ionet must still carry 25% = 250 ref-h on 4 nodes → ≥ 62.5 h (bisection to 1%).
    assert.ok(
      time.estimated_hours >= 62.5 - 1e-6 && time.estimated_hours <= 62.5 * 1.011,
      `${time.estimated_hours}`,
    );
    assert.ok(time.total_cost_usd > cost.total_cost_usd);
  });
});

describe('createPlanner: each constraint changes the plan', () => {
  it('redundancy: 1 → all on ionet ($790); 2 → ionet + vast ($941.33)', async () => {
    const one = await plan(withC({ redundancy: 1 }));
    // 1000 ref-h × $0.79 = $790 on the cheapest unit cost; 4 nodes → 250 h.
    assert.deepEqual(
      one.allocations.map((a) => a.provider),
      ['ionet'],
    );
    assert.ok(near(one.total_cost_usd, 790) && near(one.estimated_hours, 250));
    const two = await plan(SPEC_BODY);
    assert.equal(new Set(two.allocations.map((a) => a.provider)).size, 2);
  });

  it('deadline: 100 h forces vast in beside ionet', async () => {
    const p = await plan(withC({ redundancy: 1, deadline_hours: 100 }));
    // ionet 4 nodes × 100 h = 400 ref-h ($316); vast 600 / 0.315343 = 1902.7 node-h × $0.44 = $837.19.
    assert.deepEqual(p.allocations.map((a) => a.provider).sort(), ['ionet', 'vast']);
    assert.ok(near(p.total_cost_usd, 316 + (600 / A100) * 0.44, 1e-5), `${p.total_cost_usd}`);
    assert.ok(p.estimated_hours <= 100 + 1e-6);
    assert.equal(p.sla_horizon_hours, 100);
  });

  it('budget: the time objective slows down to fit $1,000', async () => {
    const fast = await plan(withC({ redundancy: 1, objective: 'time' }));
    // All 4 + 40 nodes: 1000 / (4 + 40 × 0.315343) = 60.19 h, about $1,250.
    assert.ok(fast.estimated_hours < 61 && fast.total_cost_usd > 1200);
    const capped = await plan(withC({ redundancy: 1, objective: 'time', budget_usd: 1000 }));
    // cost(H) = 0.79·4H + 1.39531·(1000 − 4H) = 1395.31 − 2.4212·H ≤ 1000 → H ≥ 163.27 h.
    assert.ok(capped.total_cost_usd <= 1000 + 1e-6);
    assert.ok(
      capped.estimated_hours >= 163.2 && capped.estimated_hours <= 163.27 * 1.011,
      `${capped.estimated_hours}`,
    );
  });

  it('latency: metro drops the regional offers for a metro one', async () => {
    const offers = [
      ...specMarket(),
      mkOffer({ id: 'of_cw_h100', provider: 'coreweave', price: 1.5, latency_band: 'metro' }),
    ];
    const regional = await plan(withC({ redundancy: 1 }), offers);
    assert.deepEqual(
      regional.allocations.map((a) => a.provider),
      ['ionet'],
    );
    const metro = await plan(withC({ redundancy: 1, latency_band: 'metro' }), offers);
    // coreweave 1000 ref-h × $1.50 = $1,500.
    assert.deepEqual(
      metro.allocations.map((a) => a.provider),
      ['coreweave'],
    );
    assert.ok(near(metro.total_cost_usd, 1500));
  });

  it('near: bands are measured from the request, not the gateway', async () => {
    const offers = [
      mkOffer({ id: 'of_ie', provider: 'aws', price: 1, region: 'eu-west-1', latency_band: 'global' }),
    ];
    const body = {
      workload: { type: 'training', compute_hours: 10 },
      constraints: { latency_band: 'metro' },
    };
    await infeasible(body, offers);
    const p = await plan({ ...body, constraints: { latency_band: 'metro', near: 'eu-west-1' } }, offers);
    assert.equal(p.allocations[0]?.latency_band, 'metro');
  });

  it('risk: a spot offer counts at its expected throughput; deny drops it, prefer keeps it', async () => {
    // spot H100 $0.60, reliability 0.9, 30 min checkpoints, 300 s restart: efficiency 0.965415
    // (risk.test.ts) → work_rate 0.965415, unit cost 0.60 / 0.965415 = 0.6215 < ionet's 0.79.
    const offers = [
      ...specMarket(),
      mkOffer({
        id: 'of_spot',
        provider: 'spotco',
        provider_type: 'p2p_marketplace',
        price: 0.6,
        reliability: 0.9,
        interruptible: true,
        available: 8,
      }),
    ];
    const body = withC({ redundancy: 1 });
    const allow = await plan(body, offers);
    assert.deepEqual(
      allow.allocations.map((a) => a.provider),
      ['spotco'],
    );
    assert.ok(near(allow.allocations[0]!.work_rate, 0.965415, 1e-5));
    // 1000 / 0.965415 = 1035.82 node-h × $0.60 = $621.49
    assert.ok(near(allow.total_cost_usd, (1000 / 0.965415) * 0.6, 1e-5));
    assert.ok(allow.sla_percent < 100, 'interruptions lower the SLA');
    const deny = await plan(withC({ redundancy: 1, interruptible: 'deny' }), offers);
    assert.deepEqual(
      deny.allocations.map((a) => a.provider),
      ['ionet'],
    );
    const prefer = await plan(withC({ redundancy: 1, interruptible: 'prefer' }), offers);
    assert.deepEqual(
      prefer.allocations.map((a) => a.provider),
      ['spotco'],
    );
  });

  it('cpu work is vCPU-hours on CPU-only nodes, priced per node-hour', async () => {
    const offers = [
      mkOffer({ id: 'of_hz', provider: 'hetzner', gpu_model: null, vcpus: 32, price: 0.3, available: 2 }),
      mkOffer({ id: 'of_h100', provider: 'lambda', price: 2.49 }),
    ];
    const p = await plan({ workload: { type: 'cpu', compute_hours: 640 } }, offers);
    // 640 vCPU-h / 32 vCPUs = 20 node-h × $0.30 = $6.00; 2 nodes → 10 h.
    assert.deepEqual(
      p.allocations.map((a) => [a.provider, a.nodes, a.node_hours]),
      [['hetzner', 2, 20]],
    );
    assert.ok(
      near(p.total_cost_usd, 6) && p.total_cost === '$6.00' && p.allocations[0]?.price === '$0.30/hr',
    );
    assert.equal(p.units.price, 'USD per node-hour');
  });
});

describe('createPlanner: infeasible is a value naming the binding constraint', () => {
  it('price cap: names the cheapest offer and the cap that admits it', async () => {
    const x = await infeasible(withC({ redundancy: 1, max_price_per_hour: 0.4 }));
    // Rejected by the cap alone: ionet $0.79, vast $0.44, lambda $2.49, aws $12.29 → cheapest vast.
    assert.equal(x.binding, 'constraints.max_price_per_hour');
    assert.deepEqual(x.nearest_change, { param: 'constraints.max_price_per_hour', value: 0.44 });
    assert.equal(
      x.detail,
      'No offer with batch_processing capability memory_gb ≥ 80 under $0.40/GPU-hour in regional; cheapest is $0.44/GPU-hour on vast — To fix: raise max_price_per_hour to 0.44.',
    );
    // With redundancy 2 the cap must admit a second provider: ionet at $0.79.
    const two = await infeasible(withC({ max_price_per_hour: 0.4 }));
    assert.deepEqual(two.nearest_change, { param: 'constraints.max_price_per_hour', value: 0.79 });
  });

  it('latency: widen the band', async () => {
    const x = await infeasible(withC({ redundancy: 1, latency_band: 'LAN' }));
    assert.equal(x.binding, 'constraints.latency_band');
    assert.deepEqual(x.nearest_change, { param: 'constraints.latency_band', value: 'regional' });
  });

  it('redundancy above the providers that pass', async () => {
    const x = await infeasible(withC({ redundancy: 3 }));
    assert.equal(x.binding, 'constraints.redundancy');
    assert.equal(x.kind, 'redundancy');
    assert.deepEqual(x.nearest_change, { param: 'constraints.redundancy', value: 2 });
    assert.match(
      x.detail,
      /only 2 \(ionet, vast\).*lower redundancy to 2 or raise max_price_per_hour to 2\.49/,
    );
  });

  it('budget below the minimum cost', async () => {
    const x = await infeasible(withC({ budget_usd: 500 }));
    // Minimum cost is the spec plan's: 592.5 + 792.788 × 0.44 = $941.33.
    assert.equal(x.binding, 'constraints.budget_usd');
    assert.deepEqual(x.nearest_change, { param: 'constraints.budget_usd', value: 941.33 });
    assert.match(x.detail, /To fix: raise budget_usd to 941\.33/);
  });

  it('deadline shorter than the fastest plan', async () => {
    const x = await infeasible(withC({ deadline_hours: 10 }));
    // Fastest is ≈ 62.5 h (ionet's 25% share on 4 nodes), found to 1%.
    assert.equal(x.binding, 'constraints.deadline_hours');
    const v = (x.nearest_change?.value ?? 0) as number;
    assert.ok(v >= 62.5 && v <= 63.2, `${v}`);
  });

  it('an empty market', async () => {
    const x = await infeasible(SPEC_BODY, []);
    assert.equal(x.kind, 'no_offers');
  });
});

describe('createPlanner: large_model_serve', () => {
  const serveMarket = () => [
    mkOffer({
      id: 'of_ionet',
      provider: 'ionet',
      provider_type: 'decentralized_compute',
      price: 0.79,
      available: 10,
    }),
    mkOffer({
      id: 'of_nosana',
      provider: 'nosana',
      provider_type: 'decentralized_compute',
      price: 0.95,
      available: 10,
    }),
    mkOffer({
      id: 'of_modal',
      provider: 'modal',
      provider_type: 'serverless_compute',
      price: 1.2,
      available: 10,
    }),
    mkOffer({
      id: 'of_vast',
      provider: 'vast',
      provider_type: 'p2p_marketplace',
      gpu_model: 'A100-80GB',
      price: 0.44,
      available: 20,
    }),
    mkOffer({
      id: 'of_td',
      provider: 'tensordock',
      provider_type: 'p2p_marketplace',
      price: 1.1,
      available: 10,
    }),
    mkOffer({ id: 'of_lambda', provider: 'lambda', price: 2.49, available: 20 }),
  ];

  it("the spec's body: 3 endpoints on 3 providers, one per placeholder type", async () => {
    const p = await plan(SPEC_SERVE_BODY, serveMarket());
    // 100 rps, redundancy 3 → each endpoint carries 100 / (3 − 1) = 50 rps = 5 reference GPUs.
    // Bandwidth rates: H100 1.0 → 5 nodes; A100-80GB 2039 / 3350 = 0.6087 → ⌈8.21⌉ = 9 nodes.
    // Placeholders → cheapest of their type: network_a → ionet, platform_b → modal, marketplace_c → vast.
    // 24 h: ionet 5 × 0.79 × 24 = $94.80; modal 5 × 1.20 × 24 = $144.00; vast 9 × 0.44 × 24 = $95.04.
    assert.deepEqual(p.explain.placeholders, {
      network_a: 'ionet',
      platform_b: 'modal',
      marketplace_c: 'vast',
    });
    assert.deepEqual(p.allocations.map((a) => [a.provider, a.nodes]).sort(), [
      ['ionet', 5],
      ['modal', 5],
      ['vast', 9],
    ]);
    assert.ok(near(p.total_cost_usd, 94.8 + 144 + 95.04));
    assert.equal(p.endpoints?.length, 3);
    assert.deepEqual(p.endpoints?.map((e) => e.split('/')[2]).sort(), ['ionet', 'modal', 'vast']);
    assert.equal(p.load_balancer, `/lb/${p.plan_id}`);
    assert.equal(p.health_check, '/health');
    assert.equal(p.auto_failover, true);
    // Baseline: lambda alone with 15 reference GPUs: 15 × 2.49 × 24 = $896.40 → 62.8% saved.
    assert.ok(near(p.baseline!.cost_usd, 896.4));
    assert.equal(p.savings_percent, 62.8);
  });

  it('more providers than redundancy allows is a redundancy problem', async () => {
    const x = await infeasible({ ...SPEC_SERVE_BODY, redundancy: 4 }, serveMarket());
    assert.equal(x.binding, 'constraints.redundancy');
  });
});
