import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCapabilityCatalog } from '../../capabilities/index.js';
import { parseSinfo, type SinfoNode } from './client.js';
import { parseSlurmSku, slurmOffers, slurmSku } from './offers.js';

const capabilities = createCapabilityCatalog();
const opts = { provider: 'slurm', observedAt: 1_000, capabilities, pricePerNodeHour: 0, region: 'on-prem' };

/** Captured from Slurm 22.05.8 on scripts/slurm-local.sh's cluster (see client.test.ts). */
const SINFO_IDLE = 'vm|debug*|2|24105|(null)|idle|up|infinite\n';
const SINFO_GRES_MIXED =
  'vm|debug*|2|24105|gpu:tesla:2|mixed|up|infinite\nvm|gpu|2|24105|gpu:tesla:2|mixed|up|4:00:00\n';

const node = (over: Partial<SinfoNode>): SinfoNode => ({
  node: 'n1',
  partition: 'batch',
  default_partition: false,
  cpus: 64,
  memory_mb: 256_000,
  gres: '',
  state: 'idle',
  partition_avail: 'up',
  time_limit: 'infinite',
  ...over,
});

describe('slurmOffers', () => {
  it('the one idle node: one CPU offer, its real figures, free, attested, unsimulated', () => {
    const [o, ...rest] = slurmOffers(parseSinfo(SINFO_IDLE), opts);
    assert.equal(rest.length, 0);
    assert.equal(o!.sku, 'debug/c2-m24105');
    assert.equal(o!.vcpus, 2);
    assert.equal(o!.memory_gb, 23.54); // 24105 MiB / 1024 = 23.54 GiB
    assert.equal(o!.gpu_model, null);
    assert.equal(o!.gpu_count, 0);
    assert.equal(o!.available, 1);
    assert.equal(o!.price_per_hour, 0);
    assert.equal(o!.provider_type, 'edge');
    assert.equal(o!.verification, 'provider_attested');
    assert.equal(o!.simulated, false);
    assert.equal(o!.zone, 'debug');
    assert.equal(o!.observed_at, 1_000);
  });

  it('a node in two partitions is an offer in each; mixed (partly busy) is not available', () => {
    const offers = slurmOffers(parseSinfo(SINFO_GRES_MIXED), { ...opts, pricePerNodeHour: 1.5 });
    assert.deepEqual(
      offers.map((o) => [o.sku, o.gpu_count, o.available, o.price_per_hour]),
      [
        ['debug/c2-m24105-gpu:tesla:2', 2, 0, 1.5],
        ['gpu/c2-m24105-gpu:tesla:2', 2, 0, 1.5],
      ],
    );
    // "tesla" is a site's word, not a model: kept as written and flagged.
    assert.equal(offers[0]!.gpu_model, 'tesla');
    assert.deepEqual(offers[0]!.data_quality, ['gpu_model_unresolved']);
  });

  it('groups nodes by shape and counts the idle ones', () => {
    const offers = slurmOffers(
      [
        node({ node: 'n1' }),
        node({ node: 'n2' }),
        node({ node: 'n3', state: 'allocated' }),
        node({ node: 'n4', state: 'idle*' }), // not responding
        node({ node: 'n5', state: 'drained' }),
        node({ node: 'g1', cpus: 32, gres: 'gpu:a100:4(S:0-1)' }),
        node({ node: 'g2', cpus: 32, gres: 'gpu:a100:4(S:0-1)', state: 'mixed' }),
      ],
      opts,
    );
    assert.deepEqual(
      offers.map((o) => [o.sku, o.available]),
      [
        ['batch/c64-m256000', 2], // n1, n2 idle; n3 busy, n4 not responding, n5 drained
        ['batch/c32-m256000-gpu:a100:4', 1], // g1 idle, g2 mixed
      ],
    );
    assert.equal(offers[1]!.gpu_model, 'A100');
    assert.deepEqual(offers[1]!.data_quality, []);
  });

  it('a partition that is not up offers nothing now, and says so', () => {
    const [o] = slurmOffers([node({ partition_avail: 'down' })], opts);
    assert.equal(o!.available, 0);
    assert.deepEqual(o!.data_quality, ['partition_not_up']);
  });
});

describe('Slurm skus', () => {
  const cases: Array<[string, number, number, string]> = [
    ['debug', 2, 24105, ''],
    ['gpu', 64, 515_000, 'gpu:a100:8'],
    ['long-q', 8, 1000, 'gpu:2'],
  ];
  for (const [p, c, m, g] of cases) {
    it(`${slurmSku(p, c, m, g)} reads back`, () => {
      assert.deepEqual(parseSlurmSku(slurmSku(p, c, m, g)), {
        partition: p,
        cpus: c,
        memory_mb: m,
        gres: g || null,
      });
    });
  }
  it('anything else is not a Slurm sku', () => {
    assert.equal(parseSlurmSku('local-cpu'), null);
    assert.equal(parseSlurmSku('debug/2cpu'), null);
  });
});
