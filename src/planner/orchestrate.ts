import type { CapabilityCatalog, CapabilityCatalogExtras } from '../capabilities/types.js';
import type { Geo } from '../market/geo.js';
import type { Offer } from '../protocol/schemas/offer.js';
import type { Clock } from '../util/clock.js';
import {
  balancedPlan,
  costOptimal,
  DEFAULT_HORIZON_HOURS,
  isSolved,
  paretoSet,
  type Solved,
  signature,
  solveAt,
  startLimit,
  timeOptimal,
  timeSearch,
} from './alternatives.js';
import { fallbackCapacity, fallbackWire, findBaseline, pickFallbacks, savingsPercent } from './baseline.js';
import { buildCandidates, type CandidateRow, providersOf, resolvePlaceholders } from './candidates.js';
import { createFilters, locate, type PlanFilter, placeholderMap, runFilters } from './filters.js';
import {
  budgetBound,
  capacityBound,
  deadlineBound,
  explainFiltered,
  type InfeasibleExplanation,
  solverFailed,
} from './infeasible.js';
import type { Solver } from './milp/index.js';
import {
  alternativeWire,
  buildResponse,
  cover,
  type PlanExplain,
  type PlanResponse,
  planned,
  plannedFrom,
  totals,
} from './response.js';
import { DEFAULT_RESTART_OVERHEAD_ON_DEMAND_S } from './risk.js';
import { byFill, searchContext } from './search.js';
import { formatSla, slaProbability } from './sla.js';
import type { MilpResult, PlannedAllocation, PlanRequest } from './types.js';

/**
 * POST /orchestrate's planner: a pipeline (STYLE.md 4) of
 *   locate (bands from `near`) → filters (each says why) → candidates (work rate, risk) →
 *   placeholders → dominance (once per horizon) → horizon search with the MILP → baseline, fallbacks,
 *   SLA → response.
 * Pure apart from the solver: offers come in, a plan or an infeasibility explanation goes out. The
 * clock and id source are dependencies, so a test controls both. docs/planner.md "Pipeline".
 */

export const DEFAULT_QUOTE_TTL_MS = 600_000;
/**
 * large_model_serve sizing: one reference GPU (GPU_TYPE_A, H100 SXM) serves this many requests per
 * second of a large model; another GPU serves in proportion to its memory bandwidth (decode is
 * bandwidth-bound). Endpoints are sized so the plan still serves requests_per_second with one
 * endpoint down: each carries RPS / (redundancy − 1) (all of it when redundancy is 1).
 */
export const SERVE_RPS_PER_REFERENCE_GPU = 10;

export interface PlannerDeps {
  capabilities: Pick<CapabilityCatalog, 'workRate'> &
    Pick<CapabilityCatalogExtras, 'resolveProviderPlaceholder'>;
  solver: Pick<Solver, 'solve'>;
  clock: Clock;
  /** A unique id; the plan id is `plan_<id>` (kept as is when it already starts with plan_). */
  newId: () => string;
  quoteTtlMs?: number;
  /** Region coordinates, to measure latency bands from a request's `near`; without it bands stay as offered. */
  geo?: Pick<Geo, 'locate'>;
  /**
   * Wall-clock budget, ms, for all the solves of a plan's alternatives together (the plans that are
   * not the selected one; default ALTERNATIVES_BUDGET_MS). docs/planner.md "Pipeline".
   */
  alternativesBudgetMs?: number;
  /** Monotonic milliseconds for that budget (default performance.now). */
  elapsed?: () => number;
}

/** Default wall-clock budget for the solves of a plan's alternatives, ms. */
export const ALTERNATIVES_BUDGET_MS = 150;
/** Cost and time plans this close (relative) in both cost and hours: no balanced points are solved. */
export const BALANCED_SKIP_WITHIN = 0.05;

export type PlanOutcome = { ok: true; plan: PlanResponse } | { ok: false; infeasible: InfeasibleExplanation };

export interface Planner {
  plan(req: PlanRequest, offers: Iterable<Offer>): Promise<PlanOutcome>;
}

