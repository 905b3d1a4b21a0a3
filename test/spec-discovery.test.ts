import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LATENCY_BANDS, PROVIDER_TYPES, SPEC_CLASSES } from '../src/protocol/glossary.js';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/**
 * The spec's discovery examples, run as written against a whole gateway on the shipped catalogs:
 * GET /nodes, GET /discover, GET /providers, GET /capabilities and the /prices/spot loop.
 */
let t: TestGateway;
before(async () => {
  t = await startTestGateway();
});
after(async () => {
  await t.gw.close();
});

async function get<T = Record<string, unknown>>(
  url: string,
): Promise<{ status: number; body: T; type: string }> {
  const res = await t.gw.app.inject({ method: 'GET', url });
  return { status: res.statusCode, body: res.json() as T, type: String(res.headers['content-type']) };
}

const bandRank = (b: string) => LATENCY_BANDS.indexOf(b as (typeof LATENCY_BANDS)[number]);

describe('GET /nodes?resource_type=GPU_A&max_price=2.50&latency_band=metro (the spec, verbatim)', () => {
  test('every offer is a flagship GPU under $2.50/GPU-hour within metro distance, cheapest first', async () => {
    const { status, body } = await get<{ offers: Offer[]; simulated: boolean }>(
      '/nodes?resource_type=GPU_A&max_price=2.50&latency_band=metro',
    );
    assert.equal(status, 200);
    assert.ok(body.offers.length > 0, 'the shipped catalogs have GPU_A offers near us-east-1 under $2.50');
    let last = 0;
    for (const o of body.offers) {
      assert.equal(o.resource_type, 'GPU_A');
      assert.ok(
        o.price_per_gpu_hour !== null && o.price_per_gpu_hour <= 2.5,
        `${o.id} ${o.price_per_gpu_hour}`,
      );
      assert.ok(bandRank(o.latency_band) <= bandRank('metro'), `${o.id} is ${o.latency_band}`);
      assert.ok(o.available >= 1, 'only offers with capacity by default');
      assert.ok(o.price_per_gpu_hour >= last, 'price_asc is the default order');
      last = o.price_per_gpu_hour;
      // per-GPU price is the node price over its GPUs
      assert.ok(Math.abs(o.price_per_gpu_hour * o.gpu_count - o.price_per_hour) < 1e-5);
    }
    assert.equal(
      body.simulated,
      body.offers.some((o) => o.simulated),
    );
  });

  test('a class, a profile, an alias and a model spelling all select offers', async () => {
    for (const rt of ['GPU_A', 'GPU_TYPE_A', 'TYPE_A', 'h100-sxm', 'NVIDIA H100 80GB HBM3']) {
      const { status, body } = await get<{ offers: Offer[] }>(
        `/nodes?resource_type=${encodeURIComponent(rt)}&limit=5`,
      );
      assert.equal(status, 200, rt);
      assert.ok(body.offers.length > 0, rt);
      if (rt !== 'GPU_A') for (const o of body.offers) assert.equal(o.gpu_model, 'H100', rt);
    }
  });

  test('GET /nodes/:id returns the same offer; an unknown id is a 404 problem', async () => {
    const { body } = await get<{ offers: Offer[] }>('/nodes?resource_type=GPU_B&limit=1');
    const first = body.offers[0]!;
    const one = await get<Offer>(`/nodes/${first.id}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, first);
    const missing = await get('/nodes/of_nope');
    assert.equal(missing.status, 404);
    assert.match(missing.type, /problem\+json/);
  });

  test('the local host is LAN from the gateway, and banded by distance from a near elsewhere', async () => {
    const here = await get<{ offers: Offer[] }>('/nodes?provider=local');
    assert.equal(here.body.offers[0]!.latency_band, 'LAN');
    assert.equal(here.body.offers[0]!.distance_km, 0);
    // us-east-1 (the gateway's default location) to eu-west-1 (Dublin) is ~5,500 km: global
    const far = await get<{ offers: Offer[] }>('/nodes?provider=local&near=eu-west-1');
    assert.equal(far.body.offers[0]!.latency_band, 'global');
    const metro = await get<{ offers: Offer[] }>('/nodes?near=eu-west-1&latency_band=metro&limit=1000');
    assert.ok(!metro.body.offers.some((o) => o.provider === 'local'));
  });

  test("the spec's placeholder provider names resolve to the cheapest provider of their type", async () => {
    const { status, body } = await get<{ offers: Offer[] }>('/nodes?provider=marketplace_beta&limit=20');
    assert.equal(status, 200);
    assert.ok(body.offers.length > 0);
    const providers = new Set(body.offers.map((o) => o.provider));
    assert.equal(providers.size, 1, 'one provider: the cheapest p2p marketplace');
    for (const o of body.offers) assert.equal(o.provider_type, 'p2p_marketplace');
  });
});

describe('GET /discover?gpu_hours=1000&min_memory_gb=24&max_price=1.00&sort=price_asc (the spec, verbatim)', () => {
  test('options that deliver 1000 reference GPU-hours, cheapest total first, with the arithmetic shown', async () => {
    const { status, body } = await get<{
      reference_profile: string;
      options: {
        offer: Offer;
        work_rate: number;
        gpu_hours_on_hardware: number;
        total_cost_usd: number;
        total_cost: string;
      }[];
    }>('/discover?gpu_hours=1000&min_memory_gb=24&max_price=1.00&sort=price_asc');
    assert.equal(status, 200);
    assert.equal(body.reference_profile, 'GPU_TYPE_A');
    assert.ok(body.options.length > 0);
    let last = 0;
    for (const o of body.options) {
      assert.ok(o.offer.gpu_memory_gb !== null && o.offer.gpu_memory_gb >= 24);
      assert.ok(o.offer.price_per_gpu_hour !== null && o.offer.price_per_gpu_hour <= 1.0);
      // hours on this hardware = 1000 reference GPU-hours / work_rate (dense FP16 vs H100 SXM's 989.4)
      assert.ok(Math.abs(o.gpu_hours_on_hardware - 1000 / o.work_rate) / o.gpu_hours_on_hardware < 1e-3);
      // total = GPU-hours on hardware × price per GPU-hour
      const expected = o.gpu_hours_on_hardware * o.offer.price_per_gpu_hour;
      assert.ok(
        Math.abs(o.total_cost_usd - expected) < 0.05 + expected * 1e-4,
        `${o.total_cost_usd} vs ${expected}`,
      );
      assert.match(o.total_cost, /^\$\d/);
      assert.ok(o.total_cost_usd >= last);
      last = o.total_cost_usd;
    }
  });
});

describe('GET /providers (Provider Abstraction)', () => {
  test("every provider type of the spec's market table has a provider, with the spec's fields", async () => {
    const { status, body } = await get<{
      endpoint: string;
      unified_access: boolean;
      providers: Record<string, unknown>[];
    }>('/providers');
    assert.equal(status, 200);
    assert.equal(body.endpoint, '/providers');
    assert.equal(body.unified_access, true);
    const types = new Set(body.providers.map((p) => p.type));
    for (const ty of PROVIDER_TYPES) assert.ok(types.has(ty), `no ${ty} provider`);
    for (const p of body.providers) {
      for (const k of [
        'name',
        'type',
        'available_resources',
        'resource_types',
        'payment',
        'latency_band',
        'simulated',
        'health',
      ]) {
        assert.ok(k in p, `${p.name} lacks ${k}`);
      }
      if (p.price_min_per_gpu_hour !== null)
        assert.match(String(p.price_range), /^\$\d+(\.\d+)?-\d+(\.\d+)?\/hr$/);
    }
    const local = body.providers.find((p) => p.name === 'local')!;
    assert.equal(local.type, 'edge');
    assert.equal(local.latency_band, 'LAN');
    assert.equal(local.simulated, false);
    const aws = body.providers.find((p) => p.name === 'aws')!;
    assert.equal(aws.simulated, true);
    assert.equal((aws.health as { status: string }).status, 'ok');
  });

  test('GET /providers/:name; an unknown name is a 404 problem naming it', async () => {
    assert.equal((await get('/providers/lambda')).status, 200);
    const r = await get<{ param: string }>('/providers/nope');
    assert.equal(r.status, 404);
    assert.equal(r.body.param, 'name');
  });
});

describe('GET /capabilities (Capability Vectors)', () => {
  test("GPU_TYPE_A and GPU_TYPE_B as the spec shows them, the spec's latency bands, and offered models", async () => {
    const { body } = await get<{
      resource_profiles: Record<string, Record<string, unknown>>;
      latency_bands: Record<string, string>;
    }>('/capabilities');
    const a = body.resource_profiles.GPU_TYPE_A!;
    assert.deepEqual(
      [
        a.fp16_tflops,
        a.fp32_tflops,
        a.int8_tops,
        a.memory_gb,
        a.bandwidth_gb_s,
        a.interconnect,
        a.typical_price,
      ],
      [989, 67, 3958, 80, 3350, 'HighSpeed_900GB/s', '$2.49/hr'],
    );
    assert.equal(a.canonical_model, 'H100');
    const b = body.resource_profiles.GPU_TYPE_B!;
    assert.deepEqual(
      [b.fp16_tflops, b.memory_gb, b.bandwidth_gb_s, b.canonical_model],
      [82, 24, 1008, 'RTX4090'],
    );
    assert.deepEqual(body.latency_bands, {
      LAN: '1-3ms',
      metro: '3-10ms',
      regional: '10-30ms',
      global: '30-100ms',
    });
    // the canonical (dense) profile of an offered model, used for work normalisation
    assert.equal(body.resource_profiles.H100!.fp16_tflops, 989.4);
    assert.equal(body.resource_profiles['A100-80GB']!.fp16_tflops, 312);
  });
});

describe("GET /prices/spot (the spec's Python loop)", () => {
  test("prices['p2p_market'][rt] and prices['traditional'][rt] are numbers for GPU_A, GPU_B, GPU_C", async () => {
    const { body: prices } = await get<Record<string, Record<string, number | null>>>('/prices/spot');
    for (const rt of SPEC_CLASSES) {
      const p2p = prices.p2p_market![rt];
      const cloud = prices.traditional![rt];
      assert.equal(typeof p2p, 'number', `p2p_market ${rt}`);
      assert.equal(typeof cloud, 'number', `traditional ${rt}`);
      // a spot price is a positive USD/GPU-hour the loop can compare
      assert.ok(p2p! > 0 && cloud! > 0, `${rt}: ${p2p} / ${cloud}`);
    }
    for (const key of ['decentralized_cloud', 'decentralized_compute', 'serverless_compute', 'edge']) {
      assert.ok(key in prices, key);
      for (const rt of SPEC_CLASSES) assert.ok(rt in prices[key]!, `${key}.${rt}`);
    }
    assert.equal(prices.edge!.GPU_A, null, 'this host has no GPU: null, not a made-up price');
  });

  test('the spot minimum equals the cheapest matching /nodes offer', async () => {
    const { body: prices } = await get<Record<string, Record<string, number | null>>>('/prices/spot');
    const { body } = await get<{ offers: Offer[] }>(
      '/nodes?resource_type=GPU_C&provider_type=p2p_marketplace&limit=1',
    );
    assert.equal(prices.p2p_market!.GPU_C, body.offers[0]!.price_per_gpu_hour);
  });
});
