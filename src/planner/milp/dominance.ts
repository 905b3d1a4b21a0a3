/**
 * Pre-aggregation before the solver: drop offers that cannot be in any optimal plan, then cap what
 * is left per provider. Offers are compared only within a provider (another provider's offer is no
 * substitute: redundancy counts providers). Unit cost c = effective_price / work_rate; capacity
 * cap = max_nodes · horizon · work_rate (reference-hours one offer can deliver in the horizon).
 *
 * Why dropping is safe. In an optimal plan a provider's load T_p (reference-hours) is at most
 * need = work · max(1, s): a larger load can be trimmed without breaking the work row or any
 * share row, and trimming never costs more.
 *
 * Rule A (max_nodes null). Walk a provider's offers by unit cost; drop an offer once the offers
 * already kept can carry `need` on their own. In any plan that uses a dropped offer B, move B's
 * load onto the kept cheaper offers: they have room (kept capacity ≥ need ≥ T_p ≥ their load + B's),
 * the cost does not rise (each is as cheap per unit work), the provider's share is unchanged, and
 * only max_nodes_i bounds nodes per offer. min_nodes is kept reachable by adding back (cheapest
 * first) dropped offers' idle nodes if the kept ones have too few.
 *   Tighter, same argument: let C* be the unit cost at which the cheapest capacity of ALL
 *   providers reaches `work`. Beyond its share no provider needs an offer dearer than C* (the
 *   cheap pool alone can finish the work), so an offer with c > C* needs only need = s · work
 *   (0 when redundancy ≤ 1). Applied only when redundancy · s ≤ 1, where a plan delivers exactly
 *   `work`.
 *
 *   Share-only providers (same conditions, R ≥ 2): a provider none of whose kept offers is as
 *   cheap as C* serves only as a counted provider, at cost f_p(s · work) (its cheapest offers
 *   filled to the share). Only the R cheapest such providers can be in an optimal plan: swap any
 *   other one in a plan for one of those not in it — its offers were used for its share alone, the
 *   replacement carries the same share for no more — so the rest are dropped (as are share-only
 *   providers that cannot carry a share at all).
 *
 * Rule B (max_nodes = N set). Nodes are scarce plan-wide, so spreading B's load over several
 * offers could take more nodes than B had; C* is not used. Let D(B) be the kept offers of B's
 * provider that are as cheap per unit work and at least as fast per node (work_rate ≥ B's).
 * With redundancy ≤ 1 providers play no part in the program (there are no share rows), so D(B)
 * takes kept offers of EVERY provider — the arguments below never use the provider otherwise.
 * Drop B if either
 *   B1: one offer of D(B) can carry `need` alone — moving B's load onto it adds
 *       ⌈load / (horizon · rate_A)⌉ ≤ n_B nodes; or
 *   B2: D(B) holds ≥ L(B) nodes in all, where L(B) bounds the nodes an optimal plan in normal form
 *       (below) puts on D(B) ∪ {B}. Then ≥ n_B nodes of D(B) are unused; move each of B's nodes'
 *       work onto its own unused node (it needs no more hours there, being at least as fast, and
 *       costs no more). The node count is unchanged.
 *   L(B) = min(N, ⌊need / (horizon · rate_B)⌋ + q + ⌈min_nodes⌉), q = 1 (redundancy ≤ 1) or 2.
 *   Normal form: fix an optimal plan's node vector n and counted providers Z; the best hours for
 *   them are the fill of brute.ts (each counted provider's cheapest offers up to its share, then
 *   the cheapest remaining capacity of all up to `work`), so that fill is optimal too. Trim every
 *   offer to ⌈node_hours / horizon⌉ nodes and add idle nodes back (≤ min_nodes of them) where
 *   min_nodes needs them. In that plan every working node is full (horizon hours) except the last
 *   node of a partly filled offer, and the fill leaves at most one partly filled offer per
 *   provider from the share step and one overall from the last step: q. Full nodes of D(B) ∪ {B}
 *   run at rate ≥ rate_B and carry ≤ the provider's load ≤ need (the fill stops at `work`; with
 *   redundancy ≤ 1 the whole plan's load, = work = need), so there are ≤ ⌊need / (horizon ·
 *   rate_B)⌋ of them; add q partial nodes and the idle ones; and the plan has ≤ N nodes at all.
 *   B3 (redundancy R ≥ 2): let G(B) be the kept offers of ALL providers as cheap and as fast
 *       as B. Drop B if G(B) holds ≥ min(N, ⌊W·max(1, R·s) / (horizon · rate_B)⌋ + R + 1 +
 *       ⌈min_nodes⌉) nodes and D(B) holds ≥ ⌈s·W / (horizon · rate_B)⌉ + 2 + ⌈min_nodes⌉. The
 *       first bound is B2's over the whole plan (its load is ≤ W·max(1, R·s); the fill leaves
 *       ≤ R + 1 partly filled offers), so G(B) has ≥ n_B unused nodes. Move B's nodes, full ones
 *       first, onto unused nodes of D(B) while there are any, the rest onto unused nodes of G(B).
 *       Other providers only gain load. B's provider keeps its share: if D(B) ran out, all of
 *       its M nodes now work, all but ≤ 2 + ⌈min_nodes⌉ of them full or carrying a full node of
 *       B, each ≥ horizon · rate_B, so D(B) alone carries ≥ s·W.
 * Moves are made one dropped offer at a time: after each, re-normalise with the new node vector
 * (the fill never uses an offer with no nodes, so earlier dropped offers stay unused; the cost
 * does not rise), which is again an optimal normal-form plan, so the bound holds for the next
 * dropped offer and the argument covers all dropped offers together.
 *
 * The cap (K = perProvider, default 32): after the rules, a provider keeps at most its K cheapest
 * per unit work. This is the one step that can lose optimality — only when a provider's K cheapest
 * kept offers cannot carry what the optimal plan puts on that provider. `exact` is false whenever
 * the cap removed anything, and the caller should say so (and may compare with greedy()).
 * The cap never removes feasibility: it skips (keeps beyond K)
 *   - the cheapest capacity of ALL offers, by unit cost, up to `work` (the pool C* is taken
 *     from; each offer there is kept or dropped by a rule because its provider's kept cheaper
 *     offers carry ≥ need ≥ work alone), so the kept capacity covers the work whenever the full
 *     set's does, and the cheapest fill — what a budget is checked against — stays;
 *   - a provider's offers while its kept capacity is below its share s · work (R ≥ 2), so every
 *     provider that could carry a share still can;
 *   - with max_nodes, the offers holding the N fastest nodes, so the node-limited capacity stays.
 * (Capping first and then applying C* — computed over all offers — once reported 10k-offer
 * markets infeasible at short horizons, their 32 cheapest offers a provider being too small.)
 */
