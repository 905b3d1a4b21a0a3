import { createHash, createPrivateKey, type KeyObject, randomBytes } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors,
  type JWSAlgorithm,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { Clock } from '../util/clock.js';
import { exportSecretKey, type KeyPair, publicKeyToJwk } from './keys.js';
import { SCOPE_TOKEN } from './oauth-request.js';

/**
 * OAuth2 client-credentials pieces (RFC 6749 §4.4) on `jose`:
 *
 * - `createAccessTokenIssuer`: the gateway signs RFC 9068 access tokens with its Ed25519 key
 *   (header `typ: at+jwt`, `alg: EdDSA`, `kid` = RFC 7638 thumbprint), publishes the public key as
 *   a JWKS and verifies its own tokens. Claims: iss, aud, sub (principal), client_id (the `tok_…`
 *   API key the token was obtained with), role, iat, exp, jti, scope (space-separated, omitted
 *   when empty).
 * - `createExternalVerifier`: accepts JWTs from configured issuers, keys from their JWKS URL.
 * - `parseTokenRequest`: reads a token-endpoint request into a grant or an RFC 6749 §5.2 error.
 *
 * Every verification failure is an `OAuthTokenError` with a closed `code`; times come from the
 * injected clock (jose's `currentDate`). jose's remote-JWKS cache and cooldown run on the wall
 * clock: that only decides when keys are re-fetched, never whether a token is valid.
 */

export type Role = 'operator' | 'requester' | 'provider';
const ROLES: readonly Role[] = ['operator', 'requester', 'provider'];

export interface AccessClaims {
  principal: string;
  role: Role;
  /** The API key (`tok_…`) the token was obtained with. */
  token_id: string;
  scope: string[];
}

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

export interface AccessTokenIssuer {
  /** `ttlS` defaults to 3600 and is capped at 86400. */
  issue(c: AccessClaims, ttlS?: number): Promise<IssuedToken>;
  /** Public JWK(s) with kid, alg 'EdDSA', use 'sig'. */
  jwks(): { keys: Record<string, unknown>[] };
  /** Throws `OAuthTokenError`. */
  verify(jwt: string): Promise<AccessClaims & { exp: number; jti: string }>;
  /** True when the JWT's (unverified) iss claim is this issuer: lets the auth layer route a bearer. */
  isOwn(jwt: string): boolean;
}

export type OAuthTokenErrorCode =
  | 'malformed'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'unknown_key';

export class OAuthTokenError extends Error {
  override readonly name = 'OAuthTokenError';
  /** True when the token may be fine but the issuer's JWKS could not be fetched: retry later. */
  readonly transient: boolean;
  constructor(
    readonly code: OAuthTokenErrorCode,
    message: string,
    opts: { cause?: unknown; transient?: boolean } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.transient = opts.transient ?? false;
  }
}

export const DEFAULT_TTL_S = 3600;
export const MAX_TTL_S = 86400;
/** Own tokens: issuer and verifier read the same clock, so no slack is needed. */
const OWN_CLOCK_TOLERANCE_S = 0;
const EXTERNAL_CLOCK_TOLERANCE_S = 30;
/** Asymmetric only: an HS* token would let anyone holding the "key" (a public JWK) forge one. */
const EXTERNAL_ALGS: JWSAlgorithm[] =
  'RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519'.split(' ');

/** Maps a jose (or our own) error to an `OAuthTokenError`; anything else is a bug and rethrown. */
function toTokenError(e: unknown): OAuthTokenError {
  if (e instanceof OAuthTokenError) return e;
  const fail = (code: OAuthTokenErrorCode, why: string) => new OAuthTokenError(code, why, { cause: e });
  if (e instanceof errors.JWTExpired) return fail('expired', 'token has expired. To fix: request a new one');
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'aud') return fail('wrong_audience', 'token is for another audience');
    if (e.claim === 'iss') return fail('wrong_issuer', 'token is from another issuer');
    if (e.claim === 'nbf' || e.claim === 'iat') {
      return fail('not_yet_valid', `token is not valid yet: ${e.claim} is in the future`);
    }
    return fail('malformed', `token claim "${e.claim}" is invalid: ${e.message}`);
  }
  if (e instanceof errors.JWSSignatureVerificationFailed) return fail('bad_signature', 'bad signature');
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) {
    return fail('unknown_key', 'no single key of the issuer matches the token kid/alg');
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return fail('malformed', 'token alg is not accepted');
  // Other JOSE errors (JWSInvalid, JWTInvalid, …) and jose's TypeErrors about key shape (a weak
  // RSA key, a key of the wrong type) stem from the token or the issuer's keys, not from us.
  if (e instanceof errors.JOSEError || e instanceof TypeError) {
    return fail('malformed', `token is malformed: ${(e as Error).message}`);
  }
  throw e;
}

