import type { CandidateRow } from './candidates.js';
import type { Candidate, MilpInput, MilpResult, PlanRequest } from './types.js';

/**
 * Horizon search: the solver answers "cheapest plan that finishes within H hours"; the objectives
 * are searches over H.
 * - cost: the cheapest plan at the longest horizon allowed (the deadline, else
 *   DEFAULT_HORIZON_HOURS), then the SHORTEST horizon at that cost (within COST_TOLERANCE): prices
 *   are per node-hour, so more nodes for fewer hours cost the same, and the cheapest plan should
 *   not take a year because one node would do.
 * - time: the shortest feasible horizon (bisection to TIME_PRECISION), cheapest plan at it.
 * - balanced(w): among a few horizons between the two, the plan minimising
 *   w · cost / cost_min + (1 − w) · hours / hours_min.
 * Alternatives are these three plans, deduplicated and Pareto-filtered.
 */

/** Longest horizon a plan without a deadline may take: one year. */
export const DEFAULT_HORIZON_HOURS = 8760;
/** "Same cost" for the cost objective's horizon search: within 0.01%. */
export const COST_TOLERANCE = 1e-4;
/** Bisection stops when hi / lo ≤ 1 + TIME_PRECISION (1%). */
export const TIME_PRECISION = 0.01;
const MAX_BISECTIONS = 24;
/** Interior horizons tried by the balanced objective (geometric between time- and cost-optimal). */
const BALANCED_POINTS = 3;

/** `label`: the search asking (a time plan's solve may keep a fill's gap: search.ts). */
export type Solve = (input: MilpInput, label?: Solved['label']) => Promise<MilpResult>;

export interface Solved {
  label: 'cost' | 'time' | 'balanced';
  result: MilpResult;
  horizon_hours: number;
  /** Σ list price per node-hour × node_hours (what the user pays). */
  cost_usd: number;
  /** max over allocations of node_hours / nodes. */
  hours: number;
}

export interface SearchContext {
  rows: readonly CandidateRow[];
  req: PlanRequest;
  /** Reference GPU-hours to deliver. */
  work: number;
  solve: Solve;
  /** Solves made so far, for explain (memoised repeats are not counted). */
  solves: number;
  /**
   * Solver results by horizon and budget: a search that returns to a horizon reuses the answer
   * (the program is the same). Absent: no memo.
   */
  memo?: Map<string, Promise<MilpResult>>;
  /**
   * Whether the program at `horizon` has any plan, decided without the solver, or null when that
   * takes the solver (a budget or a plan-wide max_nodes). Absent: always the solver.
   */
  feasibleAt?: (horizon: number, budget: number | null) => boolean | null;
  /**
   * A wall-clock budget shared by the solves made while it is set (the alternatives of a plan, never
   * its selected plan): each solve gets the time left as its `time_limit_ms` and may return a
   * time-limited incumbent (status 'feasible'); once it is spent, solveAt solves nothing more.
   */
  limit?: AlternativesLimit;
}

export interface AlternativesLimit {
  /** Monotonic milliseconds. */
  now: () => number;
  /** `now()` value at which the budget is spent. */
  until: number;
  /** Set when a solve was refused or stopped by the budget; the reason, for explain. */
  spent: string | null;
  /** Solves cut short by their time limit: horizon and the gap of the incumbent kept. */
  limited: { horizon_hours: number; solver: string; gap: number }[];
}

/** A limited solve is not started with less than this left (HiGHS needs a few ms to find anything). */
export const MIN_LIMITED_SOLVE_MS = 5;

export function startLimit(now: () => number, budgetMs: number): AlternativesLimit {
  return { now, until: now() + budgetMs, spent: null, limited: [] };
}

const isSpent = (ctx: SearchContext) => ctx.limit?.spent != null;

const ok = (r: MilpResult) => (r.status === 'optimal' || r.status === 'feasible') && r.allocations.length > 0;

const candidateLists = new WeakMap<readonly CandidateRow[], Candidate[]>();

export function milpInput(ctx: SearchContext, horizon: number, budget: number | null): MilpInput {
  const c = ctx.req.constraints;
  let candidates = candidateLists.get(ctx.rows);
  if (!candidates) {
    candidates = ctx.rows.map((r) => r.candidate);
    candidateLists.set(ctx.rows, candidates);
  }
  return {
    candidates,
    work: ctx.work,
    redundancy: c.redundancy,
    horizon_hours: horizon,
    budget_usd: budget,
    min_nodes: ctx.req.workload.min_nodes,
    max_nodes: ctx.req.workload.max_nodes,
  };
}

