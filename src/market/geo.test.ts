import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { packagePath } from '../util/paths.js';
import { bandForDistance, DEFAULT_LOCATION, haversineKm, loadGeo } from './geo.js';

const geo = loadGeo();

describe('geo', () => {
  it('haversine matches known city distances', () => {
    // London (51.5072,-0.1276) → Paris (48.8566,2.3522): ≈ 344 km great-circle.
    const km = haversineKm({ lat: 51.5072, lon: -0.1276 }, { lat: 48.8566, lon: 2.3522 });
    assert.ok(Math.abs(km - 344) < 3, String(km));
    // Ashburn → Dublin ≈ 5,480 km: global.
    const d = haversineKm(DEFAULT_LOCATION, { lat: 53.3498, lon: -6.2603 });
    assert.ok(d > 5400 && d < 5600, String(d));
  });

  it('bands by glossary limits: ≤300 metro, ≤2500 regional, else global; unknown global', () => {
    const table: [number | null, string][] = [
      [0, 'metro'],
      [300, 'metro'],
      [300.1, 'regional'],
      [2500, 'regional'],
      [2500.1, 'global'],
      [null, 'global'],
    ];
    for (const [km, band] of table) assert.equal(bandForDistance(km), band, String(km));
  });

  it('locates provider rows first, then * rows, then centroids', () => {
    assert.equal(geo.locate('aws', 'us-east-1')?.city, 'Ashburn');
    assert.equal(geo.locate('lambda', 'us-east-1')?.city, 'Virginia');
    assert.equal(geo.locate('yotta', 'us-east-2')?.how, 'country'); // not AWS's Ohio
    assert.equal(geo.locate('shadeform', 'dallas-usa-3')?.city, 'Dallas');
    assert.equal(geo.locate('vast', 'Oregon, US, NA')?.how, 'subdivision');
    assert.equal(geo.locate('vast', 'Germany, DE, EU')?.country, 'DE');
    assert.equal(geo.locate('vast', ', CA, NA')?.country, 'CA');
    assert.equal(geo.locate('runpod', 'IS')?.country, 'IS');
    assert.equal(geo.locate('hyperstack', 'CANADA-1')?.country, 'CA');
    assert.equal(geo.locate('fluidstack', 'FINLAND')?.country, 'FI');
    assert.equal(geo.locate('nebius', 'me-west1')?.country, 'IL'); // not Montenegro
    assert.equal(geo.locate('x', 'nowhere-land'), null);
  });

  it('parses near as lat,lon, provider:region or any region name', () => {
    assert.deepEqual(geo.parseNear('48.85,2.35'), { lat: 48.85, lon: 2.35 });
    assert.equal(geo.parseNear('91,0'), null);
    assert.equal(geo.parseNear('eu-west-1')?.lat, 53.3498); // AWS Dublin
    assert.equal(geo.parseNear('europe-west4')?.lat, 53.4386); // GCP Eemshaven
    assert.equal(geo.parseNear('lambda:us-east-1')?.lat, 37.4316);
    assert.equal(geo.parseNear('atlantis'), null);
  });

  it('every region in the shipped catalogs has coordinates, except the listed ones', () => {
    // Real exceptions: names that say no place at all.
    const EXCEPTIONS = new Set([
      'seeweb:', // some GPU rows have an empty Region
      'daytona:earth', // "any region"
      'daytona:eu', // a continent
      'hyperbolic:default',
      'lambda:europe-south-1', // Lambda states no city or country for these two
      'lambda:asia-northeast-2',
    ]);
    const missing: string[] = [];
    const root = packagePath('data', 'catalogs');
    for (const provider of readdirSync(root)) {
      let files: string[] = [];
      try {
        files = readdirSync(`${root}/${provider}`).filter((f) => f.startsWith('vms') && f.endsWith('.csv'));
      } catch {
        continue;
      }
      for (const f of files) {
        const rows = parse(readFileSync(`${root}/${provider}/${f}`, 'utf8'), { columns: true }) as Record<
          string,
          string
        >[];
        for (const region of new Set(rows.map((r) => r.Region ?? ''))) {
          if (!geo.locate(provider, region) && !EXCEPTIONS.has(`${provider}:${region}`))
            missing.push(`${provider}:${region}`);
        }
      }
    }
    assert.deepEqual(missing, []);
    // And each exception really is unknown (or a country fallback), so the list stays honest.
    for (const e of EXCEPTIONS) {
      const [p = '', r = ''] = e.split(':');
      const loc = geo.locate(p, r);
      assert.ok(loc === null || loc.how === 'country', e);
    }
  });
});
