import type { SearchContext } from './alternatives.js';
import type { CandidateRow } from './candidates.js';
import { byUnitCost } from './milp/greedy.js';
import { type DominanceResult, greedy, preAggregate, type Solver } from './milp/index.js';
import { minShare, precheck, usable } from './milp/model.js';
import type { Candidate, MilpInput, MilpResult, PlanRequest } from './types.js';

/**
 * The solver side of a plan's horizon searches (split from orchestrate.ts): dominance once per
 * horizon, the capacity test that decides feasibility without a solve, and the greedy stand-in for
 * an alternative's solve too big for its time budget.
 */

/** What a search needs of the plan being made (orchestrate.ts's PlanEnv satisfies it). */
export interface SearchEnv {
  rows: CandidateRow[];
  req: PlanRequest;
  deps: { solver: Pick<Solver, 'solve'> };
}

/**
 * The solver behind a horizon search. Dominance depends on the horizon, so it runs once per
 * horizon (memoised; the time search's capacity test and the solve at the same horizon share it),
 * over candidates sorted by unit cost once per plan (preAggregate's own sort then finds them in
 * order). The reduced list goes to the solver in candidate-index order, as before.
 */
export function searchContext(
  env: SearchEnv,
  req: PlanRequest = env.req,
): SearchContext & { reduce: (horizon: number) => DominanceResult } {
  const reduce = reducer(env, req);
  const solve = (input: MilpInput): Promise<MilpResult> => {
    const reduced = { ...input, candidates: reduce(input.horizon_hours).input.candidates };
    // A limited solve (an alternative's) too big to finish within the budget: HiGHS does not stop
    // on time there (~1 s at 9k candidates under redundancy), so the greedy plan stands in.
    if (input.time_limit_ms !== undefined && reduced.candidates.length > LIMITED_SOLVE_MAX_CANDIDATES)
      return Promise.resolve(greedyIncumbent(reduced));
    return env.deps.solver.solve(reduced);
  };
  const feasibleAt = (horizon: number, budget: number | null): boolean | null =>
    budget !== null || req.workload.max_nodes !== null ? null : capacityFeasible(reduce(horizon).input);
  return {
    rows: env.rows,
    req,
    work: req.workload.compute_hours,
    solve,
    solves: 0,
    memo: new Map(),
    feasibleAt,
    reduce,
  };
}

/**
 * Candidates above which an alternative's solve is not sent to HiGHS: near the shortest horizon
 * with redundancy ≥ 2 its time limit is not honoured (1–2k candidates already take ~150 ms).
 */
export const LIMITED_SOLVE_MAX_CANDIDATES = 1000;

/**
 * The greedy plan (milp/greedy.ts) as a time-limited incumbent: status 'feasible', gap against the
 * cheapest fill by unit cost (the optimum without redundancy, a lower bound with it). No plan:
 * status 'error' (greedy may miss a plan the solver would find).
 */
function greedyIncumbent(input: MilpInput): MilpResult {
  const r = greedy(input);
  if (r.status !== 'feasible' && r.status !== 'optimal')
    return { ...r, status: 'error', detail: `greedy: ${r.detail ?? r.status}` };
  let left = 1;
  let bound = 0;
  for (const c of byUnitCost(input.candidates)) {
    if (left <= 0) break;
    const x = Math.min(left, (input.horizon_hours * c.work_rate * Math.floor(c.max_nodes)) / input.work);
    bound += x * input.work * (c.effective_price / c.work_rate);
    left -= x;
  }
  const gap = r.objective > 0 ? Math.max(0, (r.objective - bound) / r.objective) : 0;
  return {
    ...r,
    status: 'feasible',
    gap,
    detail: `greedy incumbent (${input.candidates.length} candidates), gap ${gap}`,
  };
}

/** preAggregate of the plan's candidates at a horizon, memoised by horizon. */
function reducer(env: SearchEnv, req: PlanRequest): (horizon: number) => DominanceResult {
  let sorted: Candidate[] | null = null;
  const memo = new Map<number, DominanceResult>();
  return (horizon) => {
    let d = memo.get(horizon);
    if (d) return d;
    sorted ??= byUnitCost(env.rows.map((r) => r.candidate));
    d = preAggregate({
      candidates: sorted,
      work: req.workload.compute_hours,
      redundancy: req.constraints.redundancy,
      horizon_hours: horizon,
      budget_usd: req.constraints.budget_usd,
      min_nodes: req.workload.min_nodes,
      max_nodes: req.workload.max_nodes,
    });
    d.input.candidates.sort((a, b) => a.index - b.index);
    memo.set(horizon, d);
    return d;
  };
}

/**
 * Whether the program (milp/model.ts) without a budget or a plan-wide max_nodes has a plan: then
 * each candidate can carry min(max(1, s), horizon · work_rate · max_nodes / work) of the work and
 * nothing else binds, so a plan exists iff those reach 1 in all and s for `redundancy` providers,
 * and the nodes reach min_nodes (precheck). A hair of slack (1e-7) leaves the boundary to the solver.
 */
function capacityFeasible(input: MilpInput): boolean {
  if (precheck(input)) return false;
  const s = minShare(input);
  const top = Math.max(1, s);
  const R = Math.ceil(input.redundancy);
  const slack = 1 + 1e-7;
  let total = 0;
  const perProvider = new Map<string, number>();
  for (const c of input.candidates) {
    if (!usable(c)) continue;
    const x = Math.min(
      top * slack,
      (input.horizon_hours * c.work_rate * Math.floor(c.max_nodes)) / input.work,
    );
    total += x;
    if (R >= 2) perProvider.set(c.provider, (perProvider.get(c.provider) ?? 0) + x);
  }
  if (total < slack) return false;
  if (R < 2) return true;
  let counted = 0;
  for (const x of perProvider.values()) if (x >= s * slack) counted++;
  return counted >= R;
}