/** List-price cost and wall-clock hours of a solver result. */
export function measure(rows: readonly CandidateRow[], r: MilpResult): { cost_usd: number; hours: number } {
  let cost = 0;
  let hours = 0;
  for (const a of r.allocations) {
    const row = rows[a.index] as CandidateRow;
    cost += row.price_per_node_hour * a.node_hours;
    if (a.nodes > 0) hours = Math.max(hours, a.node_hours / a.nodes);
  }
  return { cost_usd: cost, hours };
}

export async function solveAt(
  ctx: SearchContext,
  label: Solved['label'],
  horizon: number,
  budget: number | null = ctx.req.constraints.budget_usd,
): Promise<Solved | MilpResult> {
  const key = `${horizon}|${budget}`;
  let pending = ctx.memo?.get(key);
  const lim = ctx.limit;
  if (!pending) {
    const input = milpInput(ctx, horizon, budget);
    if (lim) {
      const left = lim.until - lim.now();
      if (lim.spent !== null || left < MIN_LIMITED_SOLVE_MS) {
        lim.spent ??= 'alternatives time budget spent';
        return {
          status: 'error',
          allocations: [],
          objective: 0,
          gap: 0,
          solver: 'none',
          solve_ms: 0,
          detail: lim.spent,
        };
      }
      input.time_limit_ms = Math.ceil(left);
    }
    ctx.solves++;
    pending = ctx.solve(input, label);
    const r = await pending;
    // Only the program's own answer is memoised: not a time-limited one, nor a fill's with a gap.
    if (r.status === 'optimal' || r.status === 'infeasible') ctx.memo?.set(key, pending);
    if (lim) {
      if (r.status === 'feasible') lim.limited.push({ horizon_hours: horizon, solver: r.solver, gap: r.gap });
      if (/time limit/.test(r.detail ?? ''))
        lim.spent ??= `alternatives time budget spent (solver time limit at ${+horizon.toPrecision(4)} h)`;
    }
  }
  const result = await pending;
  if (!ok(result)) return result;
  const m = measure(ctx.rows, result);
  // The budget row sees objective prices (the `prefer` discount); the user pays list prices.
  if (
    budget !== null &&
    m.cost_usd > budget * (1 + 1e-9) &&
    ctx.rows.some((r) => r.candidate.effective_price < r.price_per_node_hour)
  ) {
    return { ...result, status: 'infeasible', allocations: [], detail: 'over budget at list prices' };
  }
  return { label, result, horizon_hours: horizon, ...m };
}

export const isSolved = (x: Solved | MilpResult): x is Solved => 'label' in x;

/** Fewest hours any plan could take: all capacity of every candidate at once. */
function lowerBound(ctx: SearchContext): number {
  const rate = ctx.rows.reduce((s, r) => s + r.candidate.work_rate * r.candidate.max_nodes, 0);
  return rate > 0 ? ctx.work / rate : Number.POSITIVE_INFINITY;
}

/**
 * A shorter horizon the same allocation fits in: each used offer on all its nodes,
 * max_i node_hours_i / max_nodes_i. The plan stays feasible there at the same cost (unless the
 * plan-wide max_nodes binds, which the solve at that horizon then shows), so a search starts from
 * it rather than from the one-node-per-offer time the solver's node trimming reports.
 */
function seedHorizon(ctx: SearchContext, s: Solved): number {
  let h = 0;
  for (const a of s.result.allocations) {
    const c = (ctx.rows[a.index] as CandidateRow).candidate;
    if (a.node_hours > 0) h = Math.max(h, a.node_hours / Math.max(1, Math.floor(c.max_nodes)));
  }
  return h > 0 ? Math.min(h, s.hours > 0 ? s.hours : h) : s.hours > 0 ? s.hours : s.horizon_hours;
}

/**
 * Smallest horizon in (lo, hi] whose plan passes `good`, given `hiPlan` already passes at hi.
 * Bisection in log space to TIME_PRECISION.
 */
