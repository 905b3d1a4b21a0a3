/** Plain-text tables for human output (no colour codes, so output pipes cleanly). */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

export function money(n: number | null | undefined, digits = 2): string {
  return n === null || n === undefined ? '-' : `$${n.toFixed(digits)}`;
}

/** USD with cents, or to the micro-dollar below a cent (a small job costs fractions of one). */
export function usd(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  return Math.abs(n) > 0 && Math.abs(n) < 0.01 ? `$${Number(n.toFixed(6))}` : `$${n.toFixed(2)}`;
}

/** "12.5% below the cheapest traditional cloud" (or above, for work it does dearly); '' when unknown. */
export function savings(s: number | null | undefined): string {
  if (s === null || s === undefined) return '';
  return `${s >= 0 ? `${s}% below` : `${-s}% above`} the cheapest traditional cloud`;
}
