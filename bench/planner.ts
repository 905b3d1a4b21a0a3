/**
 * Planner benchmark: synthetic candidate sets of 1k, 10k and 100k offers (after filtering), timed
 * as the planner runs them — pre-aggregation (src/planner/milp/dominance.ts), model build, HiGHS in
 * its worker — and compared with the greedy baseline on the whole, unreduced market.
 *
 *   node dist/bench/planner.js [--solver|--plan] [--plans=N] [sizes…]   (default 1000 10000 100000)
 *
 * The output keeps the solver-only figures (`sizes`, `solver`) and adds `plan`: whole
 * `createPlanner(...).plan(req, offers)` calls (runPlanBench, below), p50/p95 per size.
 *
 * Markets: 40 providers of four archetypes (marketplace, specialist cloud, traditional cloud,
 * community), GPU profiles with reference work rates 0.25–3.2 and catalog-like price spreads,
 * offers of 1–16 nodes, a reliability/interruption discount folded into work_rate and
 * effective_price as the risk model would. Requests vary work (200–50,000 reference-hours),
 * horizon (12–168 h), redundancy (1–3), an optional budget and an optional max_nodes. The solver
 * is warmed (one worker, a few solves) before timing; generation is not timed. Bars: 10k ≤ 100 ms
 * p95, 100k ≤ 1 s p95; the MILP must never cost more than greedy. Markets without max_nodes are
 * also solved by the fill (what the planner uses there), compared with greedy and with HiGHS.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { preAggregate } from '../src/planner/milp/dominance.js';
import { fillSolve, prepareFill } from '../src/planner/milp/fill.js';
import { greedy } from '../src/planner/milp/greedy.js';
import { createSolver } from '../src/planner/milp/solver.js';
import type { Candidate, MilpInput } from '../src/planner/types.js';
import { mulberry32 } from '../src/util/random.js';
import { runPlanBench } from './plan.js';
import { between, quantile, round } from './stats.js';

/** Profile → [reference work rate, low, high USD per node-hour on a marketplace]. */
const PROFILES: [string, number, number, number][] = [
  ['H200', 3.2, 2.8, 4.5],
  ['H100', 2.4, 1.8, 3.2],
  ['A100-80GB', 1.0, 0.9, 1.9],
  ['L40S', 0.9, 0.7, 1.3],
  ['RTX4090', 0.65, 0.22, 0.6],
  ['RTX3090', 0.35, 0.12, 0.3],
  ['L4', 0.3, 0.35, 0.8],
  ['T4', 0.25, 0.15, 0.45],
];
const ARCHETYPES: { mult: [number, number]; reliability: [number, number] }[] = [
  { mult: [0.9, 1.3], reliability: [0.9, 0.99] }, // marketplace
  { mult: [1.0, 1.6], reliability: [0.97, 0.999] }, // specialist cloud
  { mult: [2.2, 4.0], reliability: [0.995, 0.9999] }, // traditional cloud
  { mult: [0.6, 1.0], reliability: [0.8, 0.95] }, // community
];
const PROVIDERS = 40;

export function syntheticMarket(size: number, seed: number): MilpInput {
  const rng = mulberry32(seed);
  const providers = Array.from({ length: PROVIDERS }, (_, p) => ({
    name: `provider-${p}`,
    arch: ARCHETYPES[p % ARCHETYPES.length]!,
    skew: between(rng, [0.85, 1.15]),
  }));
  const candidates: Candidate[] = [];
  for (let i = 0; i < size; i++) {
    const p = providers[Math.floor(rng.next() ** 1.5 * PROVIDERS)]!; // a few large providers
    const [, rate, lo, hi] = PROFILES[Math.floor(rng.next() * PROFILES.length)]!;
    const reliability = between(rng, p.arch.reliability);
    const price = between(rng, [lo, hi]) * between(rng, p.arch.mult) * p.skew;
    const gpus = [1, 1, 2, 4, 8][Math.floor(rng.next() * 5)]!;
    candidates.push({
      index: i,
      offer_id: `${p.name}/o${i}`,
      provider: p.name,
      work_rate: rate * gpus * reliability,
      effective_price: (price * gpus) / (0.5 + reliability / 2),
      max_nodes: 1 + Math.floor(rng.next() ** 2 * 16),
    });
  }
  const work = 200 * 250 ** rng.next();
  const budgeted = rng.next() < 0.3;
  const capped = rng.next() < 0.3;
  return {
    candidates,
    work,
    redundancy: 1 + Math.floor(rng.next() * 3),
    horizon_hours: 12 + Math.floor(rng.next() * 157),
    // A generous budget (≈ 3× the mean unit cost) so it binds only on dear markets.
    budget_usd: budgeted ? work * 3 : null,
    min_nodes: 0,
    max_nodes: capped ? 4 + Math.floor(rng.next() * 60) : null,
  };
}

