import { type Columns, type EncodeEnv, gatherColumns } from './columns.js';
import { decodeOfferId } from './ids.js';

/**
 * A snapshot of every offer: columns sorted by id, three sort permutations, and posting lists per
 * (sort, dimension) so a filtered query walks only its own rows in order. Immutable but for the
 * `available` column, which reservations patch in place (no key, order or posting depends on it).
 *
 * Every order is "key ascending, then row ascending", and rows are sorted by id, so the order is
 * (key, id) and a keyset cursor (key, id) finds its place in any later snapshot. Keys are uint32:
 * price in micro-USD per unit; the descending sorts store MAX - value.
 */

export const SORT_KEYS = ['price', 'ppd', 'rel'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export const DIMS = ['cls', 'provider', 'model', 'ptype', 'loc'] as const;
export type Dim = (typeof DIMS)[number];

export interface Postings {
  /** items[offsets[c] .. offsets[c+1]) are the rows with code c, in the sort's order. */
  offsets: Uint32Array;
  items: Uint32Array;
}

export interface Snapshot {
  /** Epoch ms of the swap. */
  readonly at: number;
  readonly n: number;
  readonly cols: Columns;
  readonly keys: Readonly<Record<SortKey, Uint32Array>>;
  readonly perm: Readonly<Record<SortKey, Uint32Array>>;
  readonly postings: Readonly<Record<SortKey, Readonly<Record<Dim, Postings>>>>;
  /** Rows whose band is LAN whatever their coordinates. */
  readonly lanRows: number;
  /** Duplicate ids dropped while building (same provider, sku, region, zone, market twice). */
  readonly duplicatesDropped: number;
  /** Row of an id, or -1. O(1). */
  rowOf(id: string): number;
  /** Row of a decoded id hash, or -1. */
  rowOfHash(hi: number, lo: number): number;
}

const U32_MAX = 0xffffffff;
const ROW_BITS = 2 ** 21; // packed sort: key * 2^21 + row stays exact below 2^53
export const MAX_PACKED_ROWS = ROW_BITS;

export function priceKeyOf(usd: number): number {
  if (!(usd > 0)) return 0;
  return Math.min(U32_MAX, Math.round(usd * 1e6));
}
/** TFLOPS·GPUs per USD-hour, 0.001 resolution, stored descending. */
export function ppdKeyOf(ppd: number): number {
  if (!(ppd > 0)) return U32_MAX;
  return U32_MAX - Math.min(U32_MAX, Math.round(ppd * 1000));
}
export function relKeyOf(rel: number): number {
  return U32_MAX - Math.min(U32_MAX, Math.max(0, Math.round(rel * 1e9)));
}

/** Sort rows by (a[i], b[i]) ascending, ties by row; returns the permutation. */
function sortPairs(a: ArrayLike<number>, b: ArrayLike<number> | null, n: number): Uint32Array {
  const out = new Uint32Array(n);
  if (n < ROW_BITS) {
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) packed[i] = (a[i] as number) * ROW_BITS + i;
    packed.sort();
    for (let i = 0; i < n; i++) out[i] = (packed[i] as number) % ROW_BITS;
    if (b) {
      // Runs of equal `a` are re-sorted by b (ids: equal 32-bit halves are rare; keys: rows are unique).
      let s = 0;
      while (s < n) {
        let e = s + 1;
        const av = a[out[s] as number];
        while (e < n && a[out[e] as number] === av) e++;
        if (e - s > 1) {
          const run = Array.from(out.subarray(s, e)).sort(
            (x, y) => (b[x] as number) - (b[y] as number) || x - y,
          );
          out.set(run, s);
        }
        s = e;
      }
    }
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = i;
  const sorted = Array.from(out).sort(
    (x, y) => (a[x] as number) - (a[y] as number) || (b ? (b[x] as number) - (b[y] as number) : 0) || x - y,
  );
  out.set(sorted);
  return out;
}

function buildPostings(perm: Uint32Array, codes: ArrayLike<number>, size: number): Postings {
  const offsets = new Uint32Array(size + 1);
  for (let j = 0; j < perm.length; j++) (offsets[(codes[perm[j] as number] as number) + 1] as number)++;
  for (let c = 0; c < size; c++) offsets[c + 1] = (offsets[c + 1] as number) + (offsets[c] as number);
  const fill = offsets.slice(0, size);
  const items = new Uint32Array(perm.length);
  for (let j = 0; j < perm.length; j++) {
    const r = perm[j] as number;
    const c = codes[r] as number;
    items[fill[c] as number] = r;
    fill[c] = (fill[c] as number) + 1;
  }
  return { offsets, items };
}

export interface BuildEnv extends EncodeEnv {
  /** Dense FP16 TFLOPS per GPU of a model code (NaN unknown). */
  modelFp16(code: number): number;
  locCount(): number;
}

/** Merge parts (each an encoded provider or the kept rows of the last snapshot) into a snapshot. */
export function buildSnapshot(parts: readonly Columns[], env: BuildEnv, at: number): Snapshot {
  const total = parts.reduce((s, p) => s + p.n, 0);
  const hi = new Uint32Array(total);
  const lo = new Uint32Array(total);
  let off = 0;
  for (const p of parts) {
    hi.set(p.idHi, off);
    lo.set(p.idLo, off);
    off += p.n;
  }
  const byId = sortPairs(hi, lo, total);
  // Drop repeated ids: the first part (and first row) wins, so callers list new parts first.
  let n = 0;
  for (let j = 0; j < total; j++) {
    const r = byId[j] as number;
    if (n > 0) {
      const prev = byId[n - 1] as number;
      if (hi[prev] === hi[r] && lo[prev] === lo[r]) continue;
    }
    byId[n++] = r;
  }
  const cols = gatherColumns(parts, byId.subarray(0, n));

  const price = new Uint32Array(n);
  const ppd = new Uint32Array(n);
  const rel = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    price[i] = priceKeyOf(cols.unitPrice[i] as number);
    const perf = env.modelFp16(cols.model[i] as number) * (cols.gpuCount[i] as number);
    ppd[i] = ppdKeyOf(perf / (cols.price[i] as number));
    rel[i] = relKeyOf(cols.reliability[i] as number);
  }
  const keys = { price, ppd, rel };
  const perm = {
    price: sortPairs(price, null, n),
    ppd: sortPairs(ppd, null, n),
    rel: sortPairs(rel, null, n),
  };
  const sizes: Record<Dim, number> = {
    cls: 8,
    provider: env.providers.size,
    model: env.models.size,
    ptype: 8,
    loc: env.locCount(),
  };
  const postings = {} as Record<SortKey, Record<Dim, Postings>>;
  for (const s of SORT_KEYS) {
    postings[s] = {} as Record<Dim, Postings>;
    for (const d of DIMS) postings[s][d] = buildPostings(perm[s], cols[d], sizes[d]);
  }

  let size = 16;
  while (size < n * 2) size *= 2;
  const mask = size - 1;
  const table = new Int32Array(size).fill(-1);
  for (let i = 0; i < n; i++) {
    let h = (cols.idLo[i] as number) & mask;
    while ((table[h] as number) >= 0) h = (h + 1) & mask;
    table[h] = i;
  }
  let lanRows = 0;
  for (let i = 0; i < n; i++) if ((cols.flags[i] as number) & 4) lanRows++;

  return {
    at,
    n,
    cols,
    keys,
    perm,
    postings,
    lanRows,
    duplicatesDropped: total - n,
    rowOf(id: string): number {
      const h = decodeOfferId(id);
      return h ? this.rowOfHash(h.hi, h.lo) : -1;
    },
    rowOfHash(hi: number, lo: number): number {
      let p = lo & mask;
      for (;;) {
        const r = table[p] as number;
        if (r < 0) return -1;
        if (cols.idLo[r] === lo && cols.idHi[r] === hi) return r;
        p = (p + 1) & mask;
      }
    },
  };
}
