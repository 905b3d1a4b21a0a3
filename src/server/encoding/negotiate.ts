/**
 * Proactive content negotiation on `Accept` (RFC 9110 §12.5.1), pure. `available` is in server
 * preference order: when two types get the same q, the earlier one wins, so JSON first means
 * "ties go to JSON".
 *
 * - Each available type takes the q of the most specific range that matches it (`type/subtype` over
 *   `type/*` over `*\/*`), so `*\/*;q=0.1, application/msgpack` prefers MessagePack and
 *   `*\/*, application/json;q=0` excludes JSON.
 * - q=0 means "not acceptable"; a type whose best q is 0 is never chosen.
 * - Media-type parameters other than q (`application/x-protobuf; proto=…`) do not narrow a match.
 * - No header, an empty one, or one with no parseable range at all means "anything": the first
 *   available type. A malformed element inside an otherwise good header is skipped.
 * Returns null when nothing available is acceptable (the caller answers 406).
 */
export function negotiate(accept: string | undefined, available: readonly string[]): string | null {
  if (available.length === 0) return null;
  const ranges = accept === undefined ? [] : parseAccept(accept);
  if (ranges.length === 0) return available[0] ?? null;
  let best: string | null = null;
  let bestQ = 0;
  for (const candidate of available) {
    const q = qualityOf(candidate, ranges);
    if (q > bestQ) {
      best = candidate;
      bestQ = q;
    }
  }
  return best;
}

export interface MediaRange {
  type: string;
  subtype: string;
  /** 0..1, three decimals at most. */
  q: number;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** Parses an Accept value into its media ranges, skipping malformed elements. */
export function parseAccept(header: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const element of splitOutsideQuotes(header, ',')) {
    const [range = '', ...params] = splitOutsideQuotes(element, ';').map((s) => s.trim());
    const slash = range.indexOf('/');
    if (slash <= 0) continue;
    const type = range.slice(0, slash).toLowerCase();
    const subtype = range.slice(slash + 1).toLowerCase();
    if (!TOKEN.test(type) || !TOKEN.test(subtype) || (type === '*' && subtype !== '*')) continue;
    let q = 1;
    let ok = true;
    for (const p of params) {
      const eq = p.indexOf('=');
      if (eq <= 0 || p.slice(0, eq).trim().toLowerCase() !== 'q') continue;
      const v = p.slice(eq + 1).trim();
      if (!QVALUE.test(v)) ok = false;
      else q = Number(v);
    }
    if (ok) out.push({ type, subtype, q });
  }
  return out;
}

/** The q of the most specific matching range (highest q among equally specific ones); 0 if none. */
function qualityOf(candidate: string, ranges: readonly MediaRange[]): number {
  const slash = candidate.indexOf('/');
  const type = candidate.slice(0, slash).toLowerCase();
  const subtype = candidate
    .slice(slash + 1)
    .split(';')[0]!
    .trim()
    .toLowerCase();
  let specificity = -1;
  let q = 0;
  for (const r of ranges) {
    let s: number;
    if (r.type === type && r.subtype === subtype) s = 2;
    else if (r.type === type && r.subtype === '*') s = 1;
    else if (r.type === '*') s = 0;
    else continue;
    if (s > specificity) {
      specificity = s;
      q = r.q;
    } else if (s === specificity && r.q > q) q = r.q;
  }
  return q;
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts.filter((p) => p.trim() !== '');
}