export function createPlanner(deps: PlannerDeps): Planner {
  const ttl = deps.quoteTtlMs ?? DEFAULT_QUOTE_TTL_MS;
  return {
    async plan(req, offersIn) {
      const notes: string[] = [];
      const offers = locate([...offersIn], req, deps.geo, notes);
      const placeholders = placeholderMap(req, offers, deps.capabilities);
      const filters = createFilters({ capabilities: deps.capabilities, placeholders });
      const filtered = runFilters(offers, req, filters);
      const built = buildCandidates(filtered.passed, req, deps.capabilities);
      const ph = resolvePlaceholders(built, req, placeholders);
      const rows = ph.rows;
      const explain: PlanExplain = {
        offers_considered: filtered.considered,
        dropped: ph.dropped ? [...filtered.dropped, ph.dropped] : filtered.dropped,
        passed_filters: filtered.passed.length,
        placeholders: ph.resolved,
        candidates: rows.length,
        candidates_after_dominance: rows.length,
        solver: { name: 'highs', status: 'not run', gap: 0, solve_ms: 0, solves: 0 },
        horizon_hours: 0,
        objective: req.constraints.objective.kind,
        notes,
      };
      const ex = explain as unknown as Record<string, unknown>;
      if (rows.length === 0 || providersOf(rows).length < req.constraints.redundancy) {
        const passing = rows.map((r) => r.offer);
        return { ok: false, infeasible: explainFiltered(offers, passing, req, filters, ex) };
      }
      const env: PlanEnv = { deps, req, offers, rows, filters, explain, ttl };
      return req.workload.type === 'large_model_serve' ? planServe(env) : planBatch(env);
    },
  };
}

interface PlanEnv {
  deps: PlannerDeps;
  req: PlanRequest;
  offers: Offer[];
  rows: CandidateRow[];
  filters: PlanFilter[];
  explain: PlanExplain;
  ttl: number;
}

const withBudget = (req: PlanRequest, budget: number | null): PlanRequest => ({
  ...req,
  constraints: { ...req.constraints, budget_usd: budget },
});

async function planBatch(env: PlanEnv): Promise<PlanOutcome> {
  const { req, explain } = env;
  const ex = explain as unknown as Record<string, unknown>;
  const ctx = searchContext(env);
  const deadline = req.constraints.deadline_hours;
  const maxH = deadline ?? DEFAULT_HORIZON_HOURS;
  const cost = await costOptimal(ctx, maxH);
  if (!isSolved(cost)) {
    explain.solver = { ...explain.solver, status: cost.status, solves: ctx.solves, solve_ms: cost.solve_ms };
    return { ok: false, infeasible: await diagnose(env, cost, maxH, ex) };
  }
  // The selected plan is always exact; the plans that are only alternatives (time and balanced under
  // `cost`, balanced under `time`) share one wall-clock budget and may come back time-limited or not
  // at all (explain.alternatives_truncated).
  const obj = req.constraints.objective;
  const limit = () =>
    startLimit(
      env.deps.elapsed ?? (() => performance.now()),
      env.deps.alternativesBudgetMs ?? ALTERNATIVES_BUDGET_MS,
    );
  if (obj.kind === 'cost') ctx.limit = limit();
  const time = obj.kind === 'cost' ? await timeSearch(ctx, cost) : await timeOptimal(ctx, cost);
  if (obj.kind === 'time') ctx.limit = limit();
  let balanced: Solved | null = null;
  if (obj.kind === 'balanced') balanced = await balancedPlan(ctx, cost, time as Solved, obj.cost_weight);
  else if (time && !close(cost, time)) balanced = await balancedPlan(ctx, cost, time, 0.5);
  else if (time)
    explain.notes.push(
      'balanced alternative skipped: the cost and time plans are within 5% in cost and hours',
    );
  const primary = (obj.kind === 'cost' ? cost : obj.kind === 'time' ? time : balanced) as Solved;
  const lim = ctx.limit;
  if (lim?.spent) {
    ex.alternatives_truncated = true;
    ex.alternatives_truncated_reason = `${lim.spent} (${env.deps.alternativesBudgetMs ?? ALTERNATIVES_BUDGET_MS} ms for the alternatives' solves)${time ? '' : '; no time-optimal alternative'}`;
  }
  if (lim && lim.limited.length > 0) ex.alternatives_time_limited = lim.limited;
  ctx.limit = undefined;

  // The fill solves on every candidate (no dominance); HiGHS on the reduced list.
  const dom = byFill(primary.result) ? null : ctx.reduce(primary.horizon_hours);
  explain.candidates_after_dominance = dom ? dom.input.candidates.length : env.rows.length;
  if (dom && !dom.exact)
    explain.notes.push(`the per-provider cap dropped ${dom.capped} candidates; the plan may be near-optimal`);
  if (primary.result.status === 'feasible')
    explain.notes.push(
      `the plan's cost is within ${+(100 * primary.result.gap).toPrecision(3)}% of the cheapest at its horizon (${primary.result.solver}: not proven optimal)`,
    );
  explain.solver = {
    name: primary.result.solver,
    status: primary.result.status,
    gap: primary.result.gap,
    solve_ms: Math.round(primary.result.solve_ms * 1000) / 1000,
    solves: ctx.solves,
  };
  explain.horizon_hours = primary.horizon_hours;

  const allocations = cover(plannedFrom(env.rows, primary), ctx.work);
  const pareto = paretoSet([cost, time, balanced].filter((p): p is Solved => p !== null));
  if (!pareto.some((p) => signature(p.plan) === signature(primary)))
    pareto.push({ plan: primary, labels: [primary.label] });
  const alternatives = pareto.map((p) =>
    alternativeWire(env.rows, p.plan, p.labels, signature(p.plan) === signature(primary)),
  );
  return finish(env, ctx.work, allocations, alternatives, 'batch');
}

