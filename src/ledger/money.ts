import type { Micros } from './store.js';

/**
 * Money is exact (DESIGN.md "Protocol decisions"): integer micro-units inside, 1 USD = 1,000,000.
 * Floats only appear at the edges: a price read from the market, a number on the wire.
 */
export const MICROS_PER_USD = 1_000_000;

/** USD → micros, rounded half away from zero. A non-finite or too large amount is a RangeError. */
export function usdToMicros(usd: number): Micros {
  if (!Number.isFinite(usd)) throw new RangeError(`amount must be a finite number of USD, got ${usd}`);
  // Scale through the decimal string so 0.1 + 0.2 style binary error never moves a micro.
  const m = Math.sign(usd) * Math.round(Math.abs(Number((usd * MICROS_PER_USD).toPrecision(15))));
  if (!Number.isSafeInteger(m)) throw new RangeError(`amount ${usd} USD is too large`);
  return m === 0 ? 0 : m;
}

/** Micros → USD as a number for the wire (exact for any safe integer of micros to 6 decimals). */
export function microsToUsd(m: Micros): number {
  return m / MICROS_PER_USD;
}

/** `a × b / c` rounded half up, exact for safe-integer inputs (computed in BigInt). c > 0. */
export function mulDiv(a: number, b: number, c: number): Micros {
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || !Number.isSafeInteger(c) || c <= 0)
    throw new RangeError(`mulDiv needs safe integers and c > 0, got ${a}, ${b}, ${c}`);
  const num = BigInt(a) * BigInt(b);
  const C = BigInt(c);
  const neg = num < 0n;
  const abs = neg ? -num : num;
  const q = (abs * 2n + C) / (2n * C);
  const r = Number(neg ? -q : q);
  if (!Number.isSafeInteger(r)) throw new RangeError('mulDiv result is not a safe integer');
  return r === 0 ? 0 : r;
}

/** Checks a micros amount: a safe integer (negative allowed). */
export function assertMicros(m: number, what: string): void {
  if (!Number.isSafeInteger(m)) throw new RangeError(`${what} must be an integer number of micros, got ${m}`);
}
