import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OfferInput } from '../providers/offer.js';
import { newMarket, offer, q } from './testing.js';

// Distances from the default location (AWS us-east-1, Ashburn 39.04,-77.49):
//   aws us-east-1 0 km metro · lambda us-east-1 (Virginia centre) ≈ 206 km metro ·
//   vast Maryland centre ≈ 73 km metro · runpod US centroid ≈ 1,600 km regional ·
//   vast Oregon centre ≈ 3,500 km global · gcp europe-west4 ≈ 6,000 km global.
const OFFERS: Record<string, OfferInput[]> = {
  aws: [
    offer({ provider: 'aws', sku: 'p5.48xlarge', gpu_count: 8, price_per_hour: 98.32, reliability: 0.999 }), // $12.29/GPU-h
    offer({
      provider: 'aws',
      sku: 'p5.48xlarge',
      gpu_count: 8,
      price_per_hour: 40,
      interruptible: true,
      zone: 'us-east-1a',
      reliability: 0.9,
    }), // $5/GPU-h
    offer({
      provider: 'aws',
      sku: 'm7i.8xlarge',
      gpu_model: null,
      gpu_count: 0,
      vcpus: 32,
      memory_gb: 128,
      price_per_hour: 1.6,
    }),
  ],
  lambda: [offer({ provider: 'lambda', sku: 'gpu_1x_h100_sxm5', price_per_hour: 2.49, reliability: 0.995 })],
  vast: [
    offer({
      provider: 'vast',
      provider_type: 'p2p_marketplace',
      sku: 'm1',
      gpu_model: 'RTX4090',
      price_per_hour: 0.35,
      interruptible: true,
      region: 'Oregon, US, NA',
      reliability: 0.95,
    }),
    offer({
      provider: 'vast',
      provider_type: 'p2p_marketplace',
      sku: 'm2',
      gpu_model: 'RTX4090',
      gpu_count: 2,
      price_per_hour: 0.8,
      region: 'Maryland, US, NA',
      reliability: 0.97,
    }), // $0.40/GPU-h
  ],
  runpod: [
    offer({
      provider: 'runpod',
      provider_type: 'p2p_marketplace',
      sku: 'A100-80GB',
      gpu_model: 'A100-80GB',
      price_per_hour: 1.29,
      region: 'US',
      reliability: 0.98,
    }),
  ],
  gcp: [
    offer({
      provider: 'gcp',
      sku: 'a3-highgpu-8g',
      gpu_count: 8,
      price_per_hour: 88,
      region: 'europe-west4',
    }),
  ], // $11/GPU-h
  local: [
    offer({
      provider: 'local',
      provider_type: 'edge',
      sku: 'host',
      gpu_model: 'RTX4090',
      price_per_hour: 0.1,
      region: 'local',
      latency_band: 'LAN',
    }),
  ],
};

const { market, ctx } = newMarket(OFFERS);
const skus = (qs: string) =>
  market.query(q(ctx, qs)).offers.map((o) => `${o.provider}/${o.sku}${o.interruptible ? '*' : ''}`);

