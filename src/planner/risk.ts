import type { RiskAdjusted } from './types.js';

/**
 * The risk model (issue 3, docs/planner.md "Risk model"): what an offer's interruptions cost in
 * throughput. Interruptions arrive as a Poisson process of rate λ = −ln(reliability) per node-hour
 * (so P(an hour uninterrupted) = e^−λ = reliability). Work is checkpointed every c hours; an
 * interruption loses the work since the last checkpoint and then r hours to restart. Renewal-reward
 * over one checkpoint segment gives the exact expected time to finish it,
 *   E[T] = (1/λ + r) · (e^{λc} − 1),
 * so the useful fraction of paid node time is
 *   efficiency = c / E[T] = [λc / (e^{λc} − 1)] · [1 / (1 + λr)].
 * For small λ(c/2 + r) this is ≈ 1 / (1 + λ(c/2 + r)) (half an interval lost plus the restart, per
 * interruption); we use the exact form, which stays in (0, 1] for any λ, c, r.
 */

/** Restart overhead when the caller gives none: a spot node must be re-acquired and re-provisioned. */
export const DEFAULT_RESTART_OVERHEAD_INTERRUPTIBLE_S = 300;
/** On-demand nodes fail rarely but a failure means a replacement node and a cold start. */
export const DEFAULT_RESTART_OVERHEAD_ON_DEMAND_S = 600;

export interface RiskOptions {
  /** Seconds between checkpoints (the workload's `checkpoint_interval_s`); 0 = continuous. */
  checkpoint_interval_s: number;
  /** Seconds from an interruption to useful work again; default by `interruptible` (above). */
  restart_overhead_s?: number;
}

/** Expected interruptions per node-hour of a node with this `reliability` (Infinity at 0). */
export function interruptionRate(reliability: number): number {
  if (!(reliability >= 0 && reliability <= 1)) {
    throw new RangeError(`reliability must be in [0, 1], got ${reliability}`);
  }
  // −ln(1) is −0; report +0 so the value prints and compares plainly.
  return reliability === 1 ? 0 : -Math.log(reliability);
}

/** x / (e^x − 1), with its limit 1 at x = 0; expm1 keeps it exact for small x. */
function xOverExpm1(x: number): number {
  if (x === 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  return x / Math.expm1(x);
}

/**
 * Useful fraction of node time under Poisson interruptions of rate `lambda` per hour, checkpoints
 * every `checkpointHours` and `restartHours` lost per interruption (exact renewal-reward form).
 */
export function checkpointEfficiency(lambda: number, checkpointHours: number, restartHours: number): number {
  if (!(lambda >= 0)) throw new RangeError(`interruption rate must be ≥ 0, got ${lambda}`);
  if (!(checkpointHours >= 0 && Number.isFinite(checkpointHours))) {
    throw new RangeError(`checkpoint interval must be a finite number ≥ 0, got ${checkpointHours}`);
  }
  if (!(restartHours >= 0 && Number.isFinite(restartHours))) {
    throw new RangeError(`restart overhead must be a finite number ≥ 0, got ${restartHours}`);
  }
  if (lambda === 0) return 1;
  if (lambda === Number.POSITIVE_INFINITY) return 0;
  return xOverExpm1(lambda * checkpointHours) / (1 + lambda * restartHours);
}

/**
 * An offer as the planner should count it: expected reference GPU-hours per node-hour after rework
 * and restarts. The price per node-hour is unchanged — every node-hour is paid, useful or not — so
 * the cost of a unit of work rises as `work_rate` falls (see `costPerWork`). On-demand offers use
 * the same formula; their high reliability makes the discount small.
 */
export function riskAdjust(
  o: { reliability: number; interruptible: boolean },
  baseWorkRatePerNodeHour: number,
  price_per_node_hour: number,
  opts: RiskOptions,
): RiskAdjusted {
  if (!(baseWorkRatePerNodeHour >= 0 && Number.isFinite(baseWorkRatePerNodeHour))) {
    throw new RangeError(`base work rate must be a finite number ≥ 0, got ${baseWorkRatePerNodeHour}`);
  }
  if (!(price_per_node_hour >= 0 && Number.isFinite(price_per_node_hour))) {
    throw new RangeError(`price per node-hour must be a finite number ≥ 0, got ${price_per_node_hour}`);
  }
  const restart_s =
    opts.restart_overhead_s ??
    (o.interruptible ? DEFAULT_RESTART_OVERHEAD_INTERRUPTIBLE_S : DEFAULT_RESTART_OVERHEAD_ON_DEMAND_S);
  const lambda = interruptionRate(o.reliability);
  const efficiency = checkpointEfficiency(lambda, opts.checkpoint_interval_s / 3600, restart_s / 3600);
  return {
    work_rate: baseWorkRatePerNodeHour * efficiency,
    price_per_node_hour,
    interruptions_per_hour: lambda,
    efficiency,
  };
}

/** Expected USD per reference GPU-hour of work: price / (base × efficiency); Infinity when no work. */
export function costPerWork(r: RiskAdjusted): number {
  return r.work_rate > 0 ? r.price_per_node_hour / r.work_rate : Number.POSITIVE_INFINITY;
}

/** Expected USD per node-hour of useful time (the solver's `effective_price`): price / efficiency. */
export function effectivePricePerNodeHour(r: RiskAdjusted): number {
  return r.efficiency > 0 ? r.price_per_node_hour / r.efficiency : Number.POSITIVE_INFINITY;
}
