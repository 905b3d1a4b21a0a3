/**
 * Exhaustive search for tiny markets (≤ 8 candidates, small max_nodes): the reference the MILP is
 * tested against. It shares no code with model.ts or the solver beyond `usable` and `minShare`.
 *
 * It enumerates EVERY node vector n (0 ≤ n_i ≤ max_nodes_i, min_nodes ≤ Σ n ≤ max_nodes) and, for
 * redundancy R ≥ 2, every set Z of exactly R counted providers (a larger set only adds share
 * constraints). For fixed n and Z the rest is a linear program solved exactly by a fill:
 *
 *   minimise Σ c_i w_i  (w_i reference-hours on i, c_i = price_i / rate_i)
 *   subject to 0 ≤ w_i ≤ horizon · n_i · rate_i,  Σ w_i ≥ W,  Σ_{i∈p} w_i ≥ s·W for p ∈ Z.
 *
 * Within a provider, load goes to its cheapest offers first (exchange argument), so a provider's
 * cost f_p(T_p) is convex piecewise linear in its load T_p. Minimising Σ f_p(T_p) subject to
 * T_p ≥ s·W (p ∈ Z) and Σ T_p ≥ W is separable convex with one coupling row: start every counted
 * provider at its lower bound, then buy the cheapest remaining marginal capacity (all providers,
 * unit cost ascending) until W is reached. That fill is exact, and the budget row is on the same
 * cost, so "min cost ≤ budget" decides it. Nodes never cost anything (only hours do).
 */
import type { MilpInput } from '../types.js';
import { minShare, usable } from './model.js';

export interface BruteResult {
  feasible: boolean;
  /** Optimal Σ effective_price · node_hours; Infinity when infeasible. */
  objective: number;
  /** Node vectors × provider sets examined. */
  visited: number;
}

/** Refuses markets whose node vectors exceed this many (the search would not finish). */
const MAX_VECTORS = 2_000_000;

export function bruteForce(input: MilpInput): BruteResult {
  const { candidates, work: W, horizon_hours: H } = input;
  const m = candidates.length;
  let vectors = 1;
  for (const c of candidates) vectors *= Math.floor(c.max_nodes) + 1;
  if (m > 10 || vectors > MAX_VECTORS)
    throw new Error(`brute force refuses ${m} candidates / ${vectors} vectors`);

  const unit = candidates.map((c) =>
    usable(c) ? c.effective_price / c.work_rate : Number.POSITIVE_INFINITY,
  );
  const order = candidates.map((_, i) => i).sort((a, b) => unit[a]! - unit[b]!);
  const providers = [...new Set(candidates.filter(usable).map((c) => c.provider))];
  const R = Math.ceil(input.redundancy);
  const sets = R >= 2 ? subsets(providers, R) : [[]];
  const share = minShare(input) * W;
  const maxTotal = input.max_nodes ?? Number.POSITIVE_INFINITY;
  const tol = 1e-9 * W;

  let best = Number.POSITIVE_INFINITY;
  let visited = 0;
  const n = new Array<number>(m).fill(0);
  const used = new Array<number>(m).fill(0);

  const fill = (counted: string[]): number => {
    used.fill(0);
    let cost = 0;
    let total = 0;
    const take = (i: number, want: number): number => {
      const c = candidates[i]!;
      if (!usable(c) || want <= 0) return 0;
      const t = Math.min(H * n[i]! * c.work_rate - used[i]!, want);
      if (t <= 0) return 0;
      used[i]! += t;
      cost += t * unit[i]!;
      total += t;
      return t;
    };
    for (const p of counted) {
      let need = share;
      for (const i of order) if (candidates[i]!.provider === p) need -= take(i, need);
      if (need > tol) return Number.POSITIVE_INFINITY;
    }
    for (const i of order) take(i, W - total);
    return W - total > tol ? Number.POSITIVE_INFINITY : cost;
  };

  const visit = () => {
    for (const z of sets) {
      visited++;
      const cost = fill(z);
      if (cost < best && (input.budget_usd === null || cost <= input.budget_usd * (1 + 1e-9))) best = cost;
    }
  };

  const walk = (i: number, sum: number) => {
    if (sum > maxTotal) return;
    if (i === m) {
      if (sum >= input.min_nodes) visit();
      return;
    }
    const top = Math.floor(candidates[i]!.max_nodes);
    for (let k = 0; k <= top; k++) {
      n[i] = k;
      walk(i + 1, sum + k);
    }
    n[i] = 0;
  };
  if (W > 0 && H > 0 && sets.length > 0) walk(0, 0);
  return { feasible: Number.isFinite(best), objective: best, visited };
}

function subsets<T>(items: T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, k - 1).map((s) => [head, ...s]), ...subsets(rest, k)];
}
