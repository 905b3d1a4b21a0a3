import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCapabilityCatalog } from '../../capabilities/index.js';
import type { ListedOffer } from '../sim/model.js';
import type { CatalogRow } from './csv.js';
import { flatLowUnverified, hostAccelerator, N1_PAIRINGS, readPriceCheck } from './gcp.js';
import { loadCloud } from './index.js';

const T0 = Date.UTC(2026, 0, 1);
const gcp = loadCloud('gcp', { capabilities: createCapabilityCatalog(), loaded_at: T0 });
const find = (sku: string, region: string, interruptible = false): ListedOffer | undefined =>
  gcp.offers.find((o) => o.sku === sku && o.region === region && o.interruptible === interruptible);

describe('GCP offers from the shipped catalogs', () => {
  it('a2/a3/g2 are priced from Cyclenerd (full instance) and say when SkyPilot would have been low', () => {
    // cyclenerd_gpu_vms.csv:2 a2-highgpu-1g asia-northeast1 4.049591 / spot 2.429675. SkyPilot's pairing
    // would be host 0.94803 + A100 1.70586 = 2.65389 (check: skypilot_low, ratio 0.655).
    const od = find('a2-highgpu-1g', 'asia-northeast1');
    assert.ok(od);
    assert.equal(od.list_price_per_hour, 4.049591);
    assert.equal(od.zone, null);
    assert.equal(od.gpu_model, 'A100');
    assert.ok(od.data_quality.includes('price_corrected:gcp_cyclenerd'));
    assert.ok(od.data_quality.includes('price_source:gcp_cyclenerd'));
    assert.equal(find('a2-highgpu-1g', 'asia-northeast1', true)?.list_price_per_hour, 2.429675);
    // us-central1 A100 agrees (ratio 1.000): Cyclenerd still wins, without the correction flag.
    const agree = find('a2-highgpu-1g', 'us-central1');
    assert.ok(agree?.data_quality.includes('price_source:gcp_cyclenerd'));
    assert.ok(!agree?.data_quality.includes('price_corrected:gcp_cyclenerd'));
  });

  it('no H100 offer is priced at the flat low $4.20/GPU', () => {
    // H100 us-central1 SkyPilot: 4.20076/GPU against Cyclenerd's 9.87874 → every 8-GPU H100 offer
    // must cost more than 8 × 4.20076 + host ≈ 33.6 + host.
    for (const o of gcp.offers) {
      if (o.gpu_model !== 'H100' || o.interruptible) continue;
      assert.ok(o.list_price_per_hour / o.gpu_count > 5, `${o.sku} ${o.region} ${o.list_price_per_hour}`);
    }
    // a3-edgegpu-8g (no Cyclenerd figure) in asia-northeast1 would be 4.20076 × 8 + host: dropped.
    assert.equal(find('a3-edgegpu-8g', 'asia-northeast1'), undefined);
    assert.ok((gcp.report.dropped.gcp_accelerator_price_low?.count ?? 0) > 0);
  });

  it('H200/B200 rows with the flat-low pattern and no second source are dropped; the others paired', () => {
    // a3-ultragpu-8g us-central1-b: host 12.266 + H200×8 74.49392 = 86.75992; spot 5.0093 + 37.2472 = 42.2565.
    const h200 = find('a3-ultragpu-8g', 'us-central1');
    assert.ok(h200);
    assert.equal(h200.list_price_per_hour, 86.75992);
    assert.equal(h200.gpu_model, 'H200');
    assert.equal(h200.gpu_count, 8);
    assert.ok(h200.data_quality.includes('price_source:gcp_host_plus_accelerator'));
    assert.equal(find('a3-ultragpu-8g', 'us-central1', true)?.list_price_per_hour, 42.2565);
    // europe-west4: H200×8 36.60258 (4.575/GPU, same in 6 regions, < 0.75 × 9.31): dropped.
    assert.equal(find('a3-ultragpu-8g', 'europe-west4'), undefined);
    assert.ok(gcp.report.dropped.gcp_flat_low_unverified!.examples.some((e) => e.includes('H200')));
    // B200 64.44 (8.055/GPU in 6 regions) against 90.216 (11.277): 8.055 < 0.75 × 11.277 = 8.458 → dropped.
    assert.equal(find('a4-highgpu-8g', 'us-east4'), undefined);
    assert.equal(find('a4-highgpu-8g', 'us-central1')?.gpu_model, 'B200');
  });

  it('n1 + T4 pairings: n1-standard-8+T4x1 in us-central1 = 0.38 + 0.35', () => {
    const o = find('n1-standard-8+T4x1', 'us-central1');
    assert.ok(o);
    assert.equal(o.list_price_per_hour, 0.73);
    assert.equal(o.vcpus, 8);
    assert.equal(o.memory_gb, 30);
    assert.equal(o.gpu_model, 'T4');
    assert.equal(o.gpu_memory_gb, 16);
    // spot 0.13954 + 0.1654 = 0.30494
    assert.equal(find('n1-standard-8+T4x1', 'us-central1', true)?.list_price_per_hour, 0.30494);
  });

  it('one offer per (sku, region, market): no duplicates', () => {
    const keys = gcp.offers.map((o) => `${o.sku}|${o.region}|${o.zone}|${o.interruptible}`);
    assert.equal(new Set(keys).size, keys.length);
  });
});

