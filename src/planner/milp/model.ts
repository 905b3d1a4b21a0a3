/**
 * The planner's mixed-integer program as CPLEX LP text for HiGHS, and the way back from solver
 * values to allocations.
 *
 * Per candidate i (names use the candidate's position, never provider strings):
 *   n{i}  integer nodes in [0, max_nodes_i]
 *   x{i}  continuous, the FRACTION of the work candidate i carries (scaled node-hours:
 *         node_hours_i = x_i · work / work_rate_i), in [0, min(max(1, s), a_i · max_nodes_i)]
 *   u{i}  binary "used": n_i ≤ max_nodes_i · u_i and n_i ≥ u_i
 * Per provider p (distinct strings, numbered by first appearance), only when redundancy ≥ 2:
 *   z{p}  binary "counted for redundancy": Σ_p z_p ≥ R and Σ_{i∈p} x_i ≥ s · z_p
 * Rows: Σ x_i ≥ 1; x_i ≤ a_i · n_i (a_i = horizon · work_rate_i / work); n_i ≤ max_nodes_i · u_i;
 * n_i ≥ u_i; budget; min_nodes ≤ Σ n_i ≤ max_nodes; the redundancy rows.
 *
 * Without a plan-wide max_nodes, node counts cannot bind: any plan can take n_i = max_nodes_i, so
 * the only node limit left is x_i ≤ a_i · max_nodes_i (a bound) and min_nodes is met by idle nodes
 * (precheck guarantees enough exist). The model then has no n/u columns at all, which leaves an LP
 * (plus the z binaries) that solves in milliseconds at a thousand candidates; readSolution sets
 * n_i = ⌈node_hours / horizon⌉.
 *
 * Why a work fraction rather than raw node-hours: work runs up to 1e6 reference-hours and prices
 * from 0.01 to 100, so raw rows mix coefficients over ~10 orders of magnitude. In fractions the
 * work row is Σ x_i ≥ 1, share rows have coefficients 1 and s, the budget row is divided by the
 * budget, and the objective by the cheapest conceivable plan (min unit cost × work), so the optimum
 * is ≥ 1 and absolute gaps mean relative ones.
 *
 * No node tie-breaker in the objective: nodes cost nothing but capacity, so readSolution trims
 * each offer to ⌈node_hours / horizon⌉ after the solve, which is exact, where a tie-breaker term
 * would either distort costs or (tiny, with a tight gap) make HiGHS branch on node counts.
 *
 * x_i ≤ max(1, s) loses nothing: cutting a larger x_i down keeps Σ x ≥ 1, every share row and the
 * budget, and lowers the cost.
 *
 * Redundancy 1 adds no rows: every plan uses at least one provider, and the default share 1/(2R)
 * would otherwise demand that one provider carry half the work, forbidding cheap three-way splits
 * for no reason. Costs are non-negative and variables bounded, so the program is never unbounded.
 */
import type { Candidate, MilpAllocation, MilpInput, MilpResult } from '../types.js';

/** Share of the work each counted provider carries: the input's, else 1 / (2 · redundancy). */
export function minShare(input: MilpInput): number {
  return input.min_share ?? 1 / (2 * Math.max(1, input.redundancy));
}

/** Distinct providers in first-appearance order, and each candidate's provider number. */
export function providerIndex(candidates: readonly Candidate[]): { providers: string[]; of: number[] } {
  const ids = new Map<string, number>();
  const of = candidates.map((c) => {
    let id = ids.get(c.provider);
    if (id === undefined) {
      id = ids.size;
      ids.set(c.provider, id);
    }
    return id;
  });
  return { providers: [...ids.keys()], of };
}

/** A candidate the program can use at all: positive rate, non-negative price, at least a node. */
export function usable(c: Candidate): boolean {
  return c.work_rate > 0 && c.effective_price >= 0 && c.max_nodes >= 1 && Number.isFinite(c.effective_price);
}

/** A result with no plan (no solve, or a failed one). */
export function emptyResult(
  status: MilpResult['status'],
  solver: string,
  started: number,
  detail?: string,
): MilpResult {
  const r: MilpResult = {
    status,
    allocations: [],
    objective: 0,
    gap: status === 'infeasible' ? 0 : 1,
    solver,
    solve_ms: performance.now() - started,
  };
  if (detail !== undefined) r.detail = detail;
  return r;
}

