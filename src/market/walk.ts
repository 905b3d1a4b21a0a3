import type { Cursor } from './cursor.js';
import type { Snapshot, SortKey } from './index-store.js';

/** A slice of a posting list (or of a whole permutation): rows in (key, id) order. */
export interface RowList {
  items: Uint32Array;
  lo: number;
  hi: number;
}

export interface WalkOptions {
  key: SortKey;
  reverse: boolean;
  cursor: Cursor | null;
  /** Largest key worth visiting (ascending walks stop there; descending start there); -1 = none. */
  keyBound: number;
  pass: (row: number) => boolean;
  /** Stop after this many passing rows. */
  want: number;
  /** Rows visited before switching to a sequential pass (tests lower it); default SEQ_SWITCH. */
  seqSwitch?: number;
}

export interface WalkResult {
  rows: number[];
  /** Rows visited (passing or not). */
  scanned: number;
  /** Rows the walk did not reach (inside its bounds). */
  remaining: number;
  /** Exact count of passing rows from the cursor on, when a sequential pass saw them all. */
  matches?: number;
}

/**
 * After this many rows visited in order with too few hits, the filter is evidently selective and
 * un-indexed: finish with one sequential pass over the columns (cache-friendly) instead of
 * random-access hops through the permutation, then sort the few survivors.
 */
export const SEQ_SWITCH = 16_384;

function sequentialTail(
  snap: Snapshot,
  o: WalkOptions,
  rows: number[],
  last: number,
  scanned: number,
  remaining: number,
): WalkResult {
  const key = snap.keys[o.key];
  const lk = key[last] as number;
  const found: number[] = [];
  for (let r = 0; r < snap.n; r++) {
    const k = key[r] as number;
    const d = k - lk || r - last;
    if (o.reverse ? d >= 0 : d <= 0) continue; // at or before the last row visited
    if (o.keyBound >= 0 && k > o.keyBound) continue;
    if (o.pass(r)) found.push(r);
  }
  found.sort((a, b) => {
    const d = (key[a] as number) - (key[b] as number) || a - b;
    return o.reverse ? -d : d;
  });
  const before = rows.length;
  rows.push(...found.slice(0, o.want - before));
  return { rows, scanned: scanned + remaining, remaining: 0, matches: before + found.length };
}

/** First position in [lo, hi) whose row satisfies `after` (monotone: false…false true…true). */
function search(list: RowList, after: (row: number) => boolean): number {
  let lo = list.lo;
  let hi = list.hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (after(list.items[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Walk several lists in one merged (key, id) order, ascending or descending, from just past the
 * cursor, collecting rows that pass. One list is a plain loop; several are merged with a heap.
 */
export function walk(snap: Snapshot, lists: RowList[], o: WalkOptions): WalkResult {
  const key = snap.keys[o.key];
  const { idHi, idLo } = snap.cols;
  const cmpCursor = (r: number): number => {
    const c = o.cursor as Cursor;
    return (key[r] as number) - c.key || (idHi[r] as number) - c.hi || (idLo[r] as number) - c.lo;
  };
  // Per list: [pos, stop) ascending, or (stop, pos] descending.
  const pos: number[] = [];
  const stop: number[] = [];
  for (const l of lists) {
    const boundEnd = o.keyBound >= 0 ? search(l, (r) => (key[r] as number) > o.keyBound) : l.hi;
    if (!o.reverse) {
      pos.push(o.cursor ? search(l, (r) => cmpCursor(r) > 0) : l.lo);
      stop.push(boundEnd);
    } else {
      const top = o.cursor ? search(l, (r) => cmpCursor(r) >= 0) : l.hi;
      pos.push(Math.min(top, boundEnd) - 1);
      stop.push(l.lo - 1);
    }
  }
  const rows: number[] = [];
  let scanned = 0;
  const live = (k: number) =>
    o.reverse ? (pos[k] as number) > (stop[k] as number) : (pos[k] as number) < (stop[k] as number);
  const remaining = () => {
    let t = 0;
    for (let k = 0; k < lists.length; k++) t += Math.abs((stop[k] as number) - (pos[k] as number));
    return t;
  };
  const step = o.reverse ? -1 : 1;
  const seqSwitch = o.seqSwitch ?? SEQ_SWITCH;

  if (lists.length === 1) {
    const items = (lists[0] as RowList).items;
    let p = pos[0] as number;
    const s = stop[0] as number;
    let last = -1;
    while (p !== s && (o.reverse ? p > s : p < s)) {
      const r = items[p] as number;
      p += step;
      scanned++;
      last = r;
      if (o.pass(r)) {
        rows.push(r);
        if (rows.length >= o.want) break;
      }
      if (scanned === seqSwitch && Math.abs(s - p) > 4 * seqSwitch) {
        pos[0] = p;
        return sequentialTail(snap, o, rows, last, scanned, remaining());
      }
    }
    pos[0] = p;
    return { rows, scanned, remaining: remaining() };
  }

  // k-way merge: a binary heap of list indices ordered by their head row's (key, row).
  const head = (k: number) => (lists[k] as RowList).items[pos[k] as number] as number;
  const before = (a: number, b: number): boolean => {
    const ra = head(a);
    const rb = head(b);
    const d = (key[ra] as number) - (key[rb] as number) || ra - rb;
    return o.reverse ? d > 0 : d < 0;
  };
  const heap: number[] = [];
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l] as number, heap[m] as number)) m = l;
      if (r < heap.length && before(heap[r] as number, heap[m] as number)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m] as number, heap[i] as number];
      i = m;
    }
  };
  for (let k = 0; k < lists.length; k++) if (live(k)) heap.push(k);
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  while (heap.length > 0) {
    const k = heap[0] as number;
    const r = head(k);
    pos[k] = (pos[k] as number) + step;
    scanned++;
    if (scanned === seqSwitch && rows.length < o.want) {
      const left = remaining();
      if (left > 4 * seqSwitch) {
        if (o.pass(r)) rows.push(r);
        return sequentialTail(snap, o, rows, r, scanned, left);
      }
    }
    if (live(k)) down(0);
    else {
      heap[0] = heap[heap.length - 1] as number;
      heap.pop();
      if (heap.length) down(0);
    }
    if (o.pass(r)) {
      rows.push(r);
      if (rows.length >= o.want) break;
    }
  }
  return { rows, scanned, remaining: remaining() };
}
