import { type DidKeyError, multibaseFromPublicKey, parseDidKey } from './did-key.js';
import { type DidWebResolver, verificationMethodKey } from './did-web.js';
import { type KeyAlg, type KeyPair, sign, verify } from './keys.js';

/**
 * Compact JWS (RFC 7515) signed by a DID's key; the layer under UCANs and workload manifests.
 *
 * - Algorithms: EdDSA (RFC 8037, Ed25519 only), ES256 (RFC 7518) and ES256K (RFC 8812). ECDSA
 *   signatures are the 64-byte r||s form over SHA-256 of the signing input — keys.ts `sign` and
 *   `verify` prehash with SHA-256 for both curves, which is what both RFCs specify.
 * - High-S: both RFCs allow either S. We accept either for ES256 (WebCrypto and node:crypto do
 *   not normalise, so refusing would break interop) and refuse high-S for ES256K (keys.ts; every
 *   secp256k1 signer we know of emits low-S). A caller that names a JWS by its hash must therefore
 *   expect two encodings of one ES256 signature: ucan.ts checks revocation under both.
 * - The key comes only from `kid`, a DID URL (`did:…[#fragment]`); the DID part is resolved and
 *   `alg` must match the resolved key's algorithm, so an EdDSA header can never be checked against
 *   a P-256 key. Header keys that carry their own key material (`jwk`, `jku`, `x5c`, `x5u`) are
 *   ignored: a signer cannot vouch for itself. For did:key the fragment, when present, must be the
 *   key's multibase (the only verification method a did:key has); for did:web any key in the
 *   document may sign, since the resolver returns keys, not method ids.
 * - Malformed (never verified): `alg: none`, a `crit` header (we understand no extensions, and
 *   RFC 7515 §4.1.11 says to refuse what we do not understand), a payload that is not JSON,
 *   non-canonical base64url (it would give one signature two spellings), input over 64 KiB.
 */
export type JwsAlg = 'EdDSA' | 'ES256' | 'ES256K';

export const MAX_JWS_LENGTH = 64 * 1024;

const ALG_OF_KEY: Readonly<Record<KeyAlg, JwsAlg>> = {
  Ed25519: 'EdDSA',
  'P-256': 'ES256',
  secp256k1: 'ES256K',
};
const KEY_OF_ALG: Readonly<Record<JwsAlg, KeyAlg>> = {
  EdDSA: 'Ed25519',
  ES256: 'P-256',
  ES256K: 'secp256k1',
};

export function jwsAlgFor(alg: KeyAlg): JwsAlg {
  const a = ALG_OF_KEY[alg];
  if (a === undefined) throw new TypeError(`no JWS algorithm for key algorithm ${String(alg)}`);
  return a;
}

export type JwsErrorCode =
  | 'malformed'
  | 'unsupported_alg'
  | 'unknown_key'
  | 'bad_signature'
  | 'wrong_signer'
  | 'wrong_type';

