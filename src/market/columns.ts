import { PROVIDER_TYPES, RESOURCE_CLASSES, VERIFICATION } from '../protocol/glossary.js';
import type { OfferInput } from '../providers/offer.js';
import { hash64, offerKey } from './ids.js';

/** Strings → small integer codes, append-only for the life of a market (code 0 is reserved). */
export class Interner {
  private readonly map = new Map<string, number>();
  readonly values: string[] = [''];
  code(s: string): number {
    let c = this.map.get(s);
    if (c === undefined) {
      c = this.values.length;
      this.values.push(s);
      this.map.set(s, c);
    }
    return c;
  }
  /** The code of a known string, or -1 (never interns). */
  find(s: string): number {
    return this.map.get(s) ?? -1;
  }
  get size(): number {
    return this.values.length;
  }
}

/**
 * The offer table, one typed array per field (struct-of-arrays): ~120 bytes per offer instead of a
 * ~1 KB object. Strings are dictionary codes; NaN stands for null in float columns.
 */
export const COLUMN_TYPES = {
  idHi: Uint32Array,
  idLo: Uint32Array,
  provider: Uint16Array,
  ptype: Uint8Array,
  cls: Uint8Array,
  model: Uint16Array,
  sku: Uint32Array,
  zone: Uint32Array,
  /** (provider, region) location code: region name and coordinates hang off it. */
  loc: Uint32Array,
  gpuCount: Float64Array,
  vcpus: Float32Array,
  mem: Float32Array,
  gpuMem: Float32Array,
  price: Float64Array,
  listPrice: Float64Array,
  /** USD per GPU-hour (GPU offers) or per node-hour (CPU-only): what max_price and price sorts use. */
  unitPrice: Float64Array,
  /** FLAG_* bits. */
  flags: Uint8Array,
  reliability: Float64Array,
  /** Nodes rentable now: `supply` less the nodes reserved in the database (reservations.ts). */
  available: Uint32Array,
  /** Nodes the provider reports rentable (before reservations). */
  supply: Uint32Array,
  verification: Uint8Array,
  observedAt: Float64Array,
  dq: Uint32Array,
} as const;
export type ColumnName = keyof typeof COLUMN_TYPES;
export type Columns = { -readonly [K in ColumnName]: InstanceType<(typeof COLUMN_TYPES)[K]> } & { n: number };
const NAMES = Object.keys(COLUMN_TYPES) as ColumnName[];

export const FLAG_INTERRUPTIBLE = 1;
export const FLAG_SIMULATED = 2;
export const FLAG_LAN = 4;
/**
 * A LAN offer is LAN only as seen from the gateway's own place (within this distance); from a
 * `near` elsewhere it has the band of its distance, like any other offer.
 */
export const LAN_RADIUS_KM = 1;

export function allocColumns(n: number): Columns {
  const c = { n } as Columns;
  for (const k of NAMES) (c as unknown as Record<string, unknown>)[k] = new COLUMN_TYPES[k](n);
  return c;
}

/** What encoding needs from the market: dictionaries and per-model facts, both shared by snapshots. */
export interface EncodeEnv {
  providers: Interner;
  models: Interner;
  skus: Interner;
  zones: Interner;
  dqs: Interner;
  /** Code of (provider, region); the env records region and coordinates for it. */
  /**
   * Code of (provider, region). `lan`: the offer is on the gateway's own network; where the region
   * table has no coordinates for it, it is placed at the gateway's location.
   */
  locCode(provider: string, region: string, lan?: boolean): number;
  /** Class index (RESOURCE_CLASSES) and GPU memory of a model code. */
  modelClass(code: number): number;
  modelMemory(code: number): number;
}

const PTYPE = new Map<string, number>(PROVIDER_TYPES.map((t, i) => [t, i]));
const VERIF = new Map<string, number>(VERIFICATION.map((t, i) => [t, i]));
const CPU = RESOURCE_CLASSES.indexOf('CPU');

/** OfferInput[] → columns (unsorted; the snapshot sorts by id and drops duplicate ids). */
export function encodeOffers(inputs: readonly OfferInput[], env: EncodeEnv): Columns {
  const c = allocColumns(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const o = inputs[i] as OfferInput;
    const id = hash64(offerKey(o.provider, o.sku, o.region, o.zone, o.interruptible));
    c.idHi[i] = id.hi;
    c.idLo[i] = id.lo;
    c.provider[i] = env.providers.code(o.provider);
    c.ptype[i] = PTYPE.get(o.provider_type) ?? 0;
    const gpu = o.gpu_model !== null && o.gpu_count > 0;
    const m = gpu ? env.models.code(o.gpu_model as string) : 0;
    c.model[i] = m;
    c.cls[i] = gpu ? env.modelClass(m) : CPU;
    c.sku[i] = env.skus.code(o.sku);
    c.zone[i] = o.zone === null ? 0 : env.zones.code(o.zone);
    c.loc[i] = env.locCode(o.provider, o.region, o.latency_band === 'LAN');
    c.gpuCount[i] = gpu ? o.gpu_count : 0;
    c.vcpus[i] = o.vcpus;
    c.mem[i] = o.memory_gb;
    c.gpuMem[i] = !gpu ? Number.NaN : (o.gpu_memory_gb ?? env.modelMemory(m));
    c.price[i] = o.price_per_hour;
    c.listPrice[i] = o.list_price_per_hour;
    c.unitPrice[i] = gpu ? o.price_per_hour / o.gpu_count : o.price_per_hour;
    c.flags[i] =
      (o.interruptible ? FLAG_INTERRUPTIBLE : 0) |
      (o.simulated ? FLAG_SIMULATED : 0) |
      (o.latency_band === 'LAN' ? FLAG_LAN : 0);
    c.reliability[i] = o.reliability;
    c.supply[i] = Math.max(0, Math.floor(o.available));
    c.available[i] = c.supply[i] as number;
    c.verification[i] = VERIF.get(o.verification) ?? 0;
    c.observedAt[i] = o.observed_at;
    c.dq[i] = o.data_quality.length === 0 ? 0 : env.dqs.code(o.data_quality.join('\u0001'));
  }
  return c;
}

/** Rows of several parts, in the given order: order[j] = global row (parts concatenated). */
export function gatherColumns(parts: readonly Columns[], order: Uint32Array): Columns {
  const out = allocColumns(order.length);
  const starts: number[] = [];
  let s = 0;
  for (const p of parts) {
    starts.push(s);
    s += p.n;
  }
  const partOf = new Uint16Array(s);
  parts.forEach((p, k) => {
    partOf.fill(k, starts[k], (starts[k] as number) + p.n);
  });
  for (const name of NAMES) {
    const dst = out[name] as unknown as Record<number, number>;
    const srcs = parts.map((p) => p[name] as unknown as Record<number, number>);
    for (let j = 0; j < order.length; j++) {
      const g = order[j] as number;
      const k = partOf[g] as number;
      dst[j] = (srcs[k] as Record<number, number>)[g - (starts[k] as number)] as number;
    }
  }
  return out;
}

/** The rows of `cols` for which keep(row) is true, as a new part. */
export function selectRows(cols: Columns, keep: (row: number) => boolean): Columns {
  const idx: number[] = [];
  for (let i = 0; i < cols.n; i++) if (keep(i)) idx.push(i);
  return gatherColumns([cols], Uint32Array.from(idx));
}
