import type { Offer } from '../protocol/schemas/offer.js';
import { iso } from '../util/clock.js';
import type { Solved } from './alternatives.js';
import type { Baseline, Fallback } from './baseline.js';
import type { CandidateRow } from './candidates.js';
import { unitPrice } from './filters.js';
import type { PlannedAllocation, PlanRequest } from './types.js';

/**
 * The wire plan, in the spec's shape: every display string ("$0.44/hr", "60%", "$580",
 * "14 hours", "99.5%") has a numeric sibling named with its unit, and every number can be
 * recomputed from the others: cost_usd = price_per_node_hour_usd × node_hours,
 * work = node_hours × work_rate, hours = node_hours / nodes, Σ allocations.work ≥ work,
 * total_cost_usd = Σ cost_usd, estimated_hours = max hours.
 */

export interface AllocationWire {
  provider: string;
  nodes: number;
  resource_type: string;
  /** "$0.44/hr": USD per GPU-hour (node-hour for cpu), as the glossary fixes. */
  price: string;
  /** "60%": this allocation's share of the work. */
  allocation: string;
  price_per_hour_usd: number;
  price_per_node_hour_usd: number;
  allocation_fraction: number;
  offer_id: string;
  provider_type: string;
  gpu_model: string | null;
  gpu_count: number;
  region: string;
  latency_band: string;
  hours: number;
  node_hours: number;
  work_rate: number;
  work: number;
  cost_usd: number;
  interruptible: boolean;
  reliability: number;
}

export interface AlternativeWire {
  objectives: string[];
  selected: boolean;
  total_cost_usd: number;
  estimated_hours: number;
  allocations: {
    offer_id: string;
    provider: string;
    nodes: number;
    hours: number;
    node_hours: number;
    cost_usd: number;
  }[];
}

export interface PlanExplain {
  offers_considered: number;
  dropped: {
    filter: string;
    param: string | null;
    count: number;
    examples: { offer_id: string; reason: string }[];
  }[];
  passed_filters: number;
  placeholders: Record<string, string | null>;
  candidates: number;
  candidates_after_dominance: number;
  solver: { name: string; status: string; gap: number; solve_ms: number; solves: number };
  horizon_hours: number;
  objective: string;
  notes: string[];
}

export interface PlanResponse {
  plan_id: string;
  requester: string | null;
  workload_type: string;
  reference_profile: string;
  /** Reference GPU-hours (vCPU-hours for cpu) the plan must deliver. */
  work: number;
  objective: string;
  allocations: AllocationWire[];
  total_cost: string;
  total_cost_usd: number;
  estimated_time: string;
  estimated_hours: number;
  sla: string;
  sla_percent: number;
  sla_horizon_hours: number;
  savings_percent: number | null;
  baseline: Baseline | null;
  baseline_note: string | null;
  alternatives: AlternativeWire[];
  fallbacks: Fallback[];
  explain: PlanExplain;
  units: Record<string, string>;
  created_at: string;
  expires_at: string;
  endpoints?: string[];
  load_balancer?: string;
  health_check?: string;
  auto_failover?: boolean;
}

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;
/** Up to 1e-6 above: node-hours round up so the work they deliver never falls short. */
const up6 = (x: number) => Math.ceil(x * 1e6 - 1e-6) / 1e6;

/** "$0.44/hr" (cents; sub-cent prices keep 4 decimals). */
export function formatPrice(usd: number): string {
  return `$${usd >= 0.01 || usd === 0 ? usd.toFixed(2) : usd.toFixed(4)}/hr`;
}

/**
 * "$580" at $100 and above (thousands separated: "$12,346"); "$12.34" below. The separators are
 * put in by hand: toLocaleString builds an Intl formatter per call (milliseconds per plan).
 */
export function formatMoney(usd: number): string {
  if (usd < 100) return `$${usd.toFixed(2)}`;
  const whole = String(Math.round(usd));
  return /e/.test(whole)
    ? `$${Math.round(usd).toLocaleString('en-US')}`
    : `$${whole.replace(/\B(?=(\d{3})+$)/g, ',')}`;
}

/** "14 hours" (whole hours from 10 up, one decimal below; "1 hour"). */
export function formatHours(h: number): string {
  const v = h >= 10 ? Math.round(h) : Math.round(h * 10) / 10;
  return `${v} ${v === 1 ? 'hour' : 'hours'}`;
}

/** One solver allocation as the planner keeps it, numbers rounded once, here. */
export function planned(
  row: CandidateRow,
  nodes: number,
  nodeHours: number,
  rate: number,
): PlannedAllocation {
  const node_hours = up6(nodeHours);
  return {
    offer: row.offer,
    nodes,
    hours: r6(node_hours / nodes),
    node_hours,
    work_rate: rate,
    work: node_hours * rate,
    cost_usd: r6(row.price_per_node_hour * node_hours),
  };
}

export function plannedFrom(rows: readonly CandidateRow[], s: Solved): PlannedAllocation[] {
  return s.result.allocations
    .filter((a) => a.nodes > 0 && a.node_hours > 0)
    .map((a) => {
      const row = rows[a.index] as CandidateRow;
      return planned(row, a.nodes, a.node_hours, row.candidate.work_rate);
    });
}

