import { resolveProviderPlaceholder as defaultPlaceholder } from '../capabilities/aliases.js';
import type { CapabilityCatalog } from '../capabilities/types.js';
import {
  isLatencyBand,
  isProviderType,
  LATENCY_BANDS,
  PROVIDER_TYPES,
  type ProviderType,
  SORTS,
  type Sort,
} from '../protocol/glossary.js';
import { decodeCursor } from './cursor.js';
import type { Geo } from './geo.js';
import type { MarketQuery } from './types.js';

export interface QueryProblem {
  param: string;
  detail: string;
}

export type ParseResult<T> = { ok: true; query: T } | { ok: false; problems: QueryProblem[] };

export interface ParseContext {
  capabilities: CapabilityCatalog;
  geo: Geo;
  knownProviders: ReadonlySet<string>;
  /** Keys another endpoint adds (e.g. /discover's gpu_hours); they are not problems here. */
  allowedKeys?: Iterable<string>;
  /** Spec placeholder → provider type; default: the capabilities module's rule. */
  resolveProviderPlaceholder?: (name: string) => ProviderType | null;
}

export const NODES_QUERY_KEYS = [
  'resource_type',
  'gpu_model',
  'min_gpu_count',
  'min_memory_gb',
  'max_price',
  'latency_band',
  'near',
  'provider',
  'provider_type',
  'region',
  'interruptible',
  'min_reliability',
  'min_fp16_tflops',
  'min_available',
  'sort',
  'limit',
  'cursor',
] as const;

/** Keys whose value may be a comma list and may repeat (values are joined). */
const LIST_KEYS = new Set(['resource_type', 'gpu_model', 'provider', 'provider_type', 'region']);
export const DEFAULT_LIMIT = 50;
export const DEFAULT_MIN_AVAILABLE = 1;
export const MAX_LIMIT = 1000;

/** One raw value → string, or a problem (repeated scalar, non-string). */
export function scalar(
  raw: Record<string, unknown>,
  key: string,
  problems: QueryProblem[],
): string | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    if (LIST_KEYS.has(key) && v.every((x) => typeof x === 'string')) return v.join(',');
    problems.push({ param: key, detail: `${key} was given ${v.length} times; give it once.` });
    return undefined;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v !== 'string') {
    problems.push({ param: key, detail: `${key} must be a string.` });
    return undefined;
  }
  if (v.trim() === '') {
    problems.push({ param: key, detail: `${key} is empty; give a value or leave the parameter out.` });
    return undefined;
  }
  return v;
}

export function parseNumber(
  key: string,
  s: string | undefined,
  problems: QueryProblem[],
  opts: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): number | undefined {
  if (s === undefined) return undefined;
  const t = s.trim();
  const x = t === '' ? Number.NaN : Number(t);
  const range = `${opts.min ?? '-∞'}..${opts.max ?? '∞'}`;
  if (!Number.isFinite(x)) {
    problems.push({
      param: key,
      detail: `${key}=${JSON.stringify(s)} is not a number; give a number in ${range}.`,
    });
    return undefined;
  }
  if (opts.integer && !Number.isInteger(x)) {
    problems.push({ param: key, detail: `${key}=${s} must be a whole number in ${range}.` });
    return undefined;
  }
  const low = opts.min !== undefined && (opts.exclusiveMin ? x <= opts.min : x < opts.min);
  if (low || (opts.max !== undefined && x > opts.max)) {
    const lo = opts.exclusiveMin ? `greater than ${opts.min}` : `at least ${opts.min}`;
    const detail = low
      ? `${key}=${s} is out of range; it must be ${lo}.`
      : `${key}=${s} is out of range; at most ${opts.max}.`;
    problems.push({ param: key, detail });
    return undefined;
  }
  return x;
}

