import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createCapabilityCatalog } from '../../capabilities/index.js';
import { PROVIDER_TYPES } from '../../protocol/glossary.js';
import { ManualClock } from '../../util/clock.js';
import { packagePath } from '../../util/paths.js';
import { CLOUD_NAMES, createCatalogProviders, LEASES_UNSUPPORTED } from './index.js';

const T0 = Date.UTC(2026, 0, 1);
const caps = createCapabilityCatalog();
const tmp = mkdtempSync(join(tmpdir(), 'computemd-catalog-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('createCatalogProviders over the shipped snapshot', () => {
  // Load time is a benchmark (cold start in BENCHMARKS.md), never a test assertion.
  const cp = createCatalogProviders({ capabilities: caps, seed: 1, clock: new ManualClock(T0) });

  it('loads every cloud of the snapshot', () => {
    assert.deepEqual(
      cp.providers.map((p) => p.info.name),
      CLOUD_NAMES,
    );
    assert.equal(cp.providers.length, 22);
  });

  it('every provider type except edge has a catalog provider', () => {
    const types = new Set(cp.providers.map((p) => p.info.type));
    for (const t of PROVIDER_TYPES) assert.equal(types.has(t), t !== 'edge', t);
  });

  it('directory facts: simulated, catalog_listed (vast benchmark_based), no leases, payment set', () => {
    for (const p of cp.providers) {
      assert.equal(p.info.simulated, true);
      assert.equal(p.info.verification, p.info.name === 'vast' ? 'benchmark_based' : 'catalog_listed');
      assert.equal(p.leases, null);
      assert.equal(p.features.unsupported.leases, LEASES_UNSUPPORTED);
      assert.ok(p.info.payment.length > 0 && p.info.payment.includes('fiat'));
      assert.equal(p.refresh_interval_s, 60);
      assert.ok(p.info.source.length > 0);
    }
    const byName = new Map(cp.providers.map((p) => [p.info.name, p]));
    assert.equal(byName.get('aws')!.features.interruptible, true);
    assert.equal(byName.get('vast')!.features.interruptible, false);
    assert.match(byName.get('vast')!.features.unsupported.interruptible!, /no usable spot/);
  });

  it('listOffers: simulated at now, deterministic, on-demand at list price', async () => {
    const aws = cp.providers.find((p) => p.info.name === 'aws')!;
    const a = await aws.listOffers({ now: T0 + 3_600_000 });
    const b = await aws.listOffers({ now: T0 + 3_600_000 });
    assert.deepEqual(a, b);
    assert.ok(a.every((o) => o.simulated && o.provider_type === 'traditional_cloud'));
    for (const o of a.filter((x) => !x.interruptible)) {
      assert.equal(o.price_per_hour, o.list_price_per_hour);
      assert.equal(o.observed_at, T0);
    }
    assert.ok(a.some((o) => o.available === 0) && a.some((o) => o.available > 0));
  });

  it('reports: one per cloud with rows, offers and what was dropped', () => {
    const reports = cp.reports();
    assert.equal(reports.length, 22);
    const mithril = reports.find((r) => r.cloud === 'mithril')!;
    assert.deepEqual([mithril.rows, mithril.offers, mithril.dropped.placeholder_price?.count], [4, 0, 4]);
    assert.ok(
      reports.every((r) => r.error === null),
      JSON.stringify(reports.filter((r) => r.error)),
    );
    assert.deepEqual(
      reports.find((r) => r.cloud === 'gcp')!.files.map((f) => f.path),
      [
        'data/catalogs/gcp/vms.csv',
        'data/catalogs/gcp/cyclenerd_gpu_vms.csv',
        'data/catalogs/gcp/price_check_skypilot_vs_cyclenerd.csv',
      ],
    );
  });
});

describe('dataDir', () => {
  const fluid = readFileSync(packagePath('data', 'catalogs', 'fluidstack', 'vms.csv'), 'utf8');
  const dir = join(tmp, 'dd');
  mkdirSync(join(dir, 'catalogs', 'fluidstack'), { recursive: true });
  mkdirSync(join(dir, 'catalogs', 'yotta'), { recursive: true });

  it('a refreshed file under <dataDir>/catalogs/<cloud>/ wins over the shipped one; reload picks up changes', async () => {
    // Shipped fluidstack: H100_NVLINK_80GB::8 at 23.92 in FINLAND; the data-dir copy says 20.00.
    writeFileSync(join(dir, 'catalogs', 'fluidstack', 'vms.csv'), fluid.replace(',23.92,', ',20.00,'));
    const clock = new ManualClock(T0);
    const cp = createCatalogProviders({
      capabilities: caps,
      seed: 1,
      clock,
      clouds: ['fluidstack'],
      dataDir: dir,
    });
    const [p] = cp.providers;
    assert.equal((await p!.listOffers({ now: T0 }))[0]!.list_price_per_hour, 20);
    assert.deepEqual(p!.report().files[0], {
      path: '<dataDir>/catalogs/fluidstack/vms.csv',
      origin: 'data_dir',
      rows: 1,
    });
    writeFileSync(join(dir, 'catalogs', 'fluidstack', 'vms.csv'), fluid.replace(',23.92,', ',21.50,'));
    clock.advance(60_000);
    cp.reload();
    const o = (await p!.listOffers({ now: T0 + 60_000 }))[0]!;
    assert.equal(o.list_price_per_hour, 21.5);
    assert.equal(o.observed_at, T0 + 60_000);
  });

  it('a malformed data-dir file falls back to the shipped file and the report names file, line and column', () => {
    writeFileSync(
      join(dir, 'catalogs', 'yotta', 'vms.csv'),
      'InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Region,SpotPrice,Price\nx,RTX5090,1,1,1,,r,,cheap\n',
    );
    const cp = createCatalogProviders({
      capabilities: caps,
      seed: 1,
      clock: new ManualClock(T0),
      clouds: ['yotta'],
      dataDir: dir,
    });
    const r = cp.reports()[0]!;
    assert.equal(r.offers, 8);
    assert.equal(r.files[0]!.origin, 'shipped');
    assert.equal(
      r.error,
      '<dataDir>/catalogs/yotta/vms.csv (line 2, column Price): not a non-negative number: "cheap"',
    );
  });

  it('ignores names that are not catalog clouds', () => {
    const cp = createCatalogProviders({
      capabilities: caps,
      seed: 1,
      clock: new ManualClock(T0),
      clouds: ['lambda', 'nope'],
    });
    assert.deepEqual(
      cp.providers.map((p) => p.info.name),
      ['lambda'],
    );
  });
});
