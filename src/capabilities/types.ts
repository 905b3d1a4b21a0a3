import type { ProviderType, ResourceClass } from '../protocol/glossary.js';

/**
 * A canonical GPU profile: one real model and its datasheet figures. Tensor figures are DENSE
 * (the spec's display profiles mix dense and sparse; work normalisation never uses those).
 * A figure no reachable source gives is null, and `missing` says so; nothing is invented.
 */
export interface GpuProfile {
  /** Canonical model name, e.g. 'H100' (the SXM part), 'H100-PCIe', 'RTX4090', 'A100-80GB'. */
  name: string;
  vendor: string;
  memory_gb: number | null;
  bandwidth_gb_s: number | null;
  fp32_tflops: number | null;
  /** Dense FP16/BF16 tensor TFLOPS. */
  fp16_tflops: number | null;
  fp16_tflops_sparse: number | null;
  /** Dense INT8 tensor TOPS. */
  int8_tops: number | null;
  int8_tops_sparse: number | null;
  interconnect: string | null;
  /** The class this model belongs to under the current class configuration. */
  class: ResourceClass;
  /** Where the figures come from. */
  source: string;
  /** Names of null figures (e.g. ['fp16_tflops']) so a reader knows they are unknown, not zero. */
  missing: string[];
}

/** What a `resource_type` / `gpu_model` query value means. */
export type ResourceSelector =
  | { kind: 'class'; name: string; class: ResourceClass; models: string[] }
  | { kind: 'profile'; name: string; models: string[] }
  | { kind: 'model'; name: string; models: string[] };

/** Hints that disambiguate a provider's GPU name (Lambda's gpu_1x_h100_pcie says only "H100"). */
export interface ResolveHints {
  instance_type?: string;
  /** GPU memory per GPU in GB as the provider states it. */
  memory_gb?: number;
  provider?: string;
}

/** Which capability normalised work is measured in (DESIGN.md "Work is normalised"). */
export type WorkKind = 'training' | 'batch_processing' | 'inference' | 'cpu' | 'general';

export interface CapabilityCatalog {
  /** Canonical model name → profile. */
  readonly profiles: ReadonlyMap<string, GpuProfile>;
  /** The spec's display profiles (GPU_TYPE_A, GPU_TYPE_B) → canonical model name. */
  readonly namedProfiles: ReadonlyMap<string, string>;
  /** A model's class; null (CPU-only) gives 'CPU'; an unknown model 'GPU_OTHER'. */
  classOf(model: string | null): ResourceClass;
  /** Any provider's spelling of a GPU (+hints) → canonical model, or null when unknown. */
  resolveModel(name: string, hints?: ResolveHints): string | null;
  /**
   * A query value: class (GPU_A), profile (GPU_TYPE_A), alias (TYPE_A) or model in any spelling
   * ("h100-sxm") → the models it means. null when nothing matches.
   */
  resolveResourceType(value: string): ResourceSelector | null;
  /**
   * Reference-hours one hour of `model` does, relative to `reference` (a profile or model name):
   * capability(model)/capability(reference) by the capability the work kind uses. null when a
   * figure is unknown.
   */
  workRate(model: string, reference: string, kind: WorkKind): number | null;
}

/**
 * A CPU-only offer's capability. CPU work is measured in vCPU-hours, so `cpu_work_rate` (vCPU-hours
 * one node-hour does) is simply the vCPU count; there is no GPU figure to compare.
 */
export interface CpuProfile {
  name: 'CPU';
  class: 'CPU';
  vcpus: number;
  /** Host memory of the node in GB. */
  memory_gb: number;
  cpu_work_rate: number;
}

/** The configurable part of the capability catalog (the `capabilities` key of the config file). */
export interface CapabilityConfig {
  /** Replaces the default membership of the named classes; models in any spelling. */
  classes?: Partial<Record<'GPU_A' | 'GPU_B' | 'GPU_C', string[]>>;
  /**
   * Extra query words. A value that is a provider type (`p2p_marketplace`) makes the key a provider
   * placeholder; any other value must be a class, profile, alias or model and makes a query alias.
   */
  aliases?: Record<string, string>;
  /** Another spec table in the same CSV format (tests); the shipped data/gpu-specs.csv by default. */
  specsCsvPath?: string;
}

/** One problem in a capability config, with the dotted path of the offending key. */
export interface CapabilityConfigIssue {
  path: string;
  message: string;
}

/** What createCapabilityCatalog returns beyond the CapabilityCatalog contract. */
export interface CapabilityCatalogExtras {
  /** A profile by display-profile name (GPU_TYPE_A), query alias (TYPE_A) or model spelling. */
  profile(name: string): GpuProfile | null;
  /** Canonical models of a class under the current configuration, sorted. */
  classMembers(cls: ResourceClass): string[];
  /** A spec placeholder provider name ("marketplace_beta") → provider type, config included. */
  resolveProviderPlaceholder(name: string): ProviderType | null;
}
