/**
 * Independent check of a plan against the input's constraints, in the input's own units
 * (reference-hours, node-hours, USD). Tests run every solver's plans through it, and the planner
 * can use it as a last guard before quoting. Tolerance is relative (default 1e-6).
 */
import type { MilpAllocation, MilpInput } from '../types.js';
import { minShare } from './model.js';

export function planViolations(
  input: MilpInput,
  allocations: readonly MilpAllocation[],
  tol = 1e-6,
): string[] {
  const out: string[] = [];
  const byIndex = new Map(input.candidates.map((c) => [c.index, c]));
  const loadBy = new Map<string, number>();
  let work = 0;
  let cost = 0;
  let nodes = 0;
  for (const a of allocations) {
    const c = byIndex.get(a.index);
    if (!c) {
      out.push(`allocation names unknown candidate ${a.index}`);
      continue;
    }
    if (!Number.isInteger(a.nodes) || a.nodes < 0 || a.nodes > c.max_nodes) {
      out.push(`candidate ${a.index}: ${a.nodes} nodes outside 0..${c.max_nodes}`);
    }
    if (a.node_hours < 0 || a.node_hours > a.nodes * input.horizon_hours * (1 + tol)) {
      out.push(
        `candidate ${a.index}: ${a.node_hours} node-hours on ${a.nodes} nodes over ${input.horizon_hours} h`,
      );
    }
    const w = a.node_hours * c.work_rate;
    work += w;
    cost += a.node_hours * c.effective_price;
    nodes += a.nodes;
    loadBy.set(c.provider, (loadBy.get(c.provider) ?? 0) + w);
  }
  if (work < input.work * (1 - tol)) out.push(`delivers ${work} of ${input.work} reference-hours`);
  if (input.budget_usd !== null && cost > input.budget_usd * (1 + tol)) {
    out.push(`costs ${cost} over budget ${input.budget_usd}`);
  }
  if (nodes < input.min_nodes) out.push(`${nodes} nodes < min_nodes ${input.min_nodes}`);
  if (input.max_nodes !== null && nodes > input.max_nodes)
    out.push(`${nodes} nodes > max_nodes ${input.max_nodes}`);
  if (input.redundancy >= 2) {
    const share = minShare(input) * input.work * (1 - tol);
    const counted = [...loadBy.values()].filter((w) => w >= share).length;
    if (counted < input.redundancy)
      out.push(`${counted} providers carry a share; redundancy ${input.redundancy}`);
  }
  return out;
}

/** Σ effective_price · node_hours of a plan. */
export function planCost(input: MilpInput, allocations: readonly MilpAllocation[]): number {
  const byIndex = new Map(input.candidates.map((c) => [c.index, c]));
  return allocations.reduce((s, a) => s + a.node_hours * (byIndex.get(a.index)?.effective_price ?? 0), 0);
}
