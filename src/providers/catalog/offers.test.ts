import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCapabilityCatalog } from '../../capabilities/index.js';
import type { ListedOffer } from '../sim/model.js';
import { CLOUDS, type CloudFacts, type CloudName } from './clouds.js';
import type { CatalogRow } from './csv.js';
import { type LoadedCloud, loadCloud } from './index.js';
import { gpuInfoMemoryGb, normaliseRegion } from './offers.js';

const T0 = Date.UTC(2026, 0, 1);
const caps = createCapabilityCatalog();
const cache = new Map<CloudName, LoadedCloud>();
const load = (c: CloudName): LoadedCloud => {
  if (!cache.has(c)) cache.set(c, loadCloud(c, { capabilities: caps, loaded_at: T0 }));
  return cache.get(c)!;
};
const where = (c: CloudName, f: (o: ListedOffer) => boolean): ListedOffer[] => load(c).offers.filter(f);

describe('offers from real rows, per cloud', () => {
  it('AWS: on-demand once per region (zone null), spot per AZ; spot == on-demand flagged spot_at_cap', () => {
    // p5.48xlarge us-east-1: 7 AZ rows, Price 55.04 each; spot 17.0252 … 55.04 (use1-az1, use1-az4 at cap).
    const p5 = where('aws', (o) => o.sku === 'p5.48xlarge' && o.region === 'us-east-1');
    const od = p5.filter((o) => !o.interruptible);
    assert.equal(od.length, 1);
    assert.equal(od[0]!.zone, null);
    assert.equal(od[0]!.list_price_per_hour, 55.04);
    assert.equal(od[0]!.gpu_model, 'H100');
    assert.equal(od[0]!.gpu_count, 8);
    assert.equal(od[0]!.gpu_memory_gb, 80);
    const spot = p5.filter((o) => o.interruptible);
    assert.equal(spot.length, 7);
    const az1 = spot.find((o) => o.zone === 'use1-az1')!;
    assert.deepEqual(az1.data_quality, ['spot_at_cap']);
    assert.equal(az1.on_demand_price, 55.04);
    assert.equal(spot.find((o) => o.zone === 'use1-az6')!.list_price_per_hour, 16.9508);
    assert.ok(load('aws').report.merged.on_demand_zone_rows! > 0);
  });

  it('Azure GPU slices: NVv4 partitions corrected, fractional GPUs carry the slice memory', () => {
    // NV4as_v4 in canadacentral: Price 0.28 for 1/8 MI25 (catalog says 1) → 0.28 / 0.125 = $2.24/GPU-h;
    // its usable GPU memory is 16 GB × 0.125 = 2 GB.
    const nv4 = where(
      'azure',
      (o) => o.sku === 'Standard_NV4as_v4' && o.region === 'canadacentral' && !o.interruptible,
    )[0]!;
    assert.equal(nv4.gpu_count, 0.125);
    assert.equal(nv4.gpu_memory_gb, 2);
    assert.deepEqual(nv4.data_quality, ['gpu_count_corrected:azure_partition', 'fractional_gpu']);
    // NV6ads_A10_v5 is 1/6 of an A10 in the catalog already: 24 GB × 0.167 = 4.01 GB, no count change.
    const a10 = where('azure', (o) => o.sku === 'Standard_NV6ads_A10_v5')[0]!;
    assert.equal(a10.gpu_count, 0.167);
    assert.equal(a10.gpu_memory_gb, 4.01);
    assert.deepEqual(a10.data_quality, ['fractional_gpu']);
    // NV32as_v4 is one whole MI25: untouched.
    const nv32 = where('azure', (o) => o.sku === 'Standard_NV32as_v4')[0]!;
    assert.equal(nv32.gpu_count, 1);
    assert.deepEqual(nv32.data_quality, []);
  });

  it('RunPod L40S: spot 0.86 above on-demand 0.43 → spot dropped, on-demand kept and flagged', () => {
    const l40s = where('runpod', (o) => o.sku === '1x_L40S_SECURE');
    assert.ok(l40s.length > 0);
    assert.ok(l40s.every((o) => !o.interruptible && o.list_price_per_hour === 0.43));
    assert.ok(l40s.every((o) => o.data_quality.includes('spot_dropped:above_on_demand')));
    // One per datacenter (zone), e.g. CA-MTL-1.
    assert.ok(l40s.some((o) => o.region === 'CA' && o.zone === 'CA-MTL-1'));
    assert.equal(
      load('runpod').report.dropped.spot_above_on_demand!.examples[0],
      'data/catalogs/runpod/vms.partial.csv:802 1x_L40S_SECURE CA',
    );
  });

  it('Vast: no spot offers (SpotPrice 0.00), A100 told apart by GpuInfo memory, region tidied', () => {
    assert.equal(where('vast', (o) => o.interruptible).length, 0);
    assert.equal(load('vast').report.dropped.spot_zero_means_none!.count, 64);
    // vast/vms.csv:33 Czechia 81920 MiB → A100-80GB; :34 Georgia 40960 → A100;
    // :41 2x A100 Germany 81920 MiB total / 2 = 40 GB → A100.
    const byRegion = (sku: string, r: string) =>
      where('vast', (o) => o.sku === sku && o.region === r)[0]?.gpu_model;
    assert.equal(byRegion('1x-A100_SXM4-32-65536', 'Czechia, CZ, EU'), 'A100-80GB');
    assert.equal(byRegion('1x-A100_SXM4-32-65536', 'Georgia, US, NA'), 'A100');
    assert.equal(byRegion('2x-A100_SXM4-32-65536', 'Germany, DE, EU'), 'A100');
    assert.equal(byRegion('2x-A100_SXM4-32-65536', 'Montana, US, NA'), 'A100-80GB');
    assert.ok(where('vast', (o) => o.region === 'CA, NA').length > 0);
    assert.ok(where('vast', () => true).every((o) => o.verification === 'benchmark_based'));
  });

  it('Mithril: every row is a placeholder price → no offers, all reported', () => {
    assert.equal(load('mithril').offers.length, 0);
    assert.equal(load('mithril').report.dropped.placeholder_price!.count, 4);
  });

  it('PrimeIntellect __SPOT types: spot-only offer capped by the on-demand twin', () => {
    // datacrunch__1xA100_80GB__22__120: on-demand 1.12; its __SPOT twin 0.53.
    const spot = where('primeintellect', (o) => o.sku === 'datacrunch__1xA100_80GB__22__120__SPOT')[0]!;
    assert.equal(spot.interruptible, true);
    assert.equal(spot.list_price_per_hour, 0.53);
    assert.equal(spot.on_demand_price, 1.12);
    assert.equal(spot.zone, 'FIN-01');
    assert.equal(spot.gpu_memory_gb, 80); // GpuInfo 81920 MiB is the node total: 81920 / 1 / 1024
  });

  it('Verda: empty Price with SpotPrice → a spot offer only', () => {
    const b300 = where('verda', (o) => o.sku === '2B300.60V');
    assert.deepEqual(
      b300.map((o) => [o.interruptible, o.list_price_per_hour, o.on_demand_price]),
      [[true, 4.893, null]],
    );
  });

  it('Azure: fractional A10 counts kept; H200 spot at cap in every region', () => {
    const nv6 = where('azure', (o) => o.sku === 'Standard_NV6ads_A10_v5' && o.region === 'australiaeast');
    assert.deepEqual(
      nv6.map((o) => [o.gpu_count, o.interruptible, o.list_price_per_hour]),
      [
        [0.167, false, 0.658],
        [0.167, true, 0.121598],
      ],
    );
    const h200spot = where('azure', (o) => o.sku === 'Standard_ND96isr_H200_v5' && o.interruptible);
    assert.equal(h200spot.length, 28);
    assert.ok(h200spot.every((o) => o.data_quality.includes('spot_at_cap')));
  });

  it('CPU-only rows: gpu_model null, gpu_count 0 (lambda cpu_4x_generalx, nebius count 0)', () => {
    const cpu = where('lambda', (o) => o.sku === 'cpu_4x_generalx');
    assert.equal(cpu.length, 17);
    assert.ok(cpu.every((o) => o.gpu_model === null && o.gpu_count === 0 && o.gpu_memory_gb === null));
    const neb = where('nebius', (o) => o.sku === 'cpu-d3_4vcpu-16gb')[0]!;
    assert.deepEqual([neb.gpu_model, neb.gpu_count, neb.list_price_per_hour], [null, 0, 0.0992]);
  });

  it('Seeweb GPU rows without a Region are dropped and reported', () => {
    assert.equal(load('seeweb').report.dropped.missing_region!.count, 14);
    assert.ok(where('seeweb', (o) => o.region === '').length === 0);
  });

  it('Shadeform: GpuInfo "SizeInMiB: 48" is GB; memory comes from the profile', () => {
    const a6000 = where('shadeform', (o) => o.sku === 'massedcompute_A6000x8')[0]!;
    assert.equal(a6000.gpu_model, 'A6000');
    assert.equal(a6000.gpu_memory_gb, 48);
    assert.deepEqual(a6000.data_quality, []);
  });

  it('every cloud: unique offer keys, positive prices, spot never above its ceiling', () => {
    for (const cloud of Object.keys(CLOUDS) as CloudName[]) {
      const { offers } = load(cloud);
      const keys = offers.map((o) => `${o.sku}|${o.region}|${o.zone}|${o.interruptible}`);
      assert.equal(new Set(keys).size, keys.length, cloud);
      for (const o of offers) {
        assert.ok(o.list_price_per_hour > 0, `${cloud} ${o.sku}`);
        assert.equal(o.provider, cloud);
        if (o.interruptible && o.on_demand_price !== null)
          assert.ok(o.list_price_per_hour <= o.on_demand_price);
        if (o.gpu_model === null) assert.equal(o.gpu_count, 0);
      }
    }
  });
});

