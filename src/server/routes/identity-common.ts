import type { FastifyRequest } from 'fastify';
import type { Authenticator } from '../../identity/authn.js';
import type { DidResolver, DidSigner } from '../../identity/jws.js';
import type { AccessTokenIssuer } from '../../identity/oauth.js';
import { apiKeyRecord, keyPrefix, newApiKey } from '../../identity/principals.js';
import { type Problem, problem } from '../../protocol/problem.js';
import type { IdSource } from '../../storage/ids.js';
import type { IdentityRepository } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { parseDuration } from '../../util/duration.js';

/** What the identity routes share: their dependencies, limits and small helpers. */
export interface IdentityApi {
  repo: IdentityRepository;
  ids: IdSource;
  clock: Clock;
  /** The gateway's key and DID: it signs the UCANs POST /tokens mints, and OAuth tokens. */
  gateway: DidSigner;
  oauth: AccessTokenIssuer;
  auth: Authenticator;
  resolveDid: DidResolver;
}

export const MAX_TTL_S = 365 * 86_400;
export const DEFAULT_TTL_S = 86_400;
export const CAVEAT_KEYS = [
  'max_spend_usd',
  'max_price_per_hour',
  'providers',
  'provider_types',
  'resource_types',
] as const;

export const bad = (param: string, detail: string): Problem =>
  problem('invalid-body', `${param}: ${detail}`, { param });
export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
export const DID = /^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$/;
export const idParams = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };
/** Bodies are checked by the handlers, which name the field at fault; the schemas document them. */
export const anyBody = { validatorCompiler: () => () => true };
export const isOperator = (req: FastifyRequest) => req.principal?.role === 'operator';

/** Minting API keys, and reading `{label, expires_in}` for one: shared by principals and tokens. */
export function keyTools(id: IdentityApi) {
  const { repo, ids } = id;
  /** A new API key for a principal: the secret is returned here and never again. */
  async function mintKey(principal: string, label: string, expiresAt: number | null, now: number) {
    const secret = newApiKey('key');
    const rec = apiKeyRecord(ids.next('tok'), principal, secret, label, now, expiresAt);
    await repo.insertToken(rec);
    return {
      id: rec.id,
      key: secret,
      prefix: keyPrefix(secret),
      expires_at: iso(expiresAt),
      note: 'Shown once: only its hash is kept. Use it as Authorization: Bearer <key>, or as the client_secret of POST /oauth/token (client_id: this id).',
    };
  }

  function keyOptions(
    body: Record<string, unknown>,
    extra: string[] = [],
  ): { problem: Problem } | { label: string; ttlS: number | null } {
    for (const k of Object.keys(body))
      if (!['label', 'expires_in', ...extra].includes(k)) return { problem: bad(`/${k}`, 'unknown field') };
    const label = body.label ?? '';
    if (typeof label !== 'string' || label.length > 100)
      return { problem: bad('/label', 'must be at most 100 characters') };
    let ttlS: number | null = null;
    if (body.expires_in !== undefined) {
      ttlS = parseDuration(body.expires_in);
      if (ttlS === null)
        return {
          problem: bad('/expires_in', 'must be a duration such as 30s, 1h, 1d or a number of seconds'),
        };
    }
    return { label, ttlS };
  }

  return { mintKey, keyOptions };
}
