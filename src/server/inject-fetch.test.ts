import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { injectFetch } from './inject-fetch.js';

// injectFetch against a small real Fastify app: what goes in (method, path, query, headers, body,
// client address) and what comes out (status, headers, bytes, a stream read while it is written).

let app: FastifyInstance;
let releaseStream: () => void = () => {};

before(async () => {
  app = Fastify();
  app.post('/echo', async (req) => ({
    method: req.method,
    url: req.url,
    auth: req.headers.authorization ?? null,
    body: req.body,
    ip: req.ip,
  }));
  app.get('/empty', async (_req, reply) => reply.code(204).send());
  app.get('/multi', async (_req, reply) =>
    reply.header('x-list', ['a', 'b']).code(418).send({ teapot: true }),
  );
  app.get('/stream', (_req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
    reply.raw.write('event: one\ndata: 1\n\n');
    // The second event only once the test has read the first: the body really streams.
    releaseStream = () => reply.raw.end('event: two\ndata: 2\n\n');
  });
  await app.ready();
});
after(async () => {
  await app.close();
});

describe('injectFetch', () => {
  it('sends method, path with query, headers, a JSON body and the client address', async () => {
    const f = injectFetch(app, { remoteAddress: '203.0.113.9' });
    const r = await f('http://anything.invalid/echo?x=1&y=two', {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), {
      method: 'POST',
      url: '/echo?x=1&y=two',
      auth: 'Bearer t',
      body: { a: 1 },
      ip: '203.0.113.9',
    });
  });

  it('keeps the status and repeated headers; a 204 has no body', async () => {
    const f = injectFetch(app);
    const tea = await f('http://x/multi');
    assert.equal(tea.status, 418);
    assert.equal(tea.headers.get('x-list'), 'a, b');
    assert.deepEqual(await tea.json(), { teapot: true });
    const empty = await f('http://x/empty');
    assert.equal(empty.status, 204);
    assert.equal(empty.body, null);
  });

  it('streams: the first event is readable before the route has finished', async () => {
    const r = await injectFetch(app)('http://x/stream');
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), 'event: one\ndata: 1\n\n');
    releaseStream();
    let rest = '';
    for (let c = await reader.read(); !c.done; c = await reader.read())
      rest += new TextDecoder().decode(c.value);
    assert.equal(rest, 'event: two\ndata: 2\n\n');
  });

  it('refuses a body it cannot send rather than sending something else', async () => {
    await assert.rejects(
      injectFetch(app)('http://x/echo', { method: 'POST', body: new Blob(['x']) }),
      /string or Uint8Array bodies only/,
    );
  });
});
