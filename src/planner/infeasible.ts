import { LATENCY_BANDS } from '../protocol/glossary.js';
import type { Offer } from '../protocol/schemas/offer.js';
import { gpuMemory, type PlanFilter, rejectingFilters, unitPrice } from './filters.js';
import type { PlanRequest } from './types.js';

/**
 * "Nothing fits" is a value, not an error (STYLE.md 9): which constraint bound, and the nearest
 * change that would make a plan possible. The HTTP layer sends it as a 422 problem+json whose
 * `param` is `binding`. Every `detail` ends with "To fix: …".
 */

export type InfeasibleKind =
  | 'no_offers'
  | 'filters'
  | 'redundancy'
  | 'budget'
  | 'deadline'
  | 'capacity'
  | 'solver';

export interface InfeasibleExplanation {
  /** JSON path of the binding constraint, e.g. "constraints.max_price_per_hour". */
  binding: string;
  kind: InfeasibleKind;
  detail: string;
  /** The nearest feasible change, when one is known: set `param` to `value`. */
  nearest_change: { param: string; value: unknown } | null;
  /** The pipeline's account of what it considered (the same shape as a plan's explain). */
  explain: Record<string, unknown>;
}

const $ = (x: number) => `$${x.toFixed(2)}`;
const ceil2 = (x: number) => Math.ceil(x * 100 - 1e-6) / 100;

/** A readable summary of the constraints that filter offers: "memory_gb ≥ 80 under $2.00/GPU-hour in regional". */
export function describeConstraints(req: PlanRequest): string {
  const w = req.workload;
  const c = req.constraints;
  const unit = w.type === 'cpu' ? 'node-hour' : 'GPU-hour';
  const parts: string[] = [w.type === 'cpu' ? 'CPU-only' : `${w.type} capability`];
  if (w.memory_gb !== null) parts.push(`memory_gb ≥ ${w.memory_gb}`);
  if (w.gpus_per_node !== null) parts.push(`≥ ${w.gpus_per_node} GPUs per node`);
  if (w.interconnect === 'required') parts.push('an NVLink-class interconnect');
  if (c.max_price_per_hour !== null) parts.push(`under ${$(c.max_price_per_hour)}/${unit}`);
  if (c.latency_band !== null) parts.push(`in ${c.latency_band}`);
  if (c.min_reliability !== null) parts.push(`reliability ≥ ${c.min_reliability}`);
  if (c.interruptible === 'deny') parts.push('not interruptible');
  if (c.regions !== null) parts.push(`in regions ${c.regions.join(', ')}`);
  if (c.providers !== null) parts.push(`from ${c.providers.join(', ')}`);
  if (c.provider_types !== null) parts.push(`of type ${c.provider_types.join(', ')}`);
  return parts.join(' ');
}

interface Relaxation {
  param: string;
  value: unknown;
  /** "cheapest is $2.49/GPU-hour on lambda" */
  what: string;
  fix: string;
}

/**
 * The smallest change to one filter's parameter that lets enough offers through: `pool` holds the
 * offers only that filter rejects plus those that already pass; with redundancy R, the change must
 * admit R distinct providers.
 */
