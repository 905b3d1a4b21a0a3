import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ComputeMdClient, ComputeMdError, type Query, toSearch } from './client.js';

// The client against a real HTTP server on loopback whose answers each test scripts.

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  accept: string | undefined;
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let base: string;
let seen: Seen[];
let handle: Handler;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        accept: req.headers.accept,
        body,
      });
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

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A client whose waits are recorded instead of slept. */
function client(opts: { token?: string; retries?: number; baseUrl?: string } = {}) {
  const waits: number[] = [];
  const c = new ComputeMdClient({
    baseUrl: opts.baseUrl ?? base,
    ...(opts.token ? { token: opts.token } : {}),
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  return { c, waits };
}

async function rejection(p: Promise<unknown>): Promise<ComputeMdError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ComputeMdError, `expected a ComputeMdError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('toSearch: query building', () => {
  const cases: { q: Query | undefined; search: string }[] = [
    { q: undefined, search: '' },
    { q: {}, search: '' },
    { q: { a: undefined, b: null }, search: '' },
    { q: { resource_type: 'GPU_A', max_price: 2.5 }, search: '?resource_type=GPU_A&max_price=2.5' },
    // Arrays are comma lists (the comma is percent-encoded by URLSearchParams, which servers decode).
    { q: { provider: ['aws', 'gcp', 'lambda'] }, search: '?provider=aws%2Cgcp%2Clambda' },
    { q: { min_gpu_count: [1, 8] }, search: '?min_gpu_count=1%2C8' },
    { q: { interruptible: false, limit: 0 }, search: '?interruptible=false&limit=0' },
    { q: { near: 'eu west', region: undefined, cursor: null }, search: '?near=eu+west' },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.q)} → ${JSON.stringify(c.search)}`, () => {
      assert.equal(toSearch(c.q), c.search);
    });
  }

  it('sends the built query on the wire, with the bearer token and accept header', async () => {
    const { c } = client({ token: 'tok-1' });
    await c.nodes({ resource_type: ['GPU_A', 'GPU_B'], max_price: 2.5, region: undefined });
    assert.deepEqual(seen, [
      {
        method: 'GET',
        url: '/nodes?resource_type=GPU_A%2CGPU_B&max_price=2.5',
        authorization: 'Bearer tok-1',
        accept: 'application/json',
        body: '',
      },
    ]);
    assert.equal(new URL(`${base}${seen[0]?.url}`).searchParams.get('resource_type'), 'GPU_A,GPU_B');
  });

  it('sends no authorization header without a token; a trailing slash on baseUrl is dropped', async () => {
    const { c } = client({ baseUrl: `${base}//` });
    await c.providers();
    assert.deepEqual(
      seen.map((s) => ({ url: s.url, authorization: s.authorization })),
      [{ url: '/providers', authorization: undefined }],
    );
  });

  it('POSTs the refresh body as JSON with the token', async () => {
    handle = (_req, res) => json(res, 200, { from: '/x', clouds: [] });
    const { c } = client({ token: 'tok-2' });
    const res = await c.refreshCatalog({ from: '/x', clouds: ['lambda'] });
    assert.deepEqual(res, { from: '/x', clouds: [] });
    assert.deepEqual(
      seen.map((s) => ({ method: s.method, url: s.url, auth: s.authorization, body: s.body })),
      [
        {
          method: 'POST',
          url: '/catalog/refresh',
          auth: 'Bearer tok-2',
          body: '{"from":"/x","clouds":["lambda"]}',
        },
      ],
    );
  });
});

