/**
 * Durations as people type them: `30s`, `15m`, `1h`, `1d`, `2w`, or a bare number of seconds.
 * Used by `--expires` and `expires_in`. Returns seconds, or null when the text is not a duration
 * (the caller names the field in its error).
 */
const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = /^(\d{1,9})([smhdw]?)$/.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]) * (UNIT_S[m[2] || 's'] as number);
  return n > 0 && Number.isSafeInteger(n) ? n : null;
}
