import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { installProblemHandlers, PROBLEM_CONTENT_TYPE } from './problems.js';
import {
  AUTH_FAILURES_PER_WINDOW,
  installAuthFailureLimit,
  installRateLimit,
  type RateLimitConfig,
} from './rate-limit.js';

// A real Fastify app with the limiter, driven by inject. A small hook stands in for auth: it sets
// `req.principal` from `x-principal: <id>:<role>` in onRequest, before the limiter, as installAuth
// does in the gateway.

const CFG: RateLimitConfig = { per_ip: 3, per_principal: 5, window_ms: 60_000, enabled: true };

async function appWith(cfg: RateLimitConfig | null): Promise<FastifyInstance> {
  const app = Fastify();
  installProblemHandlers(app);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    const h = req.headers['x-principal'];
    if (typeof h !== 'string') return;
    const [id = '', role] = h.split(':');
    req.principal = { id, role, name: id } as NonNullable<FastifyRequest['principal']>;
  });
  await installRateLimit(app, cfg);
  app.get('/x', async () => ({ ok: true }));
  await app.ready();
  return app;
}

interface Ask {
  ip?: string;
  principal?: string;
  url?: string;
}
const ask = (app: FastifyInstance, a: Ask = {}) =>
  app.inject({
    method: 'GET',
    url: a.url ?? '/x',
    remoteAddress: a.ip ?? '10.0.0.1',
    headers: a.principal ? { 'x-principal': a.principal } : {},
  });

/** Status codes of `n` requests made one after another. */
async function statuses(app: FastifyInstance, n: number, a: Ask = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await ask(app, a)).statusCode);
  return out;
}

describe('installRateLimit', () => {
  it('anonymous requests over per_ip: 429 problem+json with Retry-After and x-ratelimit-*', async () => {
    const app = await appWith(CFG);
    // per_ip 3: requests 1-3 pass with remaining 2, 1, 0; the 4th is refused.
    const remaining: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await ask(app);
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['x-ratelimit-limit'], '3');
      remaining.push(r.headers['x-ratelimit-remaining']);
    }
    assert.deepEqual(remaining, ['2', '1', '0']);
    const r = await ask(app);
    assert.equal(r.statusCode, 429);
    assert.ok(String(r.headers['content-type']).startsWith(PROBLEM_CONTENT_TYPE));
    const body = r.json() as { type: string; status: number; detail: string };
    assert.equal(body.type, 'https://computemd.dev/problems/rate-limited');
    assert.equal(body.status, 429);
    assert.match(body.detail, /More than 3 requests in 60 s from address 10\.0\.0\.1\. Retry after \d+ s/);
    // Whole seconds, at most the window (60 s).
    const retry = String(r.headers['retry-after']);
    assert.match(retry, /^\d+$/);
    assert.ok(Number(retry) >= 1 && Number(retry) <= 60, retry);
    assert.equal(r.headers['x-ratelimit-limit'], '3');
    assert.equal(r.headers['x-ratelimit-remaining'], '0');
    assert.equal(r.headers['x-ratelimit-reset'], retry);
    // Unknown routes count too, so probing for routes is no way around the limit.
    assert.equal((await ask(app, { url: '/nope' })).statusCode, 429);
    await app.close();
  });

  it('a principal has its own, larger budget, independent of its IP', async () => {
    const app = await appWith(CFG);
    // The IP's 3 are spent; the same IP as principal p1 still gets p1's 5; then p1 is spent too,
    // while p2 (same IP) is untouched and the anonymous IP stays refused.
    assert.deepEqual(await statuses(app, 4), [200, 200, 200, 429]);
    assert.deepEqual(await statuses(app, 6, { principal: 'p1:requester' }), [200, 200, 200, 200, 200, 429]);
    const r = await ask(app, { principal: 'p1:requester' });
    assert.equal(r.headers['x-ratelimit-limit'], '5');
    assert.match((r.json() as { detail: string }).detail, /from principal p1\./);
    assert.deepEqual(await statuses(app, 1, { principal: 'p2:requester' }), [200]);
    assert.deepEqual(await statuses(app, 1), [429]);
    // p1 from another address is still p1: the budget follows the principal.
    assert.deepEqual(await statuses(app, 1, { principal: 'p1:requester', ip: '10.9.9.9' }), [429]);
    await app.close();
  });

  it('the operator is never limited', async () => {
    const app = await appWith(CFG);
    // 20 > per_principal 5 > per_ip 3, all allowed, and no limit headers.
    const rs = await Promise.all(Array.from({ length: 20 }, () => ask(app, { principal: 'op:operator' })));
    assert.deepEqual(new Set(rs.map((r) => r.statusCode)), new Set([200]));
    assert.equal(rs[0]?.headers['x-ratelimit-limit'], undefined);
    await app.close();
  });

  it('different client IPs are counted separately', async () => {
    const app = await appWith(CFG);
    const cases = [
      { ip: '10.0.0.1', want: [200, 200, 200, 429] },
      { ip: '10.0.0.2', want: [200, 200, 200, 429] },
      // An IPv6 client is one /64: another address in the same /64 shares its bucket.
      { ip: '2001:db8::1', want: [200, 200, 200, 429] },
      { ip: '2001:db8::2', want: [429] },
      { ip: '2001:db8:0:1::1', want: [200] },
    ];
    for (const c of cases) assert.deepEqual(await statuses(app, c.want.length, { ip: c.ip }), c.want, c.ip);
    await app.close();
  });

  it('a new window starts once the old one has passed', async () => {
    const app = await appWith({ ...CFG, per_ip: 1, window_ms: 1000 });
    assert.deepEqual(await statuses(app, 2), [200, 429]);
    await new Promise((r) => setTimeout(r, 1100));
    assert.deepEqual(await statuses(app, 1), [200]);
    await app.close();
  });

  for (const [name, cfg] of [
    ['enabled: false', { ...CFG, enabled: false }],
    ['no config (null)', null],
  ] as const) {
    it(`${name}: never 429, no limit headers`, async () => {
      const app = await appWith(cfg);
      const rs = await Promise.all(Array.from({ length: 20 }, () => ask(app)));
      assert.deepEqual(new Set(rs.map((r) => r.statusCode)), new Set([200]));
      assert.equal(rs[0]?.headers['x-ratelimit-limit'], undefined);
      await app.close();
    });
  }
});

