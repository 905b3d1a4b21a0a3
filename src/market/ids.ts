/**
 * Offer ids: `of_` + 13 base32 characters of a 64-bit hash of (provider, sku, region, zone,
 * interruptible). Stable across refreshes and processes, URL-safe, and decodable back to the hash
 * so `get(id)` is one probe of an open-addressing table (index-store.ts).
 */

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

export const OFFER_ID_PREFIX = 'of_';

/** Two independent 32-bit hashes (FNV-1a and a murmur3-style mix) of one string: 64 bits. */
export function hash64(s: string): { hi: number; lo: number } {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    let k = Math.imul(c, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h2 ^= Math.imul(k, 0x1b873593);
    h2 = Math.imul((h2 << 13) | (h2 >>> 19), 5) + 0xe6546b64;
  }
  h2 ^= s.length;
  h2 ^= h2 >>> 16;
  h2 = Math.imul(h2, 0x85ebca6b);
  h2 ^= h2 >>> 13;
  h2 = Math.imul(h2, 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  h1 ^= h1 >>> 15;
  h1 = Math.imul(h1, 0x2c1b3c6d);
  h1 ^= h1 >>> 12;
  return { hi: h1 >>> 0, lo: h2 >>> 0 };
}

/** The identity of an offer: what it is and where, not its price or stock. */
export function offerKey(
  provider: string,
  sku: string,
  region: string,
  zone: string | null,
  interruptible: boolean,
): string {
  return `${provider}\u0001${sku}\u0001${region}\u0001${zone ?? ''}\u0001${interruptible ? 's' : 'o'}`;
}

export function encodeOfferId(hi: number, lo: number): string {
  // 64 bits as 13 base32 digits: the first carries 4 bits.
  let out = OFFER_ID_PREFIX;
  let h = hi >>> 0;
  let l = lo >>> 0;
  const digits: string[] = new Array(13);
  for (let i = 12; i >= 0; i--) {
    digits[i] = ALPHABET[l & 31] as string;
    l = ((l >>> 5) | ((h & 31) << 27)) >>> 0;
    h = h >>> 5;
  }
  out += digits.join('');
  return out;
}

/** The hash an id encodes, or null when the string is not an offer id. */
export function decodeOfferId(id: string): { hi: number; lo: number } | null {
  if (id.length !== OFFER_ID_PREFIX.length + 13 || !id.startsWith(OFFER_ID_PREFIX)) return null;
  let hi = 0;
  let lo = 0;
  for (let i = OFFER_ID_PREFIX.length; i < id.length; i++) {
    const c = id.charCodeAt(i);
    const d = c < 128 ? (DECODE[c] as number) : -1;
    if (d < 0) return null;
    if (i === OFFER_ID_PREFIX.length && d > 15) return null;
    hi = ((hi << 5) | (lo >>> 27)) >>> 0;
    lo = ((lo << 5) | d) >>> 0;
  }
  return { hi, lo };
}