import type { Candidate, MilpInput } from '../types.js';
import { byUnitCost, unitCost } from './greedy.js';
import { minShare } from './model.js';

export interface DominanceOptions {
  /** K: most offers kept per provider after dominance (default 32). */
  perProvider?: number;
}

export interface DominanceResult {
  /** The reduced input: same fields, fewer candidates (Candidate objects and indices unchanged). */
  input: MilpInput;
  /** Offers dropped by the exact rules (A or B). */
  dominated: number;
  /** Further offers dropped by the per-provider cap K. */
  capped: number;
  /** True when only exact rules fired, so the reduced problem has the same optimum. */
  exact: boolean;
}

export const DEFAULT_PER_PROVIDER = 32;

export function preAggregate(input: MilpInput, opts: DominanceOptions = {}): DominanceResult {
  const K = Math.max(1, opts.perProvider ?? DEFAULT_PER_PROVIDER);
  const { work, horizon_hours: horizon } = input;
  const s = minShare(input);
  const R = Math.ceil(input.redundancy);
  const need = work * Math.max(1, s);
  const cap = (c: Candidate) => Math.floor(c.max_nodes) * horizon * c.work_rate;
  const order = byUnitCost(input.candidates);

  // C*: unit cost where the cheapest capacity of all providers first reaches `work`.
  let cStar = Number.POSITIVE_INFINITY;
  if (input.max_nodes === null && (R < 2 || R * s <= 1)) {
    let sum = 0;
    for (const c of order) {
      sum += cap(c);
      if (sum >= work) {
        cStar = unitCost(c);
        break;
      }
    }
  }
  const beyondNeed = R >= 2 ? s * work : 0;

  const kept = new Set<Candidate>();
  const perProvider = new Map<string, Group>();
  const counts = new Map<string, number>();
  const rates = ratesByGroup(order, (c) => c.provider);
  // Rule B across all providers (R ≤ 1: it replaces the provider's; R ≥ 2: rule B3).
  const all: Group | null =
    input.max_nodes === null ? null : newGroup(ratesByGroup(order, () => '').get('') ?? []);
  const N = input.max_nodes ?? Number.POSITIVE_INFINITY;
  const idle = Math.max(0, Math.ceil(input.min_nodes));
  const fullNodes = (load: number, c: Candidate) => Math.floor((load / (horizon * c.work_rate)) * (1 + 1e-9));
  const planLoad = work * Math.max(1, R * s);
  // What the cap must never take (see the header): the cheapest capacity of all offers up to
  // the work, each provider's cheapest kept capacity up to its share, and (max_nodes set) the
  // offers holding the N fastest nodes.
  const protectedUpTo = cheapPrefix(order, Math.min(need, work), cap);
  const shareFloor = R >= 2 ? s * work * (1 + 1e-6) : 0;
  const fastest = input.max_nodes === null ? null : fastestNodes(order, N);
  let dominated = 0;
  let capped = 0;
  for (let i = 0; i < order.length; i++) {
    const c = order[i]!;
    let st = perProvider.get(c.provider);
    if (!st) {
      st = newGroup(rates.get(c.provider)!);
      perProvider.set(c.provider, st);
    }
    let drop: boolean;
    if (!all) {
      drop = st.sum >= (unitCost(c) > cStar ? beyondNeed : need);
    } else if (R <= 1) {
      // B1/B2 over every provider: L(B) with q = 1.
      drop =
        all.bestRate >= c.work_rate ||
        all.nodes.atLeast(c.work_rate) >= Math.min(N, fullNodes(need, c) + 1 + idle);
    } else {
      const local = st.nodes.atLeast(c.work_rate);
      drop =
        st.bestRate >= c.work_rate ||
        local >= Math.min(N, fullNodes(need, c) + 2 + idle) ||
        (local >= Math.ceil((s * work) / (horizon * c.work_rate) - 1e-9) + 2 + idle &&
          all.nodes.atLeast(c.work_rate) >= Math.min(N, fullNodes(planLoad, c) + R + 1 + idle));
    }
    if (drop) {
      dominated++;
      continue;
    }
    const count = counts.get(c.provider) ?? 0;
    if (count >= K && i >= protectedUpTo && st.sum >= shareFloor && !fastest?.has(c)) {
      capped++;
      continue;
    }
    kept.add(c);
    counts.set(c.provider, count + 1);
    for (const g of all ? [st, all] : [st]) {
      g.sum += cap(c);
      g.nodes.add(c.work_rate, Math.floor(c.max_nodes));
      if (cap(c) >= need) g.bestRate = Math.max(g.bestRate, c.work_rate);
    }
  }

  if (Number.isFinite(cStar) && R >= 2) dominated += dropShareOnly(kept, cStar, s * work, R, cap);

  // Keep min_nodes reachable: idle nodes of dropped offers, cheapest first.
  let nodes = 0;
  for (const c of kept) nodes += Math.floor(c.max_nodes);
  for (const c of order) {
    if (nodes >= input.min_nodes) break;
    if (kept.has(c)) continue;
    kept.add(c);
    nodes += Math.floor(c.max_nodes);
  }

  const candidates = input.candidates.filter((c) => kept.has(c));
  return { input: { ...input, candidates }, dominated, capped, exact: capped === 0 };
}

