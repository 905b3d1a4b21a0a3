/**
 * UCAN abilities and caveats (ucan.ts): which ability covers which, and when one set of caveats is
 * at least as strict as another: what attenuation along a chain is checked with.
 */
export const ABILITIES = [
  'compute/discover',
  'compute/orchestrate',
  'compute/book',
  'compute/lease/*',
  'compute/provide',
  'compute/infer',
  'compute/admin',
] as const;

export interface Caveats {
  max_spend_usd?: number;
  max_price_per_hour?: number;
  providers?: string[];
  provider_types?: string[];
  resource_types?: string[];
}

const NUMERIC = ['max_spend_usd', 'max_price_per_hour'] as const;
const LISTS = ['providers', 'provider_types', 'resource_types'] as const;
/** `*` covers everything; `a/*` covers every `a/…` (and `a/*` itself); otherwise exact. */
export function abilityCovers(granted: string, wanted: string): boolean {
  if (granted === wanted || granted === '*') return true;
  return granted.endsWith('/*') && wanted.startsWith(granted.slice(0, -1));
}

/**
 * null when `child` is at least as strict as `parent`, else the name of the first looser caveat.
 * Absent in the parent = unlimited; present in the parent but absent in the child = looser.
 */
export function caveatsWithin(child: Caveats, parent: Caveats): string | null {
  for (const k of NUMERIC) {
    const p = parent[k];
    const c = child[k];
    if (p !== undefined && (c === undefined || c > p)) return k;
  }
  for (const k of LISTS) {
    const p = parent[k];
    const c = child[k];
    if (p !== undefined && (c === undefined || !c.every((x) => p.includes(x)))) return k;
  }
  return null;
}

/** The strictest of two caveat sets: minimum of numbers, intersection of lists (may be empty). */
export function strictest(a: Caveats, b: Caveats): Caveats {
  const out: Caveats = { ...a };
  for (const k of NUMERIC) {
    const v = b[k];
    if (v !== undefined) out[k] = Math.min(v, out[k] ?? v);
  }
  for (const k of LISTS) {
    const v = b[k];
    if (v !== undefined) out[k] = out[k] === undefined ? [...v] : (out[k] ?? []).filter((x) => v.includes(x));
  }
  return out;
}

/** Validation problem in `c` (named with `path`), or null. */
export function checkCaveats(c: unknown, path: string): string | null {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return `${path} must be an object of caveats`;
  for (const [k, v] of Object.entries(c)) {
    if ((NUMERIC as readonly string[]).includes(k)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        return `${path}.${k} must be a finite number >= 0`;
    } else if ((LISTS as readonly string[]).includes(k)) {
      const ok = Array.isArray(v) && v.length >= 1 && v.length <= 100;
      if (!ok || !v.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 200)) {
        return `${path}.${k} must be a list of 1 to 100 non-empty strings`;
      }
    } else {
      return `${path}.${k} is not a known caveat (known: ${[...NUMERIC, ...LISTS].join(', ')})`;
    }
  }
  return null;
}
