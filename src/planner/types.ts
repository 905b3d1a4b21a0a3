import type { LatencyBand, ProviderType } from '../protocol/glossary.js';
import type { Offer } from '../protocol/schemas/offer.js';

/**
 * Planner contracts (issue 3). Units follow the glossary: prices USD per GPU-hour for GPU offers
 * (node-hour for CPU-only), `work` in reference GPU-hours, times in hours unless named _s.
 */

export type WorkloadType = 'batch_processing' | 'training' | 'inference' | 'large_model_serve' | 'cpu';
export type Interconnect = 'optional' | 'preferred' | 'required';
export type InterruptiblePolicy = 'allow' | 'deny' | 'prefer';
export type Objective = { kind: 'cost' } | { kind: 'time' } | { kind: 'balanced'; cost_weight: number };

/** A validated /orchestrate request (planner/request.ts builds it from the wire body). */
export interface PlanRequest {
  requester: string | null;
  workload: {
    type: WorkloadType;
    /** Reference GPU-hours (vCPU-hours for type cpu). For large_model_serve: hours to serve (default 24). */
    compute_hours: number;
    /** GPU memory per GPU, GB (host memory for cpu). */
    memory_gb: number | null;
    interconnect: Interconnect;
    reference_profile: string;
    gpus_per_node: number | null;
    min_nodes: number;
    max_nodes: number | null;
    /** Checkpoint interval for the risk model; default 1800 s. */
    checkpoint_interval_s: number;
    /** large_model_serve only. */
    requests_per_second: number | null;
  };
  constraints: {
    max_price_per_hour: number | null;
    latency_band: LatencyBand | null;
    near: { lat: number; lon: number } | null;
    redundancy: number;
    deadline_hours: number | null;
    budget_usd: number | null;
    min_reliability: number | null;
    interruptible: InterruptiblePolicy;
    providers: string[] | null;
    exclude_providers: string[];
    provider_types: ProviderType[] | null;
    regions: string[] | null;
    objective: Objective;
  };
}

/**
 * One offer as the solver sees it, after filters, work normalisation and the risk model. All
 * quantities are per NODE of the offer.
 */
export interface Candidate {
  /** Index into the caller's candidate list; the solver reports allocations by it. */
  index: number;
  offer_id: string;
  provider: string;
  /** Reference GPU-hours one node-hour delivers after the risk model (expected throughput). */
  work_rate: number;
  /** Expected USD per node-hour of useful time, risk included (what the objective minimises). */
  effective_price: number;
  /** Nodes the plan may take (offer availability ∩ max_nodes). */
  max_nodes: number;
}

export interface MilpInput {
  candidates: Candidate[];
  /** Reference GPU-hours that must be delivered. */
  work: number;
  /** At least this many distinct providers, each doing ≥ min_share of the work. */
  redundancy: number;
  /** Fraction of `work` each counted provider must carry (default 1 / (2 · redundancy)). */
  min_share?: number;
  /** Wall-clock limit of the plan, hours: node-hours of an offer ≤ nodes × horizon. */
  horizon_hours: number;
  budget_usd: number | null;
  /** Total nodes across the plan. */
  min_nodes: number;
  max_nodes: number | null;
  /** Solver time limit, ms (default 2000). */
  time_limit_ms?: number;
}

export interface MilpAllocation {
  index: number;
  nodes: number;
  /** Node-hours bought on this candidate. */
  node_hours: number;
}

export type SolveStatus = 'optimal' | 'feasible' | 'infeasible' | 'error';

export interface MilpResult {
  status: SolveStatus;
  allocations: MilpAllocation[];
  /** Σ effective_price × node_hours. */
  objective: number;
  /** Relative MIP gap reported by the solver (0 when proven optimal). */
  gap: number;
  solver: string;
  solve_ms: number;
  detail?: string;
}

/** What the planner keeps about an allocation; the response adds display strings. */
export interface PlannedAllocation {
  offer: Offer;
  nodes: number;
  hours: number;
  node_hours: number;
  work_rate: number;
  /** Reference GPU-hours this allocation delivers. */
  work: number;
  cost_usd: number;
}

/** One allocation as the SLA model sees it (planner/sla.ts). */
export interface SlaAllocation {
  /** Wall-clock hours the allocation runs in the plan. */
  hours: number;
  /** Nodes it runs on. */
  nodes: number;
  /** P(one node runs one hour uninterrupted), the offer's `reliability`. */
  reliability: number;
  /** Reference GPU-hours this allocation must deliver. */
  work: number;
}

export interface SlaInput {
  allocations: SlaAllocation[];
  /** The time the SLA is promised for: the deadline, else the plan's estimated time. */
  horizon_hours: number;
  /** Reference GPU-hours per hour the plan's fallback offers can add when a share fails. */
  fallback_rate: number;
  /** P(a fallback node runs one hour uninterrupted). */
  fallback_reliability: number;
  /** Hours lost to detect a failure and start the replacement. */
  restart_overhead_hours: number;
}

/** The risk model's view of one offer (planner/risk.ts). */
export interface RiskAdjusted {
  /** Expected reference GPU-hours per node-hour, after rework and restarts. */
  work_rate: number;
  /** USD per node-hour (unchanged list price per node; cost per work rises as work_rate falls). */
  price_per_node_hour: number;
  /** Expected interruptions per node-hour: −ln(reliability). */
  interruptions_per_hour: number;
  /** Fraction of node time that does useful work (0..1]. */
  efficiency: number;
}
