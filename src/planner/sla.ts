import type { Rng } from '../util/random.js';
import { interruptionRate } from './risk.js';
import type { SlaAllocation, SlaInput } from './types.js';

/**
 * The SLA model (issue 3, docs/planner.md "SLA"). Every allocation starts at time 0; each of its
 * `nodes` carries an equal share of its `work` at a steady rate over its `hours`. A node fails at an
 * exponential time T (rate λ = −ln reliability per hour), nodes independently. A failed node keeps
 * the work done so far; its remaining share waits `restart_overhead_hours`, then runs on the
 * fallback capacity at `fallback_rate` reference-hours per hour, and must run uninterrupted there
 * (fallback interruptions at λ_f = −ln fallback_reliability; a failed fallback misses the SLA). Each
 * failed share gets the whole fallback rate (failures are rare, so they seldom overlap). The plan
 * meets the SLA when every share finishes by `horizon_hours`.
 *
 * `slaProbability` computes this exactly (a closed-form integral per node); `simulateSla` samples
 * the same model, and the tests hold the two together.
 */

/**
 * Slack on every "finishes by the horizon" comparison, hours (3.6 µs): a horizon computed as the
 * sum of the plan's own hours must not fail on rounding.
 */
export const HORIZON_SLACK_HOURS = 1e-9;

/** The per-node quantities both the exact model and the simulation use. */
interface NodeModel {
  /** Hours the node runs without failure. */
  h: number;
  /** Node failure rate per hour. */
  lambda: number;
  /** Fallback hours per hour of the node's remaining schedule: node rate / fallback rate. */
  q: number;
  /** Fallback failure rate per hour. */
  lambdaF: number;
  /** Fallback exists (rate > 0 and reliability > 0). */
  hasFallback: boolean;
}

function check(input: SlaInput): void {
  const { horizon_hours: H, fallback_rate: F, restart_overhead_hours: rho } = input;
  if (!(H >= 0)) throw new RangeError(`horizon_hours must be ≥ 0, got ${H}`);
  if (!(F >= 0 && Number.isFinite(F))) throw new RangeError(`fallback_rate must be finite and ≥ 0, got ${F}`);
  if (!(rho >= 0 && Number.isFinite(rho))) {
    throw new RangeError(`restart_overhead_hours must be finite and ≥ 0, got ${rho}`);
  }
  interruptionRate(input.fallback_reliability);
  for (const a of input.allocations) {
    if (!(Number.isInteger(a.nodes) && a.nodes >= 0)) {
      throw new RangeError(`allocation nodes must be an integer ≥ 0, got ${a.nodes}`);
    }
    if (!(a.hours >= 0 && Number.isFinite(a.hours))) {
      throw new RangeError(`allocation hours must be finite and ≥ 0, got ${a.hours}`);
    }
    if (!(a.work >= 0 && Number.isFinite(a.work))) {
      throw new RangeError(`allocation work must be finite and ≥ 0, got ${a.work}`);
    }
  }
}

function nodeModel(a: SlaAllocation, input: SlaInput): NodeModel {
  const F = input.fallback_rate;
  const lambdaF = interruptionRate(input.fallback_reliability);
  const hasFallback = F > 0 && lambdaF < Number.POSITIVE_INFINITY;
  // Node rate a.work / (nodes · hours); the remaining share after failing at t is rate · (h − t),
  // which takes q · (h − t) hours on the fallback.
  const nodeRate = a.work / (a.nodes * a.hours);
  return {
    h: a.hours,
    lambda: interruptionRate(a.reliability),
    q: hasFallback ? nodeRate / F : Number.POSITIVE_INFINITY,
    lambdaF,
    hasFallback,
  };
}

/** (1 − e^−x) / x with its limit 1 at x = 0. */
function oneMinusExpOverX(x: number): number {
  return x === 0 ? 1 : -Math.expm1(-x) / x;
}

/** ∫ from t0 to t1 of e^{−k t} dt, stable for k near 0 and either sign. */
function expIntegral(k: number, t0: number, t1: number): number {
  const w = t1 - t0;
  return Math.exp(-k * t0) * w * oneMinusExpOverX(k * w);
}

/**
 * P(one node's share finishes by H):
 *   e^{−λh} + ∫₀ʰ λ e^{−λt} · 1[t + ρ + q(h − t) ≤ H] · e^{−λ_f q (h − t)} dt.
 * The indicator is an interval of t (linear condition), and the integrand is
 * λ e^{−λ_f q h} · e^{−(λ − λ_f q) t}, so the integral is closed-form.
 */
