import { p256 } from '@noble/curves/nist.js';
import { isRawSha256Cid, rawSha256Cid } from './cid.js';
import { type DidSigner, decodeJws, isDid, signJws } from './jws.js';
import { type Caveats, checkCaveats } from './ucan-caveats.js';

/**
 * UCAN 0.10 in its JWT form, written here: the one library (@ucans/ucans) has been unmaintained
 * since 2023, and we need a narrower profile than the spec anyway.
 *
 * Profile (stricter than UCAN 0.10, each refusal is `malformed` naming the field):
 * - one resource per token, the same resource along the whole chain (no `ucan:` re-delegation);
 * - each ability maps to exactly one caveat object (`[{}]` = unrestricted), with the caveats of
 *   `checkCaveats` only, so attenuation is decidable field by field;
 * - `prf` holds CIDv1 raw sha2-256 base32 (cid.ts), the form 0.10 recommends; `nbf: null` is read
 *   as absent; times are integer epoch seconds; a token is at most 16 KiB.
 *
 * Validation does every cheap local check first (structure, time, audience, chain, attenuation),
 * then one `isRevoked` call for the whole DAG, then signatures (which may fetch a did:web), then
 * `isRoot` for each root. Every proof a token names must be valid, not just the ones needed.
 *
 * Revocation is by CID, i.e. by the hash of the exact JWT. An ES256 signature has a twin (r, n−s)
 * that also verifies (jws.ts accepts high-S for interop), so a revoked ES256 token could be
 * re-presented under a new CID; `isRevoked` is therefore asked about both CIDs of such a token.
 */
export const UCAN_VERSION = '0.10.0';
export const MAX_UCAN_LENGTH = 16 * 1024;
/** The most tokens one validation walks (a DAG of several proofs per link could otherwise explode). */
export const MAX_UCAN_VISITS = 64;

/** resource (e.g. `computemd:principal:pr_x`) → ability → exactly one caveat object. */
export type Capabilities = Record<string, Record<string, [Caveats]>>;

export interface UcanPayload {
  ucv: string;
  iss: string;
  aud: string;
  nbf?: number;
  exp: number | null;
  nnc?: string;
  fct?: Record<string, unknown>;
  cap: Capabilities;
  prf: string[];
}

export type UcanErrorCode =
  | 'malformed'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'revoked'
  | 'escalation'
  | 'unknown_proof'
  | 'bad_chain'
  | 'unknown_issuer'
  | 'too_deep';