async function bisect(
  ctx: SearchContext,
  label: Solved['label'],
  lo: number,
  hiPlan: Solved,
  good: (s: Solved) => boolean,
  budget: number | null,
  probe = false,
): Promise<Solved> {
  let best = hiPlan;
  let hi = Math.min(hiPlan.horizon_hours, seedHorizon(ctx, hiPlan));
  if (hi < hiPlan.horizon_hours) {
    const at = await solveAt(ctx, label, hi, budget);
    if (isSolved(at) && good(at)) best = at;
    else hi = hiPlan.horizon_hours;
  }
  // `good` is monotone in H (a longer horizon only adds room), so one solve just under the
  // precision below hi settles the common case where nothing shorter is good: the bisection
  // would end at hi after ~log₂(log(hi/lo) / log(1 + TIME_PRECISION)) solves.
  if (probe && hi / lo > 1 + TIME_PRECISION) {
    const p = (hi / (1 + TIME_PRECISION)) * (1 + 1e-12);
    const at = await solveAt(ctx, label, p, budget);
    if (isSolved(at) && good(at)) {
      best = at;
      hi = Math.min(p, at.hours > 0 ? Math.max(at.hours, lo) : p);
    } else lo = p;
  }
  for (let i = 0; i < MAX_BISECTIONS && hi / lo > 1 + TIME_PRECISION && !isSpent(ctx); i++) {
    const mid = Math.sqrt(lo * hi);
    const at = await solveAt(ctx, label, mid, budget);
    if (isSpent(ctx) && !isSolved(at)) break;
    if (isSolved(at) && good(at)) {
      best = at;
      hi = Math.min(mid, at.hours > 0 ? Math.max(at.hours, lo) : mid);
    } else lo = mid;
  }
  return { ...best, label };
}

/** The cost-optimal plan (fastest among the cheapest), or the failing solver result. */
export async function costOptimal(ctx: SearchContext, maxHorizon: number): Promise<Solved | MilpResult> {
  const first = await solveAt(ctx, 'cost', maxHorizon);
  if (!isSolved(first)) return first;
  const target = first.cost_usd * (1 + COST_TOLERANCE) + 1e-9;
  const good = (s: Solved) => s.cost_usd <= target;
  const seed = seedHorizon(ctx, first);
  if (seed < first.horizon_hours) {
    const at = await solveAt(ctx, 'cost', seed);
    // Below the seed the binding offer must shed load; with no other candidate within
    // COST_TOLERANCE of its unit cost, that raises the cost, so the seed is the answer.
    if (isSolved(at) && good(at) && !hasTie(ctx, at)) return at;
  }
  const lo = Math.min(lowerBound(ctx), first.hours) * (1 - 1e-9);
  return bisect(ctx, 'cost', lo, first, good, ctx.req.constraints.budget_usd, true);
}

const unitCost = (r: CandidateRow) => r.candidate.effective_price / r.candidate.work_rate;

/** Another candidate as cheap per unit work (within COST_TOLERANCE) as the plan's binding offer. */
function hasTie(ctx: SearchContext, s: Solved): boolean {
  let binding: CandidateRow | null = null;
  let h = -1;
  for (const a of s.result.allocations) {
    const row = ctx.rows[a.index] as CandidateRow;
    const t = a.node_hours / Math.max(1, Math.floor(row.candidate.max_nodes));
    if (t > h) {
      h = t;
      binding = row;
    }
  }
  if (binding === null) return false;
  const limit = unitCost(binding) * (1 + COST_TOLERANCE);
  return ctx.rows.some((r) => r !== binding && unitCost(r) <= limit);
}

/** The time-optimal plan, searched below a known feasible plan (exact: call without ctx.limit). */
export async function timeOptimal(ctx: SearchContext, feasible: Solved): Promise<Solved> {
  return (await timeSearch(ctx, feasible)) ?? { ...feasible, label: 'time' };
}

/**
 * The time search. Under ctx.limit it may stop early: null when the budget ran out before any plan
 * faster than `feasible` was found; otherwise the fastest plan found (the shortest horizon when the
 * budget lasted; ctx.limit.spent says when it did not).
 */
export async function timeSearch(ctx: SearchContext, feasible: Solved): Promise<Solved | null> {
  const lo = Math.min(lowerBound(ctx), feasible.hours) * (1 - 1e-9);
  const budget = ctx.req.constraints.budget_usd;
  const fast = await bracketTime(ctx, lo, feasible, budget);
  if (fast) return fast;
  if (isSpent(ctx)) return null;
  const t = await bisect(ctx, 'time', lo, { ...feasible, label: 'time' }, () => true, budget);
  return isSpent(ctx) && t.result === feasible.result ? null : t;
}

