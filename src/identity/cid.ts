import { createHash } from 'node:crypto';

/**
 * The one CID form the identity stack needs: CIDv1, codec raw (0x55), multihash sha2-256 (0x12,
 * 32 bytes), multibase base32 lower-case without padding (prefix `b`). UCAN 0.10 names proofs this
 * way (`prf`), over the UTF-8 bytes of the JWT. Written out rather than pulled from `multiformats`:
 * the layout is four fixed bytes and a hash, and one form is all we accept.
 *
 *   bytes  = 0x01 (CIDv1) 0x55 (raw) 0x12 (sha2-256) 0x20 (32 bytes) || sha256(data)
 *   string = 'b' + base32(bytes)   // 1 + ceil(36 * 8 / 5) = 59 characters
 */
export const RAW_CODEC = 0x55;
export const SHA2_256 = 0x12;
const PREFIX = [0x01, RAW_CODEC, SHA2_256, 0x20] as const;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32, lower-case alphabet, no padding. */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1; // keep only the bits not yet written, so `acc` never overflows
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

/** Inverse of `base32Encode`; null for a character outside the alphabet or non-zero pad bits. */
export function base32Decode(s: string): Uint8Array | null {
  const out: number[] = [];
  let bits = 0;
  let acc = 0;
  for (const ch of s) {
    const v = BASE32.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
    }
    acc &= (1 << bits) - 1;
  }
  // Leftover bits must be zero padding, else two strings would name the same bytes.
  if (bits >= 5 || acc !== 0) return null;
  return Uint8Array.from(out);
}

/** `b…` CIDv1 raw sha2-256 of `data`. */
export function rawSha256Cid(data: Uint8Array | string): string {
  const digest = createHash('sha256').update(data).digest();
  const bytes = new Uint8Array(PREFIX.length + digest.length);
  bytes.set(PREFIX, 0);
  bytes.set(digest, PREFIX.length);
  return `b${base32Encode(bytes)}`;
}

/** True when `s` is a CID in exactly the form `rawSha256Cid` writes. */
export function isRawSha256Cid(s: unknown): s is string {
  if (typeof s !== 'string' || s.length !== 59 || s[0] !== 'b') return false;
  const b = base32Decode(s.slice(1));
  return b !== null && b.length === 36 && PREFIX.every((p, i) => b[i] === p);
}