/** Σ work can fall short of `work` by the solver's tolerance (~1e-7); scale node-hours up to cover it. */
export function cover(allocs: PlannedAllocation[], work: number): PlannedAllocation[] {
  const have = allocs.reduce((s, a) => s + a.work, 0);
  if (have >= work || have <= 0) return allocs;
  const f = (work / have) * (1 + 1e-9);
  return allocs.map((a) => {
    const node_hours = Math.ceil(a.node_hours * f * 1e6) / 1e6;
    const cost_usd = Math.round(a.offer.price_per_hour * node_hours * 1e6) / 1e6;
    return {
      ...a,
      node_hours,
      hours: Math.round((node_hours / a.nodes) * 1e6) / 1e6,
      work: node_hours * a.work_rate,
      cost_usd,
    };
  });
}

export function totals(allocs: readonly PlannedAllocation[]): { cost: number; hours: number; work: number } {
  // Money is summed in integer micro-USD (glossary), never as floats.
  const micro = allocs.reduce((s, a) => s + Math.round(a.cost_usd * 1e6), 0);
  return {
    cost: micro / 1e6,
    hours: allocs.reduce((m, a) => Math.max(m, a.hours), 0),
    work: allocs.reduce((s, a) => s + a.work, 0),
  };
}

export function allocationWire(a: PlannedAllocation, totalWork: number): AllocationWire {
  const o: Offer = a.offer;
  const fraction = totalWork > 0 ? a.work / totalWork : 0;
  return {
    provider: o.provider,
    nodes: a.nodes,
    resource_type: o.resource_type,
    price: formatPrice(unitPrice(o)),
    allocation: `${Math.round(fraction * 100)}%`,
    price_per_hour_usd: r6(unitPrice(o)),
    price_per_node_hour_usd: o.price_per_hour,
    allocation_fraction: r6(fraction),
    offer_id: o.id,
    provider_type: o.provider_type,
    gpu_model: o.gpu_model,
    gpu_count: o.gpu_count,
    region: o.region,
    latency_band: o.latency_band,
    hours: a.hours,
    node_hours: a.node_hours,
    work_rate: r6(a.work_rate),
    work: r6(a.work),
    cost_usd: a.cost_usd,
    interruptible: o.interruptible,
    reliability: o.reliability,
  };
}

export function alternativeWire(
  rows: readonly CandidateRow[],
  plan: Solved,
  labels: string[],
  selected: boolean,
): AlternativeWire {
  const allocs = plannedFrom(rows, plan);
  const t = totals(allocs);
  return {
    objectives: labels,
    selected,
    total_cost_usd: t.cost,
    estimated_hours: r6(t.hours),
    allocations: allocs.map((a) => ({
      offer_id: a.offer.id,
      provider: a.offer.provider,
      nodes: a.nodes,
      hours: a.hours,
      node_hours: a.node_hours,
      cost_usd: a.cost_usd,
    })),
  };
}

export function units(req: PlanRequest): Record<string, string> {
  const cpu = req.workload.type === 'cpu';
  const work = cpu ? 'vCPU-hours' : `reference GPU-hours on ${req.workload.reference_profile}`;
  return {
    price: cpu ? 'USD per node-hour' : 'USD per GPU-hour',
    price_per_node_hour_usd: 'USD per node-hour',
    cost_usd: 'USD',
    work,
    work_rate: `${work} per node-hour (risk-adjusted expected throughput)`,
    hours: 'wall-clock hours',
    node_hours: 'node-hours',
    sla: 'probability (percent) that the work finishes within sla_horizon_hours',
  };
}

export interface ResponseParts {
  plan_id: string;
  req: PlanRequest;
  work: number;
  allocations: PlannedAllocation[];
  sla: { sla: string; sla_percent: number; horizon_hours: number };
  baseline: Baseline | null;
  baseline_note: string | null;
  savings_percent: number | null;
  alternatives: AlternativeWire[];
  fallbacks: Fallback[];
  explain: PlanExplain;
  created_ms: number;
  ttl_ms: number;
}

export function buildResponse(p: ResponseParts): PlanResponse {
  const t = totals(p.allocations);
  const o = p.req.constraints.objective;
  return {
    plan_id: p.plan_id,
    requester: p.req.requester,
    workload_type: p.req.workload.type,
    reference_profile: p.req.workload.reference_profile,
    work: r6(p.work),
    objective: o.kind === 'balanced' ? `balanced(${o.cost_weight})` : o.kind,
    allocations: p.allocations.map((a) => allocationWire(a, t.work)),
    total_cost: formatMoney(t.cost),
    total_cost_usd: t.cost,
    estimated_time: formatHours(t.hours),
    estimated_hours: r6(t.hours),
    sla: p.sla.sla,
    sla_percent: p.sla.sla_percent,
    sla_horizon_hours: r6(p.sla.horizon_hours),
    savings_percent: p.savings_percent,
    baseline: p.baseline,
    baseline_note: p.baseline_note,
    alternatives: p.alternatives,
    fallbacks: p.fallbacks,
    explain: p.explain,
    units: units(p.req),
    created_at: iso(p.created_ms),
    expires_at: iso(p.created_ms + p.ttl_ms),
  };
}
