import type { ListedOffer } from '../sim/model.js';
import { cloudFacts } from './clouds.js';
import type { CatalogRow, TableRow } from './csv.js';
import { example, gpuInfoMemoryGb, gpuShape, type OfferContext, rowsToOffers } from './offers.js';
import { judgePrices } from './quality.js';

/**
 * GCP bills GPUs separately: host rows (InstanceType set, no accelerator) + accelerator rows (empty
 * InstanceType) in the same zone make one VM. SkyPilot's accelerator rows are known to be low for
 * some (accelerator, region) pairs, so full instance prices from Cyclenerd win wherever they cover
 * the type and region; pairings fill the rest, and a pairing known (or patterned) to be low is dropped.
 */

/** Host type → (accelerator, count), as SkyPilot's gcp_catalog pairs them. */
export function hostAccelerator(host: string): { name: string; count: number } | null {
  let m = /^a2-highgpu-(1|2|4|8)g$/.exec(host);
  if (m) return { name: 'A100', count: Number(m[1]) };
  if (host === 'a2-megagpu-16g') return { name: 'A100', count: 16 };
  m = /^a2-ultragpu-(1|2|4|8)g$/.exec(host);
  if (m) return { name: 'A100-80GB', count: Number(m[1]) };
  m = /^a3-highgpu-(1|2|4|8)g$/.exec(host);
  if (m) return { name: 'H100', count: Number(m[1]) };
  if (host === 'a3-edgegpu-8g') return { name: 'H100', count: 8 };
  if (host === 'a3-megagpu-8g') return { name: 'H100-MEGA', count: 8 };
  if (host === 'a3-ultragpu-8g') return { name: 'H200', count: 8 };
  if (host === 'a4-highgpu-8g') return { name: 'B200', count: 8 };
  m = /^g2-standard-(\d+)$/.exec(host);
  if (m) {
    const l4: Record<string, number> = { 4: 1, 8: 1, 12: 1, 16: 1, 32: 1, 24: 2, 48: 4, 96: 8 };
    const n = l4[m[1]!];
    return n ? { name: 'L4', count: n } : null;
  }
  return null;
}

/**
 * The n1 pairings we list: T4/V100/P100/P4 attach to any n1 host; a small set keeps the market
 * readable. n GPUs ride on n1-standard-(8·n), within GCP's vCPU limit for each GPU count, plus
 * the cheapest T4 shape (n1-standard-4 + 1 T4).
 */
export const N1_PAIRINGS: ReadonlyArray<{ host: string; name: string; count: number }> = [
  { host: 'n1-standard-4', name: 'T4', count: 1 },
  ...(['T4', 'V100', 'P100', 'P4'] as const).flatMap((name) =>
    (name === 'V100' ? [1, 2, 4, 8] : [1, 2, 4]).map((count) => ({
      host: `n1-standard-${8 * count}`,
      name,
      count,
    })),
  ),
];

export interface PriceCheck {
  /** `${accelerator}|${region}` marked skypilot_low. */
  low: Set<string>;
  /** accelerator → the per-GPU prices SkyPilot lists where the check found them low. */
  lowValues: Map<string, number[]>;
  /** Accelerators the check covers at all. */
  checked: Set<string>;
}

export function readPriceCheck(rows: readonly TableRow[]): PriceCheck {
  const pc: PriceCheck = { low: new Set(), lowValues: new Map(), checked: new Set() };
  for (const { cells } of rows) {
    const acc = cells.AcceleratorName ?? '';
    pc.checked.add(acc);
    if (cells.Verdict !== 'skypilot_low') continue;
    pc.low.add(`${acc}|${cells.Region}`);
    const v = Number(cells.SkyPilotGpuPricePerGpu);
    if (Number.isFinite(v)) pc.lowValues.set(acc, [...(pc.lowValues.get(acc) ?? []), v]);
  }
  return pc;
}

const near = (a: number, b: number): boolean => Math.abs(a - b) <= 0.005 * Math.max(a, b);

/** Accelerators of the a2/a3/a4 families, where the check found SkyPilot's flat low rates. */
const DATACENTER_ACCELERATORS = new Set(['A100', 'A100-80GB', 'H100', 'H100-MEGA', 'H200', 'B200']);

