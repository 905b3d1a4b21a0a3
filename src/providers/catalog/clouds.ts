import type { ProviderType } from '../../protocol/glossary.js';

/**
 * Per-cloud facts of the catalog providers: one entry per cloud folder of the shipped snapshot.
 * The type follows the spec's "Active Compute Markets" table; docs/providers.md gives the reason for
 * each choice. Payment lists only rails the provider's own site advertises.
 */

/** How a file's GpuInfo states GPU memory (catalogs README, quirk 3). */
export type GpuInfoMemory =
  /** SizeInMiB is per GPU (AWS, cudo, vast, lium, spheron, lambda — lambda's Total is not multiplied). */
  | 'mib_per_gpu'
  /** SizeInMiB holds GB, not MiB (shadeform: 48 for an A6000). */
  | 'gb_per_gpu'
  /** SizeInMiB is the node total (primeintellect, vast v9). */
  | 'mib_total'
  /** No usable figure (0 on nebius/seeweb; a bare name on IBM, RunPod, Azure). */
  | 'none';

export interface CloudFacts {
  type: ProviderType;
  description: string;
  payment: string[];
  verification: 'benchmark_based' | 'catalog_listed';
  gpu_info_memory: GpuInfoMemory;
  /**
   * On-demand prices are region-level although rows are per AZ/zone (AWS, IBM): one on-demand offer
   * per region with zone null; spot stays per AZ.
   */
  on_demand_per_region: boolean;
  multi_node: boolean;
  stop_resume: boolean;
  /** Where the shipped rows come from (catalogs README). */
  source: string;
  extra?: Record<string, string | number | boolean>;
}

const SKY = 'skypilot-org/skypilot-catalog';

