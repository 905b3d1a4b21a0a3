import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { LbRegistry } from '../src/lb/registry.js';
import { type ListeningGateway, listenTestGateway } from './helpers/gateway.js';
import { killAllUpstreams, startUpstream, type Upstream } from './helpers/upstream.js';

/**
 * The load balancer through the real gateway (issue 8): upstreams are separate processes, the
 * client speaks real HTTP. Balancers are created through the gateway's registry, as the serving
 * runtime will create them from bookings.
 */

const P = 'https://computemd.dev/problems/';
// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;

let g: ListeningGateway;
let lb: LbRegistry;
let alice: { id: string; key: string };
let bob: { id: string; key: string };
let ups: Upstream[];
const FAST_HEALTH = { interval_ms: 100, timeout_ms: 500, unhealthy_threshold: 2, healthy_threshold: 2 };

async function call(path: string, token: string | null, init: RequestInit = {}) {
  const r = await fetch(g.base + path, {
    ...init,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as object) },
  });
  const text = await r.text();
  let body: Json = {};
  try {
    body = JSON.parse(text) as Json;
  } catch {
    body = { text };
  }
  return { status: r.status, headers: r.headers, body };
}

/** A raw request (node:http), for headers fetch will not send and for reading a stream as it comes. */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | ((write: (b: Buffer) => void) => void),
) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const u = new URL(g.base + path);
    const req = httpRequest(
      { host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    if (typeof body === 'function') body((b) => req.write(b));
    else if (body) req.write(body);
    req.end();
  });
}

async function until(what: string, ok: () => Promise<boolean> | boolean, tries = 200) {
  for (let i = 0; i < tries; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`never: ${what}`);
}

