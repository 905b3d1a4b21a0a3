import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCandidates, PREFER_INTERRUPTIBLE_DISCOUNT, resolvePlaceholders } from './candidates.js';
import { capabilities, mkOffer, req } from './orchestrate.fixtures.js';

const near = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

describe('buildCandidates', () => {
  const offers = [
    mkOffer({ id: 'h', provider: 'p', gpu_count: 8, price: 16, available: 3 }),
    mkOffer({ id: 'a', provider: 'q', gpu_model: 'A100-80GB', price: 0.5, available: 9 }),
    mkOffer({ id: 's', provider: 'r', price: 1, reliability: 0.9, interruptible: true }),
  ];
  // [workload type, offer id, base rate per node-hour]
  const table: [string, string, number][] = [
    // 8 × H100 fp16 989.4 / 989.4 = 8 reference GPU-hours per node-hour
    ['training', 'h', 8],
    // A100-80GB fp16 312 / 989.4 = 0.315343
    ['batch_processing', 'a', 312 / 989.4],
    // inference is bandwidth: A100-80GB 2039 / 3350 GB/s = 0.608657
    ['inference', 'a', 2039 / 3350],
    ['large_model_serve', 'a', 2039 / 3350],
  ];
  for (const [type, id, rate] of table) {
    it(`${type}: ${id} does ${rate.toFixed(6)} per node-hour`, () => {
      const rows = buildCandidates(
        offers,
        req({ workload: { type, compute_hours: 1 } }, offers),
        capabilities,
      );
      const row = rows.find((r) => r.offer.id === id)!;
      assert.ok(near(row.base_rate, rate), `${row.base_rate}`);
      // reliability 1 → efficiency 1: the risked rate is the base rate.
      assert.ok(near(row.candidate.work_rate, rate));
      assert.equal(row.candidate.effective_price, row.offer.price_per_hour);
    });
  }

  it('max_nodes = available ∩ workload.max_nodes; indices are positions', () => {
    const rows = buildCandidates(
      offers,
      req({ workload: { type: 'training', compute_hours: 1, max_nodes: 5 } }, offers),
      capabilities,
    );
    assert.deepEqual(
      rows.map((r) => [r.candidate.index, r.candidate.max_nodes]),
      [
        [0, 3],
        [1, 5],
        [2, 4],
      ],
    );
  });

  it('risk lowers the rate of the spot offer; prefer discounts its objective price only', () => {
    const allow = buildCandidates(
      offers,
      req({ workload: { type: 'training', compute_hours: 1 } }, offers),
      capabilities,
    );
    const spot = allow.find((r) => r.offer.id === 's')!;
    // reliability 0.9, 1800 s checkpoints, 300 s restart → efficiency 0.965415 (risk.test.ts)
    assert.ok(Math.abs(spot.candidate.work_rate - 0.965415) < 1e-6);
    assert.ok(near(spot.unit_cost, 1 / spot.candidate.work_rate));
    const prefer = buildCandidates(
      offers,
      req(
        { workload: { type: 'training', compute_hours: 1 }, constraints: { interruptible: 'prefer' } },
        offers,
      ),
      capabilities,
    );
    const s2 = prefer.find((r) => r.offer.id === 's')!;
    assert.ok(near(s2.candidate.effective_price, 1 - PREFER_INTERRUPTIBLE_DISCOUNT));
    assert.equal(s2.price_per_node_hour, 1);
    assert.equal(prefer.find((r) => r.offer.id === 'h')!.candidate.effective_price, 16);
  });

  it('cpu: the rate is the vCPU count', () => {
    const cpu = [mkOffer({ id: 'c', provider: 'p', gpu_model: null, vcpus: 48, price: 1 })];
    const rows = buildCandidates(
      cpu,
      req({ workload: { type: 'cpu', compute_hours: 1 } }, cpu),
      capabilities,
    );
    assert.equal(rows[0]?.base_rate, 48);
  });
});

describe('resolvePlaceholders', () => {
  it('each placeholder takes the cheapest provider of its type; two of one type take two providers', () => {
    const offers = [
      mkOffer({ id: 'v', provider: 'vast', provider_type: 'p2p_marketplace', price: 0.5 }),
      mkOffer({ id: 't', provider: 'tensordock', provider_type: 'p2p_marketplace', price: 0.6 }),
      mkOffer({ id: 'c', provider: 'cudo', provider_type: 'p2p_marketplace', price: 0.9 }),
      mkOffer({ id: 'i', provider: 'ionet', provider_type: 'decentralized_compute', price: 0.7 }),
    ];
    const body = {
      workload: { type: 'training', compute_hours: 1 },
      constraints: { providers: ['marketplace_a', 'marketplace_b', 'network_a'] },
    };
    const r = req(body, offers);
    const rows = buildCandidates(offers, r, capabilities);
    const ph = new Map([
      ['marketplace_a', 'p2p_marketplace'],
      ['marketplace_b', 'p2p_marketplace'],
      ['network_a', 'decentralized_compute'],
    ] as const);
    const out = resolvePlaceholders(rows, r, ph);
    assert.deepEqual(out.resolved, {
      marketplace_a: 'vast',
      marketplace_b: 'tensordock',
      network_a: 'ionet',
    });
    assert.deepEqual(
      out.rows.map((x) => [x.offer.id, x.candidate.index]),
      [
        ['v', 0],
        ['t', 1],
        ['i', 2],
      ],
    );
    assert.equal(out.dropped?.count, 1);
    assert.equal(out.dropped?.examples[0]?.offer_id, 'c');
  });
});
