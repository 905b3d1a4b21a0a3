import { cpuProfile } from '../capabilities/index.js';
import type { CapabilityCatalog } from '../capabilities/types.js';
import type { ProviderType } from '../protocol/glossary.js';
import type { Offer } from '../protocol/schemas/offer.js';
import type { FilterDrop } from './filters.js';
import { workKindOf } from './filters.js';
import { riskAdjust } from './risk.js';
import type { Candidate, PlanRequest, RiskAdjusted } from './types.js';

/**
 * Candidates: each offer that passed the filters, as the solver sees it (planner/types.ts
 * Candidate). Scoring is pure: the base work rate of a node-hour is
 *   gpu_count × capabilities.workRate(gpu_model, reference_profile, kind)
 * (kind: fp16 for training and batch_processing, memory bandwidth for inference and
 * large_model_serve; for cpu the node's vCPU count), then the risk model (planner/risk.ts) turns it
 * into expected throughput. `effective_price` is the list price per node-hour: every node-hour is
 * paid, and the lost time is already in `work_rate`, so Σ effective_price × node_hours is the
 * plan's expected cost. With `interruptible: prefer`, interruptible offers get
 * PREFER_INTERRUPTIBLE_DISCOUNT off `effective_price` — in the objective only; costs on the wire
 * are list prices.
 */

/** Objective-only discount for interruptible offers under `interruptible: prefer` (5%). */
export const PREFER_INTERRUPTIBLE_DISCOUNT = 0.05;

export interface CandidateRow {
  candidate: Candidate;
  offer: Offer;
  /** Reference GPU-hours (vCPU-hours for cpu) one node-hour does with no interruptions. */
  base_rate: number;
  risk: RiskAdjusted;
  /** USD per node-hour at list price. */
  price_per_node_hour: number;
  /** USD per reference GPU-hour of expected work at list price: price / work_rate. */
  unit_cost: number;
}

export type CapabilityRates = Pick<CapabilityCatalog, 'workRate'>;

/** Base work rate of one node-hour of `o` for `req`; null when its capability is unknown. */
export function baseRate(o: Offer, req: PlanRequest, capabilities: CapabilityRates): number | null {
  if (req.workload.type === 'cpu') return cpuProfile(o.vcpus, o.memory_gb).cpu_work_rate;
  if (o.gpu_model === null) return null;
  const r = capabilities.workRate(o.gpu_model, req.workload.reference_profile, workKindOf(req.workload.type));
  return r === null ? null : o.gpu_count * r;
}

/** Offers (already filtered) → candidate rows, index = position in the returned list. */
export function buildCandidates(
  offers: readonly Offer[],
  req: PlanRequest,
  capabilities: CapabilityRates,
): CandidateRow[] {
  const rows: CandidateRow[] = [];
  const cap = req.workload.max_nodes ?? Number.POSITIVE_INFINITY;
  // A market has few models: resolve each one's rate once.
  const rates = new Map<string | null, number | null>();
  const memo: CapabilityRates = {
    workRate(model, reference, kind) {
      let r = rates.get(model);
      if (r === undefined) {
        r = capabilities.workRate(model, reference, kind);
        rates.set(model, r);
      }
      return r;
    },
  };
  for (const offer of offers) {
    const base = baseRate(offer, req, memo);
    if (base === null || !(base > 0)) continue; // the capability filter dropped these already
    const risk = riskAdjust(offer, base, offer.price_per_hour, {
      checkpoint_interval_s: req.workload.checkpoint_interval_s,
    });
    if (!(risk.work_rate > 0)) continue;
    const discount =
      req.constraints.interruptible === 'prefer' && offer.interruptible
        ? 1 - PREFER_INTERRUPTIBLE_DISCOUNT
        : 1;
    const candidate: Candidate = {
      index: rows.length,
      offer_id: offer.id,
      provider: offer.provider,
      work_rate: risk.work_rate,
      effective_price: offer.price_per_hour * discount,
      max_nodes: Math.min(offer.available, cap),
    };
    rows.push({
      candidate,
      offer,
      base_rate: base,
      risk,
      price_per_node_hour: offer.price_per_hour,
      unit_cost: offer.price_per_hour / risk.work_rate,
    });
  }
  return rows;
}

/** A row's position in `rows` becomes its candidate index again (after any subsetting). */
export function reindex(rows: readonly CandidateRow[]): CandidateRow[] {
  return rows.map((r, index) => ({ ...r, candidate: { ...r.candidate, index } }));
}

export interface PlaceholderResolution {
  rows: CandidateRow[];
  /** Each placeholder → the provider it resolved to (null: no offer of its type passed). */
  resolved: Record<string, string | null>;
  dropped: FilterDrop | null;
}

/**
 * Spec placeholders in `providers` ("network_a") each become the cheapest provider of their type,
 * by unit cost (USD per reference GPU-hour) among rows that passed the filters; placeholders of the
 * same type take distinct providers, cheapest first. Rows of that type from other providers drop
 * out, counted under the `provider_placeholder` stage. Named providers are kept as they are.
 */
export function resolvePlaceholders(
  rows: readonly CandidateRow[],
  req: PlanRequest,
  placeholders: ReadonlyMap<string, ProviderType>,
): PlaceholderResolution {
  if (placeholders.size === 0) return { rows: [...rows], resolved: {}, dropped: null };
  const named = new Set((req.constraints.providers ?? []).filter((p) => !placeholders.has(p)));
  const best = new Map<string, CandidateRow>();
  for (const r of rows) {
    const b = best.get(r.offer.provider);
    if (!b || r.unit_cost < b.unit_cost) best.set(r.offer.provider, r);
  }
  const byCost = [...best.values()].sort((a, b) => a.unit_cost - b.unit_cost);
  const chosen = new Set<string>();
  const resolved: Record<string, string | null> = {};
  for (const [name, type] of placeholders) {
    const pick = byCost.find(
      (r) => r.offer.provider_type === type && !chosen.has(r.offer.provider) && !named.has(r.offer.provider),
    );
    resolved[name] = pick ? pick.offer.provider : null;
    if (pick) chosen.add(pick.offer.provider);
  }
  const kept: CandidateRow[] = [];
  const dropped: FilterDrop = {
    filter: 'provider_placeholder',
    param: 'constraints.providers',
    count: 0,
    examples: [],
  };
  for (const r of rows) {
    if (named.has(r.offer.provider) || chosen.has(r.offer.provider)) {
      kept.push(r);
      continue;
    }
    dropped.count++;
    if (dropped.examples.length < 3) {
      dropped.examples.push({
        offer_id: r.offer.id,
        reason: `${r.offer.provider} is not the provider a placeholder resolved to`,
      });
    }
  }
  return { rows: reindex(kept), resolved, dropped: dropped.count > 0 ? dropped : null };
}

/** Distinct providers among rows, in first-appearance order. */
export function providersOf(rows: readonly CandidateRow[]): string[] {
  return [...new Set(rows.map((r) => r.offer.provider))];
}
