import type { Offer } from '../protocol/schemas/offer.js';
import { buildCandidates, type CandidateRow, type CapabilityRates } from './candidates.js';
import { type PlanFilter, runFilters, unitPrice } from './filters.js';
import { interruptionRate } from './risk.js';
import type { PlanRequest } from './types.js';

/**
 * What a plan is compared with, and what it falls back to.
 *
 * Baseline (savings_percent): the cheapest SINGLE traditional_cloud offer that can do the same
 * work under the same workload constraints (memory, gpus_per_node, interconnect, latency band,
 * regions, interruptible policy, min_reliability, node limits, deadline), costed with the same
 * risk model. Three constraints are left out on purpose: max_price_per_hour and budget_usd (they
 * are how a user asks to pay less than the cloud; applying them would hide the comparison) and the
 * provider selection (the baseline is traditional cloud by definition). Redundancy is not applied:
 * a baseline is one placement. It is an ON-DEMAND placement when one exists: "what the cloud
 * charges" is its list price, and a spot instance is not a placement the same work can count on
 * finishing in (the spec's "savings vs traditional" compares with that). Only when no on-demand
 * traditional_cloud offer qualifies is an interruptible one used, and the note says so.
 *
 * Fallbacks: offers that passed every filter but are not in the plan, other providers first
 * (a failover should not share the failing provider), then by unit cost.
 */

const BASELINE_SKIPS = new Set(['max_price', 'providers', 'provider_types']);
export const MAX_FALLBACKS = 5;

export interface Baseline {
  provider: string;
  offer_id: string;
  gpu_model: string | null;
  region: string;
  nodes: number;
  hours: number;
  node_hours: number;
  /** USD per GPU-hour (node-hour for cpu). */
  price_per_hour_usd: number;
  price_per_node_hour_usd: number;
  work_rate: number;
  cost_usd: number;
}

export interface BaselineOutcome {
  baseline: Baseline | null;
  /** Why there is none (null when there is one). */
  note: string | null;
}

export interface BaselineInput {
  offers: readonly Offer[];
  req: PlanRequest;
  filters: readonly PlanFilter[];
  capabilities: CapabilityRates;
  /** Reference GPU-hours the plan delivers (serve: capacity × hours). */
  work: number;
  /** Hours the baseline should take: the deadline, else the plan's estimated hours. */
  hours: number;
  /** Serving buys whole nodes for `hours` at the base rate; batch buys node-hours at the risked rate. */
  mode: 'batch' | 'serve';
}

export function findBaseline(input: BaselineInput): BaselineOutcome {
  const anyCloud = input.offers.filter((o) => o.provider_type === 'traditional_cloud');
  if (anyCloud.length === 0) return { baseline: null, note: 'no traditional_cloud offers in the market' };
  const onDemand = anyCloud.filter((o) => !o.interruptible);
  const first = findIn(onDemand, input);
  if (first.baseline) return first;
  const spot = findIn(anyCloud, input);
  return spot.baseline
    ? {
        baseline: spot.baseline,
        note: 'no on-demand traditional_cloud offer qualifies; the baseline is interruptible',
      }
    : first;
}

function findIn(cloud: readonly Offer[], input: BaselineInput): BaselineOutcome {
  const { req } = input;
  if (cloud.length === 0)
    return { baseline: null, note: 'no on-demand traditional_cloud offers in the market' };
  const filters = input.filters.filter((f) => !BASELINE_SKIPS.has(f.name));
  const passed = runFilters(cloud, req, filters);
  if (passed.passed.length === 0) {
    const worst = [...passed.dropped].sort((a, b) => b.count - a.count)[0];
    return {
      baseline: null,
      note: `no traditional_cloud offer meets the workload's constraints${worst ? ` (${worst.filter} dropped ${worst.count})` : ''}`,
    };
  }
  const rows = buildCandidates(passed.passed, req, input.capabilities);
  const deadline = req.constraints.deadline_hours;
  let best: Baseline | null = null;
  for (const r of rows) {
    const b = placement(r, input, deadline);
    if (b && (best === null || b.cost_usd < best.cost_usd)) best = b;
  }
  if (best === null) {
    return {
      baseline: null,
      note:
        deadline !== null
          ? `no single traditional_cloud offer has the nodes to finish within deadline_hours ${deadline}`
          : 'no single traditional_cloud offer has the nodes the workload needs',
    };
  }
  return { baseline: best, note: null };
}

