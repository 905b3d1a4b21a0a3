import type { SpendLimit } from '../ledger/budgets.js';
import { type Problem, type ProblemKind, problem } from '../protocol/problem.js';
import type { IdentityRepository, PrincipalRecord, PrincipalRole } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import type { DidResolver } from './jws.js';
import type { AccessTokenIssuer, ExternalVerifier } from './oauth.js';
import { OAuthTokenError } from './oauth.js';
import { ROLE_ABILITIES, sha256Hex } from './principals.js';
import {
  abilityCovers,
  grant,
  UcanError,
  type UcanPayload,
  ucanCid,
  type ValidatedUcan,
  validateUcan,
} from './ucan.js';

/**
 * Who a bearer token is, and what it may do (issue 5). One entry point for the four kinds of
 * credential a request may carry in `Authorization: Bearer`:
 *
 * - an API key (`cmd_…`): looked up by its SHA-256 hash;
 * - an OAuth2 access token the gateway issued at /oauth/token (a JWT whose `iss` is the gateway);
 * - a JWT from an external issuer configured by JWKS URL (its subject becomes a principal);
 * - a UCAN (a JWT with `ucv`): its whole chain is validated, proofs coming from the `ucans` header
 *   or from the records of tokens the gateway issued.
 *
 * Failures are problems with exact types (the authorization matrix in test/authz-matrix.test.ts):
 * 401 for a credential that does not authenticate (`invalid-token`, `token-expired`,
 * `token-not-yet-valid`, `token-revoked`), 403 for one that authenticates but does not grant the
 * ability (`insufficient-capability`).
 */

export interface Principal {
  id: string;
  role: PrincipalRole;
  name: string;
}

export interface AuthContext {
  principal: Principal;
  via: 'api_key' | 'oauth' | 'jwt' | 'ucan';
  /** The API key (`tok_…`) the credential is or was obtained with; a recorded UCAN's record. */
  token_id: string | null;
  /** OAuth scope (abilities), null when the credential is not scoped. */
  scope: readonly string[] | null;
  ucan: ValidatedUcan | null;
}

export type AuthResult = { ok: true; ctx: AuthContext } | { ok: false; problem: Problem };
export type Grant = { ok: true; limits: SpendLimit[] } | { ok: false; problem: Problem };

/** UCAN resources name the principal whose authority they carry. */
export const principalResource = (id: string) => `computemd:principal:${id}`;
const RESOURCE = /^computemd:principal:(pr_[0-9a-z_]+|ext_[0-9a-f]{24})$/;

export interface AuthenticatorDeps {
  repo: IdentityRepository;
  gatewayDid: string;
  resolveDid: DidResolver;
  oauth: AccessTokenIssuer;
  external: ExternalVerifier | null;
  clock: Clock;
  /** How long a positive API-key lookup is reused (ms; default 1000). A revocation here clears it. */
  cacheMs?: number;
}

export interface Authenticator {
  authenticate(bearer: string, proofs?: readonly string[]): Promise<AuthResult>;
  /** Whether the context grants `ability` (any of several), with the caveats that come with it. */
  can(ctx: AuthContext, ability: string | readonly string[]): Grant;
  /** Forget cached lookups (after a revocation or a disabled principal). */
  invalidate(): void;
}