describe('load balancer through the gateway', () => {
  before(async () => {
    g = await listenTestGateway();
    lb = g.t.gw.lb;
    const principal = async (name: string) => {
      const r = await call('/principals', g.admin, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'requester', name }),
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return { id: r.body.principal.id as string, key: r.body.api_key.key as string };
    };
    alice = await principal('alice');
    bob = await principal('bob');
    ups = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => startUpstream(n)));
    lb.create({
      id: 'main',
      owner: alice.id,
      health_check: '/health',
      health: FAST_HEALTH,
      endpoints: ups.slice(0, 3).map((u) => ({ id: u.name, url: u.url })),
    });
  });
  after(async () => {
    await g.close();
    await killAllUpstreams();
  });

  it('forwards path, query and body; passes X-Request-Id; spreads over every endpoint', async () => {
    const r = await call('/lb/main/v1/echo?x=1', alice.key);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.url, '/v1/echo?x=1');
    const id = r.headers.get('x-request-id');
    assert.ok(id && id === r.body.headers['x-request-id'], 'a generated request id, sent both ways');
    assert.equal(r.body.headers.authorization, undefined, "the gateway's credential stays at the gateway");
    assert.equal(r.body.headers['x-forwarded-for'], '127.0.0.1');
    const mine = await call('/lb/main/echo', alice.key, { headers: { 'x-request-id': 'req-123' } });
    assert.equal(mine.body.headers['x-request-id'], 'req-123');
    assert.equal(mine.headers.get('x-request-id'), 'req-123');
    const root = await call('/lb/main?q=2', alice.key);
    assert.equal(root.body.url, '/?q=2');
    const names = new Set<string>();
    for (let i = 0; i < 30; i++) names.add((await call('/lb/main/echo', alice.key)).body.name);
    assert.deepEqual([...names].sort(), ['a', 'b', 'c']);
  });

  it('strips hop-by-hop headers, and headers the Connection header names, both ways', async () => {
    const r = await raw('GET', '/lb/main/echo', {
      authorization: `Bearer ${alice.key}`,
      connection: 'keep-alive, x-hop',
      'x-hop': 'secret',
      'x-end-to-end': 'kept',
      'proxy-authorization': 'Basic abc',
      te: 'trailers',
    });
    assert.equal(r.status, 200, r.body);
    const seen = JSON.parse(r.body).headers as Json;
    assert.equal(seen['x-end-to-end'], 'kept');
    for (const h of ['x-hop', 'proxy-authorization', 'te', 'authorization'])
      assert.equal(seen[h], undefined, h);
    assert.equal(r.headers['transfer-encoding'], undefined);
  });

  it('streams request bodies: sized above the buffer limit, and chunked', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const sized = await raw(
      'POST',
      '/lb/main/upload',
      {
        authorization: `Bearer ${alice.key}`,
        'content-type': 'application/octet-stream',
        'content-length': String(big.length),
      },
      big,
    );
    assert.equal(JSON.parse(sized.body).body_bytes, big.length);
    const chunked = await raw(
      'PUT',
      '/lb/main/upload',
      {
        authorization: `Bearer ${alice.key}`,
        'content-type': 'application/json',
        'transfer-encoding': 'chunked',
      },
      (write) => {
        for (let i = 0; i < 10; i++) write(Buffer.alloc(100_000, 1));
      },
    );
    assert.equal(JSON.parse(chunked.body).body_bytes, 1_000_000);
    assert.equal(JSON.parse(chunked.body).method, 'PUT');
  });

  it('SSE events pass one by one: the first arrives while the upstream still holds the rest', async () => {
    const u = new URL(`${g.base}/lb/main/sse`);
    const events: string[] = [];
    let firstSeen: () => void = () => {};
    const first = new Promise<void>((r) => {
      firstSeen = r;
    });
    const ended = new Promise<{ type: string | undefined }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          headers: { authorization: `Bearer ${alice.key}` },
        },
        (res) => {
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            buf += c;
            let i = buf.indexOf('\n\n');
            while (i >= 0) {
              events.push(buf.slice(0, i));
              buf = buf.slice(i + 2);
              i = buf.indexOf('\n\n');
            }
            if (events.length >= 1) firstSeen();
          });
          res.on('end', () => resolve({ type: res.headers['content-type'] }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    await first;
    // The upstream has sent one event and is waiting for the signal: nothing else can have come.
    assert.equal(events.length, 1);
    assert.equal(JSON.parse(events[0]!.replace(/^data: /, '')).n, 1);
    await Promise.all(ups.slice(0, 3).map((x) => x.release()));
    const { type } = await ended;
    assert.equal(type, 'text/event-stream');
    assert.deepEqual(
      events.map((e) => JSON.parse(e.replace(/^data: /, '')).n),
      [1, 2, 3],
    );
  });

  it('auth: no token 401, another principal 404, unknown 404, the operator and a derived UCAN pass', async () => {
    assert.equal((await call('/lb/main/echo', null)).status, 401);
    assert.equal((await call('/lb/main', null)).status, 401);
    const other = await call('/lb/main/echo', bob.key);
    assert.equal(other.status, 404);
    assert.equal(other.body.type, `${P}not-found`);
    assert.equal((await call('/lb/nope/echo', alice.key)).status, 404);
    assert.equal((await call('/lb/main/status', bob.key)).status, 404);
    assert.equal((await call('/lb/main/echo', g.admin)).status, 200);
    const mint = async (can: string[]) => {
      const r = await call('/tokens', alice.key, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ can }),
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.token as string;
    };
    const infer = await mint(['compute/infer']);
    assert.equal((await call('/lb/main/echo', infer)).status, 200);
    assert.equal((await call('/lb/main', infer)).status, 200);
    const narrow = await mint(['compute/discover']);
    assert.equal((await call('/lb/main/echo', narrow)).status, 403);
    assert.equal((await call('/lb/main', narrow)).status, 403);
    // Every method of the route table's `/lb/:id/*` rows, each cell.
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const cells: [string | null, number][] = [
        [null, 401],
        [bob.key, 404],
        [narrow, 403],
        [infer, 200],
        [alice.key, 200],
        [g.admin, 200],
      ];
      for (const [token, want] of cells) {
        const r = await call('/lb/main/echo', token, { method });
        assert.equal(r.status, want, `${method} with ${token === null ? 'no token' : token.slice(0, 8)}`);
      }
    }
  });

  it('status reports every endpoint; /metrics carries per-endpoint figures', async () => {
    const s = await call('/lb/main/status', alice.key);
    assert.equal(s.status, 200);
    assert.equal(s.body.policy, 'least_outstanding');
    assert.deepEqual(
      s.body.endpoints.map((e: Json) => [e.id, e.state]),
      [
        ['a', 'healthy'],
        ['b', 'healthy'],
        ['c', 'healthy'],
      ],
    );
    for (const e of s.body.endpoints) {
      assert.ok(e.requests > 0 && e.p50_ms > 0 && e.p99_ms >= e.p50_ms, JSON.stringify(e));
    }
    const m = await call('/metrics', null);
    for (const name of [
      'computemd_lb_requests_total{lb="main",endpoint="a"}',
      'computemd_lb_errors_total{lb="main",endpoint="b"}',
      'computemd_lb_ejections_total{lb="main",endpoint="c"}',
      'computemd_lb_upstream_duration_seconds_bucket{lb="main",endpoint="a",le="0.001"}',
      'computemd_lb_upstream_duration_seconds_count{lb="main",endpoint="a"}',
    ])
      assert.ok(m.body.text.includes(name), name);
  });

  it('a deadline answers 504 problem+json', async () => {
    lb.create({
      id: 'deadline',
      owner: alice.id,
      timeout_ms: 200,
      endpoints: [{ id: 'a', url: ups[0]!.url }],
    });
    const r = await call('/lb/deadline/slow?ms=3000', alice.key);
    assert.equal(r.status, 504);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    assert.equal(r.body.type, `${P}upstream-timeout`);
    lb.delete('deadline');
    assert.equal((await call('/lb/deadline/echo', alice.key)).status, 404);
  });

  it('every endpoint dead: 502 while failures are counted, then 503 with Retry-After', async () => {
    const dead = [
      { id: 'x', url: 'http://127.0.0.1:9' },
      { id: 'y', url: 'http://127.0.0.1:1' },
    ];
    lb.create({ id: 'dead', owner: alice.id, endpoints: dead });
    const statuses: number[] = [];
    let last = await call('/lb/dead/echo', alice.key);
    statuses.push(last.status);
    while (last.status !== 503 && statuses.length < 10) {
      last = await call('/lb/dead/echo', alice.key);
      statuses.push(last.status);
    }
    assert.equal(last.status, 503, statuses.join(' '));
    assert.ok(
      statuses.slice(0, -1).every((s) => s === 502),
      statuses.join(' '),
    );
    assert.equal(last.body.type, `${P}upstream-unavailable`);
    assert.ok(Number(last.headers.get('retry-after')) >= 1);
    // With active checks, a refused probe takes an endpoint out at once.
    lb.create({
      id: 'dead-hc',
      owner: alice.id,
      health_check: '/health',
      health: FAST_HEALTH,
      endpoints: dead,
    });
    await until('both unhealthy', () => lb.get('dead-hc')!.status().serving === 0);
    const r = await call('/lb/dead-hc/echo', alice.key);
    assert.equal(r.status, 503);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
  });

  it('POST without Idempotency-Key is never retried; with one it is', async () => {
    const [d, e] = [ups[3]!, ups[4]!];
    await d.control({ fail_status: 503 });
    lb.create({
      id: 'post',
      owner: alice.id,
      policy: 'round_robin',
      outlier: { consecutive_failures: 1000 },
      endpoints: [
        { id: 'd', url: d.url },
        { id: 'e', url: e.url },
      ],
    });
    const post = (id: string, key?: string) =>
      call('/lb/post/echo', alice.key, {
        method: 'POST',
        headers: {
          'x-request-id': id,
          'content-type': 'application/json',
          ...(key ? { 'idempotency-key': key } : {}),
        },
        body: '{"prompt":"hi"}',
      });
    const plain: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await post(`plain-${i}`);
      plain.push(r.status);
      const seen = (await d.stats(`plain-${i}`)).seen! + (await e.stats(`plain-${i}`)).seen!;
      assert.equal(seen, 1, `plain-${i} reached the upstreams ${seen} times`);
    }
    assert.ok(plain.includes(503) && plain.includes(200), plain.join(' '));
    let retried = 0;
    for (let i = 0; i < 4; i++) {
      const r = await post(`keyed-${i}`, `k-${i}`);
      assert.equal(r.status, 200);
      assert.equal((await e.stats(`keyed-${i}`)).seen, 1);
      retried += (await d.stats(`keyed-${i}`)).seen!;
    }
    assert.ok(retried >= 1, 'at least one keyed POST met the failing endpoint and was retried');
    const get = await call('/lb/post/echo', alice.key);
    assert.equal(get.status, 200);
    assert.ok(lb.get('post')!.status().retries >= retried);
    await d.control({ fail_status: 0 });
  });

  it('endpoints added and removed at run time take and stop taking traffic', async () => {
    const b = lb.create({ id: 'grow', owner: alice.id, endpoints: [{ id: 'a', url: ups[0]!.url }] });
    b.add({ id: 'e', url: ups[4]!.url, lease_id: 'ls_e' });
    const names = new Set<string>();
    for (let i = 0; i < 10; i++) names.add((await call('/lb/grow/echo', alice.key)).body.name);
    assert.deepEqual([...names].sort(), ['a', 'e']);
    assert.equal(b.remove('a'), true);
    assert.equal(b.remove('a'), false);
    for (let i = 0; i < 5; i++) assert.equal((await call('/lb/grow/echo', alice.key)).body.name, 'e');
    assert.deepEqual(
      b.status().endpoints.map((x) => [x.id, x.lease_id]),
      [['e', 'ls_e']],
    );
  });
});
