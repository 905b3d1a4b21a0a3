/** The planner (issue 3): POST /orchestrate's request parser, pipeline and response. Re-exports only. */
export {
  COST_TOLERANCE,
  DEFAULT_HORIZON_HOURS,
  TIME_PRECISION,
} from './alternatives.js';
export { type Baseline, type Fallback, MAX_FALLBACKS, savingsPercent } from './baseline.js';
export { type CandidateRow, PREFER_INTERRUPTIBLE_DISCOUNT } from './candidates.js';
export {
  createFilters,
  type FilterDrop,
  type FilterFn,
  hasFabric,
  type PlanFilter,
  runFilters,
} from './filters.js';
export type { InfeasibleExplanation, InfeasibleKind } from './infeasible.js';
export {
  createPlanner,
  DEFAULT_QUOTE_TTL_MS,
  type Planner,
  type PlannerDeps,
  type PlanOutcome,
  SERVE_RPS_PER_REFERENCE_GPU,
} from './orchestrate.js';
export {
  DEFAULT_CHECKPOINT_INTERVAL_S,
  DEFAULT_SERVE_HOURS,
  type OrchestrateProblem,
  type ParsedOrchestrate,
  parseOrchestrate,
  type RequestContext,
} from './request.js';
export type { AllocationWire, AlternativeWire, PlanExplain, PlanResponse } from './response.js';
export type * from './types.js';
