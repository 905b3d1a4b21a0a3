import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { parseSse } from '../src/sdk/sse.js';
import { packagePath } from '../src/util/paths.js';
import { startTestGateway } from './helpers/gateway.js';

/** Scenarios that need a real socket or a changing market: SSE ticks, failing providers, refresh. */

describe('GET /prices/stream', () => {
  test('sends the spot prices first, then a tick when the market moves', async () => {
    const t = await startTestGateway();
    const ac = new AbortController();
    try {
      await t.gw.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = t.gw.app.server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/prices/stream`, { signal: ac.signal });
      assert.equal(res.status, 200);
      assert.match(String(res.headers.get('content-type')), /^text\/event-stream/);
      const events = parseSse(res.body!);
      const first = await events.next();
      assert.equal(first.value?.event, 'spot');
      const spot = JSON.parse(first.value!.data) as Record<string, Record<string, number | null>>;
      assert.equal(typeof spot.p2p_market!.GPU_A, 'number');
      // Spot prices move every 5 simulated minutes; move the clock 10 and refresh.
      t.clock.advance(10 * 60_000);
      await t.gw.refresher.refreshAll();
      const next = await events.next();
      assert.equal(next.value?.event, 'tick');
      const tick = JSON.parse(next.value!.data) as { kind: string; at: string };
      assert.ok(tick.kind === 'aggregate' || tick.kind === 'offer');
      assert.equal(tick.at, new Date(t.clock.now()).toISOString());
    } finally {
      ac.abort();
      await t.gw.close();
    }
  });
});

function failingServer(): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"internal"}');
    });
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

describe('a failing provider leaves the rest answering', () => {
  test('live Vast answering 500: /providers shows it down, /health degraded, /nodes still serves', async () => {
    const bad = await failingServer();
    const { port } = bad.address() as AddressInfo;
    const t = await startTestGateway((c) => {
      c.providers.vast = {
        enabled: true,
        api_key: 'test-key',
        base_url: `http://127.0.0.1:${port}`,
        cache_ttl_s: 0,
      };
    });
    try {
      const providers = (await t.gw.app.inject('/providers')).json() as {
        providers: {
          name: string;
          simulated: boolean;
          health: { status: string; last_error: string | null };
        }[];
      };
      const vast = providers.providers.filter((p) => p.name === 'vast');
      assert.equal(vast.length, 1, 'the live adapter replaces the catalog snapshot of Vast');
      assert.equal(vast[0]!.simulated, false);
      assert.notEqual(vast[0]!.health.status, 'ok');
      assert.match(String(vast[0]!.health.last_error), /500/);
      const health = (await t.gw.app.inject('/health')).json() as { status: string };
      assert.equal(health.status, 'degraded');
      const nodes = (await t.gw.app.inject('/nodes?resource_type=GPU_A&limit=5')).json() as {
        offers: Offer[];
      };
      assert.equal(nodes.offers.length, 5);
    } finally {
      await t.gw.close();
      bad.close();
    }
  });
});

describe('POST /catalog/refresh (operator)', () => {
  test('a valid catalog replaces the old one and /nodes shows its prices; a much smaller one is refused', async () => {
    const t = await startTestGateway();
    const token = readFileSync(t.gw.adminTokenPath, 'utf8').trim();
    const auth = { authorization: `Bearer ${token}` };
    const src = mkdtempSync(join(tmpdir(), 'computemd-catalog-'));
    try {
      const shipped = readFileSync(packagePath('data', 'catalogs', 'lambda', 'vms.csv'), 'utf8');
      // Same file with every gpu_1x_a10 row priced at 0.99 instead of its list price.
      const edited = shipped
        .split('\n')
        .map((l) =>
          l.startsWith('gpu_1x_a10,') ? l.replace(/,(\d+\.\d+),([a-z]+-[a-z]+-\d),/, ',0.99,$2,') : l,
        )
        .join('\n');
      assert.notEqual(edited, shipped);
      mkdirSync(join(src, 'lambda'));
      writeFileSync(join(src, 'lambda', 'vms.csv'), edited);
      const res = await t.gw.app.inject({
        method: 'POST',
        url: '/catalog/refresh',
        headers: auth,
        payload: { from: src, clouds: ['lambda'] },
      });
      assert.equal(res.statusCode, 200, res.body.slice(0, 300));
      const body = res.json() as { clouds: { cloud: string; status: string }[] };
      assert.deepEqual(
        body.clouds.map((c) => [c.cloud, c.status]),
        [['lambda', 'updated']],
      );
      const a10 = (
        await t.gw.app.inject('/nodes?provider=lambda&gpu_model=A10&min_available=0&limit=100')
      ).json() as {
        offers: Offer[];
      };
      assert.ok(a10.offers.length > 0);
      for (const o of a10.offers.filter((x) => x.sku === 'gpu_1x_a10'))
        assert.equal(o.list_price_per_hour, 0.99);

      // A file with two rows is "much smaller" than the 425-row catalog: kept, not replaced.
      writeFileSync(join(src, 'lambda', 'vms.csv'), shipped.split('\n').slice(0, 3).join('\n'));
      const small = await t.gw.app.inject({
        method: 'POST',
        url: '/catalog/refresh',
        headers: auth,
        payload: { from: src, clouds: ['lambda'] },
      });
      const kept = (small.json() as { clouds: { status: string; reason: string }[] }).clouds[0]!;
      assert.equal(kept.status, 'kept');
      assert.match(kept.reason, /smaller|rows/);
      const after = (await t.gw.app.inject('/providers/lambda')).json() as { offers: number };
      assert.ok(after.offers > 400, 'the lambda catalog still has all its offers');
    } finally {
      await t.gw.close();
    }
  });
});