describe('gpuInfoMemoryGb: per-file semantics', () => {
  const row = (gpu_info: string, accelerator_count: number): CatalogRow => ({
    line: 2,
    instance_type: 'x',
    accelerator_name: 'X',
    accelerator_count,
    vcpus: 1,
    memory_gib: 1,
    gpu_info,
    price: 1,
    spot_price: null,
    region: 'r',
    zone: null,
    extra: {},
  });
  const facts = (gpu_info_memory: CloudFacts['gpu_info_memory']): CloudFacts => ({
    ...CLOUDS.aws,
    gpu_info_memory,
  });
  const cases: Array<[string, string, number, CloudFacts['gpu_info_memory'], number | null]> = [
    // 81920 MiB / 1024 = 80 GB
    [
      'per GPU MiB (aws)',
      "{'Gpus': [{'Count': 8, 'MemoryInfo': {'SizeInMiB': 81920}}]}",
      8,
      'mib_per_gpu',
      80,
    ],
    // shadeform: 48 is already GB
    [
      'GB in a MiB field (shadeform)',
      "{'Gpus': [{'Count': 8.0, 'MemoryInfo': {'SizeInMiB': 48}}]}",
      8,
      'gb_per_gpu',
      48,
    ],
    // primeintellect: 655360 MiB total / 8 / 1024 = 80 GB
    [
      'node total (primeintellect)',
      '{"Gpus":[{"Count":8,"MemoryInfo":{"SizeInMiB":655360}}]}',
      8,
      'mib_total',
      80,
    ],
    // vast 2x RTX 5090: 65214 / 2 / 1024 = 31.84 → 31.8
    [
      'node total (vast)',
      "{'Gpus': [{'Count': 2, 'MemoryInfo': {'SizeInMiB': 65214}}]}",
      2,
      'mib_total',
      31.8,
    ],
    [
      'zero (nebius, seeweb RTX PRO 6000)',
      "{'Gpus': [{'Count': 1, 'MemoryInfo': {'SizeInMiB': 0}}]}",
      1,
      'mib_per_gpu',
      null,
    ],
    ['bare name (ibm)', 'V100', 1, 'none', null],
  ];
  for (const [name, info, count, sem, want] of cases) {
    it(name, () => assert.equal(gpuInfoMemoryGb(row(info, count), facts(sem)), want));
  }
  it("normaliseRegion strips Vast's empty state", () => {
    assert.equal(normaliseRegion(', CA, NA'), 'CA, NA');
    assert.equal(normaliseRegion('Denmark, DK, EU'), 'Denmark, DK, EU');
  });
});
