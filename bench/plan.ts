import { performance } from 'node:perf_hooks';
import { createCapabilityCatalog } from '../src/capabilities/index.js';
import { loadGeo } from '../src/market/geo.js';
import { createSolver } from '../src/planner/milp/solver.js';
import { createPlanner } from '../src/planner/orchestrate.js';
import { parseOrchestrate } from '../src/planner/request.js';
import type { PlanRequest } from '../src/planner/types.js';
import type { ProviderType } from '../src/protocol/glossary.js';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { ManualClock } from '../src/util/clock.js';
import { mulberry32 } from '../src/util/random.js';
import { between, quantile, round } from './stats.js';

/*
 * Whole-planner benchmark: `createPlanner(...).plan(req, offers)` end to end (locate, filters,
 * candidates, dominance, every horizon-search solve with the real HiGHS solver, baseline, SLA,
 * response) over offer lists in the wire shape. Every generated offer passes the filters of every
 * request shape, so the size is the number of candidate offers after filtering.
 */

/** Profile (capability catalog name, ≥ 80 GB) → USD per GPU-hour range (all ≤ the $2.00 cap). */
const PLAN_PROFILES: [string, number, number][] = [
  ['H100', 1.2, 2.0],
  ['H100-PCIe', 0.9, 1.9],
  ['H200', 1.5, 2.0],
  ['GH200', 1.3, 2.0],
  ['H100-NVL', 1.0, 1.95],
  ['A100-80GB', 0.45, 1.6],
  ['A100-80GB-PCIe', 0.4, 1.4],
  ['A800', 0.4, 1.3],
  ['MI300X', 1.0, 2.0],
  ['MI250', 0.5, 1.2],
];
/** Provider type → price multiplier range, on-demand reliability, spot share (sim/model.ts-like). */
const PLAN_TYPES: { type: ProviderType; mult: [number, number]; od: number; spot: [number, number] }[] = [
  { type: 'traditional_cloud', mult: [1.0, 1.0], od: 0.999, spot: [0.9, 0.97] },
  { type: 'serverless_compute', mult: [0.85, 1.0], od: 0.997, spot: [0.88, 0.95] },
  { type: 'decentralized_cloud', mult: [0.7, 1.0], od: 0.99, spot: [0.84, 0.92] },
  { type: 'decentralized_compute', mult: [0.6, 0.95], od: 0.985, spot: [0.82, 0.9] },
  { type: 'p2p_marketplace', mult: [0.5, 0.9], od: 0.98, spot: [0.8, 0.88] },
];
const PLAN_PROVIDERS = 30;
const PLAN_REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-northeast-1'];

/** `size` offers in the wire shape, every one passing the request shapes' filters. */
export function syntheticOffers(size: number, seed: number): Offer[] {
  const rng = mulberry32(seed);
  const caps = planCatalog();
  const providers = Array.from({ length: PLAN_PROVIDERS }, (_, p) => ({
    name: `prov${p}`,
    kind: PLAN_TYPES[p % PLAN_TYPES.length]!,
    skew: between(rng, [0.9, 1.1]),
  }));
  const out: Offer[] = [];
  for (let i = 0; i < size; i++) {
    const p = providers[Math.floor(rng.next() ** 1.5 * PLAN_PROVIDERS)]!;
    const [model, lo, hi] = PLAN_PROFILES[Math.floor(rng.next() * PLAN_PROFILES.length)]!;
    const prof = caps.profile(model)!;
    const count = [1, 1, 2, 4, 8][Math.floor(rng.next() * 5)]!;
    const spot = rng.next() < 0.35;
    const perGpu = Math.min(
      2.0,
      between(rng, [lo, hi]) * between(rng, p.kind.mult) * p.skew * (spot ? 0.6 : 1),
    );
    const gpuPrice = Math.round(perGpu * 1e4) / 1e4;
    const price = Math.round(gpuPrice * count * 1e4) / 1e4;
    out.push({
      id: `${p.name}/${model}x${count}/${i}`,
      provider: p.name,
      provider_type: p.kind.type,
      resource_type: caps.classOf(model),
      profile: model,
      sku: `${model}x${count}`,
      gpu_model: model,
      gpu_count: count,
      gpu_memory_gb: prof.memory_gb,
      vcpus: 16 * count,
      memory_gb: 128 * count,
      price_per_hour: price,
      price_per_gpu_hour: gpuPrice,
      list_price_per_hour: price,
      currency: 'USD',
      interruptible: spot,
      reliability: spot ? Math.round(between(rng, p.kind.spot) * 1e4) / 1e4 : p.kind.od,
      region: PLAN_REGIONS[Math.floor(rng.next() * PLAN_REGIONS.length)]!,
      zone: null,
      latency_band: rng.next() < 0.1 ? 'LAN' : 'regional',
      distance_km: null,
      available: 1 + Math.floor(rng.next() ** 2 * 16),
      verification: 'catalog_listed',
      capabilities: {
        fp16_tflops: prof.fp16_tflops,
        fp32_tflops: prof.fp32_tflops,
        int8_tops: prof.int8_tops,
        memory_gb: prof.memory_gb,
        bandwidth_gb_s: prof.bandwidth_gb_s,
        interconnect: prof.interconnect,
      },
      observed_at: '2025-01-01T00:00:00.000Z',
      simulated: true,
      data_quality: [],
    });
  }
  return out;
}