function nodeSuccess(m: NodeModel, H: number, rho: number): number {
  const { h, lambda, q, lambdaF } = m;
  if (h > H) return 0;
  if (lambda === 0) return 1;
  if (lambda === Number.POSITIVE_INFINITY) {
    // Fails at t = 0: the whole share goes to the fallback.
    if (!m.hasFallback || rho + q * h > H) return 0;
    return Math.exp(-lambdaF * q * h);
  }
  const noFailure = Math.exp(-lambda * h);
  if (!m.hasFallback) return noFailure;
  // Failure times t ∈ [t0, t1] that still finish: t(1 − q) ≤ H − ρ − q h.
  const slack = H - rho - q * h;
  let t0 = 0;
  let t1 = h;
  if (q < 1) t1 = Math.min(h, slack / (1 - q));
  else if (q > 1) t0 = Math.max(0, -slack / (q - 1));
  else if (slack < 0) t1 = 0; // q = 1: all failure times finish at h + ρ
  if (!(t1 > t0)) return noFailure;
  const k = lambda - lambdaF * q;
  const rescued = lambda * Math.exp(-lambdaF * q * h) * expIntegral(k, t0, t1);
  return Math.min(1, noFailure + rescued);
}

/**
 * The probability that all work finishes within `horizon_hours` under the model above:
 *   SLA = Π_i p_i^{nodes_i}, p_i = P(one node of allocation i finishes, itself or via fallback).
 * An allocation longer than the horizon gives 0; with no fallback (rate 0 or reliability 0)
 * SLA = Π_i reliability_i^{nodes_i · hours_i}. Inputs out of range are bugs and throw RangeError.
 */
export function slaProbability(input: SlaInput): number {
  check(input);
  const H = input.horizon_hours + HORIZON_SLACK_HOURS;
  let p = 1;
  for (const a of input.allocations) {
    if (a.nodes === 0) continue;
    if (a.hours === 0) continue; // nothing runs, nothing can fail
    p *= nodeSuccess(nodeModel(a, input), H, input.restart_overhead_hours) ** a.nodes;
    if (p === 0) return 0;
  }
  return Math.max(0, Math.min(1, p));
}

/** Exponential time with rate `lambda`: 0 when λ = ∞, ∞ when λ = 0. */
function sampleExp(lambda: number, rng: Rng): number {
  if (lambda === 0) return Number.POSITIVE_INFINITY;
  // 1 − U is in (0, 1], so the log is finite.
  return -Math.log(1 - rng.next()) / lambda;
}

/**
 * Monte Carlo of the same model: per run, sample each node's failure time; a node failing at t < h
 * hands its remaining share to the fallback at t + ρ, which must run q(h − t) hours uninterrupted
 * and finish by the horizon. Returns the fraction of `runs` in which every share finished. Cost is
 * O(runs × Σ nodes); a run stops at its first missed share.
 */
export function simulateSla(input: SlaInput, runs: number, rng: Rng): number {
  check(input);
  if (!(Number.isInteger(runs) && runs > 0)) throw new RangeError(`runs must be an integer > 0, got ${runs}`);
  const H = input.horizon_hours + HORIZON_SLACK_HOURS;
  const rho = input.restart_overhead_hours;
  const nodes = input.allocations
    .filter((a) => a.nodes > 0 && a.hours > 0)
    .map((a) => ({ m: nodeModel(a, input), n: a.nodes }));
  if (nodes.some(({ m }) => m.h > H)) return 0;
  let ok = 0;
  for (let run = 0; run < runs; run++) {
    let met = true;
    for (const { m, n } of nodes) {
      for (let j = 0; j < n && met; j++) {
        const t = sampleExp(m.lambda, rng);
        if (t >= m.h) continue;
        if (!m.hasFallback) {
          met = false;
          break;
        }
        const d = m.q * (m.h - t);
        met = t + rho + d <= H && sampleExp(m.lambdaF, rng) >= d;
      }
      if (!met) break;
    }
    if (met) ok++;
  }
  return ok / runs;
}

/**
 * The wire form of an SLA probability: percent floored (an SLA is never shown higher than computed)
 * to one decimal — "99.5%". When that reads all nines ("99.9%") and p < 1, one more decimal is shown
 * while it adds information, up to four: 0.9995 → "99.95%", 0.99999 → "99.999%" (not "99.9990%"),
 * 0.9999999 → "99.9999%". So "100.0%" appears only when p === 1. `sla_percent` is the same number.
 */
export function formatSla(p: number): { sla: string; sla_percent: number } {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`SLA probability must be in [0, 1], got ${p}`);
  if (p === 1) return { sla: '100.0%', sla_percent: 100 };
  const pct = p * 100;
  let decimals = 1;
  // p < 1 must never print 100: cap at the largest value below it at each precision.
  let shown = Math.min(floorTo(pct, 1), 99.9);
  while (decimals < 4 && shown >= allNines(decimals)) {
    const finer = Math.min(floorTo(pct, decimals + 1), allNines(decimals + 1));
    if (finer === shown) break; // the next digit is 0: nothing to add
    decimals++;
    shown = finer;
  }
  return { sla: `${shown.toFixed(decimals)}%`, sla_percent: Number(shown.toFixed(decimals)) };
}

/** 99.9, 99.99, … : the largest percent below 100 at `d` decimals. */
function allNines(d: number): number {
  return Number((100 - 10 ** -d).toFixed(d));
}

/** Floor to `d` decimals, forgiving the binary error of p × 100 (0.995 × 100 = 99.49999999999999). */
function floorTo(x: number, d: number): number {
  const s = 10 ** d;
  return Math.floor(x * s + 1e-7) / s;
}