describe('errors', () => {
  it('a problem+json answer is a ComputeMdError with its status and param', async () => {
    const problem = {
      type: 'https://computemd.dev/problems/invalid-parameter',
      title: 'Invalid parameter',
      status: 400,
      detail: 'max_price="abc" is not a number; give a number in 0..∞.',
      param: 'max_price',
    };
    handle = (_req, res) => json(res, 400, problem, { 'content-type': 'application/problem+json' });
    const { c } = client();
    const err = await rejection(c.nodes({ max_price: 'abc' }));
    assert.equal(err.status, 400);
    assert.equal(err.problem.param, 'max_price');
    assert.deepEqual(err.problem, problem);
    assert.equal(err.message, problem.detail);
  });

  const plain: { name: string; status: number; body: string; detail: string; title: string }[] = [
    {
      name: 'a text body',
      status: 502,
      body: 'upstream exploded',
      detail: 'upstream exploded',
      title: 'Bad Gateway',
    },
    { name: 'an empty body', status: 404, body: '', detail: 'Not Found', title: 'Not Found' },
    {
      name: 'JSON that is not a problem',
      status: 500,
      body: '{"oops":1}',
      detail: '{"oops":1}',
      title: 'Internal Server Error',
    },
  ];
  for (const p of plain) {
    it(`a non-problem error (${p.name}) keeps the status; the body becomes the detail`, async () => {
      handle = (_req, res) => {
        res.writeHead(p.status, { 'content-type': 'text/plain' });
        res.end(p.body);
      };
      const { c, waits } = client();
      const err = await rejection(c.health());
      assert.equal(err.status, p.status);
      assert.deepEqual(err.problem, {
        type: 'about:blank',
        title: p.title,
        status: p.status,
        detail: p.detail,
      });
      assert.deepEqual(waits, [], 'not retried');
    });
  }
});

describe('retries', () => {
  it('429 with Retry-After: 1 waits 1000 ms, then succeeds', async () => {
    handle = (_req, res) =>
      seen.length === 1
        ? json(
            res,
            429,
            { type: 'x', title: 'Too many requests', status: 429, detail: 'slow down' },
            { 'retry-after': '1' },
          )
        : json(res, 200, { status: 'ok' });
    const { c, waits } = client();
    assert.deepEqual(await c.health(), { status: 'ok' });
    assert.deepEqual(waits, [1000]);
    assert.equal(seen.length, 2);
  });

  it('503 is retried `retries` times with exponential backoff (250, 500 ms), then the error', async () => {
    handle = (_req, res) =>
      json(res, 503, { type: 'x', title: 'Service unavailable', status: 503, detail: 'warming up' });
    const { c, waits } = client({ retries: 2 });
    const err = await rejection(c.providers());
    assert.equal(err.status, 503);
    assert.equal(err.problem.detail, 'warming up');
    assert.deepEqual(waits, [250, 500]);
    assert.equal(seen.length, 3, '1 try + 2 retries');
  });

  it('retries: 0 answers the first 503', async () => {
    handle = (_req, res) =>
      json(res, 503, { type: 'x', title: 'Service unavailable', status: 503, detail: 'busy' });
    const { c, waits } = client({ retries: 0 });
    assert.equal((await rejection(c.providers())).status, 503);
    assert.deepEqual({ waits, requests: seen.length }, { waits: [], requests: 1 });
  });

  // The server drops the connection without answering: a GET is safe to repeat, a POST is not.
  const dropped: { method: 'GET' | 'POST'; requests: number; waits: number[] }[] = [
    { method: 'GET', requests: 3, waits: [250, 500] },
    { method: 'POST', requests: 1, waits: [] },
  ];
  for (const d of dropped) {
    it(`a dropped connection on ${d.method}: ${d.requests} request(s), then a status 0 error`, async () => {
      handle = (req) => req.socket.destroy();
      const { c, waits } = client({ token: 't', retries: 2 });
      const call = d.method === 'GET' ? c.health() : c.refreshCatalog({ clouds: ['lambda'] });
      const err = await rejection(call);
      assert.equal(err.status, 0);
      assert.deepEqual({ requests: seen.length, waits }, { requests: d.requests, waits: d.waits });
    });
  }

  it('connection refused is a status 0 error saying where and what to do', async () => {
    // A port that was just free: bind, read it, close.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));

    const { c, waits } = client({ baseUrl: `http://127.0.0.1:${port}`, retries: 1 });
    const err = await rejection(c.nodes());
    assert.equal(err.status, 0);
    assert.equal(err.problem.title, 'Gateway unreachable');
    assert.match(err.problem.detail, new RegExp(`^cannot reach http://127\\.0\\.0\\.1:${port}: `));
    assert.match(err.problem.detail, /Is `computemd serve` running\?$/);
    assert.deepEqual(waits, [250]);
  });
});

