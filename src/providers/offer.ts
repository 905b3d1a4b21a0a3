import type { ProviderType, Verification } from '../protocol/glossary.js';

/**
 * What a provider hands the market: one rentable node shape at one place and price. Providers fill
 * this; the market derives everything else (id, class, profile, per-GPU price, capabilities,
 * latency band) so no provider can get those wrong on its own.
 */
export interface OfferInput {
  provider: string;
  provider_type: ProviderType;
  /** The provider's own name for the node shape (instance type, machine id, host id). */
  sku: string;
  /** Canonical GPU model (a key of the capability profiles), or null for CPU-only offers. */
  gpu_model: string | null;
  /** GPUs per node; may be fractional for shared GPUs (Azure's NVads A10 v5 sizes). 0 for CPU. */
  gpu_count: number;
  /** Host resources of one node. */
  vcpus: number;
  memory_gb: number;
  /** GPU memory per GPU in GB when the provider states it; null to take the profile's figure. */
  gpu_memory_gb: number | null;
  /** USD per node-hour right now (after any simulated movement). */
  price_per_hour: number;
  /** USD per node-hour as the catalog or provider lists it. */
  list_price_per_hour: number;
  interruptible: boolean;
  region: string;
  zone: string | null;
  /** Nodes of this shape that can be rented now. */
  available: number;
  /** 0..1: probability a node runs an hour uninterrupted (uptime for on-demand). */
  reliability: number;
  verification: Verification;
  /** Epoch ms when this figure was observed. */
  observed_at: number;
  /** True when any part of the offer (availability, price movement, interruptions) is modelled. */
  simulated: boolean;
  /** Flags for known-bad or corrected source data, e.g. 'price_corrected:gcp_cyclenerd'. */
  data_quality: string[];
  /** Override of the latency band (the local host is LAN); otherwise estimated from the region. */
  latency_band?: 'LAN';
}
