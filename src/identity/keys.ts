import { createPublicKey, verify as cryptoVerify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';

/**
 * Signing keys for the identity stack (issue 5): Ed25519, P-256 and secp256k1 on `@noble/curves`
 * (keys, signing), with verification in OpenSSL through `node:crypto` where it can (`verify`).
 *
 * - Public keys: Ed25519 raw 32 bytes; P-256 and secp256k1 SEC1 compressed (33 bytes).
 * - Secret keys: 32 raw bytes for all three.
 * - Signatures: Ed25519 raw 64 bytes; P-256 and secp256k1 compact r||s (64 bytes) over
 *   SHA-256(message), as JOSE ES256 / ES256K. Signing always yields low-S. Verification requires
 *   low-S for secp256k1 (no malleable signatures) and accepts either S for P-256 (WebCrypto and
 *   other ES256 signers do not normalise).
 *
 * A `KeyPair` keeps its secret in a private field: `toJSON` and `util.inspect` print
 * `[redacted]`, so logging a key never leaks it. Only `exportSecretKey` hands the bytes out.
 */
export type KeyAlg = 'Ed25519' | 'P-256' | 'secp256k1';

export const KEY_ALGS: readonly KeyAlg[] = ['Ed25519', 'P-256', 'secp256k1'];

export const SECRET_KEY_LENGTH = 32;
export const PUBLIC_KEY_LENGTH: Readonly<Record<KeyAlg, number>> = {
  Ed25519: 32,
  'P-256': 33,
  secp256k1: 33,
};
export const SIGNATURE_LENGTH = 64;

export type KeyErrorCode = 'unknown_alg' | 'bad_secret_key' | 'bad_public_key' | 'bad_jwk';

export class KeyError extends Error {
  override readonly name = 'KeyError';
  constructor(
    readonly code: KeyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isKeyAlg(x: unknown): x is KeyAlg {
  return typeof x === 'string' && (KEY_ALGS as readonly string[]).includes(x);
}

function assertAlg(alg: unknown): asserts alg is KeyAlg {
  if (!isKeyAlg(alg)) throw new KeyError('unknown_alg', `unknown key algorithm: ${String(alg)}`);
}

const weierstrass = (alg: 'P-256' | 'secp256k1') => (alg === 'P-256' ? p256 : secp256k1);

export class KeyPair {
  readonly #secret: Uint8Array;
  readonly alg: KeyAlg;
  readonly publicKey: Uint8Array;

  /** Use `generateKey` or `importSecretKey`; the constructor trusts its arguments. */
  private constructor(alg: KeyAlg, secret: Uint8Array, publicKey: Uint8Array) {
    this.alg = alg;
    this.#secret = secret;
    this.publicKey = publicKey;
    Object.freeze(this);
  }

  /** @internal */
  static create(alg: KeyAlg, secret: Uint8Array): KeyPair {
    const pub =
      alg === 'Ed25519' ? ed25519.getPublicKey(secret) : weierstrass(alg).getPublicKey(secret, true);
    return new KeyPair(alg, Uint8Array.from(secret), pub);
  }

  /** @internal Used by `sign` and `exportSecretKey` only. */
  static secretOf(key: KeyPair): Uint8Array {
    return key.#secret;
  }

  toJSON(): { alg: KeyAlg; publicKey: string; secretKey: '[redacted]' } {
    return {
      alg: this.alg,
      publicKey: Buffer.from(this.publicKey).toString('base64url'),
      secretKey: '[redacted]',
    };
  }

  toString(): string {
    return `KeyPair(${this.alg}, [redacted])`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** A fresh random keypair from the curve library's CSPRNG-backed generator. */
export function generateKey(alg: KeyAlg): KeyPair {
  assertAlg(alg);
  const secret =
    alg === 'Ed25519' ? ed25519.utils.randomSecretKey() : weierstrass(alg).utils.randomSecretKey();
  return KeyPair.create(alg, secret);
}

/** Rebuilds a keypair from its 32-byte secret (Ed25519 seed or EC scalar). */
export function importSecretKey(alg: KeyAlg, secret: Uint8Array): KeyPair {
  assertAlg(alg);
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_KEY_LENGTH) {
    throw new KeyError('bad_secret_key', `${alg} secret key must be ${SECRET_KEY_LENGTH} bytes`);
  }
  if (alg !== 'Ed25519' && !weierstrass(alg).utils.isValidSecretKey(secret)) {
    throw new KeyError('bad_secret_key', `${alg} secret key is out of range`);
  }
  return KeyPair.create(alg, secret);
}

/** A copy of the secret bytes. Callers own them: write them only to 0600 files. */
export function exportSecretKey(key: KeyPair): Uint8Array {
  return Uint8Array.from(KeyPair.secretOf(key));
}

/** True when `pub` is a well-formed public key for `alg` (right length, on the curve). */
export function isValidPublicKey(alg: KeyAlg, pub: Uint8Array): boolean {
  if (!isKeyAlg(alg) || !(pub instanceof Uint8Array) || pub.length !== PUBLIC_KEY_LENGTH[alg]) {
    return false;
  }
  try {
    if (alg === 'Ed25519') return ed25519.utils.isValidPublicKey(pub);
    return weierstrass(alg).utils.isValidPublicKey(pub, true);
  } catch {
    return false;
  }
}

export function sign(key: KeyPair, message: Uint8Array): Uint8Array {
  const secret = KeyPair.secretOf(key);
  if (key.alg === 'Ed25519') return ed25519.sign(message, secret);
  return weierstrass(key.alg).sign(message, secret, { prehash: true, lowS: true });
}

/** Verifies a signature; malformed inputs give false rather than throwing. */
export function verify(
  publicKey: Uint8Array,
  alg: KeyAlg,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return false;
  if (alg === 'secp256k1' && !lowS(signature)) return false;
  const native = nativeKey(alg, publicKey);
  if (native === null) return false;
  try {
    if (native !== undefined)
      return alg === 'Ed25519'
        ? cryptoVerify(null, message, native, signature)
        : cryptoVerify('sha256', message, { key: native, dsaEncoding: 'ieee-p1363' }, signature);
    if (alg === 'Ed25519') return ed25519.verify(signature, message, publicKey);
    return weierstrass(alg).verify(signature, message, publicKey, {
      prehash: true,
      lowS: alg === 'secp256k1',
    });
  } catch {
    return false;
  }
}

/**
 * Verification runs in OpenSSL (node:crypto) when it can: on a small machine noble's Ed25519
 * check costs about 2 ms, OpenSSL's about 0.1 ms, and a UCAN chain checks one per link. Key
 * objects are kept per public key (DIDs repeat: every token the gateway mints is its own). A key
 * OpenSSL cannot import (a build without secp256k1) falls back to noble; an invalid key is null.
 */
const nativeKeys = new Map<string, KeyObject | undefined | null>();
function nativeKey(alg: KeyAlg, pub: Uint8Array): KeyObject | undefined | null {
  const id = `${alg}:${Buffer.from(pub).toString('hex')}`;
  if (nativeKeys.has(id)) return nativeKeys.get(id);
  let k: KeyObject | undefined | null;
  if (!isValidPublicKey(alg, pub)) k = null;
  else
    try {
      k = createPublicKey({ key: publicKeyToJwk(alg, pub) as unknown as JsonWebKey, format: 'jwk' });
    } catch {
      k = undefined;
    }
  if (nativeKeys.size >= 10_000) nativeKeys.delete(nativeKeys.keys().next().value as string);
  nativeKeys.set(id, k);
  return k;
}

const SECP256K1_HALF_N = secp256k1.Point.CURVE().n >> 1n;
/** secp256k1 signatures must be low-S (no malleable twin), as noble enforces and Bitcoin requires. */
function lowS(sig: Uint8Array): boolean {
  return BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`) <= SECP256K1_HALF_N;
}

export interface PublicJwk {
  kty: 'OKP' | 'EC';
  crv: 'Ed25519' | 'P-256' | 'secp256k1';
  x: string;
  y?: string;
}

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

function fromB64u(s: unknown, len: number, what: string): Uint8Array {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) {
    throw new KeyError('bad_jwk', `JWK ${what} is not base64url`);
  }
  const b = new Uint8Array(Buffer.from(s, 'base64url'));
  if (b.length !== len) throw new KeyError('bad_jwk', `JWK ${what} must be ${len} bytes`);
  return b;
}

/** The public JWK (RFC 8037 OKP for Ed25519, RFC 7518 / 8812 EC for the others). */
export function publicKeyToJwk(alg: KeyAlg, pub: Uint8Array): PublicJwk {
  if (!isValidPublicKey(alg, pub)) throw new KeyError('bad_public_key', `invalid ${alg} public key`);
  if (alg === 'Ed25519') return { kty: 'OKP', crv: 'Ed25519', x: b64u(pub) };
  const raw = weierstrass(alg).Point.fromBytes(pub).toBytes(false);
  return { kty: 'EC', crv: alg, x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33, 65)) };
}

/** Reads a public JWK into `{alg, publicKey}` (compressed for EC); throws `KeyError` otherwise. */
export function publicKeyFromJwk(jwk: unknown): { alg: KeyAlg; publicKey: Uint8Array } {
  if (typeof jwk !== 'object' || jwk === null) throw new KeyError('bad_jwk', 'JWK is not an object');
  const j = jwk as Record<string, unknown>;
  if (j.kty === 'OKP' && j.crv === 'Ed25519') {
    const x = fromB64u(j.x, 32, 'x');
    if (!isValidPublicKey('Ed25519', x)) throw new KeyError('bad_jwk', 'JWK is not an Ed25519 point');
    return { alg: 'Ed25519', publicKey: x };
  }
  if (j.kty === 'EC' && (j.crv === 'P-256' || j.crv === 'secp256k1')) {
    const alg = j.crv;
    const raw = new Uint8Array(65);
    raw[0] = 4;
    raw.set(fromB64u(j.x, 32, 'x'), 1);
    raw.set(fromB64u(j.y, 32, 'y'), 33);
    try {
      return { alg, publicKey: weierstrass(alg).Point.fromBytes(raw).toBytes(true) };
    } catch {
      throw new KeyError('bad_jwk', `JWK is not a ${alg} point`);
    }
  }
  throw new KeyError('bad_jwk', `unsupported JWK kty/crv: ${String(j.kty)}/${String(j.crv)}`);
}