describe('installAuthFailureLimit', () => {
  async function guarded(): Promise<FastifyInstance> {
    const app = Fastify();
    installProblemHandlers(app);
    installAuthFailureLimit(app, CFG);
    // Stands in for auth: only "Bearer good" authenticates.
    app.addHook('onRequest', async (req, reply) => {
      if (req.headers.authorization !== 'Bearer good') return reply.code(401).send({ error: 'bad token' });
    });
    app.get('/x', async () => ({ ok: true }));
    await app.ready();
    return app;
  }
  const hit = (app: FastifyInstance, token: string, ip = '10.0.0.9') =>
    app.inject({
      method: 'GET',
      url: '/x',
      remoteAddress: ip,
      headers: { authorization: `Bearer ${token}` },
    });

  it(`after ${AUTH_FAILURES_PER_WINDOW} failed authentications an address is refused with 429 before its token is checked`, async () => {
    const app = await guarded();
    for (let i = 0; i < AUTH_FAILURES_PER_WINDOW; i++)
      assert.equal((await hit(app, `guess-${i}`)).statusCode, 401);
    const r = await hit(app, 'good');
    assert.equal(r.statusCode, 429, 'even a good token waits: the address is guessing');
    assert.match(
      String(r.headers['content-type']),
      new RegExp(`^${PROBLEM_CONTENT_TYPE.replace('+', '\\+')}`),
    );
    assert.ok(Number(r.headers['retry-after']) > 0);
    assert.equal(r.json().type, 'https://computemd.dev/problems/rate-limited');
    // Another address is not affected.
    assert.equal((await hit(app, 'good', '10.0.0.10')).statusCode, 200);
  });

  it('successful requests do not count', async () => {
    const app = await guarded();
    for (let i = 0; i < AUTH_FAILURES_PER_WINDOW * 2; i++)
      assert.equal((await hit(app, 'good')).statusCode, 200);
  });

  it('disabled: never 429', async () => {
    const app = Fastify();
    installAuthFailureLimit(app, { ...CFG, enabled: false });
    app.addHook('onRequest', async (_req, reply) => reply.code(401).send({}));
    app.get('/x', async () => ({}));
    for (let i = 0; i < AUTH_FAILURES_PER_WINDOW + 5; i++)
      assert.equal((await app.inject({ method: 'GET', url: '/x' })).statusCode, 401);
  });
});
