/**
 * Issue 5: what authentication and budgets cost. The built gateway (`computemd serve`) in a child
 * process on a fresh SQLite data dir; autocannon, the same connections and seconds per load.
 *
 * (1) `GET /accounts/me` — a route that needs a principal and does one account read — once per
 *     credential: the admin API key (the baseline, measured in the same run), an OAuth2 access
 *     token (EdDSA JWT), a one-link UCAN minted by the gateway (one Ed25519 check, its revocation
 *     lookup), and a two-link UCAN (the child of that one: two lookups, one signature). The
 *     anonymous `GET /health` gives the floor of the HTTP stack on this machine.
 * (2) `POST /book` with the API key, then with a UCAN carrying `max_spend_usd` (large enough never
 *     to refuse): the budget accounts' extra postings and guarded updates, in the same transaction.
 *
 * Every load reports requests/s and p50/p99; ratios are against the API key measured in the same
 * run. Non-2xx answers are counted beside and never counted as throughput.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { type AcRequest, cannon } from './cannon.js';
import { startGateway } from './proc.js';
import { round } from './stats.js';

export interface AuthLoad {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** Answers other than 2xx, by status; socket errors; timeouts. */
  failed: Record<string, number>;
  /** Requests/s as a share of the API key's, same route, same run. */
  ratio_vs_api_key: number;
}

export interface AuthBenchResult {
  seconds: number;
  connections: number;
  health_anonymous: Omit<AuthLoad, 'ratio_vs_api_key'>;
  accounts_me: Record<'api_key' | 'oauth_jwt' | 'ucan_1_link' | 'ucan_2_links', AuthLoad>;
  book: Record<'api_key' | 'ucan_with_budget', AuthLoad>;
  verify_ok: boolean;
}

async function load(url: string, seconds: number, connections: number, req: AcRequest) {
  const r = await cannon({ url, duration: seconds, connections, pipelining: 1, requests: [req] });
  const failed: Record<string, number> = {};
  let ok = 0;
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) {
    if (code.startsWith('2')) ok += Number(s.count);
    else failed[code] = Number(s.count);
  }
  if (r.errors) failed.errors = r.errors;
  if (r.timeouts) failed.timeouts = r.timeouts;
  return {
    rps: Math.round(ok / (r.duration || seconds)),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    failed,
  };
}

export async function runAuthBench(seconds: number, connections: number): Promise<AuthBenchResult> {
  const conf = mkdtempSync(join(tmpdir(), 'computemd-bench-auth-'));
  writeFileSync(join(conf, 'config.json'), JSON.stringify({ ledger: { settle_interval_ms: 3_600_000 } }));
  const g = await startGateway({ COMPUTEMD_CONFIG: join(conf, 'config.json') }, 30_000);
  const args = g.proc.spawnargs;
  const data = args[args.indexOf('--data') + 1] as string;
  const admin = readFileSync(join(data, 'admin.token'), 'utf8').trim();
  const call = async (
    method: string,
    path: string,
    token: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ) => {
    const r = await fetch(g.url + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...extra,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const j = (await r.json()) as Record<string, unknown>;
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j).slice(0, 200)}`);
    return j;
  };
  try {
    // A requester with money, its key, an OAuth token, a UCAN and its child.
    const p = (await call('POST', '/principals', admin, { role: 'requester', name: 'bench' })) as {
      principal: { id: string };
      api_key: { id: string; key: string };
    };
    const key = p.api_key.key;
    await call(
      'POST',
      `/accounts/${p.principal.id}/credit`,
      admin,
      { amount_usd: 10_000_000 },
      { 'idempotency-key': 'bench-auth' },
    );
    const form = `grant_type=client_credentials&client_id=${p.api_key.id}&client_secret=${encodeURIComponent(key)}`;
    const oauth = (await (
      await fetch(`${g.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      })
    ).json()) as { access_token: string };
    const all = ['compute/book', 'compute/lease/read'];
    const ucan1 = (await call('POST', '/tokens', key, { can: all, max_spend_usd: 5_000_000 })) as {
      token: string;
    };
    const ucan2 = (await call('POST', '/tokens', ucan1.token, { can: all, max_spend_usd: 5_000_000 })) as {
      token: string;
    };

    const me = (token: string): AcRequest => ({
      method: 'GET',
      path: '/accounts/me',
      headers: { authorization: `Bearer ${token}` },
    });
    const health = await load(g.url, seconds, connections, { method: 'GET', path: '/health' });
    const baseMe = await load(g.url, seconds, connections, me(key));
    const ratio = (x: { rps: number }, base: { rps: number }) => round(x.rps / Math.max(1, base.rps), 3);
    const withRatio = (x: Awaited<ReturnType<typeof load>>, base: { rps: number }): AuthLoad => ({
      ...x,
      ratio_vs_api_key: ratio(x, base),
    });
    const accounts_me = {
      api_key: withRatio(baseMe, baseMe),
      oauth_jwt: withRatio(await load(g.url, seconds, connections, me(oauth.access_token)), baseMe),
      ucan_1_link: withRatio(await load(g.url, seconds, connections, me(ucan1.token)), baseMe),
      ucan_2_links: withRatio(await load(g.url, seconds, connections, me(ucan2.token)), baseMe),
    };

    // Bookings: a pool of offers handed out round-robin, one node each, so nothing sells out.
    const pool: Offer[] = [];
    let cursor: string | null = null;
    do {
      const page = (await call(
        'GET',
        `/nodes?min_available=1&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        admin,
      )) as {
        offers: Offer[];
        next_cursor: string | null;
      };
      pool.push(...page.offers);
      cursor = page.next_cursor;
    } while (cursor);
    const slots: Offer[] = [];
    for (let r = 0; ; r++) {
      const before = slots.length;
      for (const o of pool) if (o.available > r) slots.push(o);
      if (slots.length === before) break;
    }
    let i = 0;
    const tag = randomBytes(4).toString('hex');
    const book = (token: string): AcRequest => ({
      method: 'POST',
      path: '/book',
      setupRequest: (req) => {
        req.headers = {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': `bench-${tag}-${i}`,
        };
        req.body = JSON.stringify({
          allocations: [{ offer_id: (slots[i++ % slots.length] as Offer).id, nodes: 1, hours: 0.01 }],
        });
        return req;
      },
    });
    const bookKey = await load(g.url, seconds, connections, book(key));
    const bookUcan = await load(g.url, seconds, connections, book(ucan1.token));
    const verify = (await call('GET', '/ledger/verify', admin)) as { ok: boolean };
    return {
      seconds,
      connections,
      health_anonymous: health,
      accounts_me,
      book: { api_key: withRatio(bookKey, bookKey), ucan_with_budget: withRatio(bookUcan, bookKey) },
      verify_ok: verify.ok,
    };
  } finally {
    await g.stop();
    for (const d of [data, conf]) rmSync(d, { recursive: true, force: true });
  }
}