function unverifiedIss(jwt: string): string | undefined {
  try {
    const iss = decodeJwt(jwt).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

function scopeOf(v: unknown): string[] | null {
  if (v === undefined) return [];
  if (typeof v === 'string') return v.split(' ').filter((s) => s !== '');
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  return null;
}

/** RFC 7638 thumbprint of an OKP key: SHA-256 over the required members in lexical order. */
function okpThumbprint(x: string): string {
  const canonical = JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x });
  return createHash('sha256').update(canonical).digest('base64url');
}

export function createAccessTokenIssuer(o: {
  key: KeyPair;
  issuer: string;
  audience: string;
  clock: Clock;
  /** The jti source; defaults to 128 random bits. */
  newId?: () => string;
}): AccessTokenIssuer {
  if (o.key.alg !== 'Ed25519') throw new TypeError(`access tokens need an Ed25519 key, got ${o.key.alg}`);
  const pub = publicKeyToJwk('Ed25519', o.key.publicKey);
  const kid = okpThumbprint(pub.x);
  const secret = exportSecretKey(o.key);
  const d = Buffer.from(secret).toString('base64url');
  secret.fill(0);
  // Node derives the public half from d and ignores x; KeyPair derived publicKey the same way.
  const privateKey: KeyObject = createPrivateKey({ key: { ...pub, d }, format: 'jwk' });
  const publicJwk = { ...pub, kid, alg: 'EdDSA', use: 'sig' };
  const keySet = createLocalJWKSet({ keys: [publicJwk] });
  const newId = o.newId ?? (() => `jti_${randomBytes(16).toString('base64url')}`);
  const nowS = () => Math.floor(o.clock.now() / 1000);

  return {
    async issue(c, ttlS = DEFAULT_TTL_S) {
      if (!Number.isFinite(ttlS) || ttlS <= 0) throw new RangeError(`ttlS must be positive, got ${ttlS}`);
      if (!ROLES.includes(c.role)) throw new TypeError(`unknown role ${String(c.role)}`);
      if (!c.principal || !c.token_id) throw new TypeError('principal and token_id must be non-empty');
      const bad = c.scope.find((s) => !SCOPE_TOKEN.test(s));
      if (bad !== undefined) throw new TypeError(`invalid scope token ${JSON.stringify(bad)}`);
      const ttl = Math.min(Math.floor(ttlS) || 1, MAX_TTL_S);
      const iat = nowS();
      const scope = [...new Set(c.scope)].join(' ');
      const claims: JWTPayload = { client_id: c.token_id, role: c.role };
      if (scope !== '') claims.scope = scope;
      const access_token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
        .setIssuer(o.issuer)
        .setAudience(o.audience)
        .setSubject(c.principal)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttl)
        .setJti(newId())
        .sign(privateKey);
      return { access_token, token_type: 'Bearer', expires_in: ttl, scope };
    },

    jwks: () => ({ keys: [{ ...publicJwk }] }),

    async verify(jwt) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(jwt, keySet, {
          typ: 'at+jwt',
          algorithms: ['EdDSA'],
          issuer: o.issuer,
          audience: o.audience,
          requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
          // Also rejects an iat in the future and a token older than any we would issue.
          maxTokenAge: MAX_TTL_S,
          clockTolerance: OWN_CLOCK_TOLERANCE_S,
          currentDate: new Date(o.clock.now()),
        }));
      } catch (e) {
        throw toTokenError(e);
      }
      const { sub, client_id, role, exp, jti } = payload;
      const scope = Array.isArray(payload.scope) ? null : scopeOf(payload.scope);
      if (
        typeof sub !== 'string' ||
        typeof client_id !== 'string' ||
        typeof jti !== 'string' ||
        typeof exp !== 'number' ||
        !ROLES.includes(role as Role) ||
        scope === null
      ) {
        throw new OAuthTokenError('malformed', 'sub/client_id/role/jti/scope have the wrong shape');
      }
      return { principal: sub, role: role as Role, token_id: client_id, scope, exp, jti };
    },

    isOwn: (jwt) => unverifiedIss(jwt) === o.issuer,
  };
}

