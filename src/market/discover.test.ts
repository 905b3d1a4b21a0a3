import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DiscoverQuery, parseDiscoverQuery } from './discover.js';
import { newMarket, offer } from './testing.js';

// Reference GPU_TYPE_A = H100 SXM, 989.4 dense FP16 TFLOPS (training measures work in FP16).
const { market, ctx } = newMarket({
  lambda: [offer({ provider: 'lambda', sku: 'h100', price_per_hour: 2.49 })],
  aws: [
    offer({ provider: 'aws', sku: 'p5', gpu_count: 8, price_per_hour: 40, interruptible: true }),
    offer({ provider: 'aws', sku: 'g5', gpu_model: 'A10G', price_per_hour: 1.0 }), // no FP16 figure
    offer({
      provider: 'aws',
      sku: 'm7i',
      gpu_model: null,
      gpu_count: 0,
      price_per_hour: 1.6,
      memory_gb: 128,
    }),
  ],
  vast: [
    offer({
      provider: 'vast',
      provider_type: 'p2p_marketplace',
      sku: 'm1',
      gpu_model: 'RTX4090',
      price_per_hour: 0.35,
      region: 'Oregon, US, NA',
    }),
    offer({
      provider: 'vast',
      provider_type: 'p2p_marketplace',
      sku: 'm2',
      gpu_model: 'RTX4090',
      gpu_count: 2,
      price_per_hour: 0.8,
      region: 'Maryland, US, NA',
    }),
  ],
  runpod: [
    offer({
      provider: 'runpod',
      provider_type: 'p2p_marketplace',
      sku: 'a100',
      gpu_model: 'A100-80GB',
      price_per_hour: 1.29,
      region: 'US',
    }),
  ],
});

function discover(qs: string) {
  const r = parseDiscoverQuery(Object.fromEntries(new URLSearchParams(qs)), ctx);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return market.discover(r.query as DiscoverQuery);
}

describe('discover', () => {
  it("answers the spec's query: cheapest total for 1000 reference GPU-hours", () => {
    const r = discover('gpu_hours=1000&min_memory_gb=24&max_price=1.00&sort=price_asc');
    // RTX4090: 165.15/989.4 = 0.16692 ref-h per GPU-h → 1000/0.16692 = 5990.92 GPU-h
    //   m1 × $0.35 = $2096.82;  m2 × $0.40 (0.80/2) = $2396.37, node-hours 5990.92/2 = 2995.46
    assert.deepEqual(
      r.options.map((o) => [o.offer.sku, o.total_cost_usd]),
      [
        ['m1', 2096.82],
        ['m2', 2396.37],
      ],
    );
    const m2 = r.options[1];
    assert.equal(m2?.work_rate, 0.1669);
    assert.equal(m2?.gpu_hours_on_hardware, 5990.92);
    assert.equal(m2?.node_hours, 2995.46);
    assert.equal(m2?.hours_with_all_available, 748.86); // 2995.4585 / 4 nodes = 748.86
    assert.equal(m2?.can_deliver, true);
    assert.equal(r.reference_profile, 'GPU_TYPE_A');
    assert.equal(r.reference_model, 'H100');
    assert.match(r.unit, /reference GPU-hours/);
  });

  it('orders every option by total cost and counts what it left out', () => {
    const r = discover('gpu_hours=1000');
    // A100: 312/989.4 = 0.3153 ref-h per GPU-h → 1000/0.3153 = 3171.15 GPU-h × $1.29 = $4090.79
    // H100 lambda: 1000 × $2.49 = $2490; p5 spot 1000 × $5 (40/8) = $5000
    assert.deepEqual(
      r.options.map((o) => [o.offer.sku, o.total_cost_usd]),
      [
        ['m1', 2096.82],
        ['m2', 2396.37],
        ['h100', 2490],
        ['a100', 4090.79],
        ['p5', 5000],
      ],
    );
    assert.deepEqual(
      r.excluded.sort((a, b) => a.reason.localeCompare(b.reason)),
      [
        { reason: 'cpu_only: no GPU work rate', count: 1 },
        { reason: 'no training capability figure for A10G', count: 1 },
      ],
    );
    const desc = discover('gpu_hours=1000&sort=price_desc');
    assert.deepEqual(
      desc.options.map((o) => o.offer.sku),
      ['p5', 'a100', 'h100', 'm2', 'm1'],
    );
  });

  it('keeps only options that finish by the deadline', () => {
    // deadline 100 h: m2 needs ceil(2995.46/100) = 30 nodes > 4; lambda ceil(1000/100) = 10 > 4;
    // a100 ceil(3171.15/100) = 32 > 4; p5: 1000/8 = 125 node-h → 2 nodes ≤ 4.
    const r = discover('gpu_hours=1000&deadline_hours=100');
    assert.deepEqual(
      r.options.map((o) => [o.offer.sku, o.nodes_needed, o.can_deliver]),
      [['p5', 2, true]],
    );
    assert.equal(r.excluded.find((e) => e.reason === 'cannot_finish_by_deadline')?.count, 4);
  });

  it('normalises inference by memory bandwidth', () => {
    // RTX4090 1008 GB/s vs H100 3350 GB/s: 0.3009 → 1000/0.3009 = 3323.41 GPU-h × $0.35 = $1163.19
    const r = discover('gpu_hours=1000&workload_kind=inference&limit=1');
    assert.equal(r.options[0]?.total_cost_usd, 1163.19);
    assert.ok(r.next_cursor);
  });

  it('pages by cost with a cursor', () => {
    const all = discover('gpu_hours=1000').options.map((o) => o.offer.id);
    const seen: string[] = [];
    let cursor = '';
    do {
      const r = discover(`gpu_hours=1000&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...r.options.map((o) => o.offer.id));
      cursor = r.next_cursor ?? '';
    } while (cursor);
    assert.deepEqual(seen, all);
  });

  it('names bad parameters', () => {
    const table: [string, string][] = [
      ['gpu_hours=0', 'gpu_hours'],
      ['gpu_hours=abc', 'gpu_hours'],
      ['reference_profile=GPU_A', 'reference_profile'],
      ['workload_kind=mining', 'workload_kind'],
      ['deadline_hours=-2', 'deadline_hours'],
      ['sort=reliability_desc', 'sort'],
      ['max_price=x', 'max_price'],
    ];
    for (const [qs, param] of table) {
      const r = parseDiscoverQuery(Object.fromEntries(new URLSearchParams(qs)), ctx);
      assert.ok(!r.ok && r.problems.some((p) => p.param === param), qs);
    }
  });
});