/**
 * Length of the prefix of `order` (by unit cost) whose capacity, each offer's clipped at `need`,
 * first covers `work` (with a hair of slack); all of `order` when it never does.
 */
function cheapPrefix(order: readonly Candidate[], work: number, cap: (c: Candidate) => number): number {
  const target = work * (1 + 1e-6);
  let sum = 0;
  for (let i = 0; i < order.length; i++) {
    sum += Math.min(cap(order[i]!), target);
    if (sum >= target) return i + 1;
  }
  return order.length;
}

/** The offers holding the N fastest nodes (by work rate; ties in unit-cost order). */
function fastestNodes(order: readonly Candidate[], N: number): Set<Candidate> {
  const byRate = [...order].sort((a, b) => b.work_rate - a.work_rate);
  const out = new Set<Candidate>();
  let nodes = 0;
  for (const c of byRate) {
    if (nodes >= N) break;
    out.add(c);
    nodes += Math.floor(c.max_nodes);
  }
  return out;
}

interface Group {
  /** Capacity (reference-hours) of the kept offers. */
  sum: number;
  /** Fastest kept offer that can carry `need` alone (rule B1). */
  bestRate: number;
  nodes: Fenwick;
}

function newGroup(desc: number[]): Group {
  return { sum: 0, bestRate: 0, nodes: new Fenwick(desc) };
}

