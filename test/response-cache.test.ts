import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeMsgpack } from '../src/server/encoding/msgpack.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/** Discovery replies are reused until the market snapshot changes, and never after. */
let t: TestGateway;
before(async () => {
  t = await startTestGateway();
});
after(async () => {
  await t.gw.close();
});

const get = (url: string, headers: Record<string, string> = {}) =>
  t.gw.app.inject({ method: 'GET', url, headers });

describe('response cache', () => {
  const url = '/nodes?resource_type=GPU_A&max_price=2.5&limit=10';

  test('the same query twice: the second is a hit with the same bytes and ETag', async () => {
    const a = await get(url);
    const b = await get(url);
    assert.equal(a.headers['x-cache'], 'miss');
    assert.equal(b.headers['x-cache'], 'hit');
    assert.equal(b.body, a.body);
    assert.equal(b.headers.etag, a.headers.etag);
    assert.match(String(b.headers['content-type']), /^application\/json/);
  });

  test('If-None-Match with the current ETag is a 304 with no body', async () => {
    const { headers } = await get(url);
    const r = await get(url, { 'if-none-match': String(headers.etag) });
    assert.equal(r.statusCode, 304);
    assert.equal(r.body, '');
  });

  test('each encoding is cached apart; Cache-Control: no-cache computes afresh', async () => {
    const json = (await get(url)).json();
    await get(url, { accept: 'application/msgpack' });
    const mp = await get(url, { accept: 'application/msgpack' });
    assert.equal(mp.headers['x-cache'], 'hit');
    assert.match(String(mp.headers['content-type']), /^application\/msgpack/);
    assert.deepEqual(decodeMsgpack(mp.rawPayload), json);
    const fresh = await get(url, { 'cache-control': 'no-cache' });
    assert.equal(fresh.headers['x-cache'], undefined);
    assert.equal(fresh.body, JSON.stringify(json));
  });

  test('a refresh that moves prices drops every cached reply', async () => {
    const before = await get('/prices/spot');
    assert.equal((await get('/prices/spot')).headers['x-cache'], 'hit');
    t.clock.advance(10 * 60_000); // spot prices move every 5 simulated minutes
    await t.gw.refresher.refreshAll();
    const afterRefresh = await get('/prices/spot');
    assert.equal(afterRefresh.headers['x-cache'], 'miss');
    assert.notEqual(afterRefresh.headers.etag, before.headers.etag);
    assert.notEqual(afterRefresh.body, before.body, 'the new snapshot has new prices');
    const stale = await get('/prices/spot', { 'if-none-match': String(before.headers.etag) });
    assert.equal(stale.statusCode, 200, 'an old ETag never matches a new snapshot');
  });

  test('errors are never cached', async () => {
    const a = await get('/nodes?max_price=abc');
    const b = await get('/nodes?max_price=abc');
    assert.equal(a.statusCode, 400);
    assert.equal(b.statusCode, 400);
    assert.equal(b.headers['x-cache'], undefined);
  });
});