function list(s: string | undefined): string[] | undefined {
  if (s === undefined) return undefined;
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

/**
 * /nodes parameters → MarketQuery. Every malformed, unknown or out-of-range parameter is a
 * problem naming it; nothing throws. Values are as the wire gives them (strings or string arrays).
 */
export function parseNodesQuery(raw: Record<string, unknown>, ctx: ParseContext): ParseResult<MarketQuery> {
  const problems: QueryProblem[] = [];
  const allowed = new Set<string>([...NODES_QUERY_KEYS, ...(ctx.allowedKeys ?? [])]);
  for (const key of Object.keys(raw)) {
    if (!allowed.has(key) && raw[key] !== undefined) {
      problems.push({ param: key, detail: `Unknown parameter ${key}; known: ${[...allowed].join(', ')}.` });
    }
  }
  const get = (k: string) => scalar(raw, k, problems);
  const q: { -readonly [K in keyof MarketQuery]: MarketQuery[K] } = {
    sort: 'price_asc',
    limit: DEFAULT_LIMIT,
  };

  const rt = list(get('resource_type'));
  if (rt) {
    const models = new Set<string>();
    const classes = new Set<string>();
    for (const v of rt) {
      const sel = ctx.capabilities.resolveResourceType(v);
      if (sel === null) {
        problems.push({
          param: 'resource_type',
          detail: `resource_type=${v} is not a class (GPU_A, GPU_B, GPU_C, GPU_OTHER, CPU), profile (GPU_TYPE_A, GPU_TYPE_B) or known GPU model.`,
        });
      } else if (sel.kind === 'class') classes.add(sel.class);
      else for (const m of sel.models) models.add(m);
    }
    if (models.size) q.models = models;
    if (classes.size) q.classes = classes;
  }
  const gm = list(get('gpu_model'));
  if (gm) {
    const models = new Set<string>();
    for (const v of gm) {
      const sel = ctx.capabilities.resolveResourceType(v);
      if (sel === null || sel.kind === 'class') {
        problems.push({
          param: 'gpu_model',
          detail: `gpu_model=${v} is not a known GPU model or profile; see GET /capabilities.`,
        });
      } else for (const m of sel.models) models.add(m);
    }
    q.gpu_models = models;
  }

  const mgc = parseNumber('min_gpu_count', get('min_gpu_count'), problems, { min: 0, integer: true });
  if (mgc !== undefined) q.min_gpu_count = mgc;
  const mem = parseNumber('min_memory_gb', get('min_memory_gb'), problems, { min: 0 });
  if (mem !== undefined) q.min_memory_gb = mem;
  const mp = parseNumber('max_price', get('max_price'), problems, { min: 0 });
  if (mp !== undefined) q.max_price = mp;
  const rel = parseNumber('min_reliability', get('min_reliability'), problems, { min: 0, max: 1 });
  if (rel !== undefined) q.min_reliability = rel;
  const fp = parseNumber('min_fp16_tflops', get('min_fp16_tflops'), problems, { min: 0 });
  if (fp !== undefined) q.min_fp16_tflops = fp;
  // "Find available compute": by default only offers with at least one node rentable now;
  // min_available=0 also lists offers that are sold out at the moment.
  const avail = parseNumber('min_available', get('min_available'), problems, { min: 0, integer: true });
  q.min_available = avail ?? DEFAULT_MIN_AVAILABLE;
  const lim = parseNumber('limit', get('limit'), problems, { min: 1, max: MAX_LIMIT, integer: true });
  if (lim !== undefined) q.limit = lim;

  const band = get('latency_band');
  if (band !== undefined) {
    if (isLatencyBand(band.trim())) q.latency_band = band.trim() as MarketQuery['latency_band'];
    else
      problems.push({
        param: 'latency_band',
        detail: `latency_band=${band} is not one of ${LATENCY_BANDS.join(', ')}.`,
      });
  }
  const near = get('near');
  if (near !== undefined) {
    const p = ctx.geo.parseNear(near);
    if (p) q.near = p;
    else
      problems.push({
        param: 'near',
        detail: `near=${near} is neither "lat,lon" nor a region with known coordinates.`,
      });
  }
  const providers = list(get('provider'));
  if (providers) {
    const names = new Set<string>();
    const placeholders = new Map<string, ProviderType>();
    const resolve = ctx.resolveProviderPlaceholder ?? ((n: string) => defaultPlaceholder(n));
    for (const p of providers) {
      if (ctx.knownProviders.has(p)) names.add(p);
      else {
        const t = resolve(p);
        if (t) placeholders.set(p, t);
        else
          problems.push({
            param: 'provider',
            detail: `provider=${p} is not a configured provider or a spec placeholder; see GET /providers.`,
          });
      }
    }
    q.providers = names;
    if (placeholders.size) q.provider_placeholders = placeholders;
  }
  const types = list(get('provider_type'));
  if (types) {
    const set = new Set<ProviderType>();
    for (const t of types) {
      if (isProviderType(t)) set.add(t);
      else
        problems.push({
          param: 'provider_type',
          detail: `provider_type=${t} is not one of ${PROVIDER_TYPES.join(', ')}.`,
        });
    }
    q.provider_types = set;
  }
  const regions = list(get('region'));
  if (regions) q.regions = new Set(regions);
  const intr = get('interruptible');
  if (intr !== undefined) {
    const t = intr.trim().toLowerCase();
    if (t === 'true' || t === '1') q.interruptible = true;
    else if (t === 'false' || t === '0') q.interruptible = false;
    else problems.push({ param: 'interruptible', detail: `interruptible=${intr} must be true or false.` });
  }
  const sort = get('sort');
  if (sort !== undefined) {
    if ((SORTS as readonly string[]).includes(sort.trim())) q.sort = sort.trim() as Sort;
    else problems.push({ param: 'sort', detail: `sort=${sort} is not one of ${SORTS.join(', ')}.` });
  }
  const cursor = get('cursor');
  if (cursor !== undefined) {
    const c = decodeCursor(cursor);
    if (c === null)
      problems.push({
        param: 'cursor',
        detail: 'cursor is not one this gateway issued; pass next_cursor back unchanged.',
      });
    else if (c.sort !== q.sort) {
      problems.push({
        param: 'cursor',
        detail: `cursor was issued for sort=${c.sort}; repeat that sort or drop the cursor.`,
      });
    } else q.cursor = cursor;
  }
  return problems.length ? { ok: false, problems } : { ok: true, query: q };
}