export interface PlannerSizeResult {
  offers: number;
  markets: number;
  plan_ms: { p50: number; p95: number; max: number };
  aggregate_ms_p50: number;
  solve_ms_p50: number;
  solver_candidates: { p50: number; max: number };
  statuses: Record<string, number>;
  /** Markets where pre-aggregation hit the per-provider cap (optimality not guaranteed). */
  inexact: number;
  /** MILP / greedy cost where both found a plan: mean, max (≤ 1 means the MILP never lost). */
  cost_ratio: { mean: number; min: number; max: number; compared: number };
  greedy_only_infeasible: number;
  milp_worse: number;
  /**
   * The fill (milp/fill.ts, what the planner uses without max_nodes) on the same markets, from the
   * whole market: time (index + solve), proven optimal or not, and against greedy and HiGHS.
   */
  fill: {
    ms: { p50: number; p95: number };
    markets: number;
    unproven: number;
    worse_than_greedy: number;
    /** Largest (fill − HiGHS) / HiGHS where HiGHS was optimal on an exact reduction. */
    max_excess_vs_highs: number;
    status_mismatch: number;
  };
  bar_p95_ms: number | null;
  pass: boolean | null;
}

export async function runPlannerBench(opts: { sizes: number[]; markets?: number }): Promise<{
  sizes: PlannerSizeResult[];
  solver: { recycles: number; failures: number };
}> {
  const solver = createSolver();
  try {
    for (let k = 0; k < 10; k++) await solver.solve(preAggregate(syntheticMarket(500, 1e6 + k)).input);
    const out: PlannerSizeResult[] = [];
    for (const size of opts.sizes) {
      const markets = opts.markets ?? (size >= 100_000 ? 20 : 40);
      const total: number[] = [];
      const agg: number[] = [];
      const solve: number[] = [];
      const kept: number[] = [];
      const ratios: number[] = [];
      const statuses: Record<string, number> = {};
      let inexact = 0;
      let greedyOnly = 0;
      let worse = 0;
      const fill = { ms: [] as number[], markets: 0, unproven: 0, worse: 0, excess: 0, mismatch: 0 };
      for (let m = 0; m < markets; m++) {
        const input = syntheticMarket(size, size * 1000 + m);
        const t0 = performance.now();
        const reduced = preAggregate(input);
        const t1 = performance.now();
        const r = await solver.solve(reduced.input);
        const t2 = performance.now();
        total.push(t2 - t0);
        agg.push(t1 - t0);
        solve.push(t2 - t1);
        kept.push(reduced.input.candidates.length);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (!reduced.exact) inexact++;
        const g = greedy(input);
        if (g.status === 'feasible' && (r.status === 'optimal' || r.status === 'feasible')) {
          ratios.push(r.objective / g.objective);
          if (r.objective > g.objective * (1 + 1e-7)) worse++;
        } else if (g.status === 'feasible') {
          greedyOnly++;
        }
        if (input.max_nodes !== null) continue;
        const t3 = performance.now();
        const f = fillSolve(input, prepareFill(input.candidates));
        fill.ms.push(performance.now() - t3);
        if (f === null) continue;
        fill.markets++;
        if (f.status === 'feasible') fill.unproven++;
        if ((f.status === 'infeasible') !== (r.status === 'infeasible') && r.status !== 'error')
          fill.mismatch++;
        if (g.status === 'feasible' && f.status !== 'infeasible' && f.objective > g.objective * (1 + 1e-9))
          fill.worse++;
        if (r.status === 'optimal' && reduced.exact && f.status !== 'infeasible')
          fill.excess = Math.max(fill.excess, (f.objective - r.objective) / r.objective);
      }
      const bar = size === 10_000 ? 100 : size === 100_000 ? 1000 : null;
      const p95 = quantile(total, 0.95);
      out.push({
        offers: size,
        markets,
        plan_ms: { p50: round(quantile(total, 0.5)), p95: round(p95), max: round(Math.max(...total)) },
        aggregate_ms_p50: round(quantile(agg, 0.5)),
        solve_ms_p50: round(quantile(solve, 0.5)),
        solver_candidates: { p50: quantile(kept, 0.5), max: Math.max(...kept) },
        statuses,
        inexact,
        cost_ratio: {
          mean: round(ratios.reduce((s, x) => s + x, 0) / Math.max(1, ratios.length), 4),
          min: round(Math.min(...ratios), 4),
          max: round(Math.max(...ratios), 6),
          compared: ratios.length,
        },
        greedy_only_infeasible: greedyOnly,
        milp_worse: worse,
        fill: {
          ms: { p50: round(quantile(fill.ms, 0.5)), p95: round(quantile(fill.ms, 0.95)) },
          markets: fill.markets,
          unproven: fill.unproven,
          worse_than_greedy: fill.worse,
          max_excess_vs_highs: fill.excess,
          status_mismatch: fill.mismatch,
        },
        bar_p95_ms: bar,
        pass: bar === null ? null : p95 <= bar && worse === 0 && greedyOnly === 0,
      });
    }
    const st = solver.stats();
    return { sizes: out, solver: { recycles: st.recycles, failures: st.failures } };
  } finally {
    await solver.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const only = args.find((a) => a === '--solver' || a === '--plan');
  const sizes = args.map(Number).filter((x) => x > 0);
  // --plans=N: whole plans per size (default 20, 8 from 100k offers).
  const plans = Number(args.find((a) => a.startsWith('--plans='))?.slice('--plans='.length));
  const opts = { sizes: sizes.length ? sizes : [1000, 10_000, 100_000] };
  (async () => {
    const solver = only === '--plan' ? null : await runPlannerBench(opts);
    const plan = only === '--solver' ? null : await runPlanBench(plans > 0 ? { ...opts, plans } : opts);
    console.log(JSON.stringify({ ...(solver ?? {}), ...(plan ? { plan: plan.sizes } : {}) }, null, 2));
  })();
}
