import type { SearchContext, Solved } from './alternatives.js';
import type { CandidateRow } from './candidates.js';
import { FILL_SOLVER, type FillIndex, fillSolve, prepareFill } from './milp/fill.js';
import { byUnitCost } from './milp/greedy.js';
import { type DominanceResult, greedy, preAggregate, type Solver } from './milp/index.js';
import type { Candidate, MilpInput, MilpResult, PlanRequest } from './types.js';

/**
 * The solver side of a plan's horizon searches (split from orchestrate.ts): the fill (milp/fill.ts)
 * where it applies, else dominance once per horizon and HiGHS; the capacity test that decides
 * feasibility without a solve; and the greedy stand-in for an alternative's solve too big for its
 * time budget when only HiGHS could solve it.
 */

/** What a search needs of the plan being made (orchestrate.ts's PlanEnv satisfies it). */
export interface SearchEnv {
  rows: CandidateRow[];
  req: PlanRequest;
  deps: { solver: Pick<Solver, 'solve'> };
}

/**
 * The solver behind a horizon search. Without a plan-wide max_nodes the fill (milp/fill.ts) solves
 * on the whole market, proving its plan optimal or giving its gap; its proven answers (and
 * infeasibility) stand. An unproven one stands where a gap is allowed — an alternative's solve, or
 * the time plan's (label 'time': its cost is secondary to the shortest horizon) — when the
 * dominance-reduced model is larger than EXACT_SOLVE_MAX_CANDIDATES; otherwise HiGHS solves the
 * reduced model and the cheaper answer stands. Dominance runs once per horizon (memoised), over
 * candidates sorted by unit cost once per plan; the reduced list goes to HiGHS in candidate order.
 * The time search's capacity test runs on the whole market (dominance never changes feasibility).
 */
export function searchContext(
  env: SearchEnv,
  req: PlanRequest = env.req,
): SearchContext & { reduce: (horizon: number) => DominanceResult } {
  let ix: FillIndex | null = null;
  const index = () => {
    ix ??= prepareFill(env.rows.map((r) => r.candidate));
    return ix;
  };
  const reduce = reducer(req, () => Array.from(index().order, (k) => index().candidates[k]!));
  const solve = async (input: MilpInput, label?: Solved['label']): Promise<MilpResult> => {
    const f = fillSolve(input, index());
    if (f !== null && f.status !== 'feasible') return f;
    const limited = input.time_limit_ms !== undefined;
    const reduced = { ...input, candidates: reduce(input.horizon_hours).input.candidates };
    const n = reduced.candidates.length;
    if (f !== null && (limited || label === 'time') && n > EXACT_SOLVE_MAX_CANDIDATES) return f;
    // A limited solve (an alternative's) too big to finish within the budget: HiGHS does not stop
    // on time there (~1 s at 9k candidates under redundancy), so the greedy plan stands in.
    if (f === null && limited && n > LIMITED_SOLVE_MAX_CANDIDATES) return greedyIncumbent(reduced);
    const h = await env.deps.solver.solve(reduced);
    if (f === null) return h;
    // HiGHS's plan unless it has none or (time limit, capped market) a dearer one than the fill's.
    const found = h.status === 'optimal' || h.status === 'feasible';
    return found && h.objective <= f.objective * (1 + 1e-9) ? h : f;
  };
  const feasibleAt = (horizon: number, budget: number | null): boolean | null =>
    budget !== null || req.workload.max_nodes !== null ? null : capacityFeasible(index(), req, horizon);
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

/** Whether a solve was the fill's (its candidates are the whole market, not the reduced one). */
export const byFill = (r: MilpResult) => r.solver === FILL_SOLVER;

/**
 * Reduced candidates up to which a selected plan's unproven fill answer is checked by HiGHS (exact
 * within mip_rel_gap); above it an alternative's or the time plan's solve keeps the fill's gap.
 */
export const EXACT_SOLVE_MAX_CANDIDATES = 300;

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
function reducer(req: PlanRequest, byCost: () => Candidate[]): (horizon: number) => DominanceResult {
  let sorted: Candidate[] | null = null;
  const memo = new Map<number, DominanceResult>();
  return (horizon) => {
    let d = memo.get(horizon);
    if (d) return d;
    sorted ??= byCost();
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
 * Over the whole market (pre-aggregation keeps feasibility, so the reduced market's answer is the
 * same): O(n) per horizon, no sort.
 */
function capacityFeasible(ix: FillIndex, req: PlanRequest, horizon: number): boolean {
  const W = req.workload.compute_hours;
  const R0 = req.constraints.redundancy;
  if (!(W > 0) || !(horizon > 0) || ix.order.length === 0) return false;
  if ((R0 > 1 && ix.providers < R0) || ix.nodes < req.workload.min_nodes) return false;
  const s = 1 / (2 * Math.max(1, R0)); // minShare's default: the planner sets no min_share
  const top = Math.max(1, s) * (1 + 1e-7);
  const R = Math.ceil(R0);
  const slack = 1 + 1e-7;
  let total = 0;
  const perProvider = R >= 2 ? new Float64Array(ix.providers) : null;
  for (let k = 0; k < ix.order.length; k++) {
    const x = Math.min(top, (horizon * ix.fullRate[k]!) / W);
    total += x;
    if (perProvider) perProvider[ix.prov[k]!]! += x;
  }
  if (total < slack) return false;
  if (!perProvider) return true;
  let counted = 0;
  for (const x of perProvider) if (x >= s * slack) counted++;
  return counted >= R;
}