export class JwsError extends Error {
  override readonly name = 'JwsError';
  constructor(
    readonly code: JwsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Who signs. `did` is the did:key or did:web of `key`. `kid` is the full verification method id
 * (`did:web:example.com#key-1`); did:key derives it (`did:key:zX#zX`), did:web must give it.
 */
export interface DidSigner {
  key: KeyPair;
  did: string;
  kid?: string;
}

const b64u = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');

/** Strict base64url: alphabet only, no padding, and the canonical spelling of its bytes. */
function fromB64u(s: string, what: string): Buffer {
  const b = Buffer.from(s, 'base64url');
  if (!/^[A-Za-z0-9_-]*$/.test(s) || b.toString('base64url') !== s) {
    throw new JwsError('malformed', `JWS ${what} is not canonical base64url without padding`);
  }
  return b;
}

const DID = /^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$/;
const DID_URL = /^(did:[a-z0-9]+:[A-Za-z0-9._:%-]+)(?:#([A-Za-z0-9._~:@!$&'()*+,;=%/?-]+))?$/;

export function isDid(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 2048 && DID.test(s) && !s.endsWith(':');
}

function kidFor(by: DidSigner): string {
  if (by.did.startsWith('did:key:')) {
    let pub: { alg: KeyAlg; publicKey: Uint8Array };
    try {
      pub = parseDidKey(by.did);
    } catch (e) {
      throw new JwsError('wrong_signer', `signer did ${by.did} is not a valid did:key`, { cause: e });
    }
    if (pub.alg !== by.key.alg || Buffer.compare(pub.publicKey, by.key.publicKey) !== 0) {
      throw new JwsError('wrong_signer', `signer did ${by.did} is not the did:key of its key`);
    }
    const own = `${by.did}#${multibaseFromPublicKey(pub.alg, pub.publicKey)}`;
    if (by.kid !== undefined && by.kid !== own) {
      throw new JwsError('wrong_signer', `a did:key has one key id, ${own}; got ${by.kid}`);
    }
    return own;
  }
  if (!isDid(by.did)) throw new JwsError('wrong_signer', `signer did ${by.did} is not a DID`);
  const m = by.kid === undefined ? null : DID_URL.exec(by.kid);
  if (!m || m[1] !== by.did || m[2] === undefined) {
    throw new JwsError(
      'wrong_signer',
      `signer ${by.did} needs kid, a DID URL '${by.did}#<fragment>'. To fix: set DidSigner.kid to the verification method id`,
    );
  }
  return by.kid as string;
}

/**
 * Signs `payload` (JSON-serialised) as compact JWS. The header is `{alg, typ?, kid, ...header}`;
 * `header` may not set `alg`, `kid` or `crit` (those come from the signer or are refused).
 */
export function signJws(payload: unknown, by: DidSigner, header: Record<string, unknown> = {}): string {
  for (const k of ['alg', 'kid', 'crit']) {
    if (k in header) throw new TypeError(`signJws: header.${k} is set by the signer, not the caller`);
  }
  const json = JSON.stringify(payload);
  if (json === undefined) throw new TypeError('signJws: payload is not JSON-serialisable');
  const { typ, ...extra } = header;
  const h = { alg: jwsAlgFor(by.key.alg), ...(typ === undefined ? {} : { typ }), kid: kidFor(by), ...extra };
  const input = `${b64u(JSON.stringify(h))}.${b64u(json)}`;
  const compact = `${input}.${b64u(sign(by.key, Buffer.from(input, 'ascii')))}`;
  if (compact.length > MAX_JWS_LENGTH) throw new TypeError(`signJws: JWS exceeds ${MAX_JWS_LENGTH} bytes`);
  return compact;
}

export interface DecodedJws {
  header: Record<string, unknown>;
  payload: unknown;
  signingInput: Uint8Array;
  signature: Uint8Array;
}

/** Splits and parses a compact JWS without verifying it; throws JwsError('malformed'). */
export function decodeJws(compact: string): DecodedJws {
  const bad = (why: string) => new JwsError('malformed', `JWS ${why}`);
  if (typeof compact !== 'string') throw bad('is not a string');
  if (compact.length > MAX_JWS_LENGTH) throw bad(`is longer than ${MAX_JWS_LENGTH} bytes`);
  const parts = compact.split('.');
  if (parts.length !== 3) throw bad('must have three dot-separated parts (compact serialisation)');
  const [h, p, s] = parts as [string, string, string];
  let header: unknown;
  let payload: unknown;
  try {
    header = JSON.parse(fromB64u(h, 'header').toString('utf8'));
  } catch (e) {
    throw e instanceof JwsError ? e : bad('header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw bad('header is not a JSON object');
  }
  const hd = header as Record<string, unknown>;
  if (typeof hd.alg !== 'string') throw bad('header has no alg');
  if (hd.alg.toLowerCase() === 'none') throw bad("alg 'none' is never accepted");
  if ('crit' in hd) throw bad('header has crit; no JWS extensions are supported');
  try {
    payload = JSON.parse(fromB64u(p, 'payload').toString('utf8'));
  } catch (e) {
    throw e instanceof JwsError ? e : bad('payload is not JSON');
  }
  return {
    header: hd,
    payload,
    signingInput: new Uint8Array(Buffer.from(`${h}.${p}`, 'ascii')),
    signature: new Uint8Array(fromB64u(s, 'signature')),
  };
}

/** The public keys a DID lists. Rejects with JwsError('unknown_key') when it cannot say. */
export type DidResolver = (did: string) => Promise<{ alg: KeyAlg; publicKey: Uint8Array }[]>;

/**
 * did:key is decoded locally; did:web goes through `web` when given. Any failure, including a
 * did:web fetch that failed, is JwsError('unknown_key') with the original error as `cause`
 * (`cause.code === 'fetch_failed'` marks the transient case).
 */
export function createDidResolver(opts: { web?: DidWebResolver } = {}): DidResolver {
  // A did:key decodes to the same key every time, but decoding checks the point on its curve
  // (a modular square root, the most expensive step of a UCAN check after the signature): keep
  // the answers for the DIDs seen, bounded.
  const keys = new Map<string, { alg: KeyAlg; publicKey: Uint8Array }>();
  return async (did) => {
    if (did.startsWith('did:key:')) {
      const hit = keys.get(did);
      if (hit) return [hit];
      try {
        const k = parseDidKey(did);
        if (keys.size >= 10_000) keys.delete(keys.keys().next().value as string);
        keys.set(did, k);
        return [k];
      } catch (e) {
        throw new JwsError('unknown_key', `${did}: ${(e as DidKeyError).message}`, { cause: e });
      }
    }
    if (did.startsWith('did:web:') && opts.web) {
      try {
        const doc = await opts.web.resolve(did);
        return doc.verificationMethod.map(verificationMethodKey);
      } catch (e) {
        throw new JwsError('unknown_key', `${did} did not resolve: ${(e as Error).message}`, { cause: e });
      }
    }
    throw new JwsError('unknown_key', `cannot resolve ${did.split(':', 2).join(':')} DIDs here`);
  };
}

/** RFC 7515 §4.1.9: typ compares case-insensitively and may omit an `application/` prefix. */
function sameTyp(a: string, b: string): boolean {
  const norm = (t: string) => t.toLowerCase().replace(/^application\//, '');
  return norm(a) === norm(b);
}

export interface VerifyJwsOptions {
  /** The DID that must have signed. It also stands in for a missing `kid` (UCANs from other
   *  implementations carry `iss` in the payload and no `kid`). */
  expectedDid?: string;
  /** Required `typ` header. */
  typ?: string;
}

export interface VerifiedJws {
  header: Record<string, unknown>;
  payload: unknown;
  did: string;
  /** The header's kid, or the DID itself when the header had none. */
  kid: string;
}

export async function verifyJws(
  compact: string,
  resolve: DidResolver,
  opts: VerifyJwsOptions = {},
): Promise<VerifiedJws> {
  const { header, payload, signingInput, signature } = decodeJws(compact);
  const alg = header.alg as string;
  if (!Object.hasOwn(KEY_OF_ALG, alg)) {
    throw new JwsError('unsupported_alg', `JWS alg ${alg} is not supported (use EdDSA, ES256 or ES256K)`);
  }
  const keyAlg = KEY_OF_ALG[alg as JwsAlg];
  if (opts.typ !== undefined && (typeof header.typ !== 'string' || !sameTyp(header.typ, opts.typ))) {
    throw new JwsError('wrong_type', `JWS typ is ${JSON.stringify(header.typ)}, expected ${opts.typ}`);
  }
  let did: string;
  let kid: string;
  if (header.kid === undefined && opts.expectedDid !== undefined) {
    did = opts.expectedDid;
    kid = did;
  } else {
    const m = typeof header.kid === 'string' ? DID_URL.exec(header.kid) : null;
    if (!m) throw new JwsError('malformed', 'JWS kid must be a DID URL (did:…#fragment)');
    did = m[1] as string;
    kid = header.kid as string;
    if (did.startsWith('did:key:') && m[2] !== undefined && m[2] !== did.slice('did:key:'.length)) {
      throw new JwsError('unknown_key', `${did} has no key ${m[2]}`);
    }
  }
  if (opts.expectedDid !== undefined && did !== opts.expectedDid) {
    throw new JwsError('wrong_signer', `JWS is signed by ${did}, expected ${opts.expectedDid}`);
  }
  const keys = (await resolve(did)).filter((k) => k.alg === keyAlg);
  if (keys.length === 0) {
    throw new JwsError('bad_signature', `JWS alg ${alg} does not match any key of ${did}`);
  }
  if (!keys.some((k) => verify(k.publicKey, keyAlg, signingInput, signature))) {
    throw new JwsError('bad_signature', `JWS signature does not verify against ${did}`);
  }
  return { header, payload, did, kid };
}
