import type { CapabilityCatalog, CapabilityCatalogExtras, WorkKind } from '../capabilities/types.js';
import { bandForDistance, type Geo, haversineKm } from '../market/geo.js';
import { LATENCY_BANDS, type ProviderType } from '../protocol/glossary.js';
import type { Offer } from '../protocol/schemas/offer.js';
import type { PlanRequest, WorkloadType } from './types.js';

/**
 * The planner's filter stage (STYLE.md 4: the planner is a pipeline). Each filter is small, named
 * after what it checks, and says why it rejects an offer: `(offer, req) => null | reason`. They run
 * in the order listed; an offer is counted against the first filter that rejects it, with up to
 * three example offer ids per filter, so a plan explains what it did not consider and why.
 */

export type FilterFn = (offer: Offer, req: PlanRequest) => string | null;

export interface PlanFilter {
  name: string;
  /** The request field the filter enforces (JSON path), for explanations; null = not relaxable. */
  param: string | null;
  run: FilterFn;
}

export interface FilterEnv {
  capabilities: Pick<CapabilityCatalog, 'workRate'>;
  /** Spec placeholders in constraints.providers → the provider type each names. */
  placeholders: ReadonlyMap<string, ProviderType>;
}

export interface FilterDrop {
  filter: string;
  param: string | null;
  count: number;
  examples: { offer_id: string; reason: string }[];
}

export interface FilterOutcome {
  considered: number;
  passed: Offer[];
  dropped: FilterDrop[];
}

/** The capability a workload type's work is measured in (DESIGN.md "Work is normalised"). */
export function workKindOf(type: WorkloadType): WorkKind {
  switch (type) {
    case 'training':
    case 'batch_processing':
      return type;
    case 'inference':
    case 'large_model_serve':
      return 'inference';
    case 'cpu':
      return 'cpu';
  }
}

/** USD per GPU-hour for GPU offers, per node-hour for CPU-only offers (glossary). */
export function unitPrice(o: Offer): number {
  if (o.gpu_count <= 0) return o.price_per_hour;
  return o.price_per_gpu_hour ?? o.price_per_hour / o.gpu_count;
}

export function gpuMemory(o: Offer): number | null {
  return o.gpu_memory_gb ?? o.capabilities?.memory_gb ?? null;
}

/**
 * `interconnect: required` means the GPUs of one node share an all-to-all fabric: NVLink/NVSwitch
 * (SXM parts), AMD Infinity Fabric, AWS NeuronLink, TPU ICI, or an InfiniBand/RoCE-class network.
 * A pairwise "NVLink bridge" and PCIe are not enough, and a single-GPU node has nothing to link.
 */
const FABRIC = /nvlink(?!\s*bridge)|nvswitch|infinity\s*fabric|infiniband|neuronlink|\bici\b|roce/i;
export function hasFabric(interconnect: string | null | undefined): boolean {
  if (!interconnect) return false;
  return interconnect.split(';').some((part) => FABRIC.test(part) && !/nvlink\s*bridge/i.test(part));
}

const BANDS: readonly string[] = LATENCY_BANDS;
const $ = (x: number) => `$${x.toFixed(2)}`;
const isCpu = (req: PlanRequest) => req.workload.type === 'cpu';

