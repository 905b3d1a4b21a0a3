import { LATENCY_BANDS, PROVIDER_TYPES, RESOURCE_CLASSES, type Sort } from '../protocol/glossary.js';
import { FLAG_INTERRUPTIBLE, FLAG_LAN, LAN_RADIUS_KM } from './columns.js';
import type { LocView, MarketEnv } from './env.js';
import { type Dim, priceKeyOf, relKeyOf, type Snapshot, type SortKey } from './index-store.js';
import type { MarketQuery } from './types.js';

/** Which key and direction each public sort walks (descending sorts store inverted keys). */
export const SORT_PLAN: Record<Sort, { key: SortKey; reverse: boolean }> = {
  price_asc: { key: 'price', reverse: false },
  price_desc: { key: 'price', reverse: true },
  perf_per_dollar_desc: { key: 'ppd', reverse: false },
  reliability_desc: { key: 'rel', reverse: false },
};

/** A set of posting lists (dimension, codes) that together hold every row a filter admits. */
export interface CandidateSet {
  lists: { dim: Dim; code: number }[];
  /** Rows in those lists. */
  total: number;
}

export interface CompiledFilter {
  pass(row: number): boolean;
  /** Indexed alternatives the planner may walk instead of the whole permutation. */
  candidates: CandidateSet[];
  /** Largest key a passing row can have in the walked sort (early stop), or -1 for none. */
  keyBound: number;
  /** True when some filter can match nothing (an empty set): skip the walk. */
  empty: boolean;
}

const CPU = RESOURCE_CLASSES.indexOf('CPU');

function mask(size: number, codes: Iterable<number>): Uint8Array {
  const m = new Uint8Array(Math.max(size, 1));
  for (const c of codes) if (c >= 0 && c < size) m[c] = 1;
  return m;
}
const codesOf = (m: Uint8Array) => {
  const out: number[] = [];
  for (let c = 0; c < m.length; c++) if (m[c]) out.push(c);
  return out;
};

/**
 * A MarketQuery (providers already resolved) → one predicate over rows plus the posting-list
 * alternatives. Masks are indexed by dictionary code, so a row test is a handful of array loads.
 */
