import type { ProviderType } from '../protocol/glossary.js';
import type { Offer } from '../protocol/schemas/offer.js';
import { iso } from '../util/clock.js';
import { type Cursor, decodeCursor, encodeCursor } from './cursor.js';
import type { LocView, MarketEnv } from './env.js';
import { type CompiledFilter, compileFilter, SORT_PLAN } from './filter.js';
import type { GeoPoint } from './geo.js';
import type { Snapshot } from './index-store.js';
import { toOffer } from './materialize.js';
import type { MarketQuery } from './types.js';
import { type RowList, walk } from './walk.js';

export interface QueryResult {
  offers: Offer[];
  next_cursor: string | null;
  /** Matches from the cursor on: exact when the walk reached the end, else extrapolated. */
  matched_estimate: number;
  snapshot_at: string;
  /** Each spec placeholder in `provider` → the provider it resolved to (null: none matched). */
  resolved_providers?: Record<string, string | null>;
}

export interface RowSearch {
  rows: number[];
  next: Cursor | null;
  matched_estimate: number;
  view: LocView;
}

/**
 * Pick what to walk: the full permutation or one candidate set. Walking set D costs about
 * limit / (selectivity of the other indexed filters) steps (independence assumed), capped by D's
 * size, times log2(k)+1 when D has k lists to merge.
 */
function chooseLists(
  snap: Snapshot,
  f: CompiledFilter,
  want: number,
  key: keyof Snapshot['perm'],
): RowList[] {
  const n = Math.max(snap.n, 1);
  const sel = f.candidates.map((c) => c.total / n);
  const all = sel.reduce((p, s) => p * s, 1);
  let best: RowList[] = [{ items: snap.perm[key], lo: 0, hi: snap.n }];
  let bestCost = Math.min(n, want / Math.max(all, 1e-9));
  f.candidates.forEach((c, k) => {
    const others = all / Math.max(sel[k] as number, 1e-9);
    const cost =
      Math.min(c.total, want / Math.max(others, 1e-9)) *
      (c.lists.length > 1 ? Math.log2(c.lists.length) + 1 : 1);
    if (cost < bestCost) {
      bestCost = cost;
      best = c.lists
        .map(({ dim, code }) => {
          const p = snap.postings[key][dim];
          return { items: p.items, lo: p.offsets[code] ?? 0, hi: p.offsets[code + 1] ?? 0 };
        })
        .filter((l) => l.hi > l.lo);
    }
  });
  return best;
}

/** Rows of one page (placeholders must already be resolved into q.providers). */
export function searchRows(snap: Snapshot, env: MarketEnv, q: MarketQuery, from: GeoPoint): RowSearch {
  const view = env.locView(q.near ?? from);
  const plan = SORT_PLAN[q.sort];
  const cursor = q.cursor ? decodeCursor(q.cursor) : null;
  const f = compileFilter(snap, env, q, view);
  if (f.empty || snap.n === 0) return { rows: [], next: null, matched_estimate: 0, view };
  const lists = chooseLists(snap, f, q.limit + 1, plan.key);
  const res = walk(snap, lists, {
    key: plan.key,
    reverse: plan.reverse,
    cursor,
    keyBound: f.keyBound,
    pass: f.pass,
    want: q.limit + 1,
  });
  const rows = res.rows.slice(0, q.limit);
  const more = res.rows.length > q.limit;
  const last = rows[rows.length - 1];
  const next =
    more && last !== undefined
      ? {
          sort: q.sort,
          key: snap.keys[plan.key][last] as number,
          hi: snap.cols.idHi[last] as number,
          lo: snap.cols.idLo[last] as number,
        }
      : null;
  const rate = res.scanned > 0 ? res.rows.length / res.scanned : 0;
  const estimate =
    res.matches ?? (more ? Math.round(res.rows.length + res.remaining * rate) : res.rows.length);
  return { rows, next, matched_estimate: Math.max(estimate, rows.length), view };
}

/** Resolve spec placeholders: each to the cheapest provider of its type with a matching offer. */
export function resolvePlaceholders(
  snap: Snapshot,
  env: MarketEnv,
  q: MarketQuery,
  from: GeoPoint,
): { query: MarketQuery; resolved?: Record<string, string | null> } {
  if (!q.provider_placeholders || q.provider_placeholders.size === 0) return { query: q };
  const resolved: Record<string, string | null> = {};
  const providers = new Set(q.providers ?? []);
  for (const [name, type] of q.provider_placeholders) {
    const types = q.provider_types && !q.provider_types.has(type) ? new Set<ProviderType>() : new Set([type]);
    const probe: MarketQuery = {
      ...q,
      providers: undefined,
      provider_placeholders: undefined,
      provider_types: types,
      sort: 'price_asc',
      limit: 1,
      cursor: undefined,
    };
    const row = searchRows(snap, env, probe, from).rows[0];
    const p = row === undefined ? null : (env.providers.values[snap.cols.provider[row] as number] as string);
    resolved[name] = p;
    if (p) providers.add(p);
  }
  return { query: { ...q, providers, provider_placeholders: undefined }, resolved };
}

export function executeQuery(snap: Snapshot, env: MarketEnv, q: MarketQuery, from: GeoPoint): QueryResult {
  const { query, resolved } = resolvePlaceholders(snap, env, q, from);
  const s = searchRows(snap, env, query, from);
  const out: QueryResult = {
    offers: s.rows.map((r) => toOffer(snap, env, s.view, r)),
    next_cursor: s.next ? encodeCursor(s.next) : null,
    matched_estimate: s.matched_estimate,
    snapshot_at: iso(snap.at),
  };
  if (resolved) out.resolved_providers = resolved;
  return out;
}
