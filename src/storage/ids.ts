import { randomBytes } from 'node:crypto';
import type { Clock } from '../util/clock.js';

/**
 * Prefixed, time-sortable ids: `<prefix>_` + 26 Crockford base32 characters (lower case), the
 * ULID layout: 10 characters of 48-bit millisecond time, then 16 of 80 random bits. Ids of later
 * milliseconds sort after earlier ones as plain strings, so an index on the id is also roughly an
 * index on creation time, and 80 random bits make a collision within one millisecond negligible.
 */

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // ascending in ASCII, so string order = numeric order
const MAX_TIME = 2 ** 48 - 1;
const RANDOM_BYTES = 10;
const PREFIX = /^[a-z][a-z0-9]*$/;

/** `n` random bytes; the default is `node:crypto.randomBytes`. */
export type RandomSource = (n: number) => Uint8Array;

export const cryptoRandom: RandomSource = (n) => randomBytes(n);

function encodeTime(now: number): string {
  if (!Number.isInteger(now) || now < 0 || now > MAX_TIME)
    throw new RangeError(`id time must be an integer in [0, 2^48), got ${now}`);
  const out: string[] = new Array(10);
  let t = now;
  for (let i = 9; i >= 0; i--) {
    out[i] = ALPHABET[t % 32] as string;
    t = Math.floor(t / 32);
  }
  return out.join('');
}

/** 80 bits as 16 base32 characters, most significant first. */
function encodeRandom(bytes: Uint8Array): string {
  if (bytes.length < RANDOM_BYTES)
    throw new RangeError(`random source gave ${bytes.length} bytes, need ${RANDOM_BYTES}`);
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < RANDOM_BYTES; i++) {
    acc = ((acc << 8) | (bytes[i] as number)) & 0xfff; // at most 12 live bits
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >>> bits) & 31];
    }
  }
  return out;
}

function checkPrefix(prefix: string): void {
  if (!PREFIX.test(prefix)) throw new RangeError(`id prefix must match ${PREFIX}, got "${prefix}"`);
}

/** `newId('plan', 1469918176385, random)` → `plan_01aryz6s41…`. Pure given its arguments. */
export function newId(prefix: string, now: number, random: RandomSource = cryptoRandom): string {
  checkPrefix(prefix);
  return `${prefix}_${encodeTime(now)}${encodeRandom(random(RANDOM_BYTES))}`;
}

/** The millisecond time an id encodes, or null when `id` is not `<prefix>_` + a 26-character id. */
export function idTime(id: string): number | null {
  const sep = id.lastIndexOf('_');
  const body = id.slice(sep + 1);
  if (sep < 1 || body.length !== 26) return null;
  let t = 0;
  for (let i = 0; i < 26; i++) {
    const d = ALPHABET.indexOf(body[i] as string);
    if (d < 0 || (i === 0 && d > 7)) return null;
    if (i < 10) t = t * 32 + d;
  }
  return t;
}

/** The id source the composition root hands to every system (STYLE.md 6). */
export interface IdSource {
  /** A new id with this prefix, strictly greater than every id this source gave before. */
  next(prefix: string): string;
}

/**
 * Ids from one source are strictly increasing, even within one millisecond or when the clock steps
 * back: a repeat millisecond reuses the last random part plus one (the ULID monotonic rule), and
 * time never goes below the last id's. The state lives in the returned object, not in the module.
 */
export function createIdSource(clock: Clock, random: RandomSource = cryptoRandom): IdSource {
  let lastTime = -1;
  const last = new Uint8Array(RANDOM_BYTES);
  return {
    next(prefix) {
      checkPrefix(prefix);
      let t = Math.max(clock.now(), lastTime);
      if (t === lastTime && increment(last)) {
        // 2^80 ids in one millisecond: move to the next one rather than repeat.
        t += 1;
      }
      if (t !== lastTime) {
        const fresh = random(RANDOM_BYTES);
        if (fresh.length < RANDOM_BYTES)
          throw new RangeError(`random source gave ${fresh.length} bytes, need ${RANDOM_BYTES}`);
        last.set(fresh.subarray(0, RANDOM_BYTES));
      }
      lastTime = t;
      return `${prefix}_${encodeTime(t)}${encodeRandom(last)}`;
    },
  };
}

/** Adds one to a big-endian integer in place; true when it wrapped to zero. */
function increment(b: Uint8Array): boolean {
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] !== 0xff) {
      b[i] = (b[i] as number) + 1;
      return false;
    }
    b[i] = 0;
  }
  return true;
}