export function compileFilter(snap: Snapshot, env: MarketEnv, q: MarketQuery, view: LocView): CompiledFilter {
  const c = snap.cols;
  const sortKey = SORT_PLAN[q.sort].key;
  const candidates: CandidateSet[] = [];
  const sizeOf = (dim: Dim, codes: number[]) => {
    const off = snap.postings[sortKey][dim].offsets;
    let t = 0;
    for (const code of codes)
      if (code + 1 < off.length) t += (off[code + 1] as number) - (off[code] as number);
    return t;
  };
  const setOf = (parts: [Dim, number[]][]): CandidateSet => ({
    lists: parts.flatMap(([dim, codes]) => codes.map((code) => ({ dim, code }))),
    total: parts.reduce((t, [dim, codes]) => t + sizeOf(dim, codes), 0),
  });
  const add = (dim: Dim, codes: number[]) => candidates.push(setOf([[dim, codes]]));
  let empty = false;

  const nModels = env.models.size;
  let clsMask: Uint8Array | null = null;
  let modelMask: Uint8Array | null = null;
  if (q.classes || q.models) {
    const cls = [...(q.classes ?? [])].map((x) => RESOURCE_CLASSES.indexOf(x as never));
    clsMask = mask(8, cls);
    const models: number[] = [];
    for (const m of q.models ?? []) {
      const code = env.models.find(m);
      // A model whose class is already asked for is in that class's list; listing it twice would repeat rows.
      if (code > 0 && !clsMask[env.modelClass(code)]) models.push(code);
    }
    modelMask = mask(nModels, models);
    candidates.push(
      setOf([
        ['cls', codesOf(clsMask)],
        ['model', models],
      ]),
    );
    if (cls.length === 0 && models.length === 0) empty = true;
  }
  let gpuMask: Uint8Array | null = null;
  if (q.gpu_models) {
    const codes = [...q.gpu_models].map((m) => env.models.find(m)).filter((x) => x > 0);
    gpuMask = mask(nModels, codes);
    add('model', codes);
    if (codes.length === 0) empty = true;
  }
  let provMask: Uint8Array | null = null;
  if (q.providers) {
    const codes = [...q.providers].map((p) => env.providers.find(p)).filter((x) => x > 0);
    provMask = mask(env.providers.size, codes);
    add('provider', codes);
    if (codes.length === 0) empty = true;
  }
  let ptypeMask: Uint8Array | null = null;
  if (q.provider_types) {
    const codes = [...q.provider_types].map((t) => PROVIDER_TYPES.indexOf(t));
    ptypeMask = mask(8, codes);
    add('ptype', codes);
    if (codes.length === 0) empty = true;
  }
  let locMask: Uint8Array | null = null;
  if (q.regions) {
    locMask = new Uint8Array(env.locCount());
    for (let l = 1; l < locMask.length; l++) if (q.regions.has(env.locRegion(l))) locMask[l] = 1;
  }
  const bandMax = q.latency_band === undefined ? -1 : LATENCY_BANDS.indexOf(q.latency_band);
  const band = view.band;
  const dist = view.dist;
  if (locMask || (bandMax >= 0 && snap.lanRows === 0)) {
    const m = locMask ?? new Uint8Array(env.locCount()).fill(1);
    if (bandMax >= 0) for (let l = 0; l < m.length; l++) if ((band[l] as number) > bandMax) m[l] = 0;
    const codes = codesOf(m);
    add('loc', codes);
    if (codes.length === 0) empty = true;
  }

  const maxKey = q.max_price === undefined ? -1 : priceKeyOf(q.max_price);
  const keyBound =
    sortKey === 'price'
      ? maxKey
      : sortKey === 'rel' && q.min_reliability !== undefined
        ? relKeyOf(q.min_reliability) + 1
        : -1;
  const minGpu = q.min_gpu_count ?? 0;
  const minMem = q.min_memory_gb === undefined ? -1 : Math.fround(q.min_memory_gb);
  const intr = q.interruptible === undefined ? -1 : q.interruptible ? FLAG_INTERRUPTIBLE : 0;
  const minRel = q.min_reliability ?? -1;
  const minAvail = q.min_available ?? 0;
  let fp16: Float64Array | null = null;
  if (q.min_fp16_tflops !== undefined) {
    fp16 = new Float64Array(nModels);
    for (let m = 0; m < nModels; m++) fp16[m] = env.modelFp16(m);
  }
  const minFp16 = q.min_fp16_tflops ?? 0;
  const { cls, model, provider, ptype, loc, flags, gpuCount, mem, gpuMem, reliability, available } = c;
  const price = snap.keys.price;

  const pass = (i: number): boolean => {
    if (clsMask && !(clsMask[cls[i] as number] || (modelMask as Uint8Array)[model[i] as number]))
      return false;
    if (gpuMask && !gpuMask[model[i] as number]) return false;
    if (provMask && !provMask[provider[i] as number]) return false;
    if (ptypeMask && !ptypeMask[ptype[i] as number]) return false;
    if (locMask && !locMask[loc[i] as number]) return false;
    if (
      bandMax >= 0 &&
      !((flags[i] as number) & FLAG_LAN && (dist[loc[i] as number] as number) <= LAN_RADIUS_KM) &&
      (band[loc[i] as number] as number) > bandMax
    )
      return false;
    if (maxKey >= 0 && (price[i] as number) > maxKey) return false;
    if ((gpuCount[i] as number) < minGpu) return false;
    if (minMem >= 0 && !((((cls[i] as number) === CPU ? mem[i] : gpuMem[i]) as number) >= minMem))
      return false;
    if (intr >= 0 && ((flags[i] as number) & FLAG_INTERRUPTIBLE) !== intr) return false;
    if ((reliability[i] as number) < minRel) return false;
    if (fp16 && !((fp16[model[i] as number] as number) >= minFp16)) return false;
    if ((available[i] as number) < minAvail) return false;
    return true;
  };
  return { pass, candidates, keyBound, empty };
}