let catalog: ReturnType<typeof createCapabilityCatalog> | null = null;
const planCatalog = () => {
  catalog ??= createCapabilityCatalog();
  return catalog;
};

const SPEC_CONSTRAINTS = { max_price_per_hour: 2.0, latency_band: 'regional', redundancy: 2 };
const SPEC_WORKLOAD = {
  type: 'batch_processing',
  compute_hours: 1000,
  memory_gb: 80,
  interconnect: 'optional',
};
/** Request shapes: the spec's body, redundancy 1, a deadline, objective time. */
export const PLAN_SHAPES: { name: string; body: object }[] = [
  { name: 'spec', body: { requester: 'bench', workload: SPEC_WORKLOAD, constraints: SPEC_CONSTRAINTS } },
  {
    name: 'redundancy_1',
    body: {
      workload: { ...SPEC_WORKLOAD, compute_hours: 5000 },
      constraints: { ...SPEC_CONSTRAINTS, redundancy: 1 },
    },
  },
  {
    name: 'deadline',
    body: {
      workload: { ...SPEC_WORKLOAD, compute_hours: 20_000 },
      constraints: { ...SPEC_CONSTRAINTS, deadline_hours: 48 },
    },
  },
  {
    name: 'time',
    body: {
      workload: { ...SPEC_WORKLOAD, compute_hours: 2000 },
      constraints: { ...SPEC_CONSTRAINTS, objective: 'time' },
    },
  },
];

export interface PlanSizeResult {
  /** Candidate offers after filtering (every generated offer passes). */
  offers: number;
  plans: number;
  plan_ms: { p50: number; p95: number; max: number };
  per_shape_p50_ms: Record<string, number>;
  per_shape_p95_ms: Record<string, number>;
  solves_p50: number;
  /** explain.solver of the selected plans: "name status" → count, and the largest gap. */
  selected: Record<string, number>;
  selected_max_gap: number;
  /** Plans with an alternative not proven optimal (explain.alternatives_time_limited) or cut short. */
  alternatives_inexact: number;
  alternatives_truncated: number;
  outcomes: Record<string, number>;
  bar_p95_ms: number | null;
  pass: boolean | null;
}

