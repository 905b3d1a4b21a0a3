/**
 * The counted-provider search of the fill (fill.ts header): prefix sums of one horizon's
 * capacities, the exact cost of a counted set Z, the Lagrangian bound and the search over Z.
 */
import type { FillIndex } from './fill-index.js';

/** Relative tolerance: "optimal" within it (HiGHS' mip_rel_gap), capacity and shares within it. */
export const REL = 1e-9;

/** One horizon's arrays (the index's scratch, longer than the market: only [0, n) is read). */
export interface MarketArrays {
  /** Capacity (fraction of the work) and cost per fraction of each candidate, by order. */
  q: Float64Array;
  cw: Float64Array;
  /** Filled here: per provider, cumulative capacity and cost along its items (as ix.items). */
  cq: Float64Array;
  cc: Float64Array;
  /** Filled here: cumulative capacity and cost of the first k candidates of the order. */
  gq: Float64Array;
  gc: Float64Array;
}

/** Prefix sums of one horizon's capacities, and the counted-provider search over them. */
export class Market {
  private readonly cw: Float64Array;
  private readonly cq: Float64Array;
  private readonly cc: Float64Array;
  private readonly gq: Float64Array;
  private readonly gc: Float64Array;
  private readonly n: number;
  /** Per provider: its share min(s, Q_p), and F_p of it. */
  readonly sp: Float64Array;
  private readonly fs: Float64Array;
  /** Providers able to carry a share, by number. */
  readonly eligible: number[] = [];

  constructor(
    private readonly ix: FillIndex,
    arrays: MarketArrays,
    s: number,
  ) {
    const { start, items, providers: P } = ix;
    const { q, cw, cq, cc, gq, gc } = arrays;
    this.cw = cw;
    this.cq = cq;
    this.cc = cc;
    this.gq = gq;
    this.gc = gc;
    const n = ix.order.length;
    this.n = n;
    gq[0] = 0;
    gc[0] = 0;
    for (let k = 0; k < n; k++) {
      gq[k + 1] = gq[k]! + q[k]!;
      gc[k + 1] = gc[k]! + q[k]! * cw[k]!;
    }
    this.sp = new Float64Array(P);
    this.fs = new Float64Array(P);
    for (let p = 0; p < P; p++) {
      let load = 0;
      let cost = 0;
      for (let j = start[p]!; j < start[p + 1]!; j++) {
        load += q[items[j]!]!;
        cost += q[items[j]!]! * cw[items[j]!]!;
        cq[j] = load;
        cc[j] = cost;
      }
      if (load >= s * (1 - REL)) {
        this.eligible.push(p);
        this.sp[p] = Math.min(s, load);
        this.fs[p] = this.costAt(p, this.sp[p]!);
      }
    }
  }

