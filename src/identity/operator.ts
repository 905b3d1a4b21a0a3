import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Minimal identity so later issues have principals before the full identity stack lands: the
 * first start creates the operator and writes `admin.token` (mode 0600) in the data dir. Only a
 * SHA-256 hash of the token is kept in `principals.json`; the token itself is never logged.
 */
export type Role = 'operator' | 'requester' | 'provider';

export interface Principal {
  id: string;
  role: Role;
  name: string;
}

interface StoredPrincipal extends Principal {
  token_sha256: string;
  created_at: string;
}

export interface PrincipalStore {
  /** The principal a bearer token names, or null. Constant-time on the hash. */
  authenticate(token: string): Principal | null;
  operator(): Principal;
}

export interface OperatorSetup {
  store: PrincipalStore;
  /** True when this call created the operator (first start): the CLI says so on stdout. */
  created: boolean;
  tokenPath: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Loads or creates the operator in `dataDir`. `now` is an ISO time for the record. */
export function ensureOperator(dataDir: string, now: string): OperatorSetup {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'principals.json');
  const tokenPath = join(dataDir, 'admin.token');
  let principals: StoredPrincipal[] = [];
  let created = false;
  if (existsSync(file)) principals = JSON.parse(readFileSync(file, 'utf8')) as StoredPrincipal[];
  if (!principals.some((p) => p.role === 'operator') || !existsSync(tokenPath)) {
    const token = `cmd_admin_${randomBytes(32).toString('base64url')}`;
    principals = principals.filter((p) => p.role !== 'operator');
    principals.push({
      id: 'pr_operator',
      role: 'operator',
      name: 'operator',
      token_sha256: sha256(token),
      created_at: now,
    });
    writeFileSync(tokenPath, `${token}\n`, { mode: 0o600 });
    chmodSync(tokenPath, 0o600);
    writeFileSync(file, JSON.stringify(principals, null, 2), { mode: 0o600 });
    created = true;
  }
  const byHash = new Map(principals.map((p) => [p.token_sha256, p]));
  const op = principals.find((p) => p.role === 'operator')!;
  return {
    created,
    tokenPath,
    store: {
      authenticate(token) {
        const h = sha256(token);
        const hit = byHash.get(h);
        if (!hit) return null;
        // The map lookup already matched; compare again in constant time to keep the contract explicit.
        if (!timingSafeEqual(Buffer.from(h), Buffer.from(hit.token_sha256))) return null;
        return { id: hit.id, role: hit.role, name: hit.name };
      },
      operator: () => ({ id: op.id, role: op.role, name: op.name }),
    },
  };
}

/** `Authorization: Bearer <token>` → the token, or null when absent or malformed. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1] ?? null;
}
