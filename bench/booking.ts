/**
 * Issue 4, "Speed": bookings per second with 32 concurrent clients over HTTP, on SQLite and on
 * PostgreSQL, against the raw store's rate for the same statements (same run, same machine).
 *
 * Per backend: (1) the built gateway (`computemd serve`) in a child process on a fresh data dir
 * (PostgreSQL: a fresh schema, dropped afterwards), the operator credited, a pool of offers with
 * free capacity read from /nodes and handed out round-robin, one node each, so the run cannot sell
 * out; (2) autocannon, 32 connections, `POST /book {allocations: [{offer_id, nodes: 1, hours: 0.01}]}`
 * with the admin token and a fresh Idempotency-Key per request (1 s warm-up, then the measured
 * load); only 201s count, anything else is reported beside; `GET /ledger/verify` at the end;
 * (3) the raw store in this process on a fresh database: 32 async callers doing what the service
 * does per booking (`getIdempotency`, then `createBooking` with a NewBooking shaped like the
 * service's: one lease, one reservation, a hold, an idempotency record holding the wire reply).
 *
 * The settlement tick is set to one hour in the gateway (the raw store has none), so both sides do
 * the booking path only. PostgreSQL: COMPUTEMD_BENCH_DATABASE_URL, default the local test server;
 * unreachable means "not measured" with the reason. COMPUTEMD_BENCH_CPU_PROF=<dir> starts the
 * gateway with `--cpu-prof` into that dir; COMPUTEMD_BENCH_BACKEND=sqlite or postgres runs one side.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { openPostgresStore, openSqliteStore } from '../src/storage/index.js';
import { fund, HOURS, rawLoad } from './booking-raw.js';
import { type AcRequest, cannon } from './cannon.js';
import { startGateway } from './proc.js';
import { round } from './stats.js';

const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const OPERATOR = 'pr_operator';

export interface Load {
  seconds: number;
  bookings_per_s: number;
  created: number;
  p50_ms: number;
  p99_ms: number;
  /** Over HTTP: responses other than 201 by status, socket errors, timeouts. Raw: results other than `created`. */
  failed: Record<string, number>;
}
type Verify = { ok: boolean; violations: number; codes: string[] };
type Backend = 'sqlite' | 'postgres';
export type BackendResult =
  | {
      backend: Backend;
      measured: true;
      pool: { offers: number; nodes: number };
      http: Load;
      raw: Load;
      ratio_http_vs_raw: number;
      verify_http: Verify;
      verify_raw: Verify;
      /** 1-minute load average before and after: other work on the machine shows here. */
      load_1m: [number, number];
    }
  | { backend: Backend; measured: false; reason: string };

interface Gw {
  url: string;
  token: string;
  stop(): Promise<void>;
}

/** `computemd serve` (bench/proc.ts) on a fresh data dir, its settlement tick moved out of the way. */
async function startGw(env: Record<string, string>): Promise<Gw> {
  const conf = mkdtempSync(join(tmpdir(), 'computemd-bench-book-'));
  writeFileSync(join(conf, 'config.json'), JSON.stringify({ ledger: { settle_interval_ms: 3_600_000 } }));
  const prof = process.env.COMPUTEMD_BENCH_CPU_PROF;
  const g = await startGateway({ ...env, COMPUTEMD_CONFIG: join(conf, 'config.json') }, 30_000, [
    ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []),
  ]);
  const args = g.proc.spawnargs;
  const data = args[args.indexOf('--data') + 1] as string;
  return {
    url: g.url,
    token: readFileSync(join(data, 'admin.token'), 'utf8').trim(),
    stop: async () => {
      await g.stop();
      for (const d of [data, conf]) rmSync(d, { recursive: true, force: true });
    },
  };
}

async function call(gw: Gw, method: string, path: string, body?: unknown, key?: string): Promise<unknown> {
  const headers: Record<string, string> = { authorization: `Bearer ${gw.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (key) headers['idempotency-key'] = key;
  const r = await fetch(gw.url + path, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await r.json()) as unknown;
  if (r.status >= 300)
    throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

/** Every offer with at least `min` nodes free (all pages of /nodes). */
async function offerPool(gw: Gw, min: number): Promise<Offer[]> {
  const out: Offer[] = [];
  let cursor: string | null = null;
  do {
    const page = (await call(
      gw,
      'GET',
      `/nodes?min_available=${min}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    )) as { offers: Offer[]; next_cursor: string | null };
    out.push(...page.offers);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

/** Round-robin over the pool, each offer as many times as it has nodes free: no offer is oversold. */
function slots(pool: readonly Offer[]): Offer[] {
  const out: Offer[] = [];
  for (let round = 0; ; round++) {
    const before = out.length;
    for (const o of pool) if (o.available > round) out.push(o);
    if (out.length === before) return out;
  }
}

// ---------------------------------------------------------------- HTTP

async function httpLoad(gw: Gw, slot: () => Offer, seconds: number, connections: number): Promise<Load> {
  let n = 0;
  const tag = randomBytes(4).toString('hex');
  const setupRequest = (req: AcRequest): AcRequest => {
    req.headers = {
      authorization: `Bearer ${gw.token}`,
      'content-type': 'application/json',
      'idempotency-key': `bench-${tag}-${n++}`,
    };
    req.body = JSON.stringify({ allocations: [{ offer_id: slot().id, nodes: 1, hours: HOURS }] });
    return req;
  };
  const r = await cannon({
    url: gw.url,
    duration: seconds,
    connections,
    pipelining: 1,
    requests: [{ method: 'POST', path: '/book', setupRequest }],
  });
  const failed: Record<string, number> = {};
  let created = 0;
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) {
    if (code === '201') created = Number(s.count);
    else failed[code] = Number(s.count);
  }
  if (r.errors) failed.errors = r.errors;
  if (r.timeouts) failed.timeouts = r.timeouts;
  const secs = r.duration || seconds;
  const { p50, p99 } = r.latency;
  return {
    seconds: round(secs, 2),
    bookings_per_s: Math.round(created / secs),
    created,
    p50_ms: p50,
    p99_ms: p99,
    failed,
  };
}