function placement(r: CandidateRow, input: BaselineInput, deadline: number | null): Baseline | null {
  const { req, mode } = input;
  const o = r.offer;
  const maxNodes = Math.min(o.available, req.workload.max_nodes ?? Number.POSITIVE_INFINITY);
  const rate = mode === 'serve' ? r.base_rate : r.risk.work_rate;
  const H = Math.max(input.hours, 1e-9);
  let nodes: number;
  let nodeHours: number;
  if (mode === 'serve') {
    nodes = Math.max(1, Math.ceil(input.work / H / rate - 1e-9));
    nodeHours = nodes * H;
  } else {
    nodeHours = input.work / rate;
    const need = Math.max(1, Math.ceil(nodeHours / H - 1e-9));
    if (deadline !== null && need > maxNodes) return null;
    nodes = Math.min(need, maxNodes);
  }
  nodes = Math.max(nodes, req.workload.min_nodes);
  if (nodes > maxNodes) return null;
  return {
    provider: o.provider,
    offer_id: o.id,
    gpu_model: o.gpu_model,
    region: o.region,
    nodes,
    hours: nodeHours / nodes,
    node_hours: nodeHours,
    price_per_hour_usd: unitPrice(o),
    price_per_node_hour_usd: o.price_per_hour,
    work_rate: rate,
    cost_usd: o.price_per_hour * nodeHours,
  };
}

/** 100 × (baseline − plan) / baseline, to 0.1; null without a baseline. */
export function savingsPercent(baselineCost: number | null, planCost: number): number | null {
  if (baselineCost === null || !(baselineCost > 0)) return null;
  return Math.round((1000 * (baselineCost - planCost)) / baselineCost) / 10;
}

export interface Fallback {
  offer_id: string;
  provider: string;
  provider_type: string;
  resource_type: string;
  gpu_model: string | null;
  gpu_count: number;
  region: string;
  latency_band: string;
  /** USD per GPU-hour (node-hour for cpu). */
  price_per_hour_usd: number;
  /** USD per reference GPU-hour of expected work. */
  unit_cost_usd: number;
  work_rate: number;
  available: number;
  interruptible: boolean;
  reliability: number;
}

/**
 * Offers not in the plan: providers the plan does not use first, then by unit cost (then offer id).
 * One pass keeping the best MAX_FALLBACKS (a plan can use thousands of offers of a 100k market).
 */
export function pickFallbacks(
  rows: readonly CandidateRow[],
  usedOfferIds: ReadonlySet<string>,
): CandidateRow[] {
  const usedProviders = new Set<string>();
  for (const r of rows) if (usedOfferIds.has(r.offer.id)) usedProviders.add(r.offer.provider);
  const best: { r: CandidateRow; rank: number }[] = [];
  const before = (a: CandidateRow, rank: number, b: { r: CandidateRow; rank: number }) =>
    (rank - b.rank || a.unit_cost - b.r.unit_cost || a.offer.id.localeCompare(b.r.offer.id)) < 0;
  for (const r of rows) {
    const rank = usedProviders.has(r.offer.provider) ? 1 : 0;
    if (best.length === MAX_FALLBACKS && !before(r, rank, best[MAX_FALLBACKS - 1]!)) continue;
    if (usedOfferIds.has(r.offer.id)) continue;
    if (best.length === MAX_FALLBACKS) best.pop();
    let i = best.length;
    while (i > 0 && before(r, rank, best[i - 1]!)) i--;
    best.splice(i, 0, { r, rank });
  }
  return best.map((b) => b.r);
}

export function fallbackWire(r: CandidateRow): Fallback {
  const o = r.offer;
  return {
    offer_id: o.id,
    provider: o.provider,
    provider_type: o.provider_type,
    resource_type: o.resource_type,
    gpu_model: o.gpu_model,
    gpu_count: o.gpu_count,
    region: o.region,
    latency_band: o.latency_band,
    price_per_hour_usd: unitPrice(o),
    unit_cost_usd: r.unit_cost,
    work_rate: r.candidate.work_rate,
    available: o.available,
    interruptible: o.interruptible,
    reliability: o.reliability,
  };
}

/**
 * The fallbacks as the SLA model sees them: their whole capacity (Σ work_rate × available) and one
 * reliability, exp(−capacity-weighted mean interruption rate).
 */
export function fallbackCapacity(rows: readonly CandidateRow[]): { rate: number; reliability: number } {
  let rate = 0;
  let lambda = 0;
  for (const r of rows) {
    const cap = r.candidate.work_rate * r.offer.available;
    rate += cap;
    lambda += cap * interruptionRate(r.offer.reliability);
  }
  return rate > 0 ? { rate, reliability: Math.exp(-lambda / rate) } : { rate: 0, reliability: 1 };
}
