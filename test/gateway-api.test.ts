import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NODES_QUERY_KEYS } from '../src/market/index.js';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { NodesQueryProperties } from '../src/protocol/schemas/queries.js';
import { decodeMsgpack } from '../src/server/encoding/msgpack.js';
import { decodeProtobuf } from '../src/server/encoding/protobuf.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/** The gateway's HTTP contract beyond the spec's examples: errors, encodings, metrics, docs. */
let t: TestGateway;
before(async () => {
  t = await startTestGateway();
});
after(async () => {
  await t.gw.close();
});

const inject = (url: string, headers: Record<string, string> = {}) =>
  t.gw.app.inject({ method: 'GET', url, headers });

describe('bad input is a 4xx problem+json naming the parameter, never a 5xx', () => {
  const cases: [url: string, status: number, param: string | undefined][] = [
    ['/nodes?max_price=abc', 400, 'max_price'],
    ['/nodes?limit=-1', 400, 'limit'],
    ['/nodes?limit=0', 400, 'limit'],
    ['/nodes?limit=1001', 400, 'limit'],
    ['/nodes?limit=2.5', 400, 'limit'],
    ['/nodes?limit=1e999', 400, 'limit'],
    ['/nodes?resource_type=GPU_Z', 400, 'resource_type'],
    ['/nodes?resource_type=', 400, 'resource_type'],
    ['/nodes?foo=1', 400, 'foo'],
    ['/nodes?max_price=1&max_price=2', 400, 'max_price'],
    ['/nodes?latency_band=space', 400, 'latency_band'],
    ['/nodes?near=999,999', 400, 'near'],
    ['/nodes?near=atlantis', 400, 'near'],
    ['/nodes?interruptible=maybe', 400, 'interruptible'],
    ['/nodes?min_reliability=1.5', 400, 'min_reliability'],
    ['/nodes?sort=cheapest', 400, 'sort'],
    ['/nodes?cursor=garbage', 400, 'cursor'],
    ['/nodes?provider=nosuchcloud', 400, 'provider'],
    ['/nodes?provider_type=mainframe', 400, 'provider_type'],
    ['/nodes?min_available=-1', 400, 'min_available'],
    ['/discover?gpu_hours=-5', 400, 'gpu_hours'],
    ['/discover?gpu_hours=abc', 400, 'gpu_hours'],
    ['/discover?reference_profile=GPU_Z', 400, 'reference_profile'],
    ['/discover?workload_kind=mining', 400, 'workload_kind'],
    ['/discover?bogus=1', 400, 'bogus'],
    ['/prices/history?since=yesterday', 400, 'since'],
    ['/prices/history?resource_type=GPU_Z', 400, 'resource_type'],
    ['/prices/history?extra=1', 400, 'extra'],
    ['/nodes/of_nope', 404, 'id'],
    ['/no/such/route', 404, undefined],
  ];
  for (const [url, status, param] of cases) {
    test(`${url} → ${status}${param ? ` naming ${param}` : ''}`, async () => {
      const res = await inject(url);
      assert.equal(res.statusCode, status, res.body.slice(0, 300));
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const p = res.json() as { type: string; title: string; status: number; detail: string; param?: string };
      assert.match(p.type, /^https:\/\/computemd\.dev\/problems\//);
      assert.equal(p.status, status);
      assert.ok(p.detail.length > 10, 'a detail a person can act on');
      assert.equal(p.param, param);
    });
  }

  test('the OpenAPI query parameters and the parser accept the same keys', () => {
    assert.deepEqual(Object.keys(NodesQueryProperties).sort(), [...NODES_QUERY_KEYS].sort());
  });
});

describe('encodings by Accept', () => {
  const url = '/nodes?resource_type=GPU_B&limit=20';
  test('MessagePack carries exactly the JSON body', async () => {
    const json = (await inject(url)).json();
    const res = await inject(url, { accept: 'application/msgpack' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/msgpack/);
    assert.deepEqual(decodeMsgpack(res.rawPayload), json);
  });
  test('Protobuf (computemd.v1.OfferList) carries the same offers', async () => {
    const json = (await inject(url)).json() as { offers: Offer[] };
    const res = await inject(url, { accept: 'application/x-protobuf' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /proto=computemd\.v1\.OfferList/);
    const decoded = decodeProtobuf(res.rawPayload, 'OfferList') as { offers: Offer[] };
    assert.deepEqual(decoded.offers, json.offers);
  });
  test('every JSON endpoint answers in MessagePack and Protobuf (Envelope)', async () => {
    for (const u of [
      '/providers',
      '/capabilities',
      '/prices/spot',
      '/discover?gpu_hours=10&limit=2',
      '/health',
    ]) {
      const json = (await inject(u)).json();
      const mp = await inject(u, { accept: 'application/msgpack' });
      assert.equal(mp.statusCode, 200, u);
      const fromMp = decodeMsgpack(mp.rawPayload) as Record<string, unknown>;
      const pb = await inject(u, { accept: 'application/x-protobuf' });
      assert.equal(pb.statusCode, 200, u);
      const fromPb = decodeProtobuf(pb.rawPayload) as Record<string, unknown>;
      if (u !== '/health') {
        assert.deepEqual(fromMp, json, u);
        assert.deepEqual(fromPb, json, u);
      } else {
        assert.equal(fromPb.status, 'ok');
      }
    }
  });
  test('nothing acceptable → 406 problem listing the types', async () => {
    const res = await inject('/nodes', { accept: 'text/html' });
    assert.equal(res.statusCode, 406);
    assert.match(res.body, /application\/msgpack/);
  });
  test('/metrics and /docs keep their own types whatever Accept says', async () => {
    assert.match(String((await inject('/metrics')).headers['content-type']), /^text\/plain/);
    assert.match(String((await inject('/docs')).headers['content-type']), /^text\/html/);
  });
});

describe('metrics, health and documentation', () => {
  test('/metrics is Prometheus text with request counts, latency and offers per provider', async () => {
    await inject('/nodes?limit=1');
    const body = (await inject('/metrics')).body;
    assert.match(body, /# TYPE computemd_http_requests_total counter/);
    assert.match(body, /computemd_http_requests_total\{method="GET",route="\/nodes",status="200"\} \d+/);
    assert.match(
      body,
      /computemd_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/nodes"\}/,
    );
    assert.match(body, /computemd_market_offers\{provider="aws"\} [1-9]\d*/);
    assert.match(body, /computemd_provider_up\{provider="local"\} 1/);
  });
  test("/health names the gateway's own DID, whose key is stored 0600 in the data dir", async () => {
    const h = (await inject('/health')).json() as { did?: string };
    assert.match(h.did ?? '', /^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]+$/); // Ed25519 did:key
    const file = join(t.dataDir, 'gateway.key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { did: string }).did, h.did);
  });
  test('/health reports the market', async () => {
    const h = (await inject('/health')).json() as {
      status: string;
      offers: number;
      providers: { ok: number; total: number };
    };
    assert.equal(h.status, 'ok');
    assert.ok(h.offers > 5000, `${h.offers} offers from the shipped catalogs`);
    assert.equal(h.providers.ok, h.providers.total);
  });
  test('/openapi.json is OpenAPI 3.1 with every discovery path and its parameters', async () => {
    const doc = (await inject('/openapi.json')).json() as {
      openapi: string;
      paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
    };
    assert.equal(doc.openapi, '3.1.0');
    for (const p of [
      '/nodes',
      '/nodes/{id}',
      '/discover',
      '/providers',
      '/providers/{name}',
      '/capabilities',
      '/prices/spot',
      '/prices/history',
      '/prices/stream',
      '/health',
      '/catalog/refresh',
    ]) {
      assert.ok(doc.paths[p], `missing ${p}`);
    }
    const names = doc.paths['/nodes']!.get!.parameters!.map((x) => x.name);
    for (const k of ['resource_type', 'max_price', 'latency_band', 'near', 'cursor'])
      assert.ok(names.includes(k), k);
  });
  test('/docs renders the reference', async () => {
    const html = (await inject('/docs')).body;
    assert.match(html, /<h1>computemd/);
    assert.match(html, /\/discover/);
  });
});

describe('known-bad catalog rows never reach a planner at a price nobody sells', () => {
  const all = async (q: string) => {
    const out: Offer[] = [];
    let cursor: string | null = null;
    do {
      const res = await inject(`/nodes?${q}&min_available=0&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      const body = res.json() as { offers: Offer[]; next_cursor: string | null };
      out.push(...body.offers);
      cursor = body.next_cursor;
    } while (cursor);
    return out;
  };
  test('GCP H100 on-demand is priced from the second source, not the flat $4.20/GPU rows', async () => {
    const h100 = await all('provider=gcp&gpu_model=H100&interruptible=false');
    assert.ok(h100.length > 0);
    for (const o of h100)
      assert.ok(o.list_price_per_hour / o.gpu_count > 5, `${o.sku} ${o.region} ${o.list_price_per_hour}`);
    assert.ok(h100.some((o) => o.data_quality.includes('price_corrected:gcp_cyclenerd')));
  });
  test('Mithril placeholder prices are dropped', async () => {
    const res = await inject('/providers/mithril');
    const p = res.json() as {
      offers: number;
      catalog_report: { dropped: Record<string, { count: number }> };
    };
    assert.equal(p.offers, 0, 'every Mithril row is a placeholder (1.0 / 8.0)');
    assert.ok(Object.keys(p.catalog_report.dropped).some((k) => /placeholder/.test(k)));
  });
  test('no interruptible offer lists above the on-demand price of the same node', async () => {
    const offers = await all('provider=runpod');
    const onDemand = new Map(
      offers.filter((o) => !o.interruptible).map((o) => [`${o.sku}|${o.region}|${o.zone}`, o]),
    );
    let compared = 0;
    for (const o of offers.filter((x) => x.interruptible)) {
      const od = onDemand.get(`${o.sku}|${o.region}|${o.zone}`);
      if (!od) continue;
      compared++;
      assert.ok(
        o.list_price_per_hour <= od.list_price_per_hour,
        `${o.sku} spot ${o.list_price_per_hour} > ${od.list_price_per_hour}`,
      );
    }
    assert.ok(compared > 100);
    assert.ok(
      !offers.some((o) => o.gpu_model === 'L40S' && o.interruptible),
      'the swapped L40S spot rows are dropped',
    );
  });
});

describe('principals', () => {
  test('first start wrote admin.token (0600); a spending or creating call without it is 401', async () => {
    const token = readFileSync(t.gw.adminTokenPath, 'utf8').trim();
    assert.match(token, /^cmd_admin_/);
    const anon = await t.gw.app.inject({ method: 'POST', url: '/catalog/refresh', payload: {} });
    assert.equal(anon.statusCode, 401);
    assert.match(String(anon.headers['www-authenticate']), /Bearer/);
    const wrong = await t.gw.app.inject({
      method: 'GET',
      url: '/nodes?limit=1',
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(wrong.statusCode, 401, 'a wrong token is refused, not treated as anonymous');
    const bad = await t.gw.app.inject({
      method: 'POST',
      url: '/catalog/refresh',
      headers: { authorization: `Bearer ${token}` },
      payload: { from: 5 },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal((bad.json() as { param: string }).param, 'from');
  });
});