  /** F_p(L): provider p's cheapest cost of load L (≤ its capacity). */
  private costAt(p: number, L: number): number {
    const { start, items } = this.ix;
    let lo = start[p]!;
    let hi = start[p + 1]! - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cq[mid]! >= L) hi = mid;
      else lo = mid + 1;
    }
    const before = lo > start[p]! ? this.cq[lo - 1]! : 0;
    const cost = lo > start[p]! ? this.cc[lo - 1]! : 0;
    return cost + this.cw[items[lo]!]! * Math.max(0, L - before);
  }

  /** Provider p's items among the first k of the order: [capacity, cost]. */
  private within(p: number, k: number): [number, number] {
    const { start, items } = this.ix;
    let lo = start[p]!;
    let hi = start[p + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (items[mid]! < k) lo = mid + 1;
      else hi = mid;
    }
    return lo > start[p]! ? [this.cq[lo - 1]!, this.cc[lo - 1]!] : [0, 0];
  }

  /** Provider p's items of unit cost ≤ λ: [capacity, cost]. */
  private upTo(p: number, lambda: number): [number, number] {
    const { start, items } = this.ix;
    let lo = start[p]!;
    let hi = start[p + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cw[items[mid]!]! <= lambda) lo = mid + 1;
      else hi = mid;
    }
    return lo > start[p]! ? [this.cq[lo - 1]!, this.cc[lo - 1]!] : [0, 0];
  }

  /** Exact cost of the fill for counted set Z: shares first, then the cheapest rest. */
  cost(Z: readonly number[]): number {
    const n = this.n;
    const T = (k: number) => {
      let t = this.gq[k]!;
      for (const p of Z) t += Math.max(0, this.sp[p]! - this.within(p, k)[0]);
      return t;
    };
    let lo = 0;
    let hi = n;
    if (T(n) < 1) lo = n;
    else
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (T(mid) >= 1) hi = mid;
        else lo = mid + 1;
      }
    let cost = this.gc[lo]!;
    for (const p of Z) {
      const [a, b] = this.within(p, lo);
      cost += this.costAt(p, Math.max(this.sp[p]!, a)) - b;
    }
    const excess = lo > 0 ? T(lo) - 1 : 0;
    return excess > 0 ? cost - excess * this.cw[lo - 1]! : cost;
  }

  /** L's pieces at λ: λ + Σ m_p, and h_p for the eligible providers. */
  private dual(lambda: number): { base: number; h: number[] } {
    let base = lambda;
    const h: number[] = [];
    for (let p = 0; p < this.ix.providers; p++) {
      const [a, b] = this.upTo(p, lambda);
      const m = b - lambda * a;
      base += m;
      if (this.sp[p]! > 0) h.push(a >= this.sp[p]! ? 0 : Math.max(0, this.fs[p]! - lambda * this.sp[p]! - m));
    }
    return { base, h };
  }

  private bound(lambda: number, R: number): number {
    const d = this.dual(lambda);
    return (
      d.base +
      d.h
        .sort((a, b) => a - b)
        .slice(0, R)
        .reduce((x, y) => x + y, 0)
    );
  }

  /** λ maximising the bound: bisection over the distinct unit costs, then golden section around it. */
  private bestLambda(R: number): number {
    const xs: number[] = [];
    for (let k = 0; k < this.n; k++) {
      const c = this.cw[k]!;
      if (xs.length === 0 || c > xs[xs.length - 1]!) xs.push(c);
    }
    let lo = 0;
    let hi = xs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.bound(xs[mid]!, R) < this.bound(xs[mid + 1]!, R)) lo = mid + 1;
      else hi = mid;
    }
    let a = lo > 0 ? xs[lo - 1]! : 0;
    let b = lo + 1 < xs.length ? xs[lo + 1]! : xs[lo]!;
    let best = xs[lo]!;
    let bestV = this.bound(best, R);
    const g = (Math.sqrt(5) - 1) / 2;
    for (let i = 0; i < 24 && b - a > 1e-12 * Math.max(1, b); i++) {
      const x1 = b - g * (b - a);
      const x2 = a + g * (b - a);
      const f1 = this.bound(x1, R);
      const f2 = this.bound(x2, R);
      if (f1 > bestV) [best, bestV] = [x1, f1];
      if (f2 > bestV) [best, bestV] = [x2, f2];
      if (f1 < f2) a = x1;
      else b = x2;
    }
    return best;
  }

  /** The cheapest counted set: bound, then every set the bound does not rule out, best first. */
  search(R: number, maxSets: number): { set: number[]; proven: boolean; lower: number } {
    const lambda = this.bestLambda(R);
    const d = this.dual(lambda);
    const hOf = new Map(this.eligible.map((p, j) => [p, d.h[j]!]));
    const E = [...this.eligible].sort((a, b) => hOf.get(a)! - hOf.get(b)! || a - b);
    const hs = E.map((p) => hOf.get(p)!);
    const lower = d.base + hs.slice(0, R).reduce((x, y) => x + y, 0);
    let best = E.slice(0, R);
    let ub = this.cost(best);
    // The greedy baseline's set: the R eligible providers with the cheapest unit work.
    const greedySet = [...this.eligible].sort((a, b) => a - b).slice(0, R);
    const g = this.cost(greedySet);
    if (g < ub) [best, ub] = [greedySet, g];
    let priced = 0;
    let complete = true;
    const chosen: number[] = [];
    const dfs = (from: number, partial: number): void => {
      if (!complete) return;
      const need = R - chosen.length;
      if (need === 0) {
        if (++priced > maxSets) {
          complete = false;
          return;
        }
        const c = this.cost(chosen);
        if (c < ub) [best, ub] = [[...chosen], c];
        return;
      }
      for (let j = from; j + need <= E.length; j++) {
        let rest = 0;
        for (let t = j; t < j + need; t++) rest += hs[t]!;
        if (d.base + partial + rest >= ub - REL * Math.abs(ub)) break;
        chosen.push(E[j]!);
        dfs(j + 1, partial + hs[j]!);
        chosen.pop();
      }
    };
    dfs(0, 0);
    return { set: best, proven: complete, lower: complete ? ub : Math.min(lower, ub) };
  }
}