/** Within BALANCED_SKIP_WITHIN of each other in both cost and hours. */
function close(a: Solved, b: Solved): boolean {
  const near = (x: number, y: number) =>
    Math.abs(x - y) <= BALANCED_SKIP_WITHIN * Math.max(Math.abs(x), Math.abs(y));
  return near(a.cost_usd, b.cost_usd) && near(a.hours, b.hours);
}

/** Why the cost search found nothing: budget, deadline, or capacity (in that order of checks). */
async function diagnose(
  env: PlanEnv,
  failed: MilpResult,
  maxH: number,
  ex: Record<string, unknown>,
): Promise<InfeasibleExplanation> {
  const { req } = env;
  if (failed.status === 'error') return solverFailed(failed.detail ?? 'error', ex);
  const budget = req.constraints.budget_usd;
  const deadline = req.constraints.deadline_hours;
  if (budget !== null) {
    const free = await solveAt(searchContext(env, withBudget(req, null)), 'cost', maxH, null);
    if (isSolved(free)) return budgetBound(req, free.cost_usd, ex);
  }
  if (deadline !== null) {
    for (const b of budget !== null ? [budget, null] : [null]) {
      const ctx = searchContext(env, withBudget(req, b));
      const open = await costOptimal(ctx, DEFAULT_HORIZON_HOURS);
      if (isSolved(open)) return deadlineBound(withBudget(req, b), (await timeOptimal(ctx, open)).hours, ex);
    }
  }
  return capacityBound(req, failed.detail ?? 'no plan fits the node limits', ex);
}