export function createFilters(env: FilterEnv): PlanFilter[] {
  const placeholderTypes = new Set(env.placeholders.values());
  // workRate resolves names on every call; a market has few models, so remember each answer (by
  // reference and kind, then model: no key string built per offer).
  const byRef = new Map<string, Map<string, number | null>>();
  let last: { ref: string; kind: WorkKind; rates: Map<string, number | null> } | null = null;
  const workRate = (model: string, ref: string, kind: WorkKind): number | null => {
    if (last === null || last.ref !== ref || last.kind !== kind) {
      const k = `${ref}\u0000${kind}`;
      let rates = byRef.get(k);
      if (!rates) {
        rates = new Map();
        byRef.set(k, rates);
      }
      last = { ref, kind, rates };
    }
    let r = last.rates.get(model);
    if (r === undefined) {
      r = env.capabilities.workRate(model, ref, kind);
      last.rates.set(model, r);
    }
    return r;
  };
  return [
    {
      name: 'workload_kind',
      param: 'workload.type',
      run: (o, req) => {
        if (isCpu(req)) return o.gpu_count > 0 ? 'a GPU node; cpu work runs on CPU-only offers' : null;
        return o.gpu_count <= 0 || o.gpu_model === null ? 'a CPU-only node; GPU work needs a GPU' : null;
      },
    },
    {
      name: 'memory',
      param: 'workload.memory_gb',
      run: (o, req) => {
        const need = req.workload.memory_gb;
        if (need === null) return null;
        if (isCpu(req))
          return o.memory_gb >= need ? null : `host memory ${o.memory_gb} GB < memory_gb ${need}`;
        const m = gpuMemory(o);
        if (m === null) return 'GPU memory unknown';
        return m >= need ? null : `GPU memory ${m} GB per GPU < memory_gb ${need}`;
      },
    },
    {
      name: 'gpus_per_node',
      param: 'workload.gpus_per_node',
      run: (o, req) => {
        const need = req.workload.gpus_per_node;
        return need === null || isCpu(req) || o.gpu_count >= need
          ? null
          : `${o.gpu_count} GPUs per node < ${need}`;
      },
    },
    {
      name: 'interconnect',
      param: 'workload.interconnect',
      run: (o, req) => {
        if (req.workload.interconnect !== 'required' || isCpu(req)) return null;
        if (o.gpu_count < 2) return 'single-GPU node; interconnect required needs multi-GPU nodes';
        const ic = o.capabilities?.interconnect ?? null;
        return hasFabric(ic)
          ? null
          : `interconnect "${ic ?? 'unknown'}" is not an NVLink/Infinity Fabric-class fabric`;
      },
    },
    {
      name: 'max_price',
      param: 'constraints.max_price_per_hour',
      run: (o, req) => {
        const cap = req.constraints.max_price_per_hour;
        if (cap === null) return null;
        const p = unitPrice(o);
        const unit = o.gpu_count > 0 ? 'GPU-hour' : 'node-hour';
        return p <= cap + 1e-9 ? null : `${$(p)}/${unit} > max_price_per_hour ${$(cap)}`;
      },
    },
    {
      name: 'latency_band',
      param: 'constraints.latency_band',
      run: (o, req) => {
        const want = req.constraints.latency_band;
        if (want === null) return null;
        return BANDS.indexOf(o.latency_band) <= BANDS.indexOf(want)
          ? null
          : `band ${o.latency_band} is worse than ${want}`;
      },
    },
    {
      name: 'providers',
      param: 'constraints.providers',
      run: (o, req) => {
        const c = req.constraints;
        if (c.exclude_providers.includes(o.provider)) return `${o.provider} is in exclude_providers`;
        if (c.providers === null) return null;
        if (c.providers.includes(o.provider) || placeholderTypes.has(o.provider_type as ProviderType))
          return null;
        return `${o.provider} is not in providers`;
      },
    },
    {
      name: 'provider_types',
      param: 'constraints.provider_types',
      run: (o, req) => {
        const ts = req.constraints.provider_types;
        return ts === null || ts.includes(o.provider_type as ProviderType)
          ? null
          : `provider type ${o.provider_type} not requested`;
      },
    },
    {
      name: 'regions',
      param: 'constraints.regions',
      run: (o, req) => {
        const rs = req.constraints.regions;
        return rs === null || rs.includes(o.region) ? null : `region ${o.region} not requested`;
      },
    },
    {
      name: 'interruptible',
      param: 'constraints.interruptible',
      run: (o, req) =>
        o.interruptible && req.constraints.interruptible === 'deny'
          ? 'interruptible; interruptible is deny'
          : null,
    },
    {
      name: 'min_reliability',
      param: 'constraints.min_reliability',
      run: (o, req) => {
        const min = req.constraints.min_reliability;
        return min === null || o.reliability >= min ? null : `reliability ${o.reliability} < ${min}`;
      },
    },
    {
      name: 'capability',
      param: null,
      run: (o, req) => {
        if (isCpu(req)) return o.vcpus > 0 ? null : 'no vCPUs listed';
        const kind = workKindOf(req.workload.type);
        const r = workRate(o.gpu_model ?? '', req.workload.reference_profile, kind);
        return r !== null && r > 0 ? null : `${kind} capability of ${o.gpu_model} is unknown`;
      },
    },
    {
      name: 'available',
      param: null,
      run: (o) => (o.available >= 1 ? null : 'sold out (available 0)'),
    },
  ];
}

/*
 * Stages before the filters: bands measured from `near`, and which provider names are placeholders.
 */

/** With `near` (and region coordinates), re-measure each offer's band and distance from there. */
export function locate(
  offers: Offer[],
  req: PlanRequest,
  geo: Pick<Geo, 'locate'> | undefined,
  notes: string[],
): Offer[] {
  const near = req.constraints.near;
  if (near === null) return offers;
  if (!geo) {
    notes.push('near was given but the planner has no region table; bands are as the market measured them');
    return offers;
  }
  return offers.map((o) => {
    if (o.latency_band === 'LAN') return o;
    const loc = geo.locate(o.provider, o.region);
    const km = loc ? haversineKm(near, loc) : null;
    return { ...o, latency_band: bandForDistance(km), distance_km: km === null ? null : Math.round(km) };
  });
}

/** Names in `providers` that are spec placeholders: not a provider in the market, and a known stem. */
export function placeholderMap(
  req: PlanRequest,
  offers: readonly Offer[],
  caps: Pick<CapabilityCatalogExtras, 'resolveProviderPlaceholder'>,
): Map<string, ProviderType> {
  const out = new Map<string, ProviderType>();
  if (req.constraints.providers === null) return out;
  const present = new Set(offers.map((o) => o.provider));
  for (const name of req.constraints.providers) {
    const t = present.has(name) ? null : caps.resolveProviderPlaceholder(name);
    if (t !== null) out.set(name, t);
  }
  return out;
}

/** Run the filters in order; each offer is counted against the first that rejects it. */
export function runFilters(
  offers: Iterable<Offer>,
  req: PlanRequest,
  filters: readonly PlanFilter[],
): FilterOutcome {
  const drops = filters.map((f): FilterDrop => ({ filter: f.name, param: f.param, count: 0, examples: [] }));
  const passed: Offer[] = [];
  let considered = 0;
  for (const o of offers) {
    considered++;
    let rejected = false;
    for (let i = 0; i < filters.length; i++) {
      const reason = (filters[i] as PlanFilter).run(o, req);
      if (reason === null) continue;
      const d = drops[i] as FilterDrop;
      d.count++;
      if (d.examples.length < 3) d.examples.push({ offer_id: o.id, reason });
      rejected = true;
      break;
    }
    if (!rejected) passed.push(o);
  }
  return { considered, passed, dropped: drops.filter((d) => d.count > 0) };
}

/** Every filter that rejects `o` (not just the first): what an explanation of infeasibility needs. */
export function rejectingFilters(o: Offer, req: PlanRequest, filters: readonly PlanFilter[]): PlanFilter[] {
  return filters.filter((f) => f.run(o, req) !== null);
}