/** Outcomes decided without a solver: bad input, nothing usable, too few providers or nodes. */
export function precheck(input: MilpInput): { status: 'infeasible' | 'error'; detail: string } | null {
  if (!(input.work > 0) || !(input.horizon_hours > 0)) {
    return { status: 'error', detail: 'work and horizon_hours must be positive numbers' };
  }
  const live = input.candidates.filter(usable);
  if (live.length === 0) return { status: 'infeasible', detail: 'no usable candidate' };
  const providers = providerIndex(live).providers.length;
  if (input.redundancy > 1 && providers < input.redundancy) {
    const detail = `redundancy ${input.redundancy} needs that many providers; ${providers} offer capacity`;
    return { status: 'infeasible', detail };
  }
  const nodes = input.candidates.reduce((s, c) => s + Math.max(0, Math.floor(c.max_nodes)), 0);
  if (nodes < input.min_nodes) {
    return { status: 'infeasible', detail: `min_nodes ${input.min_nodes} > ${nodes} nodes on offer` };
  }
  if (input.max_nodes !== null && input.max_nodes < input.min_nodes) {
    return { status: 'infeasible', detail: `max_nodes ${input.max_nodes} < min_nodes ${input.min_nodes}` };
  }
  return null;
}

/** Shortest round-trip text of a coefficient (JS and the LP reader both take `1.5e-10`). */
function num(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`non-finite coefficient ${v} in the planner model`);
  return String(v);
}

/** Appends `+ c name` terms, wrapping lines (the LP reader limits line length). */
class Expr {
  private parts: string[] = [];
  add(coef: number, name: string): this {
    if (coef === 0) return this;
    const sign = coef < 0 ? '-' : '+';
    const mag = Math.abs(coef);
    this.parts.push(`${sign} ${mag === 1 ? '' : `${num(mag)} `}${name}`);
    return this;
  }
  get empty(): boolean {
    return this.parts.length === 0;
  }
  text(): string {
    const lines: string[] = [];
    for (let k = 0; k < this.parts.length; k += 8) lines.push(this.parts.slice(k, k + 8).join(' '));
    return lines.join('\n   ');
  }
}

/** Cheapest unit cost (USD per reference-hour) among usable candidates; 1 when none is positive. */
function costScale(input: MilpInput): number {
  let min = Number.POSITIVE_INFINITY;
  for (const c of input.candidates) {
    if (!usable(c)) continue;
    const unit = c.effective_price / c.work_rate;
    if (unit > 0 && unit < min) min = unit;
  }
  return Number.isFinite(min) ? min * input.work : 1;
}

