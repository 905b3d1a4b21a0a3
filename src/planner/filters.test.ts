import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFilters, hasFabric, runFilters } from './filters.js';
import { capabilities, mkOffer, req, SPEC_BODY, specMarket } from './orchestrate.fixtures.js';

const filters = createFilters({ capabilities, placeholders: new Map() });
const only = (name: string) => filters.find((f) => f.name === name)!;

describe('filters', () => {
  it('the spec body over the spec market: each drop counted against its first filter, with examples', () => {
    const out = runFilters(specMarket(), req(SPEC_BODY), filters);
    // 6 offers: runpod 4090 (24 GB) → memory; lambda $2.49 and aws $12.29/GPU-hour → max_price;
    // faraway (global) → latency_band; ionet and vast pass.
    assert.equal(out.considered, 6);
    assert.deepEqual(out.passed.map((o) => o.id).sort(), ['of_ionet_h100', 'of_vast_a100']);
    assert.deepEqual(
      out.dropped.map((d) => [d.filter, d.count]),
      [
        ['memory', 1],
        ['max_price', 2],
        ['latency_band', 1],
      ],
    );
    const price = out.dropped.find((d) => d.filter === 'max_price')!;
    assert.equal(price.param, 'constraints.max_price_per_hour');
    assert.deepEqual(
      price.examples.map((e) => e.reason),
      ['$2.49/GPU-hour > max_price_per_hour $2.00', '$12.29/GPU-hour > max_price_per_hour $2.00'],
    );
  });

  // [filter, offer, body, expected reason or null]
  const h100 = mkOffer({ id: 'a', provider: 'p', price: 2 });
  const base = { workload: { type: 'training', compute_hours: 1 } };
  const withC = (constraints: object) => ({ ...base, constraints });
  const withW = (w: object) => ({ workload: { ...base.workload, ...w } });
  const table: [string, ReturnType<typeof mkOffer>, object, string | null][] = [
    [
      'workload_kind',
      mkOffer({ id: 'c', provider: 'p', gpu_model: null, price: 1 }),
      base,
      'a CPU-only node; GPU work needs a GPU',
    ],
    [
      'workload_kind',
      h100,
      { workload: { type: 'cpu', compute_hours: 1 } },
      'a GPU node; cpu work runs on CPU-only offers',
    ],
    ['memory', h100, withW({ memory_gb: 81 }), 'GPU memory 80 GB per GPU < memory_gb 81'],
    ['memory', h100, withW({ memory_gb: 80 }), null],
    [
      'memory',
      mkOffer({ id: 'c', provider: 'p', gpu_model: null, price: 1, memory_gb: 32 }),
      { workload: { type: 'cpu', compute_hours: 1, memory_gb: 64 } },
      'host memory 32 GB < memory_gb 64',
    ],
    ['gpus_per_node', h100, withW({ gpus_per_node: 8 }), '1 GPUs per node < 8'],
    [
      'interconnect',
      h100,
      withW({ interconnect: 'required' }),
      'single-GPU node; interconnect required needs multi-GPU nodes',
    ],
    [
      'interconnect',
      mkOffer({ id: 'x', provider: 'p', gpu_count: 8, price: 16 }),
      withW({ interconnect: 'required' }),
      null,
    ],
    [
      'interconnect',
      mkOffer({ id: 'x', provider: 'p', gpu_model: 'RTX4090', gpu_count: 8, price: 4 }),
      withW({ interconnect: 'required' }),
      'interconnect "PCIe Gen4" is not an NVLink/Infinity Fabric-class fabric',
    ],
    // 8 GPUs at $16/node-hour = $2.00 per GPU-hour: at the cap, kept.
    [
      'max_price',
      mkOffer({ id: 'x', provider: 'p', gpu_count: 8, price: 16 }),
      withC({ max_price_per_hour: 2 }),
      null,
    ],
    [
      'max_price',
      mkOffer({ id: 'x', provider: 'p', gpu_count: 8, price: 16.08 }),
      withC({ max_price_per_hour: 2 }),
      '$2.01/GPU-hour > max_price_per_hour $2.00',
    ],
    [
      'latency_band',
      mkOffer({ id: 'x', provider: 'p', price: 1, latency_band: 'metro' }),
      withC({ latency_band: 'regional' }),
      null,
    ],
    [
      'latency_band',
      mkOffer({ id: 'x', provider: 'p', price: 1, latency_band: 'global' }),
      withC({ latency_band: 'regional' }),
      'band global is worse than regional',
    ],
    ['providers', h100, withC({ providers: ['q'] }), 'p is not in providers'],
    ['providers', h100, withC({ exclude_providers: ['p'] }), 'p is in exclude_providers'],
    [
      'provider_types',
      h100,
      withC({ provider_types: ['edge'] }),
      'provider type traditional_cloud not requested',
    ],
    ['regions', h100, withC({ regions: ['eu-west-1'] }), 'region us-east-1 not requested'],
    [
      'interruptible',
      mkOffer({ id: 'x', provider: 'p', price: 1, interruptible: true }),
      withC({ interruptible: 'deny' }),
      'interruptible; interruptible is deny',
    ],
    [
      'interruptible',
      mkOffer({ id: 'x', provider: 'p', price: 1, interruptible: true }),
      withC({ interruptible: 'prefer' }),
      null,
    ],
    [
      'min_reliability',
      mkOffer({ id: 'x', provider: 'p', price: 1, reliability: 0.9 }),
      withC({ min_reliability: 0.95 }),
      'reliability 0.9 < 0.95',
    ],
    [
      'capability',
      mkOffer({ id: 'x', provider: 'p', gpu_model: 'MysteryGPU', price: 1 }),
      base,
      'training capability of MysteryGPU is unknown',
    ],
    [
      'available',
      mkOffer({ id: 'x', provider: 'p', price: 1, available: 0 }),
      base,
      'sold out (available 0)',
    ],
  ];
  const known = ['p', 'q'];
  for (const [name, offer, body, want] of table) {
    it(`${name}: ${want ?? 'passes'}`, () => {
      const r = req(body, [
        mkOffer({ id: 'k', provider: known[0]!, price: 1 }),
        mkOffer({ id: 'k2', provider: known[1]!, price: 1 }),
      ]);
      assert.equal(only(name).run(offer, r), want);
    });
  }

  it('placeholders admit offers of their provider type', () => {
    const f = createFilters({ capabilities, placeholders: new Map([['marketplace_a', 'p2p_marketplace']]) });
    const vast = mkOffer({ id: 'v', provider: 'vast', provider_type: 'p2p_marketplace', price: 1 });
    const lambda = mkOffer({ id: 'l', provider: 'lambda', price: 1 });
    const r = req({ ...base, constraints: { providers: ['marketplace_a'] } }, [vast, lambda]);
    const prov = f.find((x) => x.name === 'providers')!;
    assert.equal(prov.run(vast, r), null);
    assert.equal(prov.run(lambda, r), 'lambda is not in providers');
  });
});

describe('hasFabric (interconnect: required)', () => {
  const table: [string | null, boolean][] = [
    ['NVLink 4 900 GB/s (SXM5)', true],
    ['NVLink (SXM4)', true],
    ['Infinity Fabric 896 GB/s', true],
    ['NeuronLink', true],
    ['ICI', true],
    ['24x 100 GbE RoCE', true],
    ['InfiniBand NDR 400', true],
    ['PCIe Gen4', false],
    // A pairwise bridge links two cards, not the node.
    ['PCIe Gen4; NVLink bridge 112.5 GB/s', false],
    ['', false],
    [null, false],
  ];
  for (const [ic, want] of table)
    it(`${JSON.stringify(ic)} → ${want}`, () => assert.equal(hasFabric(ic), want));
});