export async function runPlanBench(opts: {
  sizes: number[];
  plans?: number;
}): Promise<{ sizes: PlanSizeResult[] }> {
  const caps = planCatalog();
  const geo = loadGeo();
  const inner = createSolver();
  // PLAN_BENCH_TRACE=1: one stderr line per solve (candidates, horizon, time limit, status, ms).
  const trace = process.env.PLAN_BENCH_TRACE === '1';
  const solver: typeof inner = trace
    ? {
        ...inner,
        async solve(input) {
          const t0 = performance.now();
          const r = await inner.solve(input);
          console.error(
            `solve n=${input.candidates.length} H=${input.horizon_hours.toPrecision(4)} limit=${input.time_limit_ms ?? '-'} ${r.status} gap=${r.gap} ${(performance.now() - t0).toFixed(1)} ms`,
          );
          return r;
        },
      }
    : inner;
  let seq = 0;
  const planner = createPlanner({
    capabilities: caps,
    solver,
    clock: new ManualClock(Date.UTC(2025, 0, 1)),
    newId: () => `bench${++seq}`,
    geo,
  });
  const parse = (body: object, offers: readonly Offer[]): PlanRequest => {
    const r = parseOrchestrate(body, {
      capabilities: caps,
      geo,
      knownProviders: new Set(offers.map((o) => o.provider)),
    });
    if (!r.ok) throw new Error(`bench body: ${JSON.stringify(r.problems)}`);
    return r.value;
  };
  try {
    // Warm the solver and the planner's code paths on a small market.
    const warm = syntheticOffers(500, 7);
    for (const s of PLAN_SHAPES) await planner.plan(parse(s.body, warm), warm);
    const out: PlanSizeResult[] = [];
    for (const size of opts.sizes) {
      const plans = opts.plans ?? (size >= 100_000 ? 8 : 20);
      // Then one untimed plan per shape at this size (another seed), so the timed plans measure a
      // warm process (JIT, heap) whatever size ran before: PLAN_BENCH_COLD=1 skips it, and then
      // the first plans at a size carry the warm-up (150–250 ms at 10k on the 2-vCPU machine).
      if (process.env.PLAN_BENCH_COLD !== '1') {
        const pre = syntheticOffers(size, size * 7919 + 1_000_003);
        for (const s of PLAN_SHAPES) await planner.plan(parse(s.body, pre), pre);
      }
      const total: number[] = [];
      const solves: number[] = [];
      const byShape: Record<string, number[]> = {};
      const outcomes: Record<string, number> = {};
      const selected: Record<string, number> = {};
      let maxGap = 0;
      let inexact = 0;
      let truncated = 0;
      for (let k = 0; k < plans; k++) {
        const shape = PLAN_SHAPES[k % PLAN_SHAPES.length]!;
        const offers = syntheticOffers(size, size * 7919 + k);
        const req = parse(shape.body, offers);
        if (trace) console.error(`plan ${size} ${shape.name}`);
        const t0 = performance.now();
        const r = await planner.plan(req, offers);
        const ms = performance.now() - t0;
        total.push(ms);
        const list = byShape[shape.name] ?? [];
        list.push(ms);
        byShape[shape.name] = list;
        const key = r.ok ? 'ok' : `infeasible:${r.infeasible.kind}`;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
        if (r.ok) {
          if (r.plan.explain.passed_filters !== size)
            throw new Error(`${size} offers: ${r.plan.explain.passed_filters} passed the filters`);
          const ex = r.plan.explain;
          solves.push(ex.solver.solves);
          const key = `${ex.solver.name} ${ex.solver.status}`;
          selected[key] = (selected[key] ?? 0) + 1;
          maxGap = Math.max(maxGap, ex.solver.gap);
          const extra = ex as unknown as Record<string, unknown>;
          if (extra.alternatives_time_limited) inexact++;
          if (extra.alternatives_truncated) truncated++;
        }
      }
      const bar = size === 10_000 ? 100 : size === 100_000 ? 1000 : null;
      const p95 = quantile(total, 0.95);
      out.push({
        offers: size,
        plans,
        plan_ms: { p50: round(quantile(total, 0.5)), p95: round(p95), max: round(Math.max(...total)) },
        per_shape_p50_ms: Object.fromEntries(
          Object.entries(byShape).map(([k, v]) => [k, round(quantile(v, 0.5))]),
        ),
        per_shape_p95_ms: Object.fromEntries(
          Object.entries(byShape).map(([k, v]) => [k, round(quantile(v, 0.95))]),
        ),
        solves_p50: quantile(solves, 0.5),
        selected,
        selected_max_gap: maxGap,
        alternatives_inexact: inexact,
        alternatives_truncated: truncated,
        outcomes,
        bar_p95_ms: bar,
        pass: bar === null ? null : p95 <= bar && (outcomes.ok ?? 0) === plans,
      });
    }
    return { sizes: out };
  } finally {
    await solver.close();
  }
}
