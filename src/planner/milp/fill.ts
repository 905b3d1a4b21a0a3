/**
 * The program of model.ts without a plan-wide max_nodes, solved without HiGHS, with a proof.
 *
 * Without max_nodes, node counts never bind (every offer may run all its nodes, readSolution trims
 * them afterwards), so for a fixed set Z of counted providers the program is the LP
 *   min Σ c_i x_i  s.t.  Σ x_i ≥ 1,  Σ_{i∈p} x_i ≥ s (p ∈ Z),  0 ≤ x_i ≤ q_i
 * (x_i the fraction of the work on offer i, c_i = unit cost × work, q_i = min(max(1, s),
 * horizon · work_rate_i · max_nodes_i / work)). Its optimum is the fill brute.ts uses: each counted
 * provider's cheapest offers up to s, then the cheapest remaining capacity of all up to 1 (a
 * separable convex program with one coupling row; the marginal fill is exact). With redundancy ≤ 1
 * there is no Z and the fill is the optimum.
 *
 * With redundancy R ≥ 2 the choice of Z is the hard part. Lagrangian relaxation of the work row
 * with multiplier λ ≥ 0 gives, for every Z,
 *   cost(Z) ≥ L(Z, λ) = λ + Σ_p m_p(λ) + Σ_{p∈Z} h_p(λ),
 *   m_p(λ) = min_{0≤L≤Q_p} F_p(L) − λL,   h_p(λ) = min_{s≤L≤Q_p} (F_p(L) − λL) − m_p(λ) ≥ 0,
 * with F_p the cost of provider p's cheapest load L (convex, piecewise linear) and Q_p its capacity.
 * So LB(λ) = λ + Σ m_p + (the R smallest h_p) bounds every plan; it is concave in λ and is maximised
 * by a search over the unit costs. Then every Z whose own bound L(Z, λ*) is below the best plan
 * found so far is priced exactly (prefix sums: O(R log² n) per Z), best first by h. When none is
 * left the best plan is proven optimal (status 'optimal', to 1e-9 relative, as HiGHS' mip_rel_gap);
 * if the enumeration stops at MAX_SETS, the plan is returned as 'feasible' with gap
 * (UB − LB(λ*)) / UB. The greedy baseline's Z is always priced, so the result never costs more than
 * greedy.ts's plan.
 *
 * Not applicable (null): a plan-wide max_nodes, R · s > 1, or a budget that neither the best plan
 * meets nor the bound rules out (the caller then uses HiGHS).
 */
import type { MilpAllocation, MilpInput, MilpResult } from '../types.js';
import { type FillIndex, scratch } from './fill-index.js';
import { Market, REL } from './fill-market.js';
import { emptyResult, minShare } from './model.js';

export { type FillIndex, prepareFill } from './fill-index.js';

export const FILL_SOLVER = 'fill';
/** Most counted-provider sets priced before the plan is returned as 'feasible' with its gap. */
export const MAX_SETS = 5000;

/**
 * The program at input's horizon over the prepared market (input.candidates is not read).
 * `maxSets`: most counted-provider sets priced (tests lower it to reach the 'feasible' outcome).
 */
