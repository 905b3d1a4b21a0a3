import type { CapabilityCatalog, CapabilityCatalogExtras } from '../capabilities/types.js';
import type { Geo } from '../market/geo.js';
import {
  DEFAULT_REFERENCE_PROFILE,
  isLatencyBand,
  isProviderType,
  LATENCY_BANDS,
  PROVIDER_TYPES,
  type ProviderType,
} from '../protocol/glossary.js';
import { INTERCONNECTS, INTERRUPTIBLE_POLICIES, WORKLOAD_TYPES } from '../protocol/schemas/orchestrate.js';
import type { Interconnect, InterruptiblePolicy, Objective, PlanRequest, WorkloadType } from './types.js';

/**
 * The /orchestrate body → PlanRequest. Accepts the spec's two bodies verbatim (the batch form with
 * `workload` and `constraints` objects; the inference form with a bare workload type and
 * `requests_per_second`, `redundancy`, `providers` at the top level). Every field is validated, an
 * unknown key is a problem, and each problem names its JSON path. Never throws.
 */

export interface OrchestrateProblem {
  /** JSON path of the offending field, e.g. "constraints.max_price_per_hour". */
  param: string;
  detail: string;
}

export interface RequestContext {
  capabilities: Pick<CapabilityCatalog, 'resolveResourceType'> &
    Pick<CapabilityCatalogExtras, 'resolveProviderPlaceholder'>;
  geo: Pick<Geo, 'parseNear'>;
  knownProviders: ReadonlySet<string>;
}

export type ParsedOrchestrate =
  | { ok: true; value: PlanRequest }
  | { ok: false; problems: OrchestrateProblem[] };

/** Hours a large_model_serve plan serves when the body gives no compute_hours. */
export const DEFAULT_SERVE_HOURS = 24;
export const DEFAULT_CHECKPOINT_INTERVAL_S = 1800;
/** Weight on cost of the bare "balanced" objective. */
export const DEFAULT_BALANCED_WEIGHT = 0.5;

const TOP_KEYS = ['requester', 'workload', 'constraints', 'requests_per_second', 'redundancy', 'providers'];
const WORKLOAD_KEYS = [
  'type',
  'compute_hours',
  'memory_gb',
  'interconnect',
  'reference_profile',
  'gpus_per_node',
  'min_nodes',
  'max_nodes',
  'checkpoint_interval_s',
  'requests_per_second',
];
const CONSTRAINT_KEYS = [
  'max_price_per_hour',
  'latency_band',
  'near',
  'redundancy',
  'deadline_hours',
  'budget_usd',
  'min_reliability',
  'interruptible',
  'providers',
  'exclude_providers',
  'provider_types',
  'regions',
  'objective',
];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads fields of one object, collecting problems under its path. */
class Reader {
  constructor(
    private readonly o: Obj,
    private readonly path: string,
    private readonly out: OrchestrateProblem[],
  ) {}

