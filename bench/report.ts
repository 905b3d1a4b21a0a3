/** The bench run's bars, result types and its markdown table (bench/run.ts prints it). */
import type { AuthBenchResult } from './auth.js';
import type { runBookToRunBench } from './book-to-run.js';
import type { runBookingBench } from './booking.js';
import type { runColdStartBench } from './coldstart.js';
import type { runHttpBench } from './http.js';
import { lbRows, type runLbBench } from './lb.js';
import { QUERY_SHAPES, WORST_SHAPES } from './market.js';
import type { runSandboxBench } from './sandbox.js';

export const BARS = {
  market_p99_ms: 5,
  market_p99_ms_aim: 2,
  rss_mb_1m: 400,
  http_ratio_min: 0.6,
  cold_start_ms: 2000,
  booking_per_s: { sqlite: 2000, postgres: 1000 },
};

export interface QueryTiming {
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  returned: number;
  matched_estimate: number;
}
export interface MarketSize {
  offers: number;
  build_ms: number;
  rss_mb_loaded: number;
  rss_mb_before: number;
  queries: Record<string, QueryTiming>;
}
export interface MarketResult {
  gc_exposed: boolean;
  sizes: MarketSize[];
  baseline_naive_100k: {
    offers: number;
    naive_filter_sort: { p50_ms: number; p99_ms: number };
    indexed_p50_ms: number;
    speedup_p50: number;
  } | null;
}

/** The market bench in its own process with --expose-gc; its JSON comes back on stdout. */

export interface PlannerResult {
  sizes: {
    offers: number;
    plan_ms: { p50: number; p95: number };
    solver_candidates: { p50: number; max: number };
    cost_ratio: { mean: number; min: number };
    milp_worse: number;
    inexact: number;
  }[];
  plan?: { offers: number; plan_ms: { p50: number; p95: number }; solves_p50: number }[];
}

type Row = [figure: string, value: string, bar: string, baseline: string, result: string];

const pass = (ok: boolean) => (ok ? 'PASS' : '**FAIL**');
const ms = (x: number) => `${x.toFixed(3)} ms`;

export interface Results {
  market?: MarketResult;
  cold?: Awaited<ReturnType<typeof runColdStartBench>>;
  http?: Awaited<ReturnType<typeof runHttpBench>>;
  planner?: PlannerResult;
  booking?: Awaited<ReturnType<typeof runBookingBench>>;
  auth?: AuthBenchResult;
  lb?: Awaited<ReturnType<typeof runLbBench>>;
  sandbox?: Awaited<ReturnType<typeof runSandboxBench>>;
  bookToRun?: Awaited<ReturnType<typeof runBookToRunBench>>;
}

function bookingRows(b: NonNullable<Results['booking']>): Row[] {
  const rows: Row[] = [];
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const bad = (r: Record<string, number>) =>
    Object.entries(r)
      .map(([k, v]) => `${v}× ${k}`)
      .join(', ') || 'none';
  for (const r of b.backends) {
    const name = r.backend === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    const bar = BARS.booking_per_s[r.backend];
    if (!r.measured) {
      rows.push([
        `Bookings/s over HTTP, ${name}`,
        'not measured',
        `≥ ${n(bar)}/s`,
        r.reason,
        '**NOT MEASURED**',
      ]);
      continue;
    }
    const v = (x: { ok: boolean; violations: number; codes: string[] }) =>
      x.ok ? 'ok' : `**${x.violations} violations** (${x.codes.join(', ')})`;
    rows.push([
      `Bookings/s over HTTP, ${name}, ${b.connections} clients (\`POST /book\`, 1 node × ${b.hours_per_booking} h)`,
      `${n(r.http.bookings_per_s)}/s (p50 ${r.http.p50_ms} ms, p99 ${r.http.p99_ms} ms; non-201: ${bad(r.http.failed)})`,
      `≥ ${n(bar)}/s`,
      `raw store ${n(r.raw.bookings_per_s)}/s (p50 ${r.raw.p50_ms} ms) → ${(r.ratio_http_vs_raw * 100).toFixed(1)}%`,
      r.verify_http.ok ? pass(r.http.bookings_per_s >= bar) : '**FAIL** (ledger broken)',
    ]);
    rows.push([
      `Ledger verify after the loads, ${name}`,
      `HTTP: ${v(r.verify_http)}; raw: ${v(r.verify_raw)}`,
      'no violations',
      `${n(r.http.created)} + ${n(r.raw.created)} bookings measured; failed raw: ${bad(r.raw.failed)}`,
      pass(r.verify_http.ok && r.verify_raw.ok),
    ]);
  }
  return rows;
}

