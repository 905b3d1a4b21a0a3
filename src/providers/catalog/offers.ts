import type { CapabilityCatalog } from '../../capabilities/types.js';
import type { ListedOffer } from '../sim/model.js';
import { type CloudFacts, type CloudName, cloudFacts } from './clouds.js';
import { type CatalogRow, parseGpuInfo } from './csv.js';
import { judgePrices, type ReportBuilder, spotTwinSku } from './quality.js';

/** What turning rows into offers needs: one cloud, one file, one report. */
export interface OfferContext {
  cloud: CloudName;
  capabilities: CapabilityCatalog;
  /** Epoch ms the file was loaded. */
  loaded_at: number;
  /** File name for report examples. */
  file: string;
  report: ReportBuilder;
}

export function example(ctx: Pick<OfferContext, 'file'>, row: CatalogRow, sku = row.instance_type): string {
  return `${ctx.file}:${row.line} ${sku} ${row.region || '(no region)'}`;
}

/** GPU memory per GPU in GB as GpuInfo states it, with the file's semantics applied; null if unusable. */
export function gpuInfoMemoryGb(row: CatalogRow, facts: CloudFacts): number | null {
  if (facts.gpu_info_memory === 'none') return null;
  const info = parseGpuInfo(row.gpu_info);
  if (!info || info.size_mib === null || info.size_mib <= 0) return null;
  let gb: number;
  switch (facts.gpu_info_memory) {
    case 'mib_per_gpu':
      gb = info.size_mib / 1024;
      break;
    case 'gb_per_gpu':
      gb = info.size_mib;
      break;
    case 'mib_total': {
      const n = row.accelerator_count ?? info.count;
      if (!n || n <= 0) return null;
      gb = info.size_mib / n / 1024;
      break;
    }
  }
  return Math.round(gb * 10) / 10;
}

export interface GpuShape {
  gpu_model: string | null;
  gpu_count: number;
  gpu_memory_gb: number | null;
  flags: string[];
}

/**
 * The GPU of a row: canonical model via the capability catalog, memory from the profile where it has
 * one (GpuInfo only when it has none). null when the row names an accelerator nobody can resolve.
 */
export function gpuShape(row: CatalogRow, ctx: OfferContext, memoryHint?: number | null): GpuShape | null {
  const facts = cloudFacts(ctx.cloud);
  if (row.accelerator_name === '') return { gpu_model: null, gpu_count: 0, gpu_memory_gb: null, flags: [] };
  const infoGb = memoryHint !== undefined ? memoryHint : gpuInfoMemoryGb(row, facts);
  const hints = {
    instance_type: row.instance_type,
    provider: ctx.cloud,
    ...(infoGb !== null ? { memory_gb: infoGb } : {}),
  };
  let model = ctx.capabilities.resolveModel(row.accelerator_name, hints);
  if (model === null) {
    const infoName = parseGpuInfo(row.gpu_info)?.name;
    if (infoName && infoName !== row.accelerator_name) model = ctx.capabilities.resolveModel(infoName, hints);
  }
  if (model === null) return null;
  const profileGb = ctx.capabilities.profiles.get(model)?.memory_gb ?? null;
  const flags: string[] = [];
  let memory: number | null = profileGb;
  if (profileGb === null) {
    memory = infoGb;
    if (infoGb !== null) flags.push('gpu_memory_from_gpuinfo');
  } else if (infoGb !== null && Math.abs(infoGb - profileGb) / profileGb > 0.1) {
    // The file's figure disagrees with the datasheet by more than 10% (a wrong unit or a total).
    flags.push('gpu_memory_from_profile');
  }
  let count = row.accelerator_count ?? 0;
  const part = ctx.cloud === 'azure' ? AZURE_GPU_PARTITIONS[row.instance_type] : undefined;
  if (part !== undefined && part !== count) {
    // The catalog says a whole GPU where the VM gets a slice: per-GPU prices would be off by 1/part.
    count = part;
    flags.push('gpu_count_corrected:azure_partition');
  }
  if (count > 0 && count < 1 && memory !== null) {
    // A slice of a GPU: what a workload can use is the slice's memory, so filters see that.
    memory = Math.round(memory * count * 100) / 100;
    flags.push('fractional_gpu');
  }
  return { gpu_model: model, gpu_count: count, gpu_memory_gb: memory, flags };
}