  p(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }
  bad(key: string, detail: string): undefined {
    this.out.push({ param: this.p(key), detail: `${this.p(key)} ${detail}` });
    return undefined;
  }
  has(key: string): boolean {
    return this.o[key] !== undefined && this.o[key] !== null;
  }
  unknown(allowed: readonly string[]): void {
    for (const k of Object.keys(this.o)) {
      if (!allowed.includes(k)) this.bad(k, `is not a known field; expected one of: ${allowed.join(', ')}.`);
    }
  }
  num(key: string, o: { min?: number; gt?: number; max?: number; int?: boolean } = {}): number | undefined {
    if (!this.has(key)) return undefined;
    const v = this.o[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.bad(key, 'must be a number.');
    if (o.int && !Number.isInteger(v)) return this.bad(key, 'must be an integer.');
    if (o.gt !== undefined && !(v > o.gt)) return this.bad(key, `must be greater than ${o.gt}.`);
    if (o.min !== undefined && v < o.min) return this.bad(key, `must be at least ${o.min}.`);
    if (o.max !== undefined && v > o.max) return this.bad(key, `must be at most ${o.max}.`);
    return v;
  }
  str(key: string): string | undefined {
    if (!this.has(key)) return undefined;
    const v = this.o[key];
    if (typeof v !== 'string' || v.trim() === '') return this.bad(key, 'must be a non-empty string.');
    return v.trim();
  }
  oneOf<T extends string>(key: string, xs: readonly T[]): T | undefined {
    const v = this.str(key);
    if (v === undefined) return undefined;
    if (!(xs as readonly string[]).includes(v)) return this.bad(key, `must be one of: ${xs.join(', ')}.`);
    return v as T;
  }
  strings(key: string): string[] | undefined {
    if (!this.has(key)) return undefined;
    const v = this.o[key];
    if (!Array.isArray(v) || v.length === 0) return this.bad(key, 'must be a non-empty array of strings.');
    const out: string[] = [];
    v.forEach((s, i) => {
      if (typeof s !== 'string' || s.trim() === '') this.bad(`${key}[${i}]`, 'must be a non-empty string.');
      else out.push(s.trim());
    });
    return out.length === v.length ? [...new Set(out)] : undefined;
  }
}

export function parseOrchestrate(body: unknown, ctx: RequestContext): ParsedOrchestrate {
  const problems: OrchestrateProblem[] = [];
  if (!isObj(body)) {
    return { ok: false, problems: [{ param: '', detail: 'The body must be a JSON object.' }] };
  }
  const top = new Reader(body, '', problems);
  top.unknown(TOP_KEYS);
  const requester = top.str('requester') ?? null;

  // Workload: an object, or the spec's inference form (a bare type string).
  let w: Reader;
  let wObj: Obj;
  let type: WorkloadType | undefined;
  const rawWorkload = body.workload;
  if (typeof rawWorkload === 'string') {
    wObj = {};
    w = new Reader(wObj, 'workload', problems);
    type = top.oneOf('workload', WORKLOAD_TYPES);
  } else if (isObj(rawWorkload)) {
    wObj = rawWorkload;
    w = new Reader(wObj, 'workload', problems);
    w.unknown(WORKLOAD_KEYS);
    if (!w.has('type')) w.bad('type', `is required; one of: ${WORKLOAD_TYPES.join(', ')}.`);
    type = w.oneOf('type', WORKLOAD_TYPES);
  } else {
    top.bad('workload', 'is required: an object {type, compute_hours, …} or a workload type.');
    wObj = {};
    w = new Reader(wObj, 'workload', problems);
  }

  let compute_hours = w.num('compute_hours', { gt: 0 });
  if (compute_hours === undefined && type === 'large_model_serve') compute_hours = DEFAULT_SERVE_HOURS;
  if (compute_hours === undefined && type !== undefined && !w.has('compute_hours')) {
    w.bad('compute_hours', 'is required (reference GPU-hours; vCPU-hours for cpu).');
  }
  const memory_gb = w.num('memory_gb', { gt: 0 }) ?? null;
  const interconnect: Interconnect = w.oneOf('interconnect', INTERCONNECTS) ?? 'optional';
  const gpus_per_node = w.num('gpus_per_node', { int: true, min: 1 }) ?? null;
  const min_nodes = w.num('min_nodes', { int: true, min: 1 }) ?? 1;
  const max_nodes = w.num('max_nodes', { int: true, min: 1 }) ?? null;
  if (max_nodes !== null && max_nodes < min_nodes)
    w.bad('max_nodes', `must be at least min_nodes (${min_nodes}).`);
  const checkpoint_interval_s = w.num('checkpoint_interval_s', { gt: 0 }) ?? DEFAULT_CHECKPOINT_INTERVAL_S;

  let reference_profile = DEFAULT_REFERENCE_PROFILE;
  const refRaw = w.str('reference_profile');
  if (refRaw !== undefined) {
    const sel = ctx.capabilities.resolveResourceType(refRaw);
    if (sel === null || sel.kind === 'class') {
      w.bad(
        'reference_profile',
        `"${refRaw}" is not a profile (GPU_TYPE_A) or a GPU model (H100, A100-80GB).`,
      );
    } else reference_profile = sel.kind === 'profile' ? sel.name : (sel.models[0] ?? refRaw);
  }

  const rpsTop = top.num('requests_per_second', { gt: 0 });
  const rpsW = w.num('requests_per_second', { gt: 0 });
  if (rpsTop !== undefined && rpsW !== undefined) {
    top.bad('requests_per_second', 'is given twice; keep workload.requests_per_second only.');
  }
  const requests_per_second = rpsW ?? rpsTop ?? null;
  if (requests_per_second !== null && type !== undefined && type !== 'large_model_serve') {
    problems.push({
      param: rpsW !== undefined ? 'workload.requests_per_second' : 'requests_per_second',
      detail: 'requests_per_second applies to large_model_serve only.',
    });
  }

  // Constraints, with the inference form's top-level redundancy and providers.
  let cObj: Obj = {};
  if (body.constraints !== undefined && body.constraints !== null) {
    if (isObj(body.constraints)) cObj = body.constraints;
    else top.bad('constraints', 'must be an object.');
  }
  const c = new Reader(cObj, 'constraints', problems);
  c.unknown(CONSTRAINT_KEYS);

  const max_price_per_hour = c.num('max_price_per_hour', { gt: 0 }) ?? null;
  const latency_band = c.oneOf('latency_band', LATENCY_BANDS) ?? null;
  let near: { lat: number; lon: number } | null = null;
  const nearRaw = c.str('near');
  if (nearRaw !== undefined) {
    near = ctx.geo.parseNear(nearRaw);
    if (near === null)
      c.bad('near', `"${nearRaw}" is neither "lat,lon" nor a region with known coordinates.`);
  }
  if (top.has('redundancy') && c.has('redundancy')) {
    top.bad('redundancy', 'is given twice; keep constraints.redundancy only.');
  }
  const redundancy =
    c.num('redundancy', { int: true, min: 1 }) ?? top.num('redundancy', { int: true, min: 1 }) ?? 1;
  const deadline_hours = c.num('deadline_hours', { gt: 0 }) ?? null;
  const budget_usd = c.num('budget_usd', { gt: 0 }) ?? null;
  const min_reliability = c.num('min_reliability', { min: 0, max: 1 }) ?? null;
  const interruptible: InterruptiblePolicy = c.oneOf('interruptible', INTERRUPTIBLE_POLICIES) ?? 'allow';

  if (top.has('providers') && c.has('providers')) {
    top.bad('providers', 'is given twice; keep constraints.providers only.');
  }
  const providersFrom = c.has('providers') ? c : top;
  const providers = checkProviders(providersFrom, 'providers', ctx, true) ?? null;
  const exclude_providers = checkProviders(c, 'exclude_providers', ctx, false) ?? [];

  let provider_types: ProviderType[] | null = null;
  const ptRaw = c.strings('provider_types');
  if (ptRaw !== undefined) {
    const bad = ptRaw.filter((t) => !isProviderType(t));
    if (bad.length)
      c.bad('provider_types', `has unknown types ${bad.join(', ')}; one of: ${PROVIDER_TYPES.join(', ')}.`);
    else provider_types = ptRaw as ProviderType[];
  }
  const regions = c.strings('regions') ?? null;
  const objective = parseObjective(cObj.objective, c);

  if (problems.length > 0 || type === undefined || compute_hours === undefined) {
    if (problems.length === 0) problems.push({ param: 'workload', detail: 'workload is incomplete.' });
    return { ok: false, problems };
  }
  return {
    ok: true,
    value: {
      requester,
      workload: {
        type,
        compute_hours,
        memory_gb,
        interconnect,
        reference_profile,
        gpus_per_node,
        min_nodes,
        max_nodes,
        checkpoint_interval_s,
        requests_per_second,
      },
      constraints: {
        max_price_per_hour,
        latency_band: latency_band !== null && isLatencyBand(latency_band) ? latency_band : null,
        near,
        redundancy,
        deadline_hours,
        budget_usd,
        min_reliability,
        interruptible,
        providers,
        exclude_providers,
        provider_types,
        regions,
        objective,
      },
    },
  };
}

/**
 * Provider names: each a configured provider or (for `providers`, not for exclusions) a spec
 * placeholder naming a provider type, kept as written and resolved at plan time to the cheapest
 * provider of that type among the offers that pass the filters.
 */
function checkProviders(
  r: Reader,
  key: string,
  ctx: RequestContext,
  placeholders: boolean,
): string[] | undefined {
  const xs = r.strings(key);
  if (xs === undefined) return undefined;
  let ok = true;
  xs.forEach((name, i) => {
    if (ctx.knownProviders.has(name)) return;
    if (placeholders && ctx.capabilities.resolveProviderPlaceholder(name) !== null) return;
    ok = false;
    r.bad(
      `${key}[${i}]`,
      placeholders
        ? `"${name}" is not a configured provider or a spec placeholder (marketplace_a, network_b…); see GET /providers.`
        : `"${name}" is not a configured provider; see GET /providers.`,
    );
  });
  return ok ? xs : undefined;
}

function parseObjective(v: unknown, c: Reader): Objective {
  if (v === undefined || v === null || v === 'cost') return { kind: 'cost' };
  if (v === 'time') return { kind: 'time' };
  if (v === 'balanced') return { kind: 'balanced', cost_weight: DEFAULT_BALANCED_WEIGHT };
  if (isObj(v) && Object.keys(v).length === 1 && 'balanced' in v) {
    const wt = v.balanced;
    if (typeof wt === 'number' && wt >= 0 && wt <= 1) return { kind: 'balanced', cost_weight: wt };
    c.bad('objective.balanced', 'must be a number in [0, 1] (the weight on cost; 1 − weight on time).');
    return { kind: 'cost' };
  }
  c.bad('objective', 'must be "cost", "time", "balanced" or {"balanced": weight on cost in [0, 1]}.');
  return { kind: 'cost' };
}