/**
 * The time search when feasibility needs no solver (no budget, no plan-wide max_nodes: then a
 * horizon has a plan iff the capacities of the pre-aggregated candidates reach the work and
 * `redundancy` providers' reach a share each — ctx.feasibleAt). The same bisection in log space
 * runs on that test, and one solve at the end prices the shortest feasible horizon found. Null
 * when the context cannot tell or that solve fails (the caller bisects with the solver).
 */
async function bracketTime(
  ctx: SearchContext,
  lo: number,
  feasible: Solved,
  budget: number | null,
): Promise<Solved | null> {
  const test = ctx.feasibleAt;
  if (test?.(feasible.horizon_hours, budget) !== true) return null;
  let hi = Math.min(feasible.horizon_hours, seedHorizon(ctx, feasible));
  if (hi < feasible.horizon_hours && test(hi, budget) !== true) hi = feasible.horizon_hours;
  for (let i = 0; i < MAX_BISECTIONS && hi / lo > 1 + TIME_PRECISION; i++) {
    const mid = Math.sqrt(lo * hi);
    if (test(mid, budget) === true) hi = mid;
    else lo = mid;
  }
  if (hi >= feasible.horizon_hours) return { ...feasible, label: 'time' };
  const at = await solveAt(ctx, 'time', hi, budget);
  return isSolved(at) ? { ...at, label: 'time' } : null;
}

/** The balanced plan for weight `w` on cost, between the time- and the cost-optimal plans. */
export async function balancedPlan(
  ctx: SearchContext,
  cost: Solved,
  time: Solved,
  w: number,
): Promise<Solved> {
  const tried: Solved[] = [cost, time];
  const a = Math.max(time.hours, 1e-9);
  const b = Math.max(cost.hours, a);
  for (let k = 1; k <= BALANCED_POINTS && b / a > 1 + TIME_PRECISION && !isSpent(ctx); k++) {
    const h = a * (b / a) ** (k / (BALANCED_POINTS + 1));
    const at = await solveAt(ctx, 'balanced', h);
    if (isSolved(at)) tried.push(at);
  }
  const cMin = Math.max(Math.min(...tried.map((t) => t.cost_usd)), 1e-12);
  const tMin = Math.max(Math.min(...tried.map((t) => t.hours)), 1e-12);
  const score = (s: Solved) => w * (s.cost_usd / cMin) + (1 - w) * (s.hours / tMin);
  const best = tried.reduce((x, y) => (score(y) < score(x) - 1e-12 ? y : x));
  return { ...best, label: 'balanced' };
}

const signatures = new WeakMap<MilpResult, string>();

/**
 * A plan's identity: which offers, how many nodes, how many node-hours (to 0.001), in offer order.
 * Memoised: a plan over a 100k market can hold ~100k allocations.
 */
export function signature(s: Solved): string {
  let sig = signatures.get(s.result);
  if (sig === undefined) {
    const xs = s.result.allocations;
    const ordered = xs.every((a, i) => i === 0 || xs[i - 1]!.index < a.index);
    sig = (ordered ? xs : [...xs].sort((a, b) => a.index - b.index))
      .map((a) => `${a.index}:${a.nodes}:${Math.round(a.node_hours * 1000)}`)
      .join('|');
    signatures.set(s.result, sig);
  }
  return sig;
}

/**
 * The small Pareto set: drop duplicates (keeping every label that produced the plan) and any plan
 * another beats on both cost and time.
 */
export function paretoSet(plans: readonly Solved[]): { plan: Solved; labels: Solved['label'][] }[] {
  const bySig = new Map<string, { plan: Solved; labels: Solved['label'][] }>();
  for (const p of plans) {
    const k = signature(p);
    const e = bySig.get(k);
    if (e) {
      if (!e.labels.includes(p.label)) e.labels.push(p.label);
    } else bySig.set(k, { plan: p, labels: [p.label] });
  }
  const xs = [...bySig.values()];
  const eps = 1e-6;
  return xs.filter(
    ({ plan: p }) =>
      !xs.some(
        ({ plan: q }) =>
          q !== p &&
          q.cost_usd <= p.cost_usd * (1 + eps) &&
          q.hours <= p.hours * (1 + eps) &&
          (q.cost_usd < p.cost_usd * (1 - eps) || q.hours < p.hours * (1 - eps)),
      ),
  );
}