/**
 * For a2/a3/a4 accelerators no second source prices (H200, B200): a per-GPU price shared by ≥3
 * regions and below 0.75 × the dearest region is the flat-low pattern the check found in the H100 and
 * A100 rows. (Not applied to n1 GPUs: T4's ordinary regional spread would trip it.) Returns
 * `${accelerator}|${region}` keys to drop.
 */
export function flatLowUnverified(accelRows: readonly CatalogRow[], pc: PriceCheck): Set<string> {
  const byAcc = new Map<string, Map<string, number>>();
  for (const r of accelRows) {
    if (!DATACENTER_ACCELERATORS.has(r.accelerator_name) || pc.checked.has(r.accelerator_name)) continue;
    if (r.price === null || !r.accelerator_count) continue;
    const m = byAcc.get(r.accelerator_name) ?? new Map<string, number>();
    m.set(r.region, Math.max(m.get(r.region) ?? 0, r.price / r.accelerator_count));
    byAcc.set(r.accelerator_name, m);
  }
  const out = new Set<string>();
  for (const [acc, regions] of byAcc) {
    const max = Math.max(...regions.values());
    const counts = new Map<number, number>();
    for (const p of regions.values()) counts.set(p, (counts.get(p) ?? 0) + 1);
    for (const [region, p] of regions) {
      if ((counts.get(p) ?? 0) >= 3 && p < 0.75 * max) out.add(`${acc}|${region}`);
    }
  }
  return out;
}

export interface GcpInput {
  vms: readonly CatalogRow[];
  cyclenerd: readonly CatalogRow[];
  check: readonly TableRow[];
  ctx: OfferContext;
  /** File name of cyclenerd rows for report examples. */
  cyclenerdFile: string;
}

