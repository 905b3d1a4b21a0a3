import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuplicateError } from '../storage/errors.js';
import type { IdSource } from '../storage/ids.js';
import type { IdentityRepository, PrincipalRecord, PrincipalRole, TokenRecord } from '../storage/store.js';

/**
 * Principals and their API keys, kept in the database (issue 5). The operator exists from the first
 * start (`pr_operator`), with its admin token written to `admin.token` (0600) in the data dir; the
 * operator creates requesters (agents) and providers (node agents), each with an API key shown
 * once. Keys are stored as SHA-256 hashes; a key is revocable and may expire.
 */

export const OPERATOR_ID = 'pr_operator';
export const ADMIN_TOKEN_FILE = 'admin.token';
export const ADMIN_TOKEN_LABEL = 'admin.token';

/**
 * What each role may do at most, as UCAN abilities (ucan.ts): a token never grants more than its
 * principal's role, whatever it claims.
 */
export const ROLE_ABILITIES: Readonly<Record<PrincipalRole, readonly string[]>> = {
  operator: ['*'],
  requester: ['compute/discover', 'compute/orchestrate', 'compute/book', 'compute/lease/*', 'compute/infer'],
  provider: ['compute/discover', 'compute/provide', 'compute/lease/*'],
};

export const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** A new API key: `cmd_<kind>_` + 32 random bytes (base64url). The prefix tells a leaked key's origin. */
export function newApiKey(kind: 'admin' | 'key'): string {
  return `cmd_${kind}_${randomBytes(32).toString('base64url')}`;
}

/** The first characters of a key: enough to tell keys apart in a list, useless to an attacker. */
export const keyPrefix = (secret: string) => secret.slice(0, secret.indexOf('_', 4) + 5);

export function apiKeyRecord(
  id: string,
  principal: string,
  secret: string,
  label: string,
  now: number,
  expiresAt: number | null = null,
): TokenRecord {
  return {
    id,
    principal,
    kind: 'api_key',
    lookup: sha256Hex(secret),
    label,
    created_at: now,
    expires_at: expiresAt,
    revoked_at: null,
    detail: { prefix: keyPrefix(secret) },
  };
}

/** Inserts, treating "another replica inserted the same thing first" as success. */
async function insertOnce(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!(err instanceof DuplicateError)) throw err;
  }
}

interface LegacyPrincipal {
  id: string;
  role: PrincipalRole;
  name: string;
  token_sha256: string;
}

export interface OperatorSetup {
  /** True when this start wrote a new admin token (the CLI says so). */
  created: boolean;
  tokenPath: string;
}

/**
 * Makes sure the operator exists with a working admin token. Safe to run from several replicas
 * sharing a database and data dir: whoever inserts first wins, the others find the same rows.
 *
 * - The operator's DID is the gateway's own: root UCANs the gateway signs carry its authority.
 * - `admin.token` present: its hash is (re)registered as an operator key, so a data dir survives a
 *   new database. Absent: a new token is written, and older admin tokens are revoked (whoever
 *   deleted the file meant to replace it).
 * - `principals.json`, the file earlier versions kept, is imported once: its principals and token
 *   hashes become rows. It is read, never written.
 */
export async function ensureOperator(
  repo: IdentityRepository,
  ids: IdSource,
  dataDir: string,
  gatewayDid: string,
  now: number,
): Promise<OperatorSetup> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const tokenPath = join(dataDir, ADMIN_TOKEN_FILE);
  if (!(await repo.getPrincipal(OPERATOR_ID)))
    await insertOnce(() =>
      repo.insertPrincipal({
        id: OPERATOR_ID,
        role: 'operator',
        name: 'operator',
        did: gatewayDid,
        created_at: now,
        disabled_at: null,
      }),
    );

  const legacy = join(dataDir, 'principals.json');
  if (existsSync(legacy)) {
    const rows = JSON.parse(readFileSync(legacy, 'utf8')) as LegacyPrincipal[];
    for (const p of rows) {
      if (p.role !== 'operator' && !(await repo.getPrincipal(p.id)))
        await insertOnce(() =>
          repo.insertPrincipal({
            id: p.id,
            role: p.role,
            name: p.name,
            did: null,
            created_at: now,
            disabled_at: null,
          }),
        );
      if (p.role !== 'operator' && !(await repo.tokenByLookup(p.token_sha256)))
        await insertOnce(() =>
          repo.insertToken({
            id: ids.next('tok'),
            principal: p.id,
            kind: 'api_key',
            lookup: p.token_sha256,
            label: 'imported from principals.json',
            created_at: now,
            expires_at: null,
            revoked_at: null,
            detail: { prefix: '' },
          }),
        );
    }
  }

  let created = false;
  let token: string;
  if (existsSync(tokenPath)) {
    token = readFileSync(tokenPath, 'utf8').trim();
  } else {
    token = newApiKey('admin');
    for (const t of await repo.listTokens({ principal: OPERATOR_ID, limit: 1000 }))
      if (t.label === ADMIN_TOKEN_LABEL && t.revoked_at === null) await repo.revokeToken(t.id, now);
    writeFileSync(tokenPath, `${token}\n`, { mode: 0o600 });
    chmodSync(tokenPath, 0o600);
    created = true;
  }
  const known = await repo.tokenByLookup(sha256Hex(token));
  if (!known)
    await insertOnce(() =>
      repo.insertToken(apiKeyRecord(ids.next('tok'), OPERATOR_ID, token, ADMIN_TOKEN_LABEL, now)),
    );
  return { created, tokenPath };
}

/** The wire form of a principal. */
export function principalToWire(p: PrincipalRecord) {
  return {
    id: p.id,
    role: p.role,
    name: p.name,
    did: p.did,
    created_at: new Date(p.created_at).toISOString(),
    disabled_at: p.disabled_at === null ? null : new Date(p.disabled_at).toISOString(),
  };
}

/** The wire form of a token record (never a secret: API keys show their prefix only). */
export function tokenToWire(t: TokenRecord) {
  return {
    id: t.id,
    principal: t.principal,
    kind: t.kind,
    label: t.label,
    ...(t.kind === 'api_key' ? { prefix: String(t.detail.prefix ?? '') } : { cid: t.lookup }),
    created_at: new Date(t.created_at).toISOString(),
    expires_at: t.expires_at === null ? null : new Date(t.expires_at).toISOString(),
    revoked_at: t.revoked_at === null ? null : new Date(t.revoked_at).toISOString(),
    ...(t.kind === 'ucan' ? { capabilities: t.detail.cap, audience: t.detail.aud } : {}),
  };
}
