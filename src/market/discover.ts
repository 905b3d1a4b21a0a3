import type { WorkKind } from '../capabilities/types.js';
import { DEFAULT_REFERENCE_PROFILE, RESOURCE_CLASSES } from '../protocol/glossary.js';
import type { Offer } from '../protocol/schemas/offer.js';
import { iso } from '../util/clock.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { MarketEnv } from './env.js';
import { compileFilter } from './filter.js';
import type { GeoPoint } from './geo.js';
import type { Snapshot } from './index-store.js';
import { toOffer } from './materialize.js';
import {
  type ParseContext,
  type ParseResult,
  parseNodesQuery,
  parseNumber,
  type QueryProblem,
  scalar,
} from './query.js';
import type { MarketQuery } from './types.js';

/** /discover: the /nodes filters plus how much normalised work, measured on what. */
export interface DiscoverQuery extends MarketQuery {
  /** Reference GPU-hours (glossary): hours of work on `reference_profile`. */
  gpu_hours: number;
  reference_profile: string;
  workload_kind: WorkKind;
  deadline_hours?: number;
}

export interface DiscoverOption {
  offer: Offer;
  /** Reference GPU-hours one GPU-hour of this model does (capabilities.workRate). */
  work_rate: number;
  /** gpu_hours / work_rate. */
  gpu_hours_on_hardware: number;
  /** gpu_hours_on_hardware / gpu_count. */
  node_hours: number;
  /** gpu_hours_on_hardware × price_per_gpu_hour, to the cent. */
  total_cost_usd: number;
  available: number;
  /** Nodes to run at once: ceil(node_hours / deadline_hours) with a deadline, else 1. */
  nodes_needed: number;
  /** Wall-clock hours using every available node (node_hours / available); null when none is. */
  hours_with_all_available: number | null;
  /** nodes_needed ≤ available. */
  can_deliver: boolean;
}

export interface DiscoverResult {
  reference_profile: string;
  reference_model: string | null;
  workload_kind: WorkKind;
  gpu_hours: number;
  unit: string;
  options: DiscoverOption[];
  /** Matching offers left out, counted by reason. */
  excluded: { reason: string; count: number }[];
  next_cursor: string | null;
  snapshot_at: string;
}

export const DISCOVER_KEYS = ['gpu_hours', 'reference_profile', 'workload_kind', 'deadline_hours'] as const;
const KINDS: Record<string, WorkKind> = {
  training: 'training',
  batch_processing: 'batch_processing',
  inference: 'inference',
  general: 'general',
};
export const DISCOVER_UNIT =
  'reference GPU-hours: hours of work on the reference profile, normalised by capability';

export function parseDiscoverQuery(
  raw: Record<string, unknown>,
  ctx: ParseContext,
): ParseResult<DiscoverQuery> {
  const problems: QueryProblem[] = [];
  const base = parseNodesQuery(raw, { ...ctx, allowedKeys: [...DISCOVER_KEYS, ...(ctx.allowedKeys ?? [])] });
  if (!base.ok) problems.push(...base.problems);
  const gpuHours = parseNumber('gpu_hours', scalar(raw, 'gpu_hours', problems), problems, {
    min: 0,
    exclusiveMin: true,
  });
  const deadline = parseNumber('deadline_hours', scalar(raw, 'deadline_hours', problems), problems, {
    min: 0,
    exclusiveMin: true,
  });
  const ref = (scalar(raw, 'reference_profile', problems) ?? DEFAULT_REFERENCE_PROFILE).trim();
  const sel = ctx.capabilities.resolveResourceType(ref);
  if (sel === null || sel.kind === 'class') {
    problems.push({
      param: 'reference_profile',
      detail: `reference_profile=${ref} is not a profile (GPU_TYPE_A) or GPU model.`,
    });
  }
  const kindRaw = (scalar(raw, 'workload_kind', problems) ?? 'training').trim();
  const kind = KINDS[kindRaw];
  if (!kind)
    problems.push({
      param: 'workload_kind',
      detail: `workload_kind=${kindRaw} is not one of training, inference, general.`,
    });
  if (base.ok && base.query.sort === 'reliability_desc') {
    problems.push({
      param: 'sort',
      detail:
        '/discover orders by total cost (price_asc, perf_per_dollar_desc) or price_desc; use min_reliability to filter.',
    });
  }
  if (problems.length || !base.ok || !kind) return { ok: false, problems };
  const q: DiscoverQuery = {
    ...base.query,
    gpu_hours: gpuHours ?? 1,
    reference_profile: ref,
    workload_kind: kind,
  };
  if (deadline !== undefined) q.deadline_hours = deadline;
  return { ok: true, query: q };
}

const CPU = RESOURCE_CLASSES.indexOf('CPU');

/**
 * Options that could deliver `gpu_hours` reference GPU-hours, cheapest total first. Within one
 * model the work rate is constant, so its price-ordered posting list is already in cost order; the
 * models' lists are merged by (cost in cents, row). Models without the capability figure the work
 * kind needs are excluded and counted.
 */
