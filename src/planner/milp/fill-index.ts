/**
 * The fill's view of a market (fill.ts), prepared once per plan: the usable candidates by unit cost
 * (byUnitCost's order), their capacities per hour, and each provider's offers in that order.
 */
import type { Candidate } from '../types.js';
import { unitCost } from './greedy.js';
import { usable } from './model.js';

/** A market prepared once per plan: usable candidates by unit cost, grouped by provider. */
export interface FillIndex {
  candidates: readonly Candidate[];
  /** Positions (into candidates) of the usable ones, by unit cost, then faster, then index. */
  order: Int32Array;
  unit: Float64Array;
  /** Reference-hours per hour with all nodes: work_rate · ⌊max_nodes⌋ (by order). */
  fullRate: Float64Array;
  /** Provider number of each (by order), numbered by first appearance in that order. */
  prov: Int32Array;
  providers: number;
  /** Per provider p, its order positions ascending: items[start[p] .. start[p + 1]). */
  start: Int32Array;
  items: Int32Array;
  /** Σ ⌊max_nodes⌋ over every candidate (precheck's min_nodes test). */
  nodes: number;
  /** Work arrays reused by every solve over this market (fillSolve is synchronous). */
  scratch: Float64Array[];
}

/** The index's seven work arrays (of at least n + 1 entries; contents left from the last solve). */
export function scratch(ix: FillIndex, n: number): Float64Array[] {
  while (ix.scratch.length < 7) ix.scratch.push(new Float64Array(n + 1));
  return ix.scratch;
}

export function prepareFill(candidates: readonly Candidate[]): FillIndex {
  // Per-candidate figures in input order first (sequential access), then permuted by the order.
  const pos: number[] = [];
  const key: number[] = [];
  const rateOf: number[] = [];
  const provOf: number[] = [];
  const names = new Map<string, number>();
  let nodes = 0;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    nodes += Math.max(0, Math.floor(c.max_nodes));
    if (!usable(c)) continue;
    pos.push(i);
    key.push(unitCost(c));
    rateOf.push(c.work_rate * Math.floor(c.max_nodes));
    let id = names.get(c.provider);
    if (id === undefined) {
      id = names.size;
      names.set(c.provider, id);
    }
    provOf.push(id);
  }
  const n = pos.length;
  const perm = byUnitCostOrder(candidates, pos, key);
  const order = new Int32Array(n);
  const unit = new Float64Array(n);
  const fullRate = new Float64Array(n);
  const prov = new Int32Array(n);
  // Providers renumbered by first appearance in the order (cheapest unit work first).
  const renum = new Int32Array(names.size).fill(-1);
  let P = 0;
  for (let k = 0; k < n; k++) {
    const j = perm[k]!;
    order[k] = pos[j]!;
    unit[k] = key[j]!;
    fullRate[k] = rateOf[j]!;
    const id = provOf[j]!;
    if (renum[id]! < 0) renum[id] = P++;
    prov[k] = renum[id]!;
  }
  const start = new Int32Array(P + 1);
  for (let k = 0; k < n; k++) start[prov[k]! + 1]!++;
  for (let p = 0; p < P; p++) start[p + 1]! += start[p]!;
  const items = new Int32Array(n);
  const fillAt = start.slice(0, P);
  for (let k = 0; k < n; k++) items[fillAt[prov[k]!]!++] = k;
  return { candidates, order, unit, fullRate, prov, providers: P, start, items, nodes, scratch: [] };
}

/**
 * The permutation of `pos` into byUnitCost's order (unit cost, then faster, then index), without a
 * comparator sort of the whole list (~50 ms at 100k): each key's low 20 mantissa bits are replaced
 * by its number, the keys sort natively (positive doubles sort as their bits), and an insertion
 * pass on the exact keys and the tie-breaks fixes the few neighbours that rounding swapped.
 */
function byUnitCostOrder(
  candidates: readonly Candidate[],
  pos: readonly number[],
  key: number[],
): Int32Array {
  const m = pos.length;
  const perm = new Int32Array(m);
  const before = (a: number, b: number) =>
    key[a]! - key[b]! ||
    candidates[pos[b]!]!.work_rate - candidates[pos[a]!]!.work_rate ||
    candidates[pos[a]!]!.index - candidates[pos[b]!]!.index;
  if (m >= 1 << 20) {
    perm.set(Array.from({ length: m }, (_, j) => j).sort(before));
    return perm;
  }
  const tagged = new Float64Array(key);
  const words = new Uint32Array(tagged.buffer);
  const low = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1; // little-endian: word 0
  for (let j = 0; j < m; j++) words[2 * j + low] = ((words[2 * j + low]! & ~0xfffff) | j) >>> 0;
  tagged.sort();
  for (let k = 0; k < m; k++) perm[k] = words[2 * k + low]! & 0xfffff;
  for (let k = 1; k < m; k++) {
    const j = perm[k]!;
    let i = k;
    while (i > 0 && before(perm[i - 1]!, j) > 0) {
      perm[i] = perm[i - 1]!;
      i--;
    }
    perm[i] = j;
  }
  return perm;
}