export function gcpOffers(input: GcpInput): ListedOffer[] {
  const { ctx } = input;
  const pc = readPriceCheck(input.check);
  // 1. Cyclenerd: full instance prices, region-level.
  const cyc = rowsToOffers(input.cyclenerd, { ...ctx, file: input.cyclenerdFile }).map((o) => {
    const flags = ['price_source:gcp_cyclenerd'];
    const acc = hostAccelerator(o.sku)?.name ?? '';
    if (pc.low.has(`${acc}|${o.region}`)) flags.push('price_corrected:gcp_cyclenerd');
    for (const f of flags)
      if (f.includes('corrected')) ctx.report.flags([f], `${input.cyclenerdFile} ${o.sku} ${o.region}`);
    return { ...o, data_quality: [...o.data_quality, ...flags] };
  });
  const covered = new Set(cyc.map((o) => `${o.sku}|${o.region}`));

  // 2. Pairings from vms.csv, per zone, folded to one offer per (sku, region).
  const accels = input.vms.filter((r) => r.instance_type === '' && r.accelerator_name !== '');
  const accelAt = new Map<string, CatalogRow>();
  for (const a of accels) accelAt.set(`${a.zone}|${a.accelerator_name}|${a.accelerator_count}`, a);
  const flatLow = flatLowUnverified(accels, pc);
  const n1 = new Map<string, typeof N1_PAIRINGS>();
  for (const p of N1_PAIRINGS) n1.set(p.host, [...(n1.get(p.host) ?? []), p]);

  const perRegion = new Map<
    string,
    { host: CatalogRow; acc: CatalogRow; sku: string; od: number; spot: number | null }
  >();
  for (const host of input.vms) {
    if (host.instance_type === '') continue;
    const fixed = hostAccelerator(host.instance_type);
    const pairs = fixed
      ? [{ ...fixed, sku: host.instance_type }]
      : (n1.get(host.instance_type) ?? []).map((p) => ({ ...p, sku: `${p.host}+${p.name}x${p.count}` }));
    if (pairs.length === 0) {
      ctx.report.merge('gcp_host_rows_unpaired');
      continue;
    }
    for (const p of pairs) {
      if (covered.has(`${p.sku}|${host.region}`)) {
        ctx.report.merge('gcp_pairing_covered_by_cyclenerd');
        continue;
      }
      const acc = accelAt.get(`${host.zone}|${p.name}|${p.count}`);
      if (!acc) {
        // n1 hosts exist in many zones without that GPU: normal. A fixed a2/a3/a4/g2 host without its
        // accelerator row is a gap in the catalog.
        if (fixed)
          ctx.report.drop('gcp_no_accelerator_row', `${ctx.file}:${host.line} ${p.sku} ${host.zone}`);
        else ctx.report.merge('gcp_n1_zone_without_that_gpu');
        continue;
      }
      const perGpu = acc.price !== null ? acc.price / p.count : null;
      const knownLow =
        pc.low.has(`${p.name}|${host.region}`) ||
        (perGpu !== null && (pc.lowValues.get(p.name) ?? []).some((v) => near(v, perGpu)));
      if (knownLow) {
        ctx.report.drop(
          'gcp_accelerator_price_low',
          `${ctx.file}:${acc.line} ${p.sku} ${host.region} (${p.name} ${perGpu}/GPU)`,
        );
        continue;
      }
      if (flatLow.has(`${p.name}|${host.region}`)) {
        ctx.report.drop(
          'gcp_flat_low_unverified',
          `${ctx.file}:${acc.line} ${p.sku} ${host.region} (${p.name} ${perGpu}/GPU)`,
        );
        continue;
      }
      if (host.price === null || acc.price === null) {
        ctx.report.drop('no_price', example(ctx, host, p.sku));
        continue;
      }
      const od = host.price + acc.price;
      const spot =
        host.spot_price !== null && acc.spot_price !== null ? host.spot_price + acc.spot_price : null;
      const key = `${p.sku}|${host.region}`;
      const prev = perRegion.get(key);
      if (prev) {
        // Zones of a region list the same host price; keep the dearest pairing to stay conservative.
        ctx.report.merge('gcp_zone_rows');
        if (od > prev.od) perRegion.set(key, { host, acc, sku: p.sku, od, spot });
        continue;
      }
      perRegion.set(key, { host, acc, sku: p.sku, od, spot });
    }
  }

  const paired: ListedOffer[] = [];
  const facts = cloudFacts('gcp');
  for (const { host, acc, sku, od, spot } of perRegion.values()) {
    const row: CatalogRow = {
      ...host,
      instance_type: sku,
      accelerator_name: acc.accelerator_name,
      accelerator_count: acc.accelerator_count,
      gpu_info: acc.gpu_info,
      price: round6(od),
      spot_price: spot === null ? null : round6(spot),
    };
    const v = judgePrices('gcp', row);
    for (const d of v.dropped) ctx.report.drop(d, example(ctx, row));
    const shape = gpuShape(row, ctx, gpuInfoMemoryGb(acc, facts));
    if (shape === null) {
      ctx.report.drop('unknown_accelerator', `${example(ctx, row)} (${acc.accelerator_name})`);
      continue;
    }
    const base = {
      provider: 'gcp',
      provider_type: facts.type,
      sku,
      gpu_model: shape.gpu_model,
      gpu_count: shape.gpu_count,
      vcpus: host.vcpus ?? 0,
      memory_gb: host.memory_gib ?? 0,
      gpu_memory_gb: shape.gpu_memory_gb,
      region: host.region,
      zone: null,
      verification: facts.verification,
      loaded_at: ctx.loaded_at,
    } as const;
    const src = 'price_source:gcp_host_plus_accelerator';
    if (v.on_demand !== null) {
      const dq = [...shape.flags, src, ...v.on_demand_flags];
      ctx.report.flags(dq, example(ctx, row));
      paired.push({
        ...base,
        list_price_per_hour: v.on_demand,
        interruptible: false,
        on_demand_price: v.on_demand,
        data_quality: dq,
      });
    }
    if (v.spot !== null) {
      const dq = [...shape.flags, src, ...v.spot_flags];
      ctx.report.flags(dq, example(ctx, row));
      paired.push({
        ...base,
        list_price_per_hour: v.spot,
        interruptible: true,
        on_demand_price: v.on_demand,
        data_quality: dq,
      });
    }
  }
  return [...cyc, ...paired];
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
