import type Database from 'better-sqlite3';
import { DuplicateError } from '../errors.js';
import type { IdentityRepository, PrincipalRecord, TokenRecord } from '../store.js';
import { type SqliteDb, sqliteCode } from './driver.js';
import { toJson } from './plans.js';

interface PrincipalRow {
  id: string;
  role: PrincipalRecord['role'];
  name: string;
  did: string | null;
  created_at: number;
  disabled_at: number | null;
}

interface TokenRow extends Omit<TokenRecord, 'detail'> {
  detail: string;
}

const PRINCIPAL = 'id, role, name, did, created_at, disabled_at';
const TOKEN = 'id, principal, kind, lookup, label, created_at, expires_at, revoked_at, detail';

const principalOf = (r: PrincipalRow): PrincipalRecord => ({ ...r });
const tokenOf = (r: TokenRow): TokenRecord => ({
  ...r,
  detail: JSON.parse(r.detail) as Record<string, unknown>,
});

/** A page size for both lists: 1 ≤ limit ≤ 1000, so one call never reads an unbounded table. */
function checkListLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new RangeError(`limit must be an integer from 1 to 1000, got ${limit}`);
}

/** `detail` is a JSON object (not an array, not a scalar); anything else is a TypeError. */
function detailJson(detail: unknown): string {
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail))
    throw new TypeError(
      `detail must be a JSON object, got ${Array.isArray(detail) ? 'an array' : typeof detail}`,
    );
  return toJson(detail, 'detail');
}

/**
 * Principals, tokens and UCAN revocations on one SQLite connection. Every method is one statement,
 * so each is atomic on its own. Statements are prepared on first use (before `migrate()` the
 * tables do not exist); the token list's four shapes are cached by their SQL text.
 */
export function createSqliteIdentityRepository(db: SqliteDb): IdentityRepository {
  const cache = new Map<string, Database.Statement>();
  const q = (sql: string): Database.Statement => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  const principal = (row: unknown) => (row ? principalOf(row as PrincipalRow) : null);
  const token = (row: unknown) => (row ? tokenOf(row as TokenRow) : null);

  return {
    async insertPrincipal(p) {
      try {
        q(`INSERT INTO principals (${PRINCIPAL}) VALUES (?, ?, ?, ?, ?, ?)`).run(
          p.id,
          p.role,
          p.name,
          p.did,
          p.created_at,
          p.disabled_at,
        );
      } catch (err) {
        // SQLite names the column: "UNIQUE constraint failed: principals.did".
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY')
          throw new DuplicateError('principal', p.id, { cause: err });
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_UNIQUE' && /principals\.did/.test((err as Error).message))
          throw new DuplicateError('principal did', p.did ?? '', { cause: err });
        throw err;
      }
    },
    async getPrincipal(id) {
      return principal(q(`SELECT ${PRINCIPAL} FROM principals WHERE id = ?`).get(id));
    },
    async principalByDid(did) {
      return principal(q(`SELECT ${PRINCIPAL} FROM principals WHERE did = ?`).get(did));
    },
    async listPrincipals(opts) {
      checkListLimit(opts.limit);
      const rows =
        opts.after === undefined
          ? q(`SELECT ${PRINCIPAL} FROM principals ORDER BY id LIMIT ?`).all(opts.limit)
          : q(`SELECT ${PRINCIPAL} FROM principals WHERE id > ? ORDER BY id LIMIT ?`).all(
              opts.after,
              opts.limit,
            );
      return (rows as PrincipalRow[]).map(principalOf);
    },
    async disablePrincipal(id, at) {
      // coalesce keeps the first time: disabling twice is not a second event.
      return principal(
        q(
          `UPDATE principals SET disabled_at = coalesce(disabled_at, ?) WHERE id = ? RETURNING ${PRINCIPAL}`,
        ).get(at, id),
      );
    },

    async insertToken(t) {
      const detail = detailJson(t.detail);
      try {
        q(`INSERT INTO tokens (${TOKEN}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
          t.id,
          t.principal,
          t.kind,
          t.lookup,
          t.label,
          t.created_at,
          t.expires_at,
          t.revoked_at,
          detail,
        );
      } catch (err) {
        const code = sqliteCode(err);
        if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DuplicateError('token', t.id, { cause: err });
        if (code === 'SQLITE_CONSTRAINT_UNIQUE' && /tokens\.lookup/.test((err as Error).message))
          throw new DuplicateError('token lookup', t.lookup, { cause: err });
        // tokens.principal is the table's only foreign key. See the contract suite for why a RangeError.
        if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw unknownPrincipal(t, err);
        throw err;
      }
    },
    async getToken(id) {
      return token(q(`SELECT ${TOKEN} FROM tokens WHERE id = ?`).get(id));
    },
    async tokenByLookup(lookup) {
      return token(q(`SELECT ${TOKEN} FROM tokens WHERE lookup = ?`).get(lookup));
    },
    async listTokens(opts) {
      checkListLimit(opts.limit);
      const where: string[] = [];
      const args: unknown[] = [];
      if (opts.principal !== undefined) {
        where.push('principal = ?');
        args.push(opts.principal);
      }
      if (opts.before !== undefined) {
        where.push('id < ?');
        args.push(opts.before);
      }
      // With a principal, tokens_principal (principal, id) serves both the filter and the order.
      const sql = `SELECT ${TOKEN} FROM tokens ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
      return (q(sql).all(...args, opts.limit) as TokenRow[]).map(tokenOf);
    },
    async revokeToken(id, at) {
      return token(
        q(`UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING ${TOKEN}`).get(
          at,
          id,
        ),
      );
    },

    async revokeUcan(r) {
      return (
        q(
          'INSERT INTO ucan_revocations (cid, revoked_at, by) VALUES (?, ?, ?) ON CONFLICT (cid) DO NOTHING',
        ).run(r.cid, r.at, r.by).changes === 1
      );
    },
    async firstRevoked(cids) {
      if (cids.length === 0) return null;
      // One query for the whole chain: json_each's key is the array index, so it keeps the given order.
      const hit = q(
        `SELECT c.value FROM json_each(?) c JOIN ucan_revocations r ON r.cid = c.value
         ORDER BY c.key LIMIT 1`,
      )
        .pluck()
        .get(JSON.stringify(cids)) as string | undefined;
      return hit ?? null;
    },
  };
}

/** The error for a token whose principal does not exist (postgres/identity.ts raises the same). */
function unknownPrincipal(t: TokenRecord, cause: unknown): RangeError {
  return new RangeError(
    `token ${t.id}: principal ${t.principal} does not exist. To fix: insert the principal before its tokens.`,
    { cause },
  );
}
