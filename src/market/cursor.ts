import { SORTS, type Sort } from '../protocol/glossary.js';

/**
 * Keyset cursors: the (sort key, offer id) of the last offer on a page. The next page starts just
 * after that position in whatever snapshot is current, so a swap never skips or repeats an offer
 * whose price and identity did not change. Opaque base64url on the wire.
 */
export interface Cursor {
  sort: Sort;
  /** uint32 sort key (index-store.ts). */
  key: number;
  hi: number;
  lo: number;
  /** Secondary key (discover: the price key under the cost key). */
  key2?: number;
}

export function encodeCursor(c: Cursor): string {
  const tail = c.key2 === undefined ? '' : `.${c.key2}`;
  return Buffer.from(`c1.${c.sort}.${c.key}.${c.hi}.${c.lo}${tail}`, 'utf8').toString('base64url');
}

export function decodeCursor(s: string): Cursor | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(s)) return null;
  const parts = Buffer.from(s, 'base64url').toString('utf8').split('.');
  if ((parts.length !== 5 && parts.length !== 6) || parts[0] !== 'c1') return null;
  const sort = parts[1] as Sort;
  if (!SORTS.includes(sort)) return null;
  const nums = parts.slice(2).map((x) => (/^\d{1,10}$/.test(x) ? Number(x) : Number.NaN));
  if (!nums.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) return null;
  const [key = 0, hi = 0, lo = 0, key2] = nums;
  return key2 === undefined ? { sort, key, hi, lo } : { sort, key, hi, lo, key2 };
}