export const CLOUDS = {
  aws: {
    type: 'traditional_cloud',
    description: 'Amazon Web Services EC2 GPU instances (on-demand per region, spot per availability zone).',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: true,
    multi_node: true,
    stop_resume: true,
    source: `${SKY} v9 aws/vms.csv @ 2c3d7ea + tsaol/aws-gpu (vantage) @ 77fcd9f`,
  },
  gcp: {
    type: 'traditional_cloud',
    description: 'Google Cloud GPU VMs (a2/a3/a4/g2/g4 and n1 + T4/V100/P100/P4).',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: true,
    multi_node: true,
    stop_resume: true,
    source:
      'anycloud-sh/catalog gcp/vms.csv @ 62ff0a9 + Cyclenerd/google-cloud-pricing-cost-calculator @ fd66b26',
  },
  azure: {
    type: 'traditional_cloud',
    description: 'Microsoft Azure NC/ND/NV GPU VMs, including fractional A10 sizes.',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'none',
    on_demand_per_region: true,
    multi_node: true,
    stop_resume: true,
    source: 'anycloud-sh/catalog azure/vms.csv @ 62ff0a9',
  },
  ibm: {
    type: 'traditional_cloud',
    description: 'IBM Cloud VPC GPU profiles.',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'none',
    on_demand_per_region: true,
    multi_node: true,
    stop_resume: true,
    source: `${SKY} v9 ibm/vms.csv @ a5be538`,
  },
  lambda: {
    type: 'traditional_cloud',
    description: 'Lambda Cloud on-demand GPU VMs (every type listed in every region, stock not implied).',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: false,
    multi_node: true,
    stop_resume: false,
    source: `${SKY} v9 lambda/vms.csv @ 2c3d7ea`,
  },
  nebius: {
    type: 'traditional_cloud',
    description: 'Nebius AI Cloud GPU and CPU VMs.',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'none',
    on_demand_per_region: false,
    multi_node: true,
    stop_resume: true,
    source: `${SKY} v9 nebius/vms.csv @ d9bf3aa`,
  },
  seeweb: {
    type: 'traditional_cloud',
    description: 'Seeweb (Italy) cloud servers with and without GPUs.',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: false,
    multi_node: false,
    stop_resume: true,
    source: `${SKY} v9 seeweb/vms.csv @ 2c3d7ea`,
  },
  hyperstack: {
    type: 'traditional_cloud',
    description: 'Hyperstack GPU VMs (NexGen Cloud).',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: false,
    multi_node: true,
    stop_resume: true,
    source: `${SKY} v8 hyperstack/vms.csv @ fdc9d90`,
  },
  jarvislabs: {
    type: 'traditional_cloud',
    description: 'JarvisLabs GPU instances (India, Europe).',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: false,
    multi_node: false,
    stop_resume: true,
    source: `${SKY} v8 jarvislabs/vms.csv @ 57d6578`,
  },
  fluidstack: {
    type: 'traditional_cloud',
    description: 'Fluidstack dedicated GPU nodes.',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: false,
    multi_node: true,
    stop_resume: false,
    source: `${SKY} v9 fluidstack/vms.csv @ 2c3d7ea`,
  },
  yotta: {
    type: 'traditional_cloud',
    description: 'Yotta GPU cloud (RTX 5090 nodes).',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: false,
    multi_node: false,
    stop_resume: false,
    source: `${SKY} v8 yotta/vms.csv @ 1f69048`,
  },
  verda: {
    type: 'traditional_cloud',
    description: 'Verda (formerly DataCrunch) GPU VMs, on-demand and spot.',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: false,
    multi_node: true,
    stop_resume: true,
    source: `${SKY} v8 verda/vms.csv @ 000c1d0`,
  },
  mithril: {
    type: 'traditional_cloud',
    description: 'Mithril (formerly Foundry) H100/H200 capacity; the catalog prices are placeholders.',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: false,
    multi_node: true,
    stop_resume: false,
    source: `${SKY} v8 mithril/vms.csv @ 1f9eb0c`,
  },
  vast: {
    type: 'p2p_marketplace',
    description:
      'Vast.ai: independent hosts rent out their GPUs; machines are benchmarked by the marketplace.',
    payment: ['fiat', 'crypto'],
    verification: 'benchmark_based',
    // The README says per GPU, but the v9 file's multi-GPU rows hold the node total
    // (2x RTX 5090: SizeInMiB 65214 = 2 × 32607); 1-GPU rows read the same either way.
    gpu_info_memory: 'mib_total',
    on_demand_per_region: false,
    multi_node: false,
    stop_resume: true,
    source: `${SKY} v9 vast/vms.csv @ a5be538`,
  },
  shadeform: {
    type: 'p2p_marketplace',
    description:
      'Shadeform: one marketplace over many GPU clouds (the InstanceType prefix names the seller).',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'gb_per_gpu',
    on_demand_per_region: false,
    multi_node: false,
    stop_resume: false,
    source: `${SKY} v8 shadeform/vms.csv @ 002363d`,
    extra: { aggregator: true },
  },
  primeintellect: {
    type: 'p2p_marketplace',
    description: 'Prime Intellect compute marketplace (the InstanceType prefix names the upstream provider).',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_total',
    on_demand_per_region: false,
    multi_node: true,
    stop_resume: false,
    source: `${SKY} v8 primeintellect/vms.csv @ d9a304e`,
    extra: { aggregator: true },
  },
  hyperbolic: {
    type: 'decentralized_compute',
    description: 'Hyperbolic: an open GPU network pooling capacity from many suppliers.',
    payment: ['crypto', 'fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: false,
    multi_node: false,
    stop_resume: false,
    source: `${SKY} v8 hyperbolic/vms.csv @ 0082b04`,
  },
  lium: {
    type: 'decentralized_compute',
    description: 'Lium: GPU rental on a Bittensor subnet, miners supply the machines.',
    payment: ['crypto', 'fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: false,
    multi_node: false,
    stop_resume: false,
    source: `${SKY} v8 lium/vms.csv @ 04a03ae`,
  },
  spheron: {
    type: 'decentralized_cloud',
    description:
      'Spheron: a decentralised cloud aggregating providers (Provider column), dedicated and spot.',
    payment: ['crypto', 'fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: false,
    multi_node: false,
    stop_resume: false,
    source: `${SKY} v8 spheron/vms.csv @ 3898983`,
    extra: { aggregator: true },
  },
  cudo: {
    type: 'decentralized_cloud',
    description: 'Cudo Compute: a distributed cloud built from independent data centres.',
    payment: ['crypto', 'fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: false,
    multi_node: false,
    stop_resume: true,
    source: `${SKY} v9 cudo/vms.csv @ d9bf3aa`,
  },
  runpod: {
    type: 'serverless_compute',
    description: 'RunPod GPU pods and serverless endpoints (v7 list prices, SECURE cloud, partial file).',
    payment: ['fiat', 'crypto'],
    verification: 'catalog_listed',
    gpu_info_memory: 'none',
    on_demand_per_region: false,
    multi_node: false,
    stop_resume: true,
    source: `${SKY} v7 runpod/vms.csv @ 0727c2b (partial)`,
    extra: { autoscale: true },
  },
  daytona: {
    type: 'serverless_compute',
    description: 'Daytona sandboxes with GPUs (region "earth" = any).',
    payment: ['fiat'],
    verification: 'catalog_listed',
    gpu_info_memory: 'mib_per_gpu',
    on_demand_per_region: false,
    multi_node: false,
    stop_resume: true,
    source: `${SKY} v8 daytona/vms.csv @ 0eb5da5`,
    extra: { autoscale: true },
  },
} as const satisfies Record<string, CloudFacts>;

export type CloudName = keyof typeof CLOUDS;

export const CLOUD_NAMES = Object.keys(CLOUDS) as CloudName[];

export function isCloudName(s: string): s is CloudName {
  return Object.hasOwn(CLOUDS, s);
}

export function cloudFacts(cloud: CloudName): CloudFacts {
  return CLOUDS[cloud];
}

/** Files a cloud is read from, in preference order within one directory. */
export function vmsFileNames(cloud: CloudName): string[] {
  // RunPod ships only a partial file; a refresh writes the full vms.csv, which wins.
  return cloud === 'runpod' ? ['vms.csv', 'vms.partial.csv'] : ['vms.csv'];
}