export function executeDiscover(
  snap: Snapshot,
  env: MarketEnv,
  q: DiscoverQuery,
  from: GeoPoint,
): DiscoverResult {
  const view = env.locView(q.near ?? from);
  const f = compileFilter(snap, env, q, view);
  const sel = env.capabilities.resolveResourceType(q.reference_profile);
  const refModel = sel && sel.kind !== 'class' ? (sel.models[0] ?? null) : null;
  const post = snap.postings.price.model;
  const excluded = new Map<string, number>();
  const bump = (reason: string, k = 1) => excluded.set(reason, (excluded.get(reason) ?? 0) + k);
  const reverse = q.sort === 'price_desc';
  const cursor = q.cursor ? decodeCursor(q.cursor) : null;
  const { idHi, idLo, gpuCount, available, unitPrice } = snap.cols;
  const pkey = snap.keys.price;

  type Stream = { model: number; rate: number; pos: number; end: number };
  const streams: Stream[] = [];
  const centsOf = (s: Stream, r: number) =>
    Math.min(0xffffffff, Math.round((q.gpu_hours / s.rate) * (unitPrice[r] as number) * 100));
  for (let m = 1; m < post.offsets.length - 1; m++) {
    const lo = post.offsets[m] as number;
    const hi = post.offsets[m + 1] as number;
    if (hi === lo) continue;
    const name = env.modelName(m) as string;
    const rate = refModel ? env.capabilities.workRate(name, refModel, q.workload_kind) : null;
    if (rate === null || !(rate > 0)) {
      let k = 0;
      for (let p = lo; p < hi; p++) if (f.pass(post.items[p] as number)) k++;
      if (k) bump(`no ${q.workload_kind} capability figure for ${name}`, k);
      continue;
    }
    streams.push(
      reverse ? { model: m, rate, pos: hi - 1, end: lo - 1 } : { model: m, rate, pos: lo, end: hi },
    );
  }
  if (f.empty) streams.length = 0;
  // CPU offers do no GPU work; say how many matched.
  if (!q.gpu_models && !q.models && (!q.classes || q.classes.has('CPU'))) {
    const cpu = snap.postings.price.cls;
    let k = 0;
    for (let p = cpu.offsets[CPU] as number; p < (cpu.offsets[CPU + 1] as number); p++)
      if (f.pass(cpu.items[p] as number)) k++;
    if (k) bump('cpu_only: no GPU work rate', k);
  }

  // Advance a stream to its next passing row that comes after the cursor; false when exhausted.
  const after = (s: Stream, r: number) => {
    if (!cursor) return true;
    const d =
      centsOf(s, r) - cursor.key ||
      (pkey[r] as number) - (cursor.key2 ?? 0) ||
      (idHi[r] as number) - cursor.hi ||
      (idLo[r] as number) - cursor.lo;
    return reverse ? d < 0 : d > 0;
  };
  const deadline = q.deadline_hours;
  const settle = (s: Stream): boolean => {
    const step = reverse ? -1 : 1;
    while (s.pos !== s.end) {
      const r = post.items[s.pos] as number;
      if (f.pass(r) && after(s, r)) {
        if (deadline === undefined) return true;
        const nodeHours = q.gpu_hours / s.rate / (gpuCount[r] as number);
        if (Math.ceil(nodeHours / deadline - 1e-9) <= (available[r] as number)) return true;
        bump('cannot_finish_by_deadline');
      }
      s.pos += step;
    }
    return false;
  };
  let live = streams.filter(settle);
  const options: DiscoverOption[] = [];
  let next: string | null = null;
  const rowOf = (s: Stream) => post.items[s.pos] as number;
  const better = (a: Stream, b: Stream) => {
    const ra = rowOf(a);
    const rb = rowOf(b);
    // (cost cents, price key, row): within one model this is exactly the posting list's order.
    const d = centsOf(a, ra) - centsOf(b, rb) || (pkey[ra] as number) - (pkey[rb] as number) || ra - rb;
    return reverse ? d > 0 : d < 0;
  };
  let lastRow = -1;
  let lastCents = 0;
  while (live.length) {
    let best = live[0] as Stream;
    for (const s of live) if (better(s, best)) best = s;
    const r = rowOf(best);
    if (options.length === q.limit) {
      const hi = idHi[lastRow] as number;
      next = encodeCursor({
        sort: q.sort,
        key: lastCents,
        key2: pkey[lastRow] as number,
        hi,
        lo: idLo[lastRow] as number,
      });
      break;
    }
    options.push(option(snap, env, view, r, best.rate, q));
    lastRow = r;
    lastCents = centsOf(best, r);
    best.pos += reverse ? -1 : 1;
    if (!settle(best)) live = live.filter((s) => s !== best);
  }
  return {
    reference_profile: q.reference_profile,
    reference_model: refModel,
    workload_kind: q.workload_kind,
    gpu_hours: q.gpu_hours,
    unit: DISCOVER_UNIT,
    options,
    excluded: [...excluded].map(([reason, count]) => ({ reason, count })),
    next_cursor: next,
    snapshot_at: iso(snap.at),
  };
}

function option(
  snap: Snapshot,
  env: MarketEnv,
  view: ReturnType<MarketEnv['locView']>,
  r: number,
  rate: number,
  q: DiscoverQuery,
): DiscoverOption {
  const c = snap.cols;
  const onHw = q.gpu_hours / rate;
  const nodeHours = onHw / (c.gpuCount[r] as number);
  const available = c.available[r] as number;
  const nodes =
    q.deadline_hours === undefined ? 1 : Math.max(1, Math.ceil(nodeHours / q.deadline_hours - 1e-9));
  return {
    offer: toOffer(snap, env, view, r),
    work_rate: Math.round(rate * 1e4) / 1e4,
    gpu_hours_on_hardware: Math.round(onHw * 100) / 100,
    node_hours: Math.round(nodeHours * 100) / 100,
    total_cost_usd: Math.round(onHw * (c.unitPrice[r] as number) * 100) / 100,
    available,
    nodes_needed: nodes,
    hours_with_all_available: available > 0 ? Math.round((nodeHours / available) * 100) / 100 : null,
    can_deliver: nodes <= available,
  };
}
