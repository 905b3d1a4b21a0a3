import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { LATENCY_BAND_MAX_KM, type LatencyBand } from '../protocol/glossary.js';
import { packagePath } from '../util/paths.js';
import { COUNTRIES, NOT_COUNTRY_PREFIXES, SUBDIVISIONS } from './geo-centroids.js';

export interface GeoPoint {
  lat: number;
  lon: number;
}

export interface RegionLocation extends GeoPoint {
  city: string;
  country: string;
  source: string;
  /** 'table' = data/regions.csv; 'subdivision'/'country' = a centroid fallback (rougher). */
  how: 'table' | 'subdivision' | 'country';
}

export interface RegionRow {
  provider: string;
  region: string;
  lat: number;
  lon: number;
  city: string;
  country: string;
  source: string;
}

export interface Geo {
  /** Where a provider's region is: its own row, then a `*` row, then country/state fallbacks; null = unknown. */
  locate(provider: string, region: string): RegionLocation | null;
  /** A region of any provider (first row in file order, so AWS's us-east-1 wins), then fallbacks. */
  locateAny(region: string): RegionLocation | null;
  /** A `near` value: "lat,lon", "provider:region" or a region name; null when it is none of these. */
  parseNear(value: string): GeoPoint | null;
}

/**
 * The gateway's default location when none is configured: AWS us-east-1 (Ashburn, N. Virginia),
 * documented in docs/glossary.md. Bands and distances without `near` are measured from here.
 */
export const DEFAULT_LOCATION: GeoPoint & { name: string } = {
  name: 'us-east-1',
  lat: 39.0438,
  lon: -77.4874,
};

const EARTH_RADIUS_KM = 6371.0088;

/** Great-circle distance (haversine), km. */
export function haversineKm(a: GeoPoint, b: GeoPoint): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Band for a distance (glossary LATENCY_BAND_MAX_KM); unknown distance is 'global'. Never LAN. */
export function bandForDistance(km: number | null): LatencyBand {
  if (km === null || !Number.isFinite(km)) return 'global';
  if (km <= LATENCY_BAND_MAX_KM.metro) return 'metro';
  if (km <= LATENCY_BAND_MAX_KM.regional) return 'regional';
  return 'global';
}

export function parseRegionsCsv(text: string): RegionRow[] {
  const recs = parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  return recs.map((r) => ({
    provider: r.provider ?? '*',
    region: r.region ?? '',
    lat: Number(r.lat),
    lon: Number(r.lon),
    city: r.city ?? '',
    country: r.country ?? '',
    source: r.source ?? '',
  }));
}

/** The shipped table (data/regions.csv). */
export function loadGeo(): Geo {
  return createGeo(parseRegionsCsv(readFileSync(packagePath('data', 'regions.csv'), 'utf8')));
}

const countryByName = new Map<string, string>();
for (const [cc, v] of Object.entries(COUNTRIES)) {
  for (const name of v.slice(2) as string[]) countryByName.set(name.toLowerCase(), cc);
}

function country(cc: string, why: string): RegionLocation | null {
  const c = COUNTRIES[cc.toUpperCase()];
  if (!c) return null;
  return { lat: c[0], lon: c[1], city: '', country: cc.toUpperCase(), source: why, how: 'country' };
}

/**
 * Fallbacks for names no table row holds: vast's "State, CC, Continent"; a bare country code or name
 * with an optional number ("US", "FINLAND", "Finland 3", "IN1", "CANADA-1"); a country-code prefix
 * ("us-central-2").
 */
export function locateByName(region: string): RegionLocation | null {
  const parts = region.split(',').map((s) => s.trim());
  if (parts.length === 3 && /^[A-Z]{2}$/.test(parts[1] ?? '')) {
    const [state = '', cc = ''] = parts;
    const sub = SUBDIVISIONS[`${cc}:${state}`];
    if (sub) {
      return {
        lat: sub[0],
        lon: sub[1],
        city: state,
        country: cc,
        source: 'subdivision centroid',
        how: 'subdivision',
      };
    }
    const named = countryByName.get(state.toLowerCase());
    return country(named ?? cc, 'country centroid (DSPL countries.csv)');
  }
  const bare = region.replace(/[\s_-]*\d+$/, '').trim();
  if (/^[A-Za-z]{2}$/.test(bare)) return country(bare, 'country centroid (DSPL countries.csv)');
  const byName = countryByName.get(bare.toLowerCase());
  if (byName) return country(byName, 'country centroid (DSPL countries.csv)');
  const prefix = /^([a-z]{2})-/.exec(region)?.[1];
  if (prefix && !NOT_COUNTRY_PREFIXES.has(prefix)) {
    return country(prefix, 'country centroid from the region-name prefix (DSPL countries.csv)');
  }
  return null;
}

export function createGeo(rows: readonly RegionRow[]): Geo {
  const byKey = new Map<string, RegionLocation>();
  const any = new Map<string, RegionLocation>();
  for (const r of rows) {
    if (!Number.isFinite(r.lat) || !Number.isFinite(r.lon)) continue;
    const loc: RegionLocation = { ...r, how: 'table' };
    byKey.set(`${r.provider}\u0000${r.region}`, loc);
    if (r.provider === '*' || !any.has(r.region)) any.set(r.region, loc);
  }
  // '*' rows must win in `any` even when a provider row came first.
  for (const r of rows) if (r.provider === '*') any.set(r.region, { ...r, how: 'table' });

  const geo: Geo = {
    locate(provider, region) {
      return byKey.get(`${provider}\u0000${region}`) ?? byKey.get(`*\u0000${region}`) ?? locateByName(region);
    },
    locateAny(region) {
      return any.get(region) ?? locateByName(region);
    },
    parseNear(value) {
      const m = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(value);
      if (m) {
        const lat = Number(m[1]);
        const lon = Number(m[2]);
        if (lat < -90 || lat > 90 || lon < -180 || lon > 180) return null;
        return { lat, lon };
      }
      const colon = value.indexOf(':');
      if (colon > 0) {
        const loc = geo.locate(value.slice(0, colon), value.slice(colon + 1));
        if (loc) return { lat: loc.lat, lon: loc.lon };
      }
      const loc = geo.locateAny(value);
      return loc ? { lat: loc.lat, lon: loc.lon } : null;
    },
  };
  return geo;
}