function relax(f: PlanFilter, blocked: Offer[], passing: Offer[], req: PlanRequest): Relaxation | null {
  const R = req.constraints.redundancy;
  // Walk offers in the order the change admits them until R distinct providers are in.
  const admit = (sorted: Offer[]): Offer | null => {
    const seen = new Set(passing.map((o) => o.provider));
    for (const o of sorted) {
      seen.add(o.provider);
      if (seen.size >= R) return o;
    }
    return null;
  };
  const unit = req.workload.type === 'cpu' ? 'node-hour' : 'GPU-hour';
  switch (f.name) {
    case 'max_price': {
      const o = admit([...blocked].sort((a, b) => unitPrice(a) - unitPrice(b)));
      if (!o) return null;
      const v = ceil2(unitPrice(o));
      return {
        param: 'constraints.max_price_per_hour',
        value: v,
        what: `cheapest is ${$(unitPrice(o))}/${unit} on ${o.provider}`,
        fix: `raise max_price_per_hour to ${v}`,
      };
    }
    case 'memory': {
      const mem = (o: Offer) => (req.workload.type === 'cpu' ? o.memory_gb : (gpuMemory(o) ?? 0));
      const o = admit([...blocked].sort((a, b) => mem(b) - mem(a)));
      if (!o) return null;
      return {
        param: 'workload.memory_gb',
        value: mem(o),
        what: `largest is ${mem(o)} GB on ${o.provider}`,
        fix: `lower memory_gb to ${mem(o)}`,
      };
    }
    case 'latency_band': {
      const idx = (o: Offer) => (LATENCY_BANDS as readonly string[]).indexOf(o.latency_band);
      const o = admit([...blocked].sort((a, b) => idx(a) - idx(b)));
      if (!o) return null;
      return {
        param: 'constraints.latency_band',
        value: o.latency_band,
        what: `nearest is ${o.latency_band} on ${o.provider}`,
        fix: `widen latency_band to ${o.latency_band}`,
      };
    }
    case 'min_reliability': {
      const o = admit([...blocked].sort((a, b) => b.reliability - a.reliability));
      if (!o) return null;
      return {
        param: 'constraints.min_reliability',
        value: o.reliability,
        what: `most reliable is ${o.reliability} on ${o.provider}`,
        fix: `lower min_reliability to ${o.reliability}`,
      };
    }
    case 'gpus_per_node': {
      const o = admit([...blocked].sort((a, b) => b.gpu_count - a.gpu_count));
      if (!o) return null;
      return {
        param: 'workload.gpus_per_node',
        value: o.gpu_count,
        what: `largest node has ${o.gpu_count} GPUs on ${o.provider}`,
        fix: `lower gpus_per_node to ${o.gpu_count}`,
      };
    }
    default: {
      const o = admit([...blocked].sort((a, b) => unitPrice(a) - unitPrice(b)));
      if (!o || f.param === null) return null;
      const fixes: Record<string, [unknown, string]> = {
        interconnect: ['optional', 'set interconnect to optional'],
        interruptible: ['allow', 'set interruptible to allow'],
        providers: [o.provider, `add ${o.provider} to providers (or remove it from exclude_providers)`],
        provider_types: [o.provider_type, `add ${o.provider_type} to provider_types`],
        regions: [o.region, `add ${o.region} to regions`],
      };
      const fx = fixes[f.name];
      if (!fx) return null;
      return {
        param: f.param,
        value: fx[0],
        what: `cheapest it excludes is ${o.id} on ${o.provider}`,
        fix: fx[1],
      };
    }
  }
}