// ---------------------------------------------------------------- one backend

const cycle = (xs: readonly Offer[]) => {
  let i = 0;
  return () => xs[i++ % xs.length] as Offer;
};
const summarise = (v: { ok: boolean; violations: { code: string }[] }): Verify => ({
  ok: v.ok,
  violations: v.violations.length,
  codes: [...new Set(v.violations.map((x) => x.code))],
});

async function measure(
  backend: Backend,
  pgUrl: string,
  seconds: number,
  warmup: number,
  connections: number,
): Promise<BackendResult> {
  const load0 = round(loadavg()[0] ?? 0, 2);
  const schemas: string[] = [];
  const fresh = () => {
    const s = `cmbench_${randomBytes(5).toString('hex')}`;
    schemas.push(s);
    return s;
  };
  try {
    const env: Record<string, string> =
      backend === 'postgres' ? { COMPUTEMD_DATABASE_URL: pgUrl, COMPUTEMD_DATABASE_SCHEMA: fresh() } : {};
    const gw = await startGw(env);
    let pool: Offer[];
    let http: Load;
    let verifyHttp: Verify;
    try {
      await call(gw, 'POST', `/accounts/${OPERATOR}/credit`, { amount_usd: 1e9 }, `bench-${Date.now()}`);
      pool = await offerPool(gw, 5);
      // Wraps around only past every free node; a run that far would show 409s, never hide them.
      const slot = cycle(slots(pool));
      await httpLoad(gw, slot, warmup, connections);
      http = await httpLoad(gw, slot, seconds, connections);
      verifyHttp = summarise((await call(gw, 'GET', '/ledger/verify')) as Parameters<typeof summarise>[0]);
    } finally {
      await gw.stop();
    }
    const dir = mkdtempSync(join(tmpdir(), 'computemd-bench-raw-'));
    const store =
      backend === 'postgres'
        ? openPostgresStore({ url: pgUrl, schema: fresh() })
        : openSqliteStore({ path: join(dir, 'raw.db') });
    let raw: Load;
    let verifyRaw: Verify;
    try {
      await store.migrate();
      await fund(store);
      const slot = cycle(slots(pool));
      await rawLoad(store, slot, warmup, connections);
      raw = await rawLoad(store, slot, seconds, connections);
      verifyRaw = summarise(await store.ledger.verify());
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
    return {
      backend,
      measured: true,
      pool: { offers: pool.length, nodes: pool.reduce((s, o) => s + o.available, 0) },
      http,
      raw,
      ratio_http_vs_raw: round(http.bookings_per_s / Math.max(raw.bookings_per_s, 1), 3),
      verify_http: verifyHttp,
      verify_raw: verifyRaw,
      load_1m: [load0, round(loadavg()[0] ?? 0, 2)],
    };
  } finally {
    if (schemas.length) await dropSchemas(pgUrl, schemas);
  }
}

async function dropSchemas(url: string, schemas: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  } catch (err) {
    process.stderr.write(
      `[booking] could not drop schemas ${schemas.join(', ')}: ${(err as Error).message}\n`,
    );
  } finally {
    await c.end().catch(() => {});
  }
}

/** Why PostgreSQL cannot be used (null when it can), without the URL's password. */
async function pgUnreachable(url: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (err) {
    const why = (err as Error).message || String((err as { code?: unknown }).code ?? err);
    return `PostgreSQL not reachable at ${url.replace(/:[^:@/]*@/, ':***@')}: ${why}`;
  } finally {
    await c.end().catch(() => {});
  }
}

export async function runBookingBench(seconds = 5, connections = 32, warmup = 1) {
  const pgUrl = process.env.COMPUTEMD_BENCH_DATABASE_URL || DEFAULT_PG_URL;
  const only = process.env.COMPUTEMD_BENCH_BACKEND; // 'sqlite' | 'postgres': one side alone
  const log = (s: string) => process.stderr.write(`[booking] ${s}\n`);
  const results: BackendResult[] = [];
  for (const backend of ['sqlite', 'postgres'] as const) {
    if (only && only !== backend) continue;
    if (backend === 'postgres') {
      const why = await pgUnreachable(pgUrl);
      if (why) {
        log(`postgres: not measured (${why})`);
        results.push({ backend, measured: false, reason: why });
        continue;
      }
    }
    log(
      `${backend}: ${warmup} s warm-up + ${seconds} s over HTTP, then the raw store, ${connections} clients`,
    );
    try {
      results.push(await measure(backend, pgUrl, seconds, warmup, connections));
    } catch (err) {
      // PostgreSQL depends on the machine (a server, its settings): say why, never a figure.
      if (backend === 'sqlite') throw err;
      const why = `failed: ${(err as Error).message}`;
      log(`postgres: not measured (${why})`);
      results.push({ backend, measured: false, reason: why });
    }
  }
  return { seconds, warmup_s: warmup, connections, hours_per_booking: HOURS, backends: results };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runBookingBench(Number(process.argv[2] ?? 5)).then((r) => console.log(JSON.stringify(r, null, 2)));
}