/** Each group's distinct work rates, descending. */
function ratesByGroup(order: readonly Candidate[], group: (c: Candidate) => string): Map<string, number[]> {
  const sets = new Map<string, Set<number>>();
  for (const c of order) {
    const g = group(c);
    const set = sets.get(g) ?? new Set<number>();
    set.add(c.work_rate);
    sets.set(g, set);
  }
  return new Map([...sets].map(([p, set]) => [p, [...set].sort((a, b) => b - a)]));
}

/** Node counts by work rate: add(rate, n), and atLeast(rate) = Σ n over rates ≥ rate. */
class Fenwick {
  private readonly tree: Float64Array;
  constructor(private readonly desc: number[]) {
    this.tree = new Float64Array(desc.length + 1);
  }
  /** 1-based position of `rate` in the descending list. */
  private pos(rate: number): number {
    let lo = 0;
    let hi = this.desc.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.desc[mid]! > rate) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  }
  add(rate: number, n: number): void {
    for (let i = this.pos(rate); i < this.tree.length; i += i & -i) this.tree[i]! += n;
  }
  atLeast(rate: number): number {
    let s = 0;
    for (let i = this.pos(rate); i > 0; i -= i & -i) s += this.tree[i]!;
    return s;
  }
}

/** Drops share-only providers beyond the R cheapest (see the header); returns how many offers. */
function dropShareOnly(
  kept: Set<Candidate>,
  cStar: number,
  share: number,
  R: number,
  cap: (c: Candidate) => number,
): number {
  const byProvider = new Map<string, Candidate[]>();
  for (const c of kept) {
    const list = byProvider.get(c.provider) ?? [];
    list.push(c);
    byProvider.set(c.provider, list);
  }
  const shareOnly: { offers: Candidate[]; cost: number }[] = [];
  for (const offers of byProvider.values()) {
    if (offers.some((c) => unitCost(c) <= cStar)) continue;
    offers.sort((a, b) => unitCost(a) - unitCost(b));
    let need = share;
    let cost = 0;
    for (const c of offers) {
      const t = Math.min(need, cap(c));
      cost += t * unitCost(c);
      need -= t;
    }
    shareOnly.push({ offers, cost: need > 1e-9 * share ? Number.POSITIVE_INFINITY : cost });
  }
  shareOnly.sort((a, b) => a.cost - b.cost);
  let dropped = 0;
  shareOnly.forEach((p, rank) => {
    if (rank < R && Number.isFinite(p.cost)) return;
    for (const c of p.offers) kept.delete(c);
    dropped += p.offers.length;
  });
  return dropped;
}