export interface ExternalIssuer {
  issuer: string;
  jwks_url: string;
  audience: string;
  /** Default 'requester'. */
  role?: 'requester' | 'provider';
  /** Default 'scope'; the claim may be a space-separated string or an array of strings. */
  scope_claim?: string;
}

export interface ExternalClaims {
  issuer: string;
  subject: string;
  role: 'requester' | 'provider';
  scope: string[];
  exp: number;
}

export interface ExternalVerifier {
  /** True when the JWT's (unverified) iss matches a configured issuer. */
  handles(jwt: string): boolean;
  /** Throws `OAuthTokenError`; a JWKS that cannot be fetched is `unknown_key` with `transient`. */
  verify(jwt: string): Promise<ExternalClaims>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function jwksUrl(i: ExternalIssuer): URL {
  let url: URL;
  try {
    url = new URL(i.jwks_url);
  } catch {
    throw new TypeError(`issuer ${i.issuer}: jwks_url ${JSON.stringify(i.jwks_url)} is not a URL`);
  }
  // Plain HTTP would let anyone on the path substitute the keys; loopback is allowed for tests
  // and sidecars.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new TypeError(`issuer ${i.issuer}: jwks_url must be https (http only on loopback)`);
  }
  return url;
}

export function createExternalVerifier(
  issuers: ExternalIssuer[],
  o: { clock: Clock; cooldownMs?: number },
): ExternalVerifier {
  type Entry = { cfg: ExternalIssuer; keys: ReturnType<typeof createRemoteJWKSet>; url: string };
  const byIssuer = new Map<string, Entry>();
  for (const cfg of issuers) {
    if (byIssuer.has(cfg.issuer)) throw new TypeError(`issuer ${cfg.issuer} is configured twice`);
    const url = jwksUrl(cfg);
    const opts = o.cooldownMs === undefined ? {} : { cooldownDuration: o.cooldownMs };
    byIssuer.set(cfg.issuer, { cfg, keys: createRemoteJWKSet(url, opts), url: url.href });
  }

  return {
    handles: (jwt) => {
      const iss = unverifiedIss(jwt);
      return iss !== undefined && byIssuer.has(iss);
    },

    async verify(jwt) {
      const iss = unverifiedIss(jwt);
      const entry = iss === undefined ? undefined : byIssuer.get(iss);
      if (entry === undefined) {
        throw new OAuthTokenError('wrong_issuer', `token issuer ${JSON.stringify(iss)} is not configured`);
      }
      const { cfg, keys, url } = entry;
      // A fetch failure (connection refused, timeout, non-200, bad JSON) is not the token's fault:
      // say so, rather than letting it read as a bad token or escape as a crash.
      const getKey: JWTVerifyGetKey = async (header, token) => {
        try {
          return await keys(header, token);
        } catch (e) {
          if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) throw e;
          throw new OAuthTokenError('unknown_key', `could not load the JWKS of ${cfg.issuer} from ${url}`, {
            cause: e,
            transient: true,
          });
        }
      };
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(jwt, getKey, {
          algorithms: EXTERNAL_ALGS,
          issuer: cfg.issuer,
          audience: cfg.audience,
          requiredClaims: ['exp', 'sub'],
          clockTolerance: EXTERNAL_CLOCK_TOLERANCE_S,
          currentDate: new Date(o.clock.now()),
        }));
      } catch (e) {
        throw toTokenError(e);
      }
      const scope = scopeOf(payload[cfg.scope_claim ?? 'scope']);
      if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number' || scope === null) {
        throw new OAuthTokenError('malformed', 'token sub/exp/scope claims have the wrong shape');
      }
      return {
        issuer: cfg.issuer,
        subject: payload.sub,
        role: cfg.role ?? 'requester',
        scope,
        exp: payload.exp,
      };
    },
  };
}

export { parseTokenRequest, type TokenRequest } from './oauth-request.js';
