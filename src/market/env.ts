import type { CapabilityCatalog } from '../capabilities/types.js';
import { LATENCY_BANDS, RESOURCE_CLASSES } from '../protocol/glossary.js';
import type { GpuCapabilities } from '../protocol/schemas/offer.js';
import { Interner } from './columns.js';
import { bandForDistance, type Geo, type GeoPoint, haversineKm } from './geo.js';
import type { BuildEnv } from './index-store.js';

type Caps = (typeof GpuCapabilities)['static'];

/** Band and distance of every location code as seen from one point (LATENCY_BANDS index). */
export interface LocView {
  band: Uint8Array;
  /** km; NaN where the location is unknown. */
  dist: Float64Array;
}

/**
 * Everything the market derives once per string rather than once per offer: dictionaries, model
 * facts (class, profile, capabilities) and locations (region, coordinates). Shared by all snapshots
 * of one market; codes only ever grow.
 */
export interface MarketEnv extends BuildEnv {
  readonly capabilities: CapabilityCatalog;
  readonly geo: Geo;
  readonly regions: Interner;
  modelName(code: number): string | null;
  modelProfile(code: number): string | null;
  modelCaps(code: number, gpuMem: number): Caps | null;
  locRegion(code: number): string;
  locProvider(code: number): string;
  /** Bands/distances from a point, cached per point until new locations appear. */
  locView(from: GeoPoint): LocView;
}

export function createMarketEnv(capabilities: CapabilityCatalog, geo: Geo, home?: GeoPoint): MarketEnv {
  const providers = new Interner();
  const models = new Interner();
  const skus = new Interner();
  const zones = new Interner();
  const dqs = new Interner();
  const regions = new Interner();
  const locs = new Interner();
  const locRegionCode: number[] = [0];
  const locProviderCode: number[] = [0];
  const locLat: number[] = [Number.NaN];
  const locLon: number[] = [Number.NaN];
  const modelCls: number[] = [RESOURCE_CLASSES.indexOf('CPU')];
  const modelFp16: number[] = [Number.NaN];
  const modelMem: number[] = [Number.NaN];
  const profileOf = new Map<string, string>();
  for (const [profile, model] of capabilities.namedProfiles) profileOf.set(model, profile);
  const views = new Map<string, LocView>();

  const ensureModel = (code: number): void => {
    while (modelCls.length <= code) {
      const name = models.values[modelCls.length] as string;
      const p = capabilities.profiles.get(name);
      modelCls.push(RESOURCE_CLASSES.indexOf(capabilities.classOf(name)));
      modelFp16.push(p?.fp16_tflops ?? Number.NaN);
      modelMem.push(p?.memory_gb ?? Number.NaN);
    }
  };
  const n = (x: number) => (Number.isNaN(x) ? null : Math.round(x * 1000) / 1000);

  return {
    capabilities,
    geo,
    providers,
    models,
    skus,
    zones,
    dqs,
    regions,
    locCode(provider, region, lan) {
      const c = locs.code(`${provider}\u0000${region}`);
      if (c === locRegionCode.length) {
        const where = geo.locate(provider, region) ?? (lan && home ? home : null);
        locRegionCode.push(regions.code(region));
        locProviderCode.push(providers.code(provider));
        locLat.push(where?.lat ?? Number.NaN);
        locLon.push(where?.lon ?? Number.NaN);
      }
      return c;
    },
    locCount: () => locs.size,
    modelClass(code) {
      ensureModel(code);
      return modelCls[code] as number;
    },
    modelMemory(code) {
      ensureModel(code);
      return modelMem[code] as number;
    },
    modelFp16(code) {
      ensureModel(code);
      return modelFp16[code] as number;
    },
    modelName: (code) => (code === 0 ? null : (models.values[code] ?? null)),
    modelProfile(code) {
      if (code === 0) return null;
      const name = models.values[code] as string;
      return profileOf.get(name) ?? name;
    },
    modelCaps(code, gpuMem) {
      if (code === 0) return null;
      const p = capabilities.profiles.get(models.values[code] as string);
      return {
        fp16_tflops: p?.fp16_tflops ?? null,
        fp32_tflops: p?.fp32_tflops ?? null,
        int8_tops: p?.int8_tops ?? null,
        memory_gb: n(gpuMem) ?? p?.memory_gb ?? null,
        bandwidth_gb_s: p?.bandwidth_gb_s ?? null,
        interconnect: p?.interconnect ?? null,
      };
    },
    locRegion: (code) => regions.values[locRegionCode[code] as number] as string,
    locProvider: (code) => providers.values[locProviderCode[code] as number] as string,
    locView(from) {
      const key = `${from.lat},${from.lon}`;
      const cached = views.get(key);
      if (cached && cached.band.length === locs.size) return cached;
      const size = locs.size;
      const band = new Uint8Array(size);
      const dist = new Float64Array(size);
      for (let c = 0; c < size; c++) {
        const lat = locLat[c] as number;
        const km = Number.isNaN(lat) ? null : haversineKm(from, { lat, lon: locLon[c] as number });
        dist[c] = km ?? Number.NaN;
        band[c] = LATENCY_BANDS.indexOf(bandForDistance(km));
      }
      const view = { band, dist };
      if (views.size > 256) views.clear();
      views.set(key, view);
      return view;
    },
  };
}
