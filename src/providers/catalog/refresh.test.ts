import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCapabilityCatalog } from '../../capabilities/index.js';
import { ManualClock } from '../../util/clock.js';
import { packagePath } from '../../util/paths.js';
import { createCatalogProviders } from './index.js';
import { refreshCatalogs, SKYPILOT_CATALOG_BASE } from './refresh.js';

const caps = createCapabilityCatalog();
const shipped = (cloud: string) => readFileSync(packagePath('data', 'catalogs', cloud, 'vms.csv'), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'computemd-refresh-'));

// What the server holds, by path under /v8/.
const yottaNew = shipped('yotta').replace(/,0\.65$/gm, ',0.55');
const lambdaRows = shipped('lambda').split('\n');
const files: Record<string, string> = {
  'yotta/vms.csv': yottaNew,
  // ragged: header + 3 rows, then a 5th line with 3 cells
  'hyperbolic/vms.csv': `${shipped('hyperbolic')}x,H100,1\n`,
  // 10 of 425 rows: far under half
  'lambda/vms.csv': `${lambdaRows.slice(0, 11).join('\n')}\n`,
  'fluidstack/vms.csv': shipped('fluidstack'),
};
let server: Server;
let base = '';
before(async () => {
  server = createServer((req, res) => {
    const body = files[(req.url ?? '').replace(/^\/v8\//, '')];
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/csv' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v8`;
});
after(() => {
  server.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('refreshCatalogs over HTTP', () => {
  const dataDir = join(tmp, 'http');
  it('installs good files, keeps a cloud on 404, invalid or much smaller files, and says why', async () => {
    const res = await refreshCatalogs({
      from: base,
      dataDir,
      clouds: ['yotta', 'hyperbolic', 'lium', 'lambda', 'fluidstack'],
      capabilities: caps,
    });
    const by = Object.fromEntries(res.map((r) => [r.cloud, r]));
    assert.equal(by.yotta!.status, 'updated');
    assert.equal(readFileSync(join(dataDir, 'catalogs', 'yotta', 'vms.csv'), 'utf8'), yottaNew);
    assert.equal(by.fluidstack!.status, 'updated');

    assert.equal(by.hyperbolic!.status, 'kept');
    assert.match(
      by.hyperbolic!.reason!,
      /invalid file: .*hyperbolic\/vms\.csv \(line 5\): ragged row: 3 cells, header has 10/,
    );
    assert.equal(by.lium!.status, 'kept');
    assert.match(by.lium!.reason!, /HTTP 404/);
    assert.equal(by.lambda!.status, 'kept');
    // 10 usable rows against 425 now: 10 × 2 < 425
    assert.match(by.lambda!.reason!, /much smaller: 10 usable rows against 425 now/);
    for (const c of ['hyperbolic', 'lium', 'lambda'])
      assert.equal(existsSync(join(dataDir, 'catalogs', c)), false, c);
    // Atomic writes leave no temporary files behind.
    assert.deepEqual(readdirSync(join(dataDir, 'catalogs', 'yotta')), ['vms.csv']);
  });

  it('a second run finds nothing new; the loader serves the refreshed prices', async () => {
    const res = await refreshCatalogs({ from: base, dataDir, clouds: ['yotta'], capabilities: caps });
    assert.equal(res[0]!.status, 'unchanged');
    const cp = createCatalogProviders({
      capabilities: caps,
      seed: 1,
      clock: new ManualClock(0),
      dataDir,
      clouds: ['yotta'],
    });
    const offers = await cp.providers[0]!.listOffers({ now: 0 });
    // The two 1-GPU types were 0.65 in the shipped file, now 0.55.
    assert.ok(offers.some((o) => o.list_price_per_hour === 0.55));
    assert.ok(!offers.some((o) => o.list_price_per_hour === 0.65));
  });

  it('a fetch that throws keeps the cloud', async () => {
    const failing = (async () => {
      throw new Error('network down');
    }) as typeof fetch;
    const res = await refreshCatalogs({
      from: base,
      dataDir,
      clouds: ['yotta'],
      capabilities: caps,
      fetch: failing,
    });
    assert.deepEqual([res[0]!.status, res[0]!.reason], ['kept', 'download failed: network down']);
  });
});

describe('refreshCatalogs from a local directory', () => {
  it('reads <from>/<cloud>/vms.csv; a missing file keeps the cloud', async () => {
    const from = join(tmp, 'mirror');
    mkdirSync(join(from, 'jarvislabs'), { recursive: true });
    writeFileSync(join(from, 'jarvislabs', 'vms.csv'), shipped('jarvislabs'));
    const dataDir = join(tmp, 'local');
    const res = await refreshCatalogs({ from, dataDir, clouds: ['jarvislabs', 'cudo'], capabilities: caps });
    assert.deepEqual(
      res.map((r) => [r.cloud, r.status]),
      [
        ['jarvislabs', 'updated'],
        ['cudo', 'kept'],
      ],
    );
    assert.match(res[1]!.reason!, /^not found: /);
  });

  it('defaults to the public SkyPilot v8 catalog', () => {
    assert.equal(
      SKYPILOT_CATALOG_BASE,
      'https://raw.githubusercontent.com/skypilot-org/skypilot-catalog/master/catalogs/v8',
    );
  });
});