/** Everything was filtered out, or too few providers survived for the redundancy asked. */
export function explainFiltered(
  offers: readonly Offer[],
  passing: readonly Offer[],
  req: PlanRequest,
  filters: readonly PlanFilter[],
  explain: Record<string, unknown>,
): InfeasibleExplanation {
  const R = req.constraints.redundancy;
  if (offers.length === 0) {
    return {
      binding: 'workload',
      kind: 'no_offers',
      detail:
        'The market has no offers to plan with. To fix: wait for the next refresh or check GET /providers.',
      nearest_change: null,
      explain,
    };
  }
  const providers = [...new Set(passing.map((o) => o.provider))];
  const redundancyBound = passing.length > 0;
  // Offers rejected by exactly one relaxable filter, grouped by that filter.
  const sole = new Map<PlanFilter, Offer[]>();
  const counts = new Map<PlanFilter, number>();
  for (const o of offers) {
    const rej = rejectingFilters(o, req, filters);
    for (const f of rej) counts.set(f, (counts.get(f) ?? 0) + 1);
    const only = rej[0];
    if (rej.length === 1 && only !== undefined && only.param !== null && only.name !== 'workload_kind') {
      sole.set(only, [...(sole.get(only) ?? []), o]);
    }
  }
  const tries = [...sole.entries()]
    .map(([f, blocked]) => ({ f, r: relax(f, blocked, [...passing], req), n: blocked.length }))
    .filter((t) => t.r !== null)
    .sort((a, b) => b.n - a.n);
  const best = tries[0];
  const what = describeConstraints(req);

  if (redundancyBound) {
    const lower = `lower redundancy to ${providers.length}`;
    const alt = best?.r ? ` or ${best.r.fix}` : '';
    return {
      binding: 'constraints.redundancy',
      kind: 'redundancy',
      detail: `redundancy ${R} needs ${R} distinct providers; only ${providers.length} (${providers.join(', ')}) have offers with ${what}. To fix: ${lower}${alt}.`,
      nearest_change: { param: 'constraints.redundancy', value: providers.length },
      explain,
    };
  }
  if (best?.r) {
    return {
      binding: best.r.param,
      kind: 'filters',
      detail: `No offer with ${what}; ${best.r.what} — To fix: ${best.r.fix}.`,
      nearest_change: { param: best.r.param, value: best.r.value },
      explain,
    };
  }
  // No single change suffices: name the filter that rejects the most offers.
  const worst = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  const f = worst?.[0];
  return {
    binding: f?.param ?? 'workload',
    kind: 'filters',
    detail: `No offer with ${what}; ${f ? `${f.name} rejects ${worst?.[1]} of ${offers.length} offers and ` : ''}no single change admits enough offers. To fix: relax ${f?.param ?? 'the workload'} and another constraint together.`,
    nearest_change: null,
    explain,
  };
}

export function budgetBound(
  req: PlanRequest,
  minCost: number,
  explain: Record<string, unknown>,
): InfeasibleExplanation {
  const v = ceil2(minCost);
  const within =
    req.constraints.deadline_hours !== null ? ` within deadline_hours ${req.constraints.deadline_hours}` : '';
  return {
    binding: 'constraints.budget_usd',
    kind: 'budget',
    detail: `budget_usd ${req.constraints.budget_usd} is below the cheapest plan's cost ${$(minCost)}${within}. To fix: raise budget_usd to ${v}.`,
    nearest_change: { param: 'constraints.budget_usd', value: v },
    explain,
  };
}

export function deadlineBound(
  req: PlanRequest,
  fastestHours: number,
  explain: Record<string, unknown>,
): InfeasibleExplanation {
  const v = Math.ceil(fastestHours * 100 - 1e-6) / 100;
  const within =
    req.constraints.budget_usd !== null ? ` within budget_usd ${req.constraints.budget_usd}` : '';
  return {
    binding: 'constraints.deadline_hours',
    kind: 'deadline',
    detail: `deadline_hours ${req.constraints.deadline_hours} is shorter than the fastest possible plan, ${v} hours${within}. To fix: raise deadline_hours to ${v}.`,
    nearest_change: { param: 'constraints.deadline_hours', value: v },
    explain,
  };
}

export function capacityBound(
  req: PlanRequest,
  why: string,
  explain: Record<string, unknown>,
): InfeasibleExplanation {
  const nodes = req.workload.max_nodes !== null;
  return {
    binding: nodes ? 'workload.max_nodes' : 'workload.min_nodes',
    kind: 'capacity',
    detail: `The offers that pass the filters cannot hold this plan: ${why}. To fix: ${nodes ? 'raise max_nodes' : 'lower min_nodes'} or relax the price, band or provider constraints.`,
    nearest_change: null,
    explain,
  };
}

export function solverFailed(detail: string, explain: Record<string, unknown>): InfeasibleExplanation {
  return {
    binding: 'workload',
    kind: 'solver',
    detail: `The solver gave no plan (${detail}). To fix: retry; a smaller market (tighter filters) solves faster.`,
    nearest_change: null,
    explain,
  };
}
