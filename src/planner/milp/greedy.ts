/**
 * Greedy baseline: cheapest unit work first (effective_price / work_rate ascending). It is the
 * benchmark's yardstick and the planner's fallback when the solver fails, so it honours every
 * constraint the MILP does or says infeasible:
 *
 * 1. Redundancy (R ≥ 2): the counted providers are the R providers with the cheapest unit work
 *    whose offers could carry a share on their own; each first gets its share (min_share · work)
 *    from its own cheapest offers.
 * 2. The rest of the work goes to the cheapest remaining capacity of any provider, each offer
 *    filled up to max_nodes × horizon node-hours, nodes taken as ⌈node-hours / horizon⌉ within
 *    the plan's max_nodes.
 * 3. min_nodes is met with idle nodes (no hours, no cost), on used offers first.
 * 4. Over budget → infeasible (for a fixed provider choice this fill is the cheapest there is, so
 *    no other greedy choice would fit).
 *
 * It is not optimal: the counted providers are chosen by price alone, and the node limit is
 * spent first-come. status is 'feasible' and gap 1 (no bound is claimed).
 */
import type { Candidate, MilpAllocation, MilpInput, MilpResult } from '../types.js';
import { emptyResult, minShare, precheck, usable } from './model.js';

const SOLVER = 'greedy';
const EPS = 1e-9;

export function unitCost(c: Candidate): number {
  return c.effective_price / c.work_rate;
}

/** Usable candidates by unit cost, then faster first, then caller's order (deterministic). */
export function byUnitCost(candidates: readonly Candidate[]): Candidate[] {
  return candidates
    .filter(usable)
    .sort((a, b) => unitCost(a) - unitCost(b) || b.work_rate - a.work_rate || a.index - b.index);
}

export function greedy(input: MilpInput): MilpResult {
  const started = performance.now();
  const early = precheck(input);
  if (early) return emptyResult(early.status, SOLVER, started, early.detail);
  const { work, horizon_hours: horizon } = input;
  const order = byUnitCost(input.candidates);
  const hours = new Map<Candidate, number>();
  const nodes = new Map<Candidate, number>();
  let nodesLeft = input.max_nodes ?? Number.POSITIVE_INFINITY;
  let done = 0;

  /** Adds up to `want` reference-hours on c within its nodes and the plan's; returns what fit. */
  const add = (c: Candidate, want: number): number => {
    if (want <= 0) return 0;
    const h0 = hours.get(c) ?? 0;
    const n0 = nodes.get(c) ?? 0;
    const nodeCap = Math.min(Math.floor(c.max_nodes), n0 + nodesLeft);
    const addH = Math.min(want / c.work_rate, nodeCap * horizon - h0);
    if (addH <= EPS * horizon) return 0;
    const n1 = Math.max(n0, Math.ceil((h0 + addH) / horizon - 1e-9));
    hours.set(c, h0 + addH);
    nodes.set(c, n1);
    nodesLeft -= n1 - n0;
    done += addH * c.work_rate;
    return addH * c.work_rate;
  };

  const redundancy = Math.ceil(input.redundancy);
  if (redundancy >= 2) {
    const share = minShare(input) * work;
    const byProvider = new Map<string, Candidate[]>();
    for (const c of order) {
      const list = byProvider.get(c.provider) ?? [];
      list.push(c);
      byProvider.set(c.provider, list);
    }
    // Map iteration follows insertion, i.e. each provider's cheapest unit work, ascending.
    const counted = [...byProvider.values()]
      .filter(
        (list) => list.reduce((s, c) => s + Math.floor(c.max_nodes) * horizon * c.work_rate, 0) >= share,
      )
      .slice(0, redundancy);
    if (counted.length < redundancy) {
      return emptyResult(
        'infeasible',
        SOLVER,
        started,
        `fewer than ${redundancy} providers can carry a share`,
      );
    }
    for (const list of counted) {
      let need = share;
      for (const c of list) need -= add(c, need);
      if (need > EPS * work) {
        return emptyResult('infeasible', SOLVER, started, 'node limit leaves a counted provider short');
      }
    }
  }
  for (const c of order) add(c, work - done);
  if (work - done > EPS * work) {
    return emptyResult('infeasible', SOLVER, started, 'not enough capacity within the horizon');
  }

  let total = [...nodes.values()].reduce((s, n) => s + n, 0);
  const pool = [...order.filter((c) => nodes.has(c)), ...input.candidates.filter((c) => !nodes.has(c))];
  for (const c of pool) {
    if (total >= input.min_nodes) break;
    const n0 = nodes.get(c) ?? 0;
    const extra = Math.min(Math.floor(c.max_nodes) - n0, Math.ceil(input.min_nodes) - total, nodesLeft);
    if (extra <= 0) continue;
    nodes.set(c, n0 + extra);
    nodesLeft -= extra;
    total += extra;
  }
  if (total < input.min_nodes) return emptyResult('infeasible', SOLVER, started, 'min_nodes not reachable');

  const allocations: MilpAllocation[] = [];
  let objective = 0;
  for (const c of input.candidates) {
    const n = nodes.get(c);
    if (n === undefined) continue;
    const h = hours.get(c) ?? 0;
    allocations.push({ index: c.index, nodes: n, node_hours: h });
    objective += c.effective_price * h;
  }
  if (input.budget_usd !== null && objective > input.budget_usd * (1 + EPS)) {
    const detail = `cheapest greedy plan costs ${objective.toFixed(2)} > budget ${input.budget_usd}`;
    return emptyResult('infeasible', SOLVER, started, detail);
  }
  return {
    status: 'feasible',
    allocations,
    objective,
    gap: 1,
    solver: SOLVER,
    solve_ms: performance.now() - started,
    detail: 'greedy baseline: cheapest unit work first, no optimality bound',
  };
}
