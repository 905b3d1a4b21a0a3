import type { CapabilityCatalog } from '../../capabilities/types.js';
import type { OfferInput } from '../offer.js';
import { parseGres, type SinfoNode } from './client.js';

/**
 * `sinfo --Node` lines → offers. Pure. One offer per partition × node shape (CPUs, memory, GPU
 * GRES); `available` counts the nodes of that shape that are idle now in a partition that is up.
 * The offer is a whole node (leases run `--exclusive`), priced per node-hour by the operator: a
 * cluster's own allocation has no market price, so the default is 0.
 */

export interface SlurmOfferOptions {
  provider: string;
  observedAt: number;
  capabilities: CapabilityCatalog;
  pricePerNodeHour: number;
  region: string;
}

/** What a node of a shape looks like, and how many of them are idle. */
interface Shape {
  partition: string;
  cpus: number;
  memory_mb: number;
  gpus: number;
  gpu_type: string | null;
  idle: number;
  partition_up: boolean;
}

/**
 * The sku names the partition first (launch reads it back: `partition/shape`), then the shape:
 * "debug/c2-m24105" or "gpu/c64-m515000-gpu:a100:8". Stable while the hardware is.
 */
export function slurmSku(partition: string, cpus: number, memoryMb: number, gres: string): string {
  return `${partition}/c${cpus}-m${memoryMb}${gres ? `-${gres}` : ''}`;
}

/** What a sku asks of a node, read back at launch; null when the string is not a Slurm sku. */
export function parseSlurmSku(
  sku: string,
): { partition: string; cpus: number; memory_mb: number; gres: string | null } | null {
  const m = /^([^/]+)\/c(\d+)-m(\d+)(?:-(gpu(?::[^:/]+)?:\d+))?$/.exec(sku);
  if (!m) return null;
  return { partition: m[1] as string, cpus: Number(m[2]), memory_mb: Number(m[3]), gres: m[4] ?? null };
}

/** Only a plain "idle" node takes a job now: "idle*" does not respond, "idle~" is powered off. */
export const isIdle = (state: string) => state === 'idle';

export function slurmOffers(nodes: SinfoNode[], o: SlurmOfferOptions): OfferInput[] {
  const shapes = new Map<string, Shape>();
  for (const n of nodes) {
    const gpuGres = parseGres(n.gres).filter((g) => g.name === 'gpu');
    const gpus = gpuGres.reduce((s, g) => s + g.count, 0);
    const types = [...new Set(gpuGres.map((g) => g.type).filter((t) => t !== null))];
    const gres = gpus > 0 ? `gpu${types.length === 1 ? `:${types[0]}` : ''}:${gpus}` : '';
    const sku = slurmSku(n.partition, n.cpus, n.memory_mb, gres);
    let s = shapes.get(sku);
    if (!s) {
      s = {
        partition: n.partition,
        cpus: n.cpus,
        memory_mb: n.memory_mb,
        gpus,
        gpu_type: types.length === 1 ? (types[0] as string) : null,
        idle: 0,
        partition_up: n.partition_avail === 'up',
      };
      shapes.set(sku, s);
    }
    if (isIdle(n.state)) s.idle += 1;
  }

  const offers: OfferInput[] = [];
  for (const [sku, s] of shapes) {
    const dataQuality: string[] = [];
    if (!s.partition_up) dataQuality.push('partition_not_up');
    let gpuModel: string | null = null;
    if (s.gpus > 0) {
      // GRES types are the site's own words ("a100", "tesla", "rtx"); resolve what we can and keep
      // the rest as written (classed GPU_OTHER), never null, which would make it a CPU offer.
      const resolved = s.gpu_type ? o.capabilities.resolveModel(s.gpu_type, { provider: o.provider }) : null;
      if (resolved === null) dataQuality.push('gpu_model_unresolved');
      gpuModel = resolved ?? (s.gpu_type ? s.gpu_type : 'unknown GPU (Slurm GRES without a type)');
    }
    offers.push({
      provider: o.provider,
      // The glossary has no HPC type; a site's own cluster is closest to the edge fleet (owned,
      // near, priced by its operator rather than a market).
      provider_type: 'edge',
      sku,
      gpu_model: gpuModel,
      gpu_count: s.gpus,
      vcpus: s.cpus,
      memory_gb: Math.round((s.memory_mb / 1024) * 100) / 100,
      gpu_memory_gb: null,
      price_per_hour: o.pricePerNodeHour,
      list_price_per_hour: o.pricePerNodeHour,
      // Preemption is a site policy sinfo does not show; jobs here are not preempted by default.
      interruptible: false,
      region: o.region,
      zone: s.partition,
      available: s.partition_up ? s.idle : 0,
      // A managed cluster node (ECC memory, monitored, drained before maintenance) runs an hour
      // through as reliably as a host of your own; sinfo has no failure history to say more.
      reliability: 0.99,
      // Figures are slurmd's view of the hardware (slurm.conf checked at registration), not a benchmark.
      verification: 'provider_attested',
      observed_at: o.observedAt,
      simulated: false,
      data_quality: dataQuality,
    });
  }
  return offers;
}