export function buildLp(input: MilpInput): string {
  const { candidates, work, horizon_hours: horizon } = input;
  const share = minShare(input);
  const { providers, of } = providerIndex(candidates);
  const redundancy = Math.max(1, Math.ceil(input.redundancy));
  const scale = costScale(input);
  const nodesBind = input.max_nodes !== null;

  const obj = new Expr();
  const rows: string[] = [];
  const bounds: string[] = [];
  const generals: string[] = [];
  const binaries: string[] = [];
  const workRow = new Expr();
  const budgetRow = new Expr();
  const nodeRow = new Expr();
  const shareRows = providers.map(() => new Expr());

  candidates.forEach((c, i) => {
    const x = `x${i}`;
    const n = `n${i}`;
    const u = `u${i}`;
    const maxNodes = Math.max(0, Math.floor(c.max_nodes));
    // a = share of the work one node delivers over the horizon.
    const a = usable(c) ? (horizon * c.work_rate) / work : 0;
    const xUb = Math.min(Math.max(1, share), a * maxNodes);
    obj.add((c.effective_price * work) / (c.work_rate > 0 ? c.work_rate : 1) / scale, x);
    workRow.add(1, x);
    if (input.budget_usd !== null && input.budget_usd > 0) {
      budgetRow.add((c.effective_price * work) / (c.work_rate > 0 ? c.work_rate : 1) / input.budget_usd, x);
    }
    shareRows[of[i]!]!.add(1, x);
    if (xUb < 1e-12 || !usable(c)) {
      bounds.push(` ${x} = 0`);
    } else {
      bounds.push(` 0 <= ${x} <= ${num(xUb)}`);
    }
    if (!nodesBind) return;
    nodeRow.add(1, n);
    if (xUb >= 1e-12 && usable(c)) {
      // Whichever of the row or the row divided by a keeps coefficients ≤ 1 and above HiGHS'
      // small_matrix_value (1e-9).
      rows.push(
        a >= 1e-6 && a <= 1
          ? ` cap${i}: ${x} - ${num(a)} ${n} <= 0`
          : ` cap${i}: ${num(1 / a)} ${x} - ${n} <= 0`,
      );
    }
    rows.push(` use${i}: ${n} - ${maxNodes} ${u} <= 0`, ` one${i}: ${n} - ${u} >= 0`);
    bounds.push(` 0 <= ${n} <= ${maxNodes}`);
    generals.push(n);
    binaries.push(u);
  });

  rows.unshift(` work: ${workRow.empty ? '0 x0' : workRow.text()} >= 1`);
  if (!budgetRow.empty) rows.push(` budget: ${budgetRow.text()} <= 1`);
  if (nodesBind && input.min_nodes > 0)
    rows.push(` minnodes: ${nodeRow.text()} >= ${Math.ceil(input.min_nodes)}`);
  if (nodesBind) rows.push(` maxnodes: ${nodeRow.text()} <= ${Math.floor(input.max_nodes ?? 0)}`);
  if (redundancy >= 2) {
    const count = new Expr();
    providers.forEach((_, p) => {
      count.add(1, `z${p}`);
      rows.push(` share${p}: ${shareRows[p]!.text()} - ${num(share)} z${p} >= 0`);
      binaries.push(`z${p}`);
    });
    rows.push(` redundancy: ${count.text()} >= ${redundancy}`);
  }

  return [
    'Minimize',
    ` obj: ${obj.text()}`,
    'Subject To',
    ...rows,
    'Bounds',
    ...bounds,
    'Generals',
    ...wrap(generals),
    'Binaries',
    ...wrap(binaries),
    'End',
    '',
  ].join('\n');
}

function wrap(names: string[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < names.length; k += 16) out.push(` ${names.slice(k, k + 16).join(' ')}`);
  return out;
}

/**
 * Allocations from solver values (keyed by LP column name). Shares under 1e-9 are noise and
 * dropped. Nodes are trimmed to what the hours need (⌈node_hours / horizon⌉, at least 1 when used);
 * idle nodes the solver bought are kept only as far as min_nodes needs them. Trimming keeps every
 * row: fewer nodes only loosen max_nodes, and the min_nodes top-up restores that row.
 */
export function readSolution(
  input: MilpInput,
  value: (name: string) => number,
): { allocations: MilpAllocation[]; objective: number } {
  const { candidates, work, horizon_hours: horizon } = input;
  const rows = candidates.map((c, i) => {
    const frac = value(`x${i}`);
    const solverNodes = Math.max(0, Math.round(value(`n${i}`)));
    const nodeHours = frac > 1e-9 && c.work_rate > 0 ? (frac * work) / c.work_rate : 0;
    // The tolerance absorbs the solver's feasibility slack (x may exceed a·n by ~1e-7).
    const need = nodeHours > 0 ? Math.max(1, Math.ceil(nodeHours / horizon - 1e-6)) : 0;
    return { c, nodeHours, nodes: solverNodes > 0 ? Math.min(need, solverNodes) : need, solverNodes };
  });
  let total = rows.reduce((s, r) => s + r.nodes, 0);
  for (const r of rows) {
    if (total >= input.min_nodes) break;
    const spare = (input.max_nodes === null ? Math.floor(r.c.max_nodes) : r.solverNodes) - r.nodes;
    const extra = Math.min(spare, Math.ceil(input.min_nodes) - total);
    if (extra > 0) {
      r.nodes += extra;
      total += extra;
    }
  }
  const allocations: MilpAllocation[] = [];
  let objective = 0;
  for (const r of rows) {
    if (r.nodes === 0 && r.nodeHours === 0) continue;
    allocations.push({ index: r.c.index, nodes: r.nodes, node_hours: r.nodeHours });
    objective += r.c.effective_price * r.nodeHours;
  }
  return { allocations, objective };
}