export class UcanError extends Error {
  override readonly name = 'UcanError';
  /** The token the failure is about. */
  readonly cid?: string;
  /** For `escalation`: the caveat that is looser than every proof allows. */
  readonly caveat?: string;
  constructor(
    readonly code: UcanErrorCode,
    message: string,
    extra: { cid?: string; caveat?: string; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    if (extra.cid !== undefined) this.cid = extra.cid;
    if (extra.caveat !== undefined) this.caveat = extra.caveat;
  }
}

// ------------------------------------------------------------------ abilities and caveats

const ABILITY = /^(?:\*|[a-z0-9_-]+(?:\/[a-z0-9_-]+)*\/(?:[a-z0-9_-]+|\*))$/;
const RESOURCE = /^[a-z][a-z0-9+.-]*:\S+$/;

// ------------------------------------------------------------------ structure

export const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isTime = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** Checks a payload's shape; `trusted` (a record the gateway stored) may omit `ucv`. */
export function checkPayload(raw: unknown, trusted: boolean): UcanPayload {
  const bad = (field: string, why: string) => new UcanError('malformed', `UCAN ${field} ${why}`);
  if (!isObject(raw)) throw bad('payload', 'is not a JSON object');
  const { ucv, iss, aud, nbf, exp, nnc, fct, cap, prf } = raw;
  if (!(trusted && ucv === undefined) && (typeof ucv !== 'string' || !/^0\.10\.\d+$/.test(ucv))) {
    throw bad('ucv', `must be 0.10.x, got ${JSON.stringify(ucv)}. To fix: issue a UCAN 0.10 token`);
  }
  if (!isDid(iss)) throw bad('iss', 'must be a DID');
  if (!isDid(aud)) throw bad('aud', 'must be a DID');
  if (nbf !== undefined && nbf !== null && !isTime(nbf)) throw bad('nbf', 'must be integer epoch seconds');
  if (exp !== null && !isTime(exp)) throw bad('exp', 'must be integer epoch seconds or null');
  if (nnc !== undefined && (typeof nnc !== 'string' || nnc.length > 256))
    throw bad('nnc', 'must be a string');
  if (fct !== undefined && !isObject(fct)) throw bad('fct', 'must be an object');
  if (!isObject(cap)) throw bad('cap', 'must be an object');
  const resources = Object.keys(cap);
  if (resources.length !== 1) throw bad('cap', `must name exactly one resource, got ${resources.length}`);
  const resource = resources[0] as string;
  if (resource.length > 512 || !RESOURCE.test(resource))
    throw bad(`cap resource ${resource}`, 'is not a URI');
  const abilities = cap[resource];
  if (!isObject(abilities) || Object.keys(abilities).length === 0) {
    throw bad(`cap["${resource}"]`, 'must map at least one ability');
  }
  for (const [ability, cav] of Object.entries(abilities)) {
    const at = `cap["${resource}"]["${ability}"]`;
    if (ability.length > 100 || !ABILITY.test(ability)) throw bad(at, 'is not an ability (namespace/name)');
    if (!Array.isArray(cav) || cav.length !== 1)
      throw bad(at, 'must be an array of exactly one caveat object');
    const why = checkCaveats(cav[0], `${at}[0]`);
    if (why) throw new UcanError('malformed', `UCAN ${why}`);
  }
  if (!Array.isArray(prf)) throw bad('prf', 'must be an array');
  prf.forEach((c, i) => {
    if (!isRawSha256Cid(c)) throw bad(`prf[${i}]`, 'must be a CIDv1 raw sha2-256 base32 CID');
  });
  return {
    ucv: (ucv as string | undefined) ?? UCAN_VERSION,
    iss,
    aud,
    ...(isTime(nbf) ? { nbf } : {}),
    exp,
    ...(nnc === undefined ? {} : { nnc: nnc as string }),
    ...(fct === undefined ? {} : { fct }),
    cap: cap as Capabilities,
    prf: prf as string[],
  };
}

/** CIDv1 raw sha2-256 of the JWT's bytes, base32 (`b…`): how UCAN 0.10 names a proof. */
export function ucanCid(jwt: string): string {
  return rawSha256Cid(jwt);
}

export interface Parsed {
  header: Record<string, unknown>;
  payload: UcanPayload;
  cid: string;
  /** The CID of the other encoding of an ES256 signature (see the header), or null. */
  twin: string | null;
}

export function parse(jwt: string): Parsed {
  if (typeof jwt !== 'string' || jwt.length > MAX_UCAN_LENGTH) {
    throw new UcanError('malformed', `UCAN must be a JWT of at most ${MAX_UCAN_LENGTH} bytes`);
  }
  let d: ReturnType<typeof decodeJws>;
  try {
    d = decodeJws(jwt);
  } catch (e) {
    throw new UcanError('malformed', (e as Error).message, { cause: e });
  }
  if (d.header.typ !== 'JWT') throw new UcanError('malformed', 'UCAN header typ must be "JWT"');
  const payload = checkPayload(d.payload, false);
  let twin: string | null = null;
  if (d.header.alg === 'ES256' && d.signature.length === 64) {
    try {
      const s = p256.Signature.fromBytes(d.signature);
      const other = new p256.Signature(s.r, p256.Point.Fn.neg(s.s)).toBytes('compact');
      twin = ucanCid(`${jwt.slice(0, jwt.lastIndexOf('.'))}.${Buffer.from(other).toString('base64url')}`);
    } catch {
      // Not a valid signature encoding: verification will refuse it anyway.
    }
  }
  return { header: d.header, payload, cid: ucanCid(jwt), twin };
}

export function parseUcan(jwt: string): {
  header: Record<string, unknown>;
  payload: UcanPayload;
  cid: string;
} {
  const { header, payload, cid } = parse(jwt);
  return { header, payload, cid };
}

/** Signs a UCAN. Refuses (UcanError 'malformed') to issue a token `parseUcan` would refuse. */
export function issueUcan(o: {
  issuer: DidSigner;
  audience: string;
  capabilities: Capabilities;
  notBefore?: number;
  expiresAt: number | null;
  proofs?: string[];
  facts?: Record<string, unknown>;
  nonce?: string;
}): string {
  const payload = checkPayload(
    {
      ucv: UCAN_VERSION,
      iss: o.issuer.did,
      aud: o.audience,
      ...(o.notBefore === undefined ? {} : { nbf: o.notBefore }),
      exp: o.expiresAt,
      ...(o.nonce === undefined ? {} : { nnc: o.nonce }),
      ...(o.facts === undefined ? {} : { fct: o.facts }),
      cap: o.capabilities,
      prf: o.proofs ?? [],
    },
    false,
  );
  const jwt = signJws(payload, o.issuer, { typ: 'JWT' });
  if (jwt.length > MAX_UCAN_LENGTH) throw new UcanError('malformed', `UCAN exceeds ${MAX_UCAN_LENGTH} bytes`);
  return jwt;
}
