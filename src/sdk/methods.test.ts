import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Problem } from '../protocol/problem.js';
import { ComputeMdClient } from './client.js';
import {
  AuthenticationError,
  ComputeMdError,
  ConflictError,
  errorFor,
  ForbiddenError,
  InfeasibleError,
  InvalidRequestError,
  NotFoundError,
  PaymentRequiredError,
  UnavailableError,
  UnreachableError,
} from './errors.js';

// The client's newer methods against a real HTTP server on loopback whose answers each test
// scripts: headers and bodies on the wire, retries by whether a call is safe to repeat, streams.

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
let server: Server;
let base: string;
let seen: Seen[];
let handle: (req: IncomingMessage, res: ServerResponse, body: string) => void;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handle(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  seen = [];
  handle = (_req, res) => json(res, 200, { ok: true });
});

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
const client = (token = 'tok') => new ComputeMdClient({ baseUrl: base, token, sleep: async () => {} });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('Idempotency-Key on creating calls', () => {
  const creating: [string, (c: ComputeMdClient) => Promise<unknown>, string][] = [
    ['book', (c) => c.book({ plan_id: 'plan_1' }), 'POST /book'],
    ['bookPlan', (c) => c.bookPlan('plan_1', { run: { command: ['true'] } }), 'POST /book'],
    ['cancelBooking', (c) => c.cancelBooking('bk_1'), 'POST /bookings/bk_1/cancel'],
    ['cancelLease', (c) => c.cancelLease('ls_1'), 'POST /leases/ls_1/cancel'],
    ['credit', (c) => c.credit('pr_1', 5), 'POST /accounts/pr_1/credit'],
    [
      'orchestrate',
      (c) => c.orchestrate({ workload: { type: 'cpu', compute_hours: 1 } }),
      'POST /orchestrate',
    ],
    ['createPrincipal', (c) => c.createPrincipal({ role: 'requester', name: 'a' }), 'POST /principals'],
    ['createToken', (c) => c.createToken({ can: ['compute/discover'] }), 'POST /tokens'],
  ];
  for (const [name, call, route] of creating) {
    it(`${name} sends a fresh UUID as Idempotency-Key (${route})`, async () => {
      const c = client();
      await call(c);
      await call(c);
      assert.deepEqual(
        seen.map((s) => `${s.method} ${s.url}`),
        [route, route],
      );
      const [k1, k2] = seen.map((s) => String(s.headers['idempotency-key']));
      assert.match(k1 ?? '', UUID);
      assert.notEqual(k1, k2, 'each call its own key');
    });
  }

  it('a given key is sent as is; bookPlan puts plan_id in the body beside what else it carries', async () => {
    await client().bookPlan('plan_9', { payment: { method: 'credits' } }, { idempotencyKey: 'k-42' });
    assert.equal(seen[0]?.headers['idempotency-key'], 'k-42');
    assert.deepEqual(JSON.parse(seen[0]?.body ?? ''), { payment: { method: 'credits' }, plan_id: 'plan_9' });
  });

  // A dropped connection: retried where the gateway replays a repeated key, not where a repeat
  // would mint a second secret.
  const dropped: [string, (c: ComputeMdClient) => Promise<unknown>, number][] = [
    ['book (the gateway replays the key)', (c) => c.book({ plan_id: 'p' }), 3],
    [
      'createPrincipal (a second key would be minted)',
      (c) => c.createPrincipal({ role: 'provider', name: 'x' }),
      1,
    ],
    ['createToken (likewise)', (c) => c.createToken({ can: ['compute/book'] }), 1],
  ];
  for (const [name, call, requests] of dropped) {
    it(`dropped connection on ${name}: ${requests} request(s)`, async () => {
      handle = (req) => req.socket.destroy();
      await assert.rejects(call(client()), UnreachableError);
      assert.equal(seen.length, requests);
      assert.equal(new Set(seen.map((s) => s.headers['idempotency-key'])).size, 1, 'one key for every try');
    });
  }
});