/**
 * Azure VM sizes that get a partition of one GPU although the catalog lists a whole one. Source:
 * Azure NVv4-series documentation (NV4as_v4 1/8 MI25, NV8as_v4 1/4, NV16as_v4 1/2, NV32as_v4 1).
 */
export const AZURE_GPU_PARTITIONS: Readonly<Record<string, number>> = {
  Standard_NV4as_v4: 0.125,
  Standard_NV8as_v4: 0.25,
  Standard_NV16as_v4: 0.5,
  Standard_NV32as_v4: 1,
};

/** Vast writes "State, CC, Continent" and leaves the state empty (", CA, NA"). */
export function normaliseRegion(region: string): string {
  return region.replace(/^[\s,]+/, '').trim();
}

interface Base {
  row: CatalogRow;
  shape: GpuShape;
  region: string;
}

function listed(
  ctx: OfferContext,
  b: Base,
  price: number,
  interruptible: boolean,
  zone: string | null,
  onDemand: number | null,
  flags: string[],
  sku = b.row.instance_type,
): ListedOffer {
  const facts = cloudFacts(ctx.cloud);
  return {
    provider: ctx.cloud,
    provider_type: facts.type,
    sku,
    gpu_model: b.shape.gpu_model,
    gpu_count: b.shape.gpu_count,
    vcpus: b.row.vcpus ?? 0,
    memory_gb: b.row.memory_gib ?? 0,
    gpu_memory_gb: b.shape.gpu_memory_gb,
    list_price_per_hour: price,
    interruptible,
    region: b.region,
    zone,
    verification: facts.verification,
    data_quality: [...b.shape.flags, ...flags],
    on_demand_price: onDemand,
    loaded_at: ctx.loaded_at,
  };
}

/**
 * Rows of an ordinary (non-GCP) vms.csv → listed offers: one on-demand offer per Price, one
 * interruptible offer per SpotPrice, after the quality rules. Drops and flags go to ctx.report.
 */
export function rowsToOffers(rows: readonly CatalogRow[], ctx: OfferContext): ListedOffer[] {
  const facts = cloudFacts(ctx.cloud);
  // On-demand prices by (sku, region, zone), so spot-only twins find their ceiling.
  const onDemandOf = new Map<string, number>();
  for (const r of rows) {
    if (r.price !== null && r.price > 0) {
      onDemandOf.set(`${r.instance_type}|${normaliseRegion(r.region)}|${r.zone ?? ''}`, r.price);
    }
  }
  const out: ListedOffer[] = [];
  const seen = new Set<string>();
  const push = (o: ListedOffer, row: CatalogRow): void => {
    const key = `${o.sku}|${o.region}|${o.zone ?? ''}|${o.interruptible}`;
    if (seen.has(key)) {
      // Same shape, place and market listed twice: the first row wins.
      if (!(facts.on_demand_per_region && !o.interruptible))
        ctx.report.drop('duplicate_offer', example(ctx, row));
      else ctx.report.merge('on_demand_zone_rows');
      return;
    }
    seen.add(key);
    ctx.report.flags(o.data_quality, example(ctx, row, o.sku));
    out.push(o);
  };
  for (const row of rows) {
    const region = normaliseRegion(row.region);
    if (region === '') {
      ctx.report.drop('missing_region', example(ctx, row));
      continue;
    }
    if (row.accelerator_name !== '' && !(row.accelerator_count !== null && row.accelerator_count > 0)) {
      ctx.report.drop('missing_accelerator_count', example(ctx, row));
      continue;
    }
    const twin = spotTwinSku(row.instance_type);
    const ceiling = twin !== null ? (onDemandOf.get(`${twin}|${region}|${row.zone ?? ''}`) ?? null) : null;
    const v = judgePrices(ctx.cloud, row, ceiling);
    for (const d of v.dropped) ctx.report.drop(d, example(ctx, row));
    if (v.on_demand === null && v.spot === null) continue;
    const shape = gpuShape(row, ctx);
    if (shape === null) {
      ctx.report.drop('unknown_accelerator', `${example(ctx, row)} (${row.accelerator_name})`);
      continue;
    }
    const b: Base = { row, shape, region };
    if (v.on_demand !== null) {
      const zone = facts.on_demand_per_region ? null : row.zone;
      push(listed(ctx, b, v.on_demand, false, zone, v.on_demand, v.on_demand_flags), row);
    }
    if (v.spot !== null) {
      push(listed(ctx, b, v.spot, true, row.zone, v.on_demand ?? ceiling, v.spot_flags), row);
    }
  }
  return out;
}
