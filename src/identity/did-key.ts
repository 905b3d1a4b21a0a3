import { isValidPublicKey, type KeyAlg, PUBLIC_KEY_LENGTH } from './keys.js';

/**
 * did:key (W3C CCG did:key Method): `did:key:` + multibase base58btc (`z`) of
 * varint(multicodec) || raw public key. Codes from the multicodec table:
 *   ed25519-pub   0xed   varint ed 01   32-byte key
 *   p256-pub      0x1200 varint 80 24   33-byte compressed SEC1 point
 *   secp256k1-pub 0xe7   varint e7 01   33-byte compressed SEC1 point
 * Only the bare DID is accepted (no path, query or fragment).
 */
export const MULTICODEC: Readonly<Record<KeyAlg, number>> = {
  Ed25519: 0xed,
  'P-256': 0x1200,
  secp256k1: 0xe7,
};

export type DidKeyErrorCode =
  | 'not_did_key'
  | 'not_base58btc_multibase'
  | 'bad_base58'
  | 'bad_varint'
  | 'unknown_multicodec'
  | 'bad_key_length'
  | 'invalid_key';

export class DidKeyError extends Error {
  override readonly name = 'DidKeyError';
  constructor(
    readonly code: DidKeyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));

/** base58btc (Bitcoin alphabet); leading zero bytes become leading '1's. */
export function base58btcEncode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const digits: number[] = []; // little-endian base-58 digits
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i] as number;
    for (let j = 0; j < digits.length; j++) {
      carry += (digits[j] as number) << 8;
      digits[j] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let out = '1'.repeat(zeros);
  for (let i = digits.length - 1; i >= 0; i--) out += ALPHABET[digits[i] as number];
  return out;
}

export function base58btcDecode(s: string): Uint8Array {
  let zeros = 0;
  while (zeros < s.length && s[zeros] === '1') zeros++;
  const bytes: number[] = []; // little-endian base-256
  for (let i = zeros; i < s.length; i++) {
    const ch = s[i] as string;
    const v = INDEX.get(ch);
    if (v === undefined) throw new DidKeyError('bad_base58', `invalid base58btc character '${ch}'`);
    let carry = v;
    for (let j = 0; j < bytes.length; j++) {
      carry += (bytes[j] as number) * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  const out = new Uint8Array(zeros + bytes.length);
  for (let i = 0; i < bytes.length; i++) out[out.length - 1 - i] = bytes[i] as number;
  return out;
}

function encodeVarint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** Unsigned LEB128 as multiformats uses it: at most 9 bytes, minimally encoded. */
function decodeVarint(b: Uint8Array): { value: number; length: number } {
  let value = 0;
  for (let i = 0; i < b.length && i < 4; i++) {
    const byte = b[i] as number;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) throw new DidKeyError('bad_varint', 'multicodec varint is not minimal');
      return { value, length: i + 1 };
    }
  }
  throw new DidKeyError('bad_varint', 'multicodec varint is truncated or too long');
}

const ALG_BY_CODE = new Map<number, KeyAlg>(
  (Object.entries(MULTICODEC) as [KeyAlg, number][]).map(([a, c]) => [c, a]),
);

/** The `z…` multibase value (also what `publicKeyMultibase` holds in a DID document). */
export function multibaseFromPublicKey(alg: KeyAlg, publicKey: Uint8Array): string {
  const code = MULTICODEC[alg];
  if (code === undefined) throw new DidKeyError('unknown_multicodec', `unsupported algorithm: ${alg}`);
  if (publicKey.length !== PUBLIC_KEY_LENGTH[alg]) {
    throw new DidKeyError(
      'bad_key_length',
      `${alg} public key must be ${PUBLIC_KEY_LENGTH[alg]} bytes, got ${publicKey.length}`,
    );
  }
  if (!isValidPublicKey(alg, publicKey)) throw new DidKeyError('invalid_key', `invalid ${alg} public key`);
  const prefix = encodeVarint(code);
  const buf = new Uint8Array(prefix.length + publicKey.length);
  buf.set(prefix, 0);
  buf.set(publicKey, prefix.length);
  return `z${base58btcEncode(buf)}`;
}

export function parseMultibaseKey(mb: string): { alg: KeyAlg; publicKey: Uint8Array } {
  if (typeof mb !== 'string' || !mb.startsWith('z') || mb.length < 2) {
    throw new DidKeyError('not_base58btc_multibase', "key is not base58btc multibase (must start with 'z')");
  }
  const bytes = base58btcDecode(mb.slice(1));
  const { value, length } = decodeVarint(bytes);
  const alg = ALG_BY_CODE.get(value);
  if (alg === undefined) {
    throw new DidKeyError('unknown_multicodec', `unsupported multicodec 0x${value.toString(16)}`);
  }
  const publicKey = bytes.slice(length);
  if (publicKey.length !== PUBLIC_KEY_LENGTH[alg]) {
    throw new DidKeyError(
      'bad_key_length',
      `${alg} public key must be ${PUBLIC_KEY_LENGTH[alg]} bytes, got ${publicKey.length}`,
    );
  }
  if (!isValidPublicKey(alg, publicKey))
    throw new DidKeyError('invalid_key', `not a valid ${alg} public key`);
  return { alg, publicKey };
}

export function didKeyFromPublicKey(alg: KeyAlg, publicKey: Uint8Array): string {
  return `did:key:${multibaseFromPublicKey(alg, publicKey)}`;
}

export function parseDidKey(did: string): { alg: KeyAlg; publicKey: Uint8Array } {
  if (typeof did !== 'string' || !did.startsWith('did:key:')) {
    throw new DidKeyError('not_did_key', "not a did:key (must start with 'did:key:')");
  }
  const id = did.slice('did:key:'.length);
  if (/[:/?#]/.test(id)) {
    throw new DidKeyError('not_did_key', 'did:key must be a bare DID (no version, path, query or fragment)');
  }
  return parseMultibaseKey(id);
}