export function table(res: Results): string {
  const { market, cold, http, planner } = res;
  const rows: Row[] = [];
  if (planner) plannerRows(planner, rows);
  if (market) marketRows(market, rows);
  if (http) httpRows(http, rows);
  if (cold)
    rows.push([
      'Cold start `computemd serve` → `/health` 200 (median)',
      `${cold.serve_to_health_ms_median} ms (max ${cold.serve_to_health_ms_max})`,
      `≤ ${BARS.cold_start_ms} ms`,
      `bare \`node -e ''\` ${cold.bare_node_start_ms_median} ms → ${cold.ratio_vs_bare_node}×`,
      pass(cold.serve_to_health_ms_median <= BARS.cold_start_ms),
    ]);
  if (res.booking) rows.push(...bookingRows(res.booking));
  if (res.auth) rows.push(...authRows(res.auth));
  if (res.lb) rows.push(...(lbRows(res.lb) as Row[]));
  if (res.sandbox) {
    const x = res.sandbox;
    rows.push(
      [
        'Sandbox: 1-second CPU job under bwrap + cgroup, wall time (median)',
        `${x.sandboxed_s} s → overhead ${((x.overhead_ratio - 1) * 100).toFixed(1)}%`,
        '≤ 5%',
        `bare ${x.bare_s} s`,
        pass(x.overhead_ratio <= 1.05),
      ],
      [
        'Sandbox: from asking for a run to the workload’s first instruction',
        `${x.spawn_to_first_instruction_ms} ms`,
        '≤ 300 ms (the bar counts from /book; this is the sandbox’s share)',
        `bare spawn ${x.bare_spawn_to_first_instruction_ms} ms`,
        pass(x.spawn_to_first_instruction_ms <= 300),
      ],
    );
  }
  if (res.bookToRun) {
    const x = res.bookToRun;
    rows.push([
      '`POST /book` → first instruction on a node agent (median)',
      `${x.book_to_first_instruction_ms} ms`,
      '≤ 300 ms',
      `the sandbox alone ${x.sandbox_to_first_instruction_ms} ms → ${x.ratio}×`,
      pass(x.book_to_first_instruction_ms <= 300),
    ]);
  }
  const head: Row = ['Figure', 'Value', 'Bar', 'Baseline (same run)', 'Result'];
  return [head, ['---', '---', '---', '---', '---'] as Row, ...rows]
    .map((r) => `| ${r.join(' | ')} |`)
    .join('\n');
}

function authRows(a: AuthBenchResult): Row[] {
  const rps = (x: { rps: number; p50_ms: number; p99_ms: number; failed: Record<string, number> }) =>
    `${x.rps} req/s (p50 ${x.p50_ms} ms, p99 ${x.p99_ms} ms${Object.keys(x.failed).length ? `; failed ${JSON.stringify(x.failed)}` : ''})`;
  const rows: Row[] = [
    [
      `\`GET /health\` anonymous, ${a.connections} connections`,
      rps(a.health_anonymous),
      'none',
      'the HTTP floor here',
      'info',
    ],
  ];
  const names: Record<string, string> = {
    api_key: 'API key',
    oauth_jwt: 'OAuth2 access token (EdDSA JWT)',
    ucan_1_link: 'UCAN, one link',
    ucan_2_links: 'UCAN, two links (child of the one-link token)',
  };
  for (const [k, v] of Object.entries(a.accounts_me))
    rows.push([
      `\`GET /accounts/me\` with ${names[k]}`,
      rps(v),
      'none',
      `${(v.ratio_vs_api_key * 100).toFixed(1)}% of the API key`,
      'info',
    ]);
  rows.push(
    ['`POST /book` with an API key (SQLite)', rps(a.book.api_key), 'none', 'baseline', 'info'],
    [
      '`POST /book` with a UCAN carrying max_spend_usd (SQLite)',
      rps(a.book.ucan_with_budget),
      'none',
      `${(a.book.ucan_with_budget.ratio_vs_api_key * 100).toFixed(1)}% of the API key; ledger verify ${a.verify_ok ? 'ok' : 'FAILED'}`,
      a.verify_ok ? 'info' : '**FAIL** (ledger broken)',
    ],
  );
  return rows;
}

function plannerRows(planner: PlannerResult, rows: Row[]): void {
  const k = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));
  const planBar = (n: number) => (n === 10_000 ? 100 : n === 100_000 ? 1000 : null);
  for (const sz of planner.sizes) {
    const bar = planBar(sz.offers);
    rows.push([
      `Planner: solve ${k(sz.offers)} candidate offers (pre-aggregation + MILP) p50 / p95`,
      `${sz.plan_ms.p50} ms / ${sz.plan_ms.p95} ms (solver saw p50 ${sz.solver_candidates.p50}, max ${sz.solver_candidates.max})`,
      bar === null ? 'none' : `p95 ≤ ${bar} ms`,
      `MILP / greedy cost: mean ${sz.cost_ratio.mean}, min ${sz.cost_ratio.min}; MILP worse ${sz.milp_worse}×; capped ${sz.inexact}`,
      bar === null ? 'info' : pass(sz.plan_ms.p95 <= bar && sz.milp_worse === 0),
    ]);
  }
  for (const sz of planner.plan ?? []) {
    const bar = planBar(sz.offers);
    rows.push([
      `Planner: whole \`plan()\` over ${k(sz.offers)} candidate offers p50 / p95`,
      `${sz.plan_ms.p50} ms / ${sz.plan_ms.p95} ms (${sz.solves_p50} solves p50)`,
      bar === null ? 'none' : `p95 ≤ ${bar} ms`,
      'filters, candidates, horizon search, alternatives, baseline, SLA',
      bar === null ? 'info' : pass(sz.plan_ms.p95 <= bar),
    ]);
  }
}