describe('market query', () => {
  it('filters, one by one (price_asc)', () => {
    const table: [string, string[]][] = [
      [
        'resource_type=GPU_A',
        ['lambda/gpu_1x_h100_sxm5', 'aws/p5.48xlarge*', 'gcp/a3-highgpu-8g', 'aws/p5.48xlarge'],
      ],
      ['resource_type=GPU_A&max_price=2.50', ['lambda/gpu_1x_h100_sxm5']],
      // The spec query: GPU_A ≤ $2.50/GPU-h within 300 km of us-east-1.
      ['resource_type=GPU_A&max_price=2.50&latency_band=metro', ['lambda/gpu_1x_h100_sxm5']],
      ['resource_type=CPU', ['aws/m7i.8xlarge']],
      ['resource_type=GPU_B,A100-80GB', ['local/host', 'vast/m1*', 'vast/m2', 'runpod/A100-80GB']],
      ['gpu_model=RTX4090&interruptible=true', ['vast/m1*']],
      ['min_gpu_count=2', ['vast/m2', 'aws/p5.48xlarge*', 'gcp/a3-highgpu-8g', 'aws/p5.48xlarge']],
      ['min_memory_gb=80&resource_type=GPU_C', ['runpod/A100-80GB']],
      ['min_memory_gb=100&resource_type=CPU', ['aws/m7i.8xlarge']], // host memory for CPU offers
      ['provider=vast', ['vast/m1*', 'vast/m2']],
      ['provider_type=p2p_marketplace', ['vast/m1*', 'vast/m2', 'runpod/A100-80GB']],
      ['region=europe-west4', ['gcp/a3-highgpu-8g']],
      [
        'min_reliability=0.99',
        ['local/host', 'aws/m7i.8xlarge', 'lambda/gpu_1x_h100_sxm5', 'gcp/a3-highgpu-8g', 'aws/p5.48xlarge'],
      ],
      [
        'min_fp16_tflops=900',
        ['lambda/gpu_1x_h100_sxm5', 'aws/p5.48xlarge*', 'gcp/a3-highgpu-8g', 'aws/p5.48xlarge'],
      ],
      ['max_price=0.1', ['local/host']],
    ];
    for (const [qs, want] of table) assert.deepEqual(skus(qs), want, qs);
  });

  it('bands match that band or better (LAN ⊂ metro ⊂ regional ⊂ global)', () => {
    const table: [string, string[]][] = [
      ['latency_band=LAN', ['local/host']],
      ['latency_band=metro&resource_type=GPU_B', ['local/host', 'vast/m2']],
      ['latency_band=regional&resource_type=GPU_B,GPU_C', ['local/host', 'vast/m2', 'runpod/A100-80GB']],
      ['latency_band=global&resource_type=GPU_B', ['local/host', 'vast/m1*', 'vast/m2']],
    ];
    for (const [qs, want] of table) assert.deepEqual(skus(qs), want, qs);
  });

  it('measures from near: a region name or lat,lon', () => {
    // From eu-west-1 (Dublin): Eemshaven ≈ 870 km regional; everything in the US is global,
    // the local host too: it is LAN only from the gateway's own place (us-east-1), ~5,500 km away.
    assert.deepEqual(skus('near=eu-west-1&latency_band=regional'), ['gcp/a3-highgpu-8g']);
    // From Portland, OR (45.52,-122.68): Oregon centre (43.8,-120.55) ≈ 250 km metro.
    assert.deepEqual(skus('near=45.52,-122.68&latency_band=metro'), ['vast/m1*']);
    const o = market.query(q(ctx, 'near=45.52,-122.68&provider=vast')).offers[0];
    assert.equal(o?.latency_band, 'metro');
    assert.ok(
      o?.distance_km !== null && (o?.distance_km as number) > 200 && (o?.distance_km as number) < 300,
    );
  });

  it('sorts', () => {
    assert.deepEqual(skus('sort=price_desc&resource_type=GPU_A'), [
      'aws/p5.48xlarge',
      'gcp/a3-highgpu-8g',
      'aws/p5.48xlarge*',
      'lambda/gpu_1x_h100_sxm5',
    ]);
    // perf per dollar = fp16 × GPUs / node price: lambda 989.4/2.49 = 397.3; spot p5 7915/40 = 197.9;
    // RTX4090 m1 165.15/0.35 = 471.9; m2 330.3/0.8 = 412.9; local 165.15/0.1 = 1651.5.
    assert.deepEqual(skus('sort=perf_per_dollar_desc&limit=4'), [
      'local/host',
      'vast/m1*',
      'vast/m2',
      'lambda/gpu_1x_h100_sxm5',
    ]);
    assert.deepEqual(skus('sort=reliability_desc&limit=2').length, 2);
    assert.equal(market.query(q(ctx, 'sort=reliability_desc&limit=1')).offers[0]?.reliability, 0.999);
  });

  it('derives the wire fields', () => {
    const o = market.query(q(ctx, 'provider=vast&gpu_model=RTX4090&min_gpu_count=2')).offers[0];
    assert.ok(o);
    assert.equal(o.resource_type, 'GPU_B');
    assert.equal(o.profile, 'GPU_TYPE_B');
    assert.equal(o.price_per_gpu_hour, 0.4); // 0.80 / 2
    assert.equal(o.gpu_memory_gb, 24); // the profile's
    assert.equal(o.capabilities?.fp16_tflops, 165.15);
    assert.match(o.id, /^of_[0-9a-z]{13}$/);
    assert.deepEqual(market.get(o.id), o);
    assert.equal(market.get('of_0000000000000'), null);
    assert.equal(market.get('nonsense'), null);
    const cpu = market.query(q(ctx, 'resource_type=CPU')).offers[0];
    assert.equal(cpu?.profile, null);
    assert.equal(cpu?.price_per_gpu_hour, null);
    assert.equal(cpu?.capabilities, null);
  });

  it('resolves a spec placeholder to the cheapest provider of its type with a match', () => {
    const r = market.query(q(ctx, 'provider=marketplace_beta&resource_type=GPU_C'));
    assert.deepEqual(r.resolved_providers, { marketplace_beta: 'runpod' });
    assert.deepEqual(
      r.offers.map((o) => o.provider),
      ['runpod'],
    );
    const r2 = market.query(q(ctx, 'provider=marketplace_beta'));
    assert.deepEqual(r2.resolved_providers, { marketplace_beta: 'vast' }); // $0.35 < $1.29
  });

  it('pages through everything with a snapshot swap in the middle, never skipping or repeating', () => {
    const many: OfferInput[] = [];
    for (let i = 0; i < 97; i++) {
      many.push(
        offer({
          provider: 'bulk',
          provider_type: 'p2p_marketplace',
          sku: `h${i}`,
          gpu_model: 'RTX4090',
          price_per_hour: 0.2 + (i % 13) * 0.05,
        }),
      );
    }
    const { market: m, ctx: c } = newMarket({ bulk: many, aws: OFFERS.aws as OfferInput[] });
    for (const sort of ['price_asc', 'price_desc', 'perf_per_dollar_desc', 'reliability_desc']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const qs: string = `sort=${sort}&limit=10${cursor ? `&cursor=${cursor}` : ''}`;
        const page = m.query(q(c, qs));
        seen.push(...page.offers.map((o) => o.id));
        cursor = page.next_cursor;
        // After page 2, another provider refreshes (new rows appear in other ids): the bulk set is unchanged.
        if (++pages === 2)
          m.replaceOffers(new Map([['aws', [offer({ provider: 'aws', sku: 'new', price_per_hour: 3 })]]]));
      } while (cursor);
      const bulk = seen.filter((id) => m.get(id)?.provider === 'bulk');
      assert.equal(bulk.length, 97, sort);
      assert.equal(new Set(seen).size, seen.length, `${sort}: repeated`);
      m.replaceOffers(new Map([['aws', OFFERS.aws as OfferInput[]]]));
    }
  });

  it('keeps an offer id stable across refreshes and price moves', () => {
    const { market: m, ctx: c } = newMarket({ lambda: OFFERS.lambda as OfferInput[] });
    const id = m.query(q(c, '')).offers[0]?.id;
    m.replaceOffers(
      new Map([['lambda', [offer({ provider: 'lambda', sku: 'gpu_1x_h100_sxm5', price_per_hour: 2.99 })]]]),
    );
    assert.equal(m.get(id as string)?.price_per_hour, 2.99);
  });

  it('returns an empty page, not an error, when nothing matches', () => {
    const r = market.query(q(ctx, 'resource_type=GPU_A&max_price=0.01'));
    assert.deepEqual(r.offers, []);
    assert.equal(r.next_cursor, null);
    assert.equal(r.matched_estimate, 0);
  });
});