export function fillSolve(input: MilpInput, ix: FillIndex, maxSets = MAX_SETS): MilpResult | null {
  const started = performance.now();
  const { work: W, horizon_hours: H } = input;
  const s = minShare(input);
  const R = Math.max(1, Math.ceil(input.redundancy));
  if (input.max_nodes !== null || !(W > 0) || !(H > 0) || (R >= 2 && R * s > 1 + 1e-12)) return null;
  // Infeasible for want of capacity, counted providers or budget: no detail, as HiGHS gives none.
  const fail = (detail?: string) => emptyResult('infeasible', FILL_SOLVER, started, detail);
  const n = ix.order.length;
  if (n === 0) return fail('no usable candidate');
  if (input.redundancy > 1 && ix.providers < input.redundancy)
    return fail(`redundancy ${input.redundancy} needs that many providers; ${ix.providers} offer capacity`);
  if (ix.nodes < input.min_nodes) return fail(`min_nodes ${input.min_nodes} > ${ix.nodes} nodes on offer`);

  const top = Math.max(1, s);
  const [q, cw, x, cq, cc, gq, gc] = scratch(ix, Math.max(n, ix.candidates.length)) as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  x.fill(0);
  let total = 0;
  for (let k = 0; k < n; k++) {
    const cap = Math.min(top, (H * ix.fullRate[k]!) / W);
    q[k] = cap < 1e-12 ? 0 : cap; // as model.ts: x = 0 below 1e-12
    cw[k] = ix.unit[k]! * W;
    total += q[k]!;
  }
  if (total < 1 - REL) return fail();
  let proven = true;
  let lower = 0;
  if (R < 2) walk(q, x, n, 1);
  else {
    const m = new Market(ix, { q, cw, cq, cc, gq, gc }, s);
    if (m.eligible.length < R) return fail();
    const best = m.search(R, maxSets);
    proven = best.proven;
    lower = best.lower;
    for (const p of best.set) {
      const want = m.sp[p]!;
      let got = 0;
      for (let j = ix.start[p]!; j < ix.start[p + 1]! && got < want; j++) {
        const k = ix.items[j]!;
        x[k] = Math.min(q[k]!, want - got);
        got += x[k]!;
      }
    }
    let pre = 0;
    for (const p of best.set) pre += m.sp[p]!;
    walk(q, x, n, 1 - pre);
  }
  const out = allocate(input, ix, x, cq, cc);
  const B = input.budget_usd;
  // Over the budget: infeasible when proven (or bounded) clearly over it; near it, HiGHS decides.
  if (B !== null && out.objective > B * (1 + REL)) {
    if ((proven ? out.objective : lower) > B * (1 + 1e-6)) return fail();
    return null;
  }
  const gap = proven ? 0 : Math.max(0, (out.objective - lower) / Math.max(out.objective, 1e-300));
  const r: MilpResult = {
    status: proven || gap <= REL ? 'optimal' : 'feasible',
    allocations: out.allocations,
    objective: out.objective,
    gap: proven || gap <= REL ? 0 : gap,
    solver: FILL_SOLVER,
    solve_ms: performance.now() - started,
  };
  if (r.status === 'feasible')
    r.detail = `fill: ${maxSets} provider sets priced, gap ${gap} against the Lagrangian bound`;
  return r;
}

/** Adds the cheapest remaining capacity (by order) to x until `left` more of the work is placed. */
function walk(q: Float64Array, x: Float64Array, n: number, left: number): void {
  for (let k = 0; k < n && left > 0; k++) {
    const t = Math.min(q[k]! - x[k]!, left);
    if (t > 0) {
      x[k]! += t;
      left -= t;
    }
  }
}

/**
 * Fractions → allocations as readSolution does it: node-hours = x · work / rate, nodes
 * ⌈node-hours / horizon⌉ (at least 1), idle nodes in candidate order up to min_nodes.
 */
function allocate(
  input: MilpInput,
  ix: FillIndex,
  x: Float64Array,
  hours: Float64Array,
  nodes: Float64Array,
): { allocations: MilpAllocation[]; objective: number } {
  const { work: W, horizon_hours: H } = input;
  const N = ix.candidates.length;
  hours.fill(0);
  nodes.fill(0);
  let total = 0;
  for (let k = 0; k < ix.order.length; k++) {
    if (!(x[k]! > 1e-9)) continue;
    const i = ix.order[k]!;
    hours[i] = (x[k]! * W) / ix.candidates[i]!.work_rate;
    nodes[i] = Math.max(1, Math.ceil(hours[i]! / H - 1e-6));
    total += nodes[i]!;
  }
  for (let i = 0; i < N && total < input.min_nodes; i++) {
    const extra = Math.min(
      Math.floor(ix.candidates[i]!.max_nodes) - nodes[i]!,
      Math.ceil(input.min_nodes) - total,
    );
    if (extra <= 0) continue;
    nodes[i]! += extra;
    total += extra;
  }
  const allocations: MilpAllocation[] = [];
  let objective = 0;
  for (let i = 0; i < N; i++) {
    if (nodes[i] === 0) continue;
    const c = ix.candidates[i]!;
    allocations.push({ index: c.index, nodes: nodes[i]!, node_hours: hours[i]! });
    objective += c.effective_price * hours[i]!;
  }
  return { allocations, objective };
}
