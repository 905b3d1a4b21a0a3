import type { ProviderType } from '../protocol/glossary.js';
import type { OfferInput } from './offer.js';

/**
 * What a provider can and cannot do, as data (STYLE.md 2). The planner filters on these before
 * it scores; nothing discovers a missing feature by catching an exception.
 */
export interface ProviderFeatures {
  interruptible: boolean;
  multi_node: boolean;
  stop_resume: boolean;
  attestation: boolean;
  /**
   * Which workload `run` forms the provider executes (runtime/run-spec.ts): node agents run
   * commands and WASM in their sandbox, Slurm runs commands, container marketplaces run images.
   * Empty: the provider only rents capacity, and a booking that carries `run` is refused there.
   */
  run_kinds: readonly ('command' | 'wasm' | 'image')[];
  /** Feature name → why it is not supported, for anything a caller might expect. */
  unsupported: Record<string, string>;
}

/** The directory facts GET /providers shows beside the figures computed from live offers. */
export interface ProviderInfo {
  name: string;
  type: ProviderType;
  description: string;
  /** Payment rails the provider accepts, in the spec's words ("fiat", "crypto", "STABLE_COIN"…). */
  payment: string[];
  verification: 'benchmark_based' | 'provider_attested' | 'catalog_listed';
  /** True when offers are partly modelled (catalog providers); live adapters say false. */
  simulated: boolean;
  /** Where the data comes from (catalog file and commit, API base URL…). */
  source: string;
  /** Extra fields the spec shows for some types (cold_start, autoscale…). */
  extra?: Record<string, string | number | boolean>;
}

export interface ListOffersContext {
  /** Epoch ms. */
  now: number;
  signal?: AbortSignal;
}

/** A workload launch request, as issue 6 will fill it; kept minimal and forward-compatible. */
export interface LaunchRequest {
  lease_id: string;
  offer_sku: string;
  region: string;
  nodes: number;
  interruptible: boolean;
  run?: unknown;
}

export type LeaseState = 'pending' | 'provisioning' | 'running' | 'succeeded' | 'failed' | 'terminated';

export interface LeaseStatus {
  provider_lease_id: string;
  state: LeaseState;
  detail?: string;
}

export interface LeaseUsage {
  provider_lease_id: string;
  /** Seconds of node time used so far. */
  node_seconds: number;
}

/**
 * Lease operations. A provider without them has `leases: null` and says why in
 * features.unsupported.leases; the runtime (issue 6) is the only caller.
 */
export interface LeaseOps {
  launch(req: LaunchRequest): Promise<LeaseStatus>;
  status(providerLeaseId: string): Promise<LeaseStatus>;
  terminate(providerLeaseId: string): Promise<LeaseStatus>;
  usage(providerLeaseId: string): Promise<LeaseUsage>;
}

export interface Provider {
  info: ProviderInfo;
  features: ProviderFeatures;
  /**
   * Every offer the provider has now. Expected failures (API down, rate-limited) reject with a
   * ProviderError; the market keeps the last good snapshot and shows the provider unhealthy.
   */
  listOffers(ctx: ListOffersContext): Promise<OfferInput[]>;
  leases: LeaseOps | null;
  /** Seconds between refreshes the provider wants (live APIs: 60; catalogs: 3600). */
  refresh_interval_s: number;
}

/** A provider's expected failure: carries the HTTP status and Retry-After when there was one. */
export class ProviderError extends Error {
  constructor(
    public readonly provider: string,
    message: string,
    public readonly status?: number,
    public readonly retry_after_s?: number,
    options?: { cause?: unknown },
  ) {
    super(`${provider}: ${message}`, options);
    this.name = 'ProviderError';
  }
}