describe('nodesAll', () => {
  it('follows next_cursor across 3 pages, keeping the query', async () => {
    // Page 1 (no cursor) → c2, page 2 → c3, page 3 → null.
    const pages: Record<string, { ids: string[]; next: string | null }> = {
      '': { ids: ['of_1', 'of_2'], next: 'c2' },
      c2: { ids: ['of_3', 'of_4'], next: 'c3' },
      c3: { ids: ['of_5'], next: null },
    };
    handle = (req, res) => {
      const cursor = new URL(req.url ?? '/', base).searchParams.get('cursor') ?? '';
      const page = pages[cursor];
      if (!page) return json(res, 400, { type: 'x', title: 'bad', status: 400, detail: `cursor ${cursor}` });
      json(res, 200, {
        offers: page.ids.map((id) => ({ id })),
        count: page.ids.length,
        next_cursor: page.next,
      });
    };
    const { c } = client();
    const ids: string[] = [];
    for await (const o of c.nodesAll({ resource_type: 'GPU_A', limit: 2 })) ids.push(o.id);
    assert.deepEqual(ids, ['of_1', 'of_2', 'of_3', 'of_4', 'of_5']);
    assert.deepEqual(
      seen.map((s) => s.url),
      [
        '/nodes?resource_type=GPU_A&limit=2',
        '/nodes?resource_type=GPU_A&limit=2&cursor=c2',
        '/nodes?resource_type=GPU_A&limit=2&cursor=c3',
      ],
    );
  });
});

describe('priceStream', () => {
  it('parses SSE written in split chunks and yields only tick events', async () => {
    const tick1 = {
      kind: 'offer',
      at: '2025-10-09T08:00:00.000Z',
      id: 'of_1',
      price_per_hour: 2.49,
      note: 'ünï €',
    };
    const tick2 = { kind: 'aggregate', at: '2025-10-09T08:00:01.000Z', spot_key: 'traditional', price: 1.1 };
    const wire = Buffer.from(
      [
        ': keep-alive comment\n\n',
        'event: hello\ndata: {"version":"0.1.0"}\n\n',
        `event: tick\nid: 1\ndata: ${JSON.stringify(tick1)}\n\n`,
        'event: heartbeat\ndata: {}\n\n',
        `event: tick\r\ndata: ${JSON.stringify(tick2)}\r\n\r\n`,
      ].join(''),
      'utf8',
    );
    // Cut points inside a field name, inside the JSON, inside the multi-byte "€", and between \r and \n.
    const euro = wire.indexOf(Buffer.from('€'));
    const cuts = [5, 30, wire.indexOf(Buffer.from('event: tick')) + 9, euro + 1, wire.indexOf('\r\n') + 1];
    const bounds = [0, ...cuts.sort((a, b) => a - b), wire.length];
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const parts = bounds.slice(1).map((end, i) => wire.subarray(bounds[i], end));
      const next = () => {
        const p = parts.shift();
        if (!p) return res.end();
        res.write(p);
        setTimeout(next, 5); // separate writes so the client sees separate chunks
      };
      next();
    };
    const { c } = client({ token: 'tok-sse' });
    const ticks: unknown[] = [];
    for await (const t of c.priceStream()) ticks.push(t);
    assert.deepEqual(ticks, [tick1, tick2]);
    assert.deepEqual(
      seen.map((s) => ({ url: s.url, accept: s.accept, authorization: s.authorization })),
      [{ url: '/prices/stream', accept: 'text/event-stream', authorization: 'Bearer tok-sse' }],
    );
  });

  it('stops when the signal aborts', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: tick\ndata: ${JSON.stringify({ kind: 'offer', at: 'x' })}\n\n`);
      // ... and never ends.
    };
    const ac = new AbortController();
    const { c } = client();
    const got: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const t of c.priceStream(ac.signal)) {
          got.push(t);
          ac.abort();
        }
      })(),
      { name: 'AbortError' },
    );
    assert.deepEqual(got, [{ kind: 'offer', at: 'x' }]);
  });

  it('an error answer to the stream is a ComputeMdError', async () => {
    handle = (_req, res) =>
      json(res, 406, { type: 'x', title: 'Not acceptable', status: 406, detail: 'no SSE here' });
    const { c } = client();
    const err = await rejection(c.priceStream().next());
    assert.deepEqual(
      { status: err.status, detail: err.problem.detail },
      { status: 406, detail: 'no SSE here' },
    );
  });
});
