import { createHash } from 'node:crypto';

/**
 * Idempotency keys follow Stripe's rules (DESIGN.md "Protocol decisions"): the same key and body
 * return the stored first response; the same key with another body (or on another route) is a 422;
 * keys are scoped per principal and kept 24 hours.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
const KEY = /^[\x21-\x7e]{1,255}$/;

/** A valid key is 1–255 visible ASCII characters (a UUID is typical). */
export function validIdempotencyKey(k: string): boolean {
  return KEY.test(k);
}

/** Canonical JSON (object keys sorted at every level), so `{a,b}` and `{b,a}` hash the same. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

export function requestHash(body: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(body ?? null))
    .digest('hex');
}