function marketRows(market: MarketResult, rows: Row[]): void {
  const base = market.baseline_naive_100k;
  for (const size of market.sizes) {
    const label = size.offers >= 1_000_000 ? `${size.offers / 1_000_000}M` : `${size.offers / 1000}k`;
    const barred = size.offers >= 1_000_000;
    const full = Object.keys(WORST_SHAPES)
      .map((n) => size.queries[n])
      .find((q) => q !== undefined);
    for (const name of Object.keys(QUERY_SHAPES)) {
      const q = size.queries[name];
      if (!q) continue;
      // Baselines from the same process: the naive Array.filter + sort over plain objects (100k,
      // spec query only), and a full pass over the same index (the unindexed no-match shape).
      const parts: string[] = [];
      if (name === 'spec_gpu_a_metro' && base && size.offers === base.offers)
        parts.push(
          `naive filter+sort p50 ${ms(base.naive_filter_sort.p50_ms)} = ${base.speedup_p50}× slower`,
        );
      if (full)
        parts.push(
          `full pass p50 ${ms(full.p50_ms)} = ${(full.p50_ms / Math.max(q.p50_ms, 1e-6)).toFixed(0)}×`,
        );
      const naive = parts.join('; ');
      rows.push([
        `${label} \`${name}\` p50 / p99`,
        `${ms(q.p50_ms)} / ${ms(q.p99_ms)}`,
        barred ? `p99 ≤ ${BARS.market_p99_ms} ms (aim ≤ ${BARS.market_p99_ms_aim})` : '(bar is at 1M)',
        naive,
        barred
          ? `${pass(q.p99_ms <= BARS.market_p99_ms)}${q.p99_ms <= BARS.market_p99_ms_aim ? ' (aim met)' : ''}`
          : 'info',
      ]);
    }
    for (const name of Object.keys(WORST_SHAPES)) {
      const q = size.queries[name];
      if (q)
        rows.push([
          `${label} worst case \`${name}\` p50 / p99`,
          `${ms(q.p50_ms)} / ${ms(q.p99_ms)}`,
          'none (known worst case)',
          '',
          'info',
        ]);
    }
    if (barred)
      rows.push([
        `RSS with ${label} offers loaded`,
        `${size.rss_mb_loaded} MB`,
        `≤ ${BARS.rss_mb_1m} MB`,
        `process before load: ${size.rss_mb_before} MB`,
        pass(size.rss_mb_loaded <= BARS.rss_mb_1m),
      ]);
    rows.push([`${label} index build`, `${size.build_ms} ms`, 'none', '', 'info']);
  }
}

function httpRows(http: NonNullable<Results['http']>, rows: Row[]): void {
  const rps = (x: number) => `${Math.round(x)} req/s`;
  rows.push([
    'HTTP `GET /nodes?…&limit=50` JSON',
    `${rps(http.gateway.rps)} (p99 ${http.gateway.p99_ms} ms)`,
    `≥ ${BARS.http_ratio_min * 100}% of bare route`,
    `bare route ${rps(http.bare_route.rps)} → ${(http.ratio_vs_bare * 100).toFixed(1)}%`,
    pass(http.ratio_vs_bare >= BARS.http_ratio_min),
  ]);
  for (const [enc, r] of Object.entries(http.encodings))
    rows.push([
      `HTTP same query, \`Accept: ${enc === 'msgpack' ? 'application/msgpack' : 'application/x-protobuf'}\``,
      `${rps(r.gateway.rps)} (p99 ${r.gateway.p99_ms} ms)`,
      `≥ ${BARS.http_ratio_min * 100}% of bare route (same bar, applied by us)`,
      `bare route, same ${enc} bytes ${rps(r.bare_route.rps)} → ${(r.ratio_vs_bare * 100).toFixed(1)}%`,
      pass(r.ratio_vs_bare >= BARS.http_ratio_min),
    ]);
  rows.push([
    'HTTP same query, JSON, `Cache-Control: no-cache` (every request computed: the miss path)',
    `${rps(http.uncached_json.gateway.rps)} (p99 ${http.uncached_json.gateway.p99_ms} ms)`,
    'none (the bar is for the route as served)',
    `bare route ${rps(http.uncached_json.bare_route.rps)} → ${(http.uncached_json.ratio_vs_bare * 100).toFixed(1)}%`,
    'info',
  ]);
  rows.push([
    'HTTP `GET /nodes/:id` JSON',
    `${rps(http.by_id.gateway.rps)} (p99 ${http.by_id.gateway.p99_ms} ms)`,
    `≥ ${BARS.http_ratio_min * 100}% of bare route (same bar, applied by us)`,
    `bare route, same bytes ${rps(http.by_id.bare_route.rps)} → ${(http.by_id.ratio_vs_bare * 100).toFixed(1)}%`,
    pass(http.by_id.ratio_vs_bare >= BARS.http_ratio_min),
  ]);
}
