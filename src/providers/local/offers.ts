import type { CapabilityCatalog } from '../../capabilities/types.js';
import type { OfferInput } from '../offer.js';
import { type GpuProbe, type HostFacts, LOCAL_PROVIDER_NAME } from './client.js';

/**
 * This host's facts → offers. Pure. One CPU offer always; one GPU offer per GPU model found (all
 * GPUs of that model on one node). They describe the same machine, so each has `available: 1`
 * and the host's whole CPU and memory; booking one does not book the other (issue 6's node agent
 * does the accounting of what is in use).
 */

export interface LocalOfferOptions {
  observedAt: number;
  capabilities: CapabilityCatalog;
  pricePerHour: number;
  region: string;
  /** Whose offers: default `local`; a node agent's are its own provider (gateway/agents.ts). */
  provider?: string;
  /** Default 'provider_attested' (the OS's word); a node agent's measured figures are 'benchmark_based'. */
  verification?: 'provider_attested' | 'benchmark_based';
}

const BYTES_PER_GIB = 1024 ** 3;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** GB of host memory as offers state it (GiB, two decimals). */
export function memoryGb(bytes: number): number {
  return round2(bytes / BYTES_PER_GIB);
}

export function localOffers(host: HostFacts, probe: GpuProbe, o: LocalOfferOptions): OfferInput[] {
  const provider = o.provider ?? LOCAL_PROVIDER_NAME;
  const base = {
    provider,
    provider_type: 'edge' as const,
    vcpus: host.vcpus,
    memory_gb: memoryGb(host.memory_bytes),
    price_per_hour: o.pricePerHour,
    list_price_per_hour: o.pricePerHour,
    interruptible: false,
    region: o.region,
    zone: null,
    available: 1,
    // Your own machine: it is up when the gateway is; 0.99 leaves room for reboots and sleep.
    reliability: 0.99,
    // The in-process provider's figures come from the OS and the driver; a node agent's come
    // from its benchmark probe (agent/benchmark.ts), which earns 'benchmark_based'.
    verification: o.verification ?? ('provider_attested' as const),
    observed_at: o.observedAt,
    simulated: false,
    latency_band: 'LAN' as const,
  };
  const offers: OfferInput[] = [
    {
      ...base,
      sku: `${provider}-cpu`,
      gpu_model: null,
      gpu_count: 0,
      gpu_memory_gb: null,
      data_quality: probe.error ? ['gpu_probe_failed'] : [],
    },
  ];

  // Group by the name nvidia-smi prints (and its memory), keeping the order the driver lists.
  const groups = new Map<string, { name: string; memory_mib: number | null; count: number }>();
  for (const g of probe.gpus) {
    const key = `${g.name}|${g.memory_mib ?? ''}`;
    const seen = groups.get(key);
    if (seen) seen.count += 1;
    else groups.set(key, { name: g.name, memory_mib: g.memory_mib, count: 1 });
  }
  for (const g of groups.values()) {
    const gpuMemoryGb = g.memory_mib === null ? null : round2(g.memory_mib / 1024);
    const model = o.capabilities.resolveModel(g.name, {
      ...(gpuMemoryGb === null ? {} : { memory_gb: gpuMemoryGb }),
      provider,
    });
    offers.push({
      ...base,
      sku: `${provider}-gpu-${slug(model ?? g.name)}${gpuMemoryGb === null ? '' : `-${Math.round(gpuMemoryGb)}gb`}`,
      // An unknown GPU keeps its driver name (classed GPU_OTHER), never null (that means CPU).
      gpu_model: model ?? g.name,
      gpu_count: g.count,
      gpu_memory_gb: gpuMemoryGb,
      data_quality: model === null ? ['gpu_model_unresolved'] : [],
    });
  }
  return offers;
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