const fail = (kind: ProblemKind, detail: string, reason: string): AuthResult => ({
  ok: false,
  problem: problem(kind, detail, { reason }),
});

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The unverified payload of a JWT, or null (used only to route a token to its verifier). */
function peek(jwt: string): Record<string, unknown> | null {
  try {
    const p = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return p && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const UCAN_PROBLEM: Record<UcanError['code'], [ProblemKind, string]> = {
  malformed: ['invalid-token', 'The UCAN is malformed'],
  bad_signature: ['invalid-token', 'A signature in the UCAN chain does not verify'],
  expired: ['token-expired', 'A UCAN in the chain has expired'],
  not_yet_valid: ['token-not-yet-valid', 'A UCAN in the chain is not valid yet (nbf)'],
  wrong_audience: ['invalid-token', "The UCAN's audience is not this gateway"],
  revoked: ['token-revoked', 'A UCAN in the chain was revoked'],
  escalation: ['insufficient-capability', 'The UCAN claims more than its proofs delegate'],
  unknown_proof: ['invalid-token', 'A proof the UCAN names was not sent (send it in the `ucans` header)'],
  bad_chain: ['invalid-token', 'The UCAN chain is broken (audience or time window)'],
  unknown_issuer: ['invalid-token', 'The root of the UCAN chain is not a principal of this gateway'],
  too_deep: ['invalid-token', 'The UCAN chain is too long'],
};

const OAUTH_PROBLEM: Record<OAuthTokenError['code'], ProblemKind> = {
  malformed: 'invalid-token',
  bad_signature: 'invalid-token',
  wrong_audience: 'invalid-token',
  wrong_issuer: 'invalid-token',
  unknown_key: 'invalid-token',
  expired: 'token-expired',
  not_yet_valid: 'token-not-yet-valid',
};

export function createAuthenticator(d: AuthenticatorDeps): Authenticator {
  const cacheMs = d.cacheMs ?? 1000;
  const cache = new Map<string, { ctx: AuthContext; until: number }>();
  // CIDs of UCANs whose did:key signature verified (ucan.ts `verified`), bounded.
  const verifiedCids = new Set<string>();
  const verified = {
    has: (cid: string) => verifiedCids.has(cid),
    add: (cid: string) => {
      if (verifiedCids.size >= 50_000) verifiedCids.delete(verifiedCids.values().next().value as string);
      verifiedCids.add(cid);
    },
  };
  const toPrincipal = (p: PrincipalRecord): Principal => ({ id: p.id, role: p.role, name: p.name });
  const disabled = (p: PrincipalRecord | null): AuthResult | null =>
    !p
      ? fail('invalid-token', 'The principal this token belongs to does not exist.', 'unknown_principal')
      : p.disabled_at !== null
        ? fail(
            'token-revoked',
            'The principal this token belongs to was disabled by the operator.',
            'principal_disabled',
          )
        : null;

  async function apiKey(secret: string): Promise<AuthResult> {
    const now = d.clock.now();
    const hash = sha256Hex(secret);
    const hit = cache.get(hash);
    if (hit && hit.until > now) return { ok: true, ctx: hit.ctx };
    const t = await d.repo.tokenByLookup(hash);
    if (t?.kind !== 'api_key')
      return fail(
        'invalid-token',
        'The bearer token is not valid: it is not a key this gateway issued. Use the admin token from the data dir, or a key or token the operator issued.',
        'unknown_key',
      );
    if (t.revoked_at !== null) return fail('token-revoked', `API key ${t.id} was revoked.`, 'revoked');
    if (t.expires_at !== null && now >= t.expires_at)
      return fail(
        'token-expired',
        `API key ${t.id} expired at ${new Date(t.expires_at).toISOString()}.`,
        'expired',
      );
    const p = await d.repo.getPrincipal(t.principal);
    const bad = disabled(p);
    if (bad) return bad;
    const ctx: AuthContext = {
      principal: toPrincipal(p as PrincipalRecord),
      via: 'api_key',
      token_id: t.id,
      scope: null,
      ucan: null,
    };
    const until = Math.min(now + cacheMs, t.expires_at ?? Number.POSITIVE_INFINITY);
    cache.set(hash, { ctx, until });
    if (cache.size > 10_000) cache.delete(cache.keys().next().value as string);
    return { ok: true, ctx };
  }

  async function oauth(jwt: string): Promise<AuthResult> {
    let claims: Awaited<ReturnType<AccessTokenIssuer['verify']>>;
    try {
      claims = await d.oauth.verify(jwt);
    } catch (err) {
      if (!(err instanceof OAuthTokenError)) throw err;
      return fail(OAUTH_PROBLEM[err.code], `The access token is not valid: ${err.message}.`, err.code);
    }
    // An access token lives as long as the key it was obtained with.
    const key = await d.repo.getToken(claims.token_id);
    if (!key || key.revoked_at !== null)
      return fail(
        'token-revoked',
        `The API key this access token was obtained with (${claims.token_id}) was revoked.`,
        'revoked',
      );
    const p = await d.repo.getPrincipal(claims.principal);
    const bad = disabled(p);
    if (bad) return bad;
    return {
      ok: true,
      ctx: {
        principal: toPrincipal(p as PrincipalRecord),
        via: 'oauth',
        token_id: key.id,
        scope: claims.scope,
        ucan: null,
      },
    };
  }

  async function externalJwt(jwt: string, ext: ExternalVerifier): Promise<AuthResult> {
    let v: Awaited<ReturnType<ExternalVerifier['verify']>>;
    try {
      v = await ext.verify(jwt);
    } catch (err) {
      if (!(err instanceof OAuthTokenError)) throw err;
      // The issuer's keys could not be fetched: not the token's fault, so not a 401.
      if (err.transient)
        return fail(
          'unavailable',
          `The external issuer's keys cannot be fetched now (${err.message}). Retry shortly.`,
          'jwks_unavailable',
        );
      return fail(
        OAUTH_PROBLEM[err.code],
        `The token from the external issuer is not valid: ${err.message}.`,
        err.code,
      );
    }
    // The issuer's subject is a principal here, created the first time it is seen.
    const id = `ext_${sha256Hex(`${v.issuer}\n${v.subject}`).slice(0, 24)}`;
    let p = await d.repo.getPrincipal(id);
    if (!p) {
      const fresh: PrincipalRecord = {
        id,
        role: v.role,
        name: `${v.subject} (${v.issuer})`.slice(0, 100),
        did: null,
        created_at: d.clock.now(),
        disabled_at: null,
      };
      await d.repo.insertPrincipal(fresh).catch(() => {});
      p = await d.repo.getPrincipal(id);
    }
    const bad = disabled(p);
    if (bad) return bad;
    return {
      ok: true,
      ctx: {
        principal: toPrincipal(p as PrincipalRecord),
        via: 'jwt',
        token_id: null,
        scope: v.scope,
        ucan: null,
      },
    };
  }

  async function ucan(jwt: string, proofs: readonly string[]): Promise<AuthResult> {
    const sent = new Map<string, string>();
    for (const p of proofs) sent.set(ucanCid(p), p);
    let v: ValidatedUcan;
    try {
      v = await validateUcan(jwt, {
        now: Math.floor(d.clock.now() / 1000),
        audience: d.gatewayDid,
        resolveDid: d.resolveDid,
        verified,
        proofs: async (cid) => {
          const jwtProof = sent.get(cid);
          if (jwtProof) return { jwt: jwtProof };
          // A UCAN the gateway issued is recorded (payload only): trusted as the gateway wrote it.
          const rec = await d.repo.tokenByLookup(cid);
          return rec && rec.kind === 'ucan' ? { payload: rec.detail as unknown as UcanPayload } : null;
        },
        isRevoked: (cids) => d.repo.firstRevoked(cids),
        isRoot: async (iss, resource) => {
          const m = RESOURCE.exec(resource);
          if (!m) return false;
          if (iss === d.gatewayDid) return true;
          const p = await d.repo.getPrincipal(m[1] as string);
          return p !== null && p.did === iss;
        },
      });
    } catch (err) {
      if (!(err instanceof UcanError)) throw err;
      const [kind, what] = UCAN_PROBLEM[err.code];
      return fail(kind, `${what}: ${err.message}.`, err.code);
    }
    const id = RESOURCE.exec(v.resource)?.[1] as string;
    const p = await d.repo.getPrincipal(id);
    const bad = disabled(p);
    if (bad) return bad;
    const rec = await d.repo.tokenByLookup(v.cid);
    return {
      ok: true,
      ctx: {
        principal: toPrincipal(p as PrincipalRecord),
        via: 'ucan',
        token_id: rec?.id ?? null,
        scope: null,
        ucan: v,
      },
    };
  }

  return {
    async authenticate(bearer, proofs = []) {
      if (!JWT.test(bearer)) return apiKey(bearer);
      const claims = peek(bearer);
      if (!claims)
        return fail(
          'invalid-token',
          'The bearer token looks like a JWT but its payload is not JSON.',
          'malformed',
        );
      if ('ucv' in claims) return ucan(bearer, proofs);
      if (d.oauth.isOwn(bearer)) return oauth(bearer);
      if (d.external?.handles(bearer)) return externalJwt(bearer, d.external);
      return fail(
        'invalid-token',
        `The JWT's issuer ${JSON.stringify(claims.iss ?? null)} is not this gateway nor an issuer it trusts.`,
        'unknown_issuer',
      );
    },

    can(ctx, ability) {
      const wanted = typeof ability === 'string' ? [ability] : ability;
      const byRole = ROLE_ABILITIES[ctx.principal.role];
      for (const a of wanted) {
        if (!byRole.some((g) => abilityCovers(g, a))) continue;
        if (ctx.scope && !ctx.scope.some((g) => abilityCovers(g, a))) continue;
        if (!ctx.ucan) return { ok: true, limits: [] };
        const g = grant(ctx.ucan, a);
        if (g.ok) return { ok: true, limits: g.links.map((l) => ({ id: l.cid, ...l.caveats })) };
      }
      return {
        ok: false,
        problem: problem(
          'insufficient-capability',
          `This needs ${wanted.join(' or ')}, which this ${ctx.via === 'ucan' ? 'UCAN' : ctx.via === 'oauth' ? "access token's scope" : `${ctx.principal.role} principal`} does not grant. To fix: use a token delegated that ability.`,
          { needed: [...wanted] },
        ),
      };
    },

    invalidate() {
      cache.clear();
    },
  };
}