describe('other wire forms', () => {
  it('oauthToken posts a form with the client credentials and no bearer token', async () => {
    handle = (_req, res) => json(res, 200, { access_token: 'jwt', token_type: 'Bearer', expires_in: 900 });
    const t = await client('my-api-key').oauthToken('tok_1', 'key_secret', [
      'compute/discover',
      'compute/book',
    ]);
    assert.equal(t.access_token, 'jwt');
    const s = seen[0] as Seen;
    assert.equal(s.headers.authorization, undefined);
    assert.equal(s.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(s.body)), {
      grant_type: 'client_credentials',
      client_id: 'tok_1',
      client_secret: 'key_secret',
      scope: 'compute/discover compute/book',
    });
  });

  it('leaseLogs yields log, state and end events and stops at end though the stream stays open', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': keep-alive\n\n');
      res.write('id: 1\nevent: log\ndata: {"seq":1,"at":"t","stream":"stdout","line":"hi"}\n\n');
      res.write('event: state\ndata: {"state":"completed","at":"t","reason":"done"}\n\n');
      res.write('event: end\ndata: {"state":"completed"}\n\n');
      // ...and never ends: the client must stop on `end` by itself.
    };
    const got: unknown[] = [];
    for await (const e of client().leaseLogs('ls_1', { follow: true, after: 7 })) got.push(e);
    assert.deepEqual(got, [
      { event: 'log', seq: 1, at: 't', stream: 'stdout', line: 'hi' },
      { event: 'state', state: 'completed', at: 't', reason: 'done' },
      { event: 'end', state: 'completed' },
    ]);
    assert.equal(seen[0]?.url, '/leases/ls_1/logs?follow=true&after=7');
    assert.equal(seen[0]?.headers.accept, 'text/event-stream');
    server.closeAllConnections();
  });

  it('an error event mid-stream is an error, not a quiet end', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: log\ndata: {"seq":1,"at":"t","stream":"stdout","line":"a"}\n\n');
      res.end('event: error\ndata: {"detail":"the log stream failed; reconnect with after=<last seq>"}\n\n');
    };
    const got: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const e of client().leaseLogs('ls_1')) got.push(e);
      })(),
      (e: ComputeMdError) => /reconnect with after/.test(e.problem.detail),
    );
    assert.equal(got.length, 1);
  });

  it('leaseOutput returns the bytes; putOutput sends them as octets', async () => {
    const bytes = new Uint8Array([0, 255, 10, 13]);
    handle = (req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return res.end(Buffer.from(bytes));
      }
      json(res, 201, { lease_id: 'ls_1', name: 'a b', sha256: 'x', bytes: 4 });
    };
    assert.deepEqual(await client().leaseOutput('ls_1', 'dir/out.bin'), bytes);
    assert.equal(seen[0]?.url, '/leases/ls_1/outputs/dir%2Fout.bin');
    await client().putOutput('ls_1', 'a b', new TextEncoder().encode('abc'));
    assert.deepEqual(
      [seen[1]?.method, seen[1]?.url, seen[1]?.body],
      ['PUT', '/leases/ls_1/outputs/a%20b', 'abc'],
    );
  });

  it('checkpointsAll follows next_after until the chain ends', async () => {
    handle = (req, res) => {
      const after = new URL(req.url ?? '/', base).searchParams.get('after');
      const seqs = after === null ? [0, 1] : after === '1' ? [2] : [];
      json(res, 200, {
        lease_id: 'ls_1',
        node: 'did:key:z',
        checkpoints: seqs.map((seq) => ({ seq, jws: `j${seq}` })),
        next_after: after === null ? '1' : null,
      });
    };
    const all = await client().checkpointsAll('ls_1');
    assert.deepEqual(
      all.checkpoints.map((c) => c.jws),
      ['j0', 'j1', 'j2'],
    );
    assert.deepEqual(
      seen.map((s) => s.url),
      ['/leases/ls_1/checkpoints?limit=1000', '/leases/ls_1/checkpoints?limit=1000&after=1'],
    );
  });
});

describe('typed errors', () => {
  const P = 'https://computemd.dev/problems/';
  const cases: [number, string, new (...a: never[]) => ComputeMdError, string][] = [
    [0, 'about:blank', UnreachableError, 'unreachable'],
    [400, `${P}invalid-parameter`, InvalidRequestError, 'invalid-parameter'],
    [401, `${P}token-revoked`, AuthenticationError, 'token-revoked'],
    [402, `${P}payment-required`, PaymentRequiredError, 'payment-required'],
    [403, `${P}caveat-max-spend-usd`, ForbiddenError, 'caveat-max-spend-usd'],
    [404, `${P}not-found`, NotFoundError, 'not-found'],
    [409, `${P}conflict`, ConflictError, 'conflict'],
    [422, `${P}infeasible`, InfeasibleError, 'infeasible'],
    [422, `${P}invalid-signature`, InvalidRequestError, 'invalid-signature'],
    [429, `${P}rate-limited`, UnavailableError, 'rate-limited'],
    [500, `${P}internal`, ComputeMdError, 'internal'],
  ];
  for (const [status, type, cls, kind] of cases) {
    it(`${status} ${kind} → ${cls.name}`, () => {
      const p: Problem = { type, title: 't', status, detail: 'd' };
      const e = errorFor(status, p);
      assert.ok(e instanceof cls);
      assert.ok(e instanceof ComputeMdError);
      assert.equal(e.kind, kind);
    });
  }

  it('a problem+json answer arrives as its class, with the problem intact', async () => {
    handle = (_req, res) => {
      res.writeHead(403, { 'content-type': 'application/problem+json' });
      res.end(
        JSON.stringify({ type: `${P}caveat-max-spend-usd`, title: 't', status: 403, detail: 'over $50' }),
      );
    };
    const err = await client()
      .book({ plan_id: 'p' })
      .catch((e: unknown) => e);
    assert.ok(err instanceof ForbiddenError);
    assert.equal(err.problem.detail, 'over $50');
    assert.equal(err.message, 'over $50');
  });
});
