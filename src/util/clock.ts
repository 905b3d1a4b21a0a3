/** Time comes in through this interface so tests control it (STYLE.md: no `new Date()` in domain code). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock a test moves by hand. */
export class ManualClock implements Clock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}

let lastMs = Number.NaN;
let lastIso = '';
/**
 * RFC 3339 of epoch ms. Offers of one refresh share their timestamp, so the last answer is kept:
 * building a page of offers formats the same instant many times.
 */
export function iso(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}