async function planServe(env: PlanEnv): Promise<PlanOutcome> {
  const { req, rows, explain } = env;
  const ex = explain as unknown as Record<string, unknown>;
  const R = req.constraints.redundancy;
  const H = req.workload.compute_hours;
  const rps = req.workload.requests_per_second;
  const endpointRps = rps === null ? null : rps / (R >= 2 ? R - 1 : 1);
  const needRef = endpointRps === null ? 0 : endpointRps / SERVE_RPS_PER_REFERENCE_GPU;
  // The cheapest endpoint each provider can host: nodes to carry needRef, at least one.
  const best = new Map<string, { row: CandidateRow; nodes: number; cost: number }>();
  for (const row of rows) {
    const nodes = Math.max(1, Math.ceil(needRef / row.base_rate - 1e-9));
    if (nodes > row.candidate.max_nodes) continue;
    const c = nodes * row.price_per_node_hour * H;
    const b = best.get(row.offer.provider);
    if (!b || c < b.cost) best.set(row.offer.provider, { row, nodes, cost: c });
  }
  const chosen = [...best.values()].sort((a, b) => a.cost - b.cost).slice(0, R);
  explain.solver = {
    name: 'direct (separable: cheapest endpoint per provider)',
    status: 'optimal',
    gap: 0,
    solve_ms: 0,
    solves: 0,
  };
  explain.horizon_hours = H;
  explain.notes.push(
    `endpoints sized for ${endpointRps ?? 'unspecified'} requests/s each at ${SERVE_RPS_PER_REFERENCE_GPU} requests/s per reference GPU (bandwidth-scaled)`,
    'endpoints are planned (planned://provider/offer); real URLs come with the load balancer',
  );
  if (chosen.length < R) {
    return {
      ok: false,
      infeasible: capacityBound(
        req,
        `only ${chosen.length} providers can host an endpoint of ${needRef.toFixed(2)} reference GPUs`,
        ex,
      ),
    };
  }
  // min_nodes: add nodes to the cheapest endpoints with room.
  let total = chosen.reduce((s, c) => s + c.nodes, 0);
  for (const c of [...chosen].sort((a, b) => a.row.price_per_node_hour - b.row.price_per_node_hour)) {
    const add = Math.min(req.workload.min_nodes - total, c.row.candidate.max_nodes - c.nodes);
    if (add > 0) {
      c.nodes += add;
      total += add;
    }
  }
  const allocations = chosen.map((c) => planned(c.row, c.nodes, c.nodes * H, c.row.base_rate));
  const cost = totals(allocations).cost;
  const budget = req.constraints.budget_usd;
  if (budget !== null && cost > budget) return { ok: false, infeasible: budgetBound(req, cost, ex) };
  const work = endpointRps === null ? totals(allocations).work : R * needRef * H;
  const out = await finish(env, work, allocations, [], 'serve');
  if (!out.ok) return out;
  const plan = out.plan;
  plan.alternatives = [
    {
      objectives: [req.constraints.objective.kind],
      selected: true,
      total_cost_usd: plan.total_cost_usd,
      estimated_hours: plan.estimated_hours,
      allocations: plan.allocations.map((a) => ({
        offer_id: a.offer_id,
        provider: a.provider,
        nodes: a.nodes,
        hours: a.hours,
        node_hours: a.node_hours,
        cost_usd: a.cost_usd,
      })),
    },
  ];
  plan.endpoints = plan.allocations.map((a) => `planned://${a.provider}/${a.offer_id}`);
  plan.load_balancer = `/lb/${plan.plan_id}`;
  plan.health_check = '/health';
  plan.auto_failover = true;
  return out;
}

/** Baseline, fallbacks and SLA around chosen allocations, then the wire response. */
async function finish(
  env: PlanEnv,
  work: number,
  allocations: PlannedAllocation[],
  alternatives: ReturnType<typeof alternativeWire>[],
  mode: 'batch' | 'serve',
): Promise<PlanOutcome> {
  const { deps, req } = env;
  const t = totals(allocations);
  const used = new Set(allocations.map((a) => a.offer.id));
  const fb = pickFallbacks(env.rows, used);
  const cap = fallbackCapacity(fb);
  const horizon = req.constraints.deadline_hours ?? t.hours;
  const p = slaProbability({
    allocations: allocations.map((a) => ({
      hours: a.hours,
      nodes: a.nodes,
      reliability: a.offer.reliability,
      work: a.work,
    })),
    horizon_hours: mode === 'serve' ? t.hours : horizon,
    fallback_rate: cap.rate,
    fallback_reliability: cap.reliability,
    restart_overhead_hours: DEFAULT_RESTART_OVERHEAD_ON_DEMAND_S / 3600,
  });
  const base = findBaseline({
    offers: env.offers,
    req,
    filters: env.filters,
    capabilities: deps.capabilities,
    work,
    hours: mode === 'serve' ? t.hours : horizon,
    mode,
  });
  const id = deps.newId();
  const plan = buildResponse({
    plan_id: id.startsWith('plan_') ? id : `plan_${id}`,
    req,
    work,
    allocations,
    sla: { ...formatSla(p), horizon_hours: mode === 'serve' ? t.hours : horizon },
    baseline: base.baseline,
    baseline_note: base.note,
    savings_percent: savingsPercent(base.baseline?.cost_usd ?? null, t.cost),
    alternatives,
    fallbacks: fb.map(fallbackWire),
    explain: env.explain,
    created_ms: deps.clock.now(),
    ttl_ms: env.ttl,
  });
  return { ok: true, plan };
}

export type { Solved };
