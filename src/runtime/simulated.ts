import { isProviderType, type ProviderType } from '../protocol/glossary.js';
import { TYPE_PARAMS } from '../providers/sim/model.js';
import { rngFor } from '../util/random.js';
import { type RuntimeLeaseState, type Transition, transition } from './lease-states.js';

/**
 * The seeded simulated driver (issue 6, part 6) for catalog and other modelled providers: a lease
 * walks the real state machine (lease-states.ts) with modelled start-up, runtime and interruptions.
 * Nothing runs and nothing is signed: the timeline is marked `simulated: true`, every reason starts
 * "modelled:", and `usage_seconds` is modelled usage, never a receipt. Pure: a function of the input.
 */

export interface SimulatedLeaseInput {
  lease_id: string;
  offer: { provider: string; provider_type: string; interruptible: boolean; reliability: number /* 0..1 */ };
  /** Booked hours: the lease ends at the booking's end even if the workload has not. */
  hours: number;
  /** The workload's own length if known (timeout_s), else null: it runs for the booked hours. */
  run_seconds: number | null;
  /** Epoch ms. */
  started_at: number;
  seed: number;
}

export interface SimulatedTimeline {
  simulated: true;
  /** pending → provisioning → running → end, each made by transition() with a "modelled: …" reason. */
  transitions: Transition[];
  ends: 'completed' | 'preempted' | 'failed';
  /** Modelled node-seconds while running: what settlement would bill, marked simulated. */
  usage_seconds: number;
}

/**
 * Start-up delay (pending → running) by provider type, uniform in [min, max] seconds. These are
 * modelling assumptions, not measurements: serverless cold starts take seconds, marketplace hosts
 * pull an image (tens of seconds to minutes), cloud VMs boot in about one to two minutes.
 */
export const STARTUP_SECONDS: Readonly<Record<ProviderType, readonly [min: number, max: number]>> = {
  serverless_compute: [2, 30],
  p2p_marketplace: [30, 300],
  decentralized_compute: [30, 300],
  decentralized_cloud: [20, 180],
  traditional_cloud: [60, 120],
  // The local host is not simulated; this keeps the record total.
  edge: [0, 2],
};

/** A type the model does not know is modelled like the slowest, least reliable market. */
const FALLBACK_TYPE: ProviderType = 'p2p_marketplace';

/**
 * Preemptions per running hour of an interruptible offer: the sim model's spot reliability is the
 * probability of an uninterrupted hour, r = e^−λ, so λ = −ln r. The driver does not know how tight
 * the spot market is, so it takes r halfway between slack and tight (tightness 0.5).
 */
export function preemptionHazardPerHour(providerType: string): number {
  const p = TYPE_PARAMS[isProviderType(providerType) ? providerType : FALLBACK_TYPE];
  return -Math.log((p.spot_reliability_slack + p.spot_reliability_tight) / 2);
}

export function simulateLease(i: SimulatedLeaseInput): SimulatedTimeline {
  const { offer } = i;
  if (!(i.hours >= 0) || !Number.isFinite(i.hours)) throw new RangeError(`hours must be ≥ 0, not ${i.hours}`);
  if (i.run_seconds !== null && !(i.run_seconds >= 0))
    throw new RangeError(`run_seconds must be ≥ 0 or null, not ${i.run_seconds}`);
  if (!(offer.reliability >= 0 && offer.reliability <= 1))
    throw new RangeError(`reliability must be within 0..1, not ${offer.reliability}`);

  const type = isProviderType(offer.provider_type) ? offer.provider_type : FALLBACK_TYPE;
  // Every draw is taken whatever the branch, so one outcome does not shift the others' randomness.
  const rng = rngFor(i.seed, `simulated-lease|${i.lease_id}`);
  const uStartup = rng.next();
  const uFail = rng.next();
  const uFailAt = rng.next();
  const uPreempt = rng.next();

  // Whole ms, rounded down, so usage never exceeds the booked hours or the run length.
  const bookedMs = Math.floor(i.hours * 3_600_000);
  const runMs = i.run_seconds === null ? bookedMs : Math.min(bookedMs, Math.floor(i.run_seconds * 1000));
  const [lo, hi] = STARTUP_SECONDS[type];
  const runningAt = i.started_at + Math.round((lo + (hi - lo) * uStartup) * 1000);

  // Candidate ends, measured from running; the earliest wins.
  let ends: SimulatedTimeline['ends'] = 'completed';
  let endMs = runMs;
  let reason =
    i.run_seconds !== null && i.run_seconds * 1000 <= bookedMs
      ? 'modelled: the workload finished'
      : 'modelled: the booked hours ran out';
  // Failure: probability 1 − reliability over the run, at a uniformly drawn moment of it.
  if (uFail < 1 - offer.reliability) {
    const at = Math.floor(uFailAt * runMs);
    if (at < endMs) [ends, endMs, reason] = ['failed', at, 'modelled: the node failed'];
  }
  // Preemption: exponential time to interruption at the model's hazard (interruptible offers only).
  if (offer.interruptible) {
    const at = Math.floor((-Math.log(1 - uPreempt) / preemptionHazardPerHour(type)) * 3_600_000);
    if (at < endMs) [ends, endMs, reason] = ['preempted', at, 'modelled: the spot capacity was reclaimed'];
  }

  const transitions = [
    step('pending', 'provisioning', i.started_at, `modelled: ${offer.provider} accepted the lease`),
    step('provisioning', 'running', runningAt, `modelled: ${type} start-up`),
    step('running', ends, runningAt + endMs, reason),
  ];
  return { simulated: true, transitions, ends, usage_seconds: endMs / 1000 };
}

/** The state and modelled usage at `now` (epoch ms): usage grows while running and stops at the end. */
export function stateAt(
  t: SimulatedTimeline,
  now: number,
): { state: RuntimeLeaseState; usage_seconds: number } {
  let state: RuntimeLeaseState = 'pending';
  let runningAt: number | null = null;
  for (const tr of t.transitions) {
    if (tr.at > now) break;
    state = tr.to;
    if (tr.to === 'running') runningAt = tr.at;
  }
  if (runningAt === null) return { state, usage_seconds: 0 };
  return { state, usage_seconds: Math.min(t.usage_seconds, (now - runningAt) / 1000) };
}

/** A transition the driver makes; a refusal is a bug in this file, so it throws. */
function step(from: RuntimeLeaseState, to: RuntimeLeaseState, at: number, reason: string): Transition {
  const r = transition(from, to, at, reason);
  if (!r.ok) throw new Error(`simulated driver: ${r.detail}`);
  return r.transition;
}