describe('hostAccelerator and N1_PAIRINGS', () => {
  const cases: Array<[string, { name: string; count: number } | null]> = [
    ['a2-highgpu-4g', { name: 'A100', count: 4 }],
    ['a2-megagpu-16g', { name: 'A100', count: 16 }],
    ['a2-ultragpu-8g', { name: 'A100-80GB', count: 8 }],
    ['a3-highgpu-2g', { name: 'H100', count: 2 }],
    ['a3-edgegpu-8g', { name: 'H100', count: 8 }],
    ['a3-megagpu-8g', { name: 'H100-MEGA', count: 8 }],
    ['a3-ultragpu-8g', { name: 'H200', count: 8 }],
    ['a3-ultragpu-8g-nolssd', null],
    ['a4-highgpu-8g', { name: 'B200', count: 8 }],
    ['g2-standard-24', { name: 'L4', count: 2 }],
    ['g2-standard-96', { name: 'L4', count: 8 }],
    ['g2-standard-4', { name: 'L4', count: 1 }],
    ['n1-standard-8', null],
  ];
  for (const [host, want] of cases) it(host, () => assert.deepEqual(hostAccelerator(host), want));
  it('n GPUs on n1-standard-(8n), plus n1-standard-4+T4x1: 1 + 3 + 4 + 3 + 3 = 14 pairings', () => {
    assert.equal(N1_PAIRINGS.length, 14);
    assert.ok(
      N1_PAIRINGS.every((p) => p.host === 'n1-standard-4' || p.host === `n1-standard-${8 * p.count}`),
    );
  });
});

describe('flatLowUnverified', () => {
  const acc = (name: string, region: string, price: number): CatalogRow => ({
    line: 0,
    instance_type: '',
    accelerator_name: name,
    accelerator_count: 8,
    vcpus: null,
    memory_gib: null,
    gpu_info: '',
    price,
    spot_price: null,
    region,
    zone: `${region}-a`,
    extra: {},
  });
  it('flags a value shared by ≥3 regions below 0.75 × max, only for unchecked a2/a3/a4 accelerators', () => {
    const rows = [
      ...['r1', 'r2', 'r3'].map((r) => acc('H200', r, 36.6)), // 4.575/GPU ×3 regions
      acc('H200', 'r4', 74.49), // 9.31/GPU: 0.75 × 9.31 = 6.98 > 4.575 → the three are flagged
      ...['r1', 'r2', 'r3'].map((r) => acc('T4', r, 2.8)), // n1 GPU: never judged by this rule
      acc('T4', 'r4', 4),
      ...['r1', 'r2', 'r3'].map((r) => acc('H100', r, 33.6)), // checked accelerator: the check file rules
      acc('H100', 'r4', 80),
    ];
    const pc = readPriceCheck([
      { line: 2, cells: { AcceleratorName: 'H100', Region: 'r1', Verdict: 'agree' } },
    ]);
    assert.deepEqual([...flatLowUnverified(rows, pc)].sort(), ['H200|r1', 'H200|r2', 'H200|r3']);
  });
  it('two regions sharing a value is not a pattern', () => {
    const rows = [acc('B200', 'r1', 64), acc('B200', 'r2', 64), acc('B200', 'r3', 90)];
    assert.equal(flatLowUnverified(rows, readPriceCheck([])).size, 0);
  });
});
