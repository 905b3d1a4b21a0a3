import { DuplicateError } from '../errors.js';
import type { IdentityRepository, PrincipalRecord, TokenRecord } from '../store.js';
import { type PgPool, pgCode, pgConstraint, UNIQUE_VIOLATION } from './driver.js';
import { toJson } from './plans.js';

const FOREIGN_KEY_VIOLATION = '23503';

interface TokenRow extends Omit<TokenRecord, 'detail'> {
  // Read as text, not through pg's json parser, so parsing is ours (and identical to SQLite's).
  detail: string;
}

const PRINCIPAL = 'id, role, name, did, created_at, disabled_at';
const TOKEN_COLUMNS = 'id, principal, kind, lookup, label, created_at, expires_at, revoked_at, detail';
const TOKEN =
  'id, principal, kind, lookup, label, created_at, expires_at, revoked_at, detail::text AS detail';

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
 * Principals, tokens and UCAN revocations on a pool. Every method is one statement, so each is
 * atomic on its own and needs no explicit transaction. `guard` rejects once the store is closed.
 * Unique violations are told apart by constraint name; the names are PostgreSQL's defaults for the
 * columns in migration 4 (principals_pkey, principals_did_key, tokens_pkey, tokens_lookup_key).
 */
export function createPostgresIdentityRepository(pool: PgPool, guard: () => void): IdentityRepository {
  const one = async <T>(sql: string, args: unknown[]): Promise<T | null> => {
    guard();
    const { rows } = await pool.query(sql, args);
    return (rows[0] as T | undefined) ?? null;
  };
  const token = (r: TokenRow | null) => (r ? tokenOf(r) : null);

  return {
    async insertPrincipal(p) {
      guard();
      try {
        await pool.query(`INSERT INTO principals (${PRINCIPAL}) VALUES ($1, $2, $3, $4, $5, $6)`, [
          p.id,
          p.role,
          p.name,
          p.did,
          p.created_at,
          p.disabled_at,
        ]);
      } catch (err) {
        if (pgCode(err) === UNIQUE_VIOLATION && pgConstraint(err) === 'principals_pkey')
          throw new DuplicateError('principal', p.id, { cause: err });
        if (pgCode(err) === UNIQUE_VIOLATION && pgConstraint(err) === 'principals_did_key')
          throw new DuplicateError('principal did', p.did ?? '', { cause: err });
        throw err;
      }
    },
    async getPrincipal(id) {
      return one<PrincipalRecord>(`SELECT ${PRINCIPAL} FROM principals WHERE id = $1`, [id]);
    },
    async principalByDid(did) {
      return one<PrincipalRecord>(`SELECT ${PRINCIPAL} FROM principals WHERE did = $1`, [did]);
    },
    async listPrincipals(opts) {
      guard();
      checkListLimit(opts.limit);
      const { rows } =
        opts.after === undefined
          ? await pool.query<PrincipalRecord>(`SELECT ${PRINCIPAL} FROM principals ORDER BY id LIMIT $1`, [
              opts.limit,
            ])
          : await pool.query<PrincipalRecord>(
              `SELECT ${PRINCIPAL} FROM principals WHERE id > $1 ORDER BY id LIMIT $2`,
              [opts.after, opts.limit],
            );
      return rows;
    },
    async disablePrincipal(id, at) {
      // COALESCE keeps the first time: disabling twice is not a second event.
      return one<PrincipalRecord>(
        `UPDATE principals SET disabled_at = COALESCE(disabled_at, $1) WHERE id = $2 RETURNING ${PRINCIPAL}`,
        [at, id],
      );
    },

    async insertToken(t) {
      guard();
      // JSON text is passed as a string: pg would turn a JS array into a PostgreSQL array literal.
      const detail = detailJson(t.detail);
      try {
        await pool.query(
          `INSERT INTO tokens (${TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [t.id, t.principal, t.kind, t.lookup, t.label, t.created_at, t.expires_at, t.revoked_at, detail],
        );
      } catch (err) {
        const code = pgCode(err);
        if (code === UNIQUE_VIOLATION && pgConstraint(err) === 'tokens_pkey')
          throw new DuplicateError('token', t.id, { cause: err });
        if (code === UNIQUE_VIOLATION && pgConstraint(err) === 'tokens_lookup_key')
          throw new DuplicateError('token lookup', t.lookup, { cause: err });
        // tokens.principal is the table's only foreign key. See the contract suite for why a RangeError.
        if (code === FOREIGN_KEY_VIOLATION)
          throw new RangeError(
            `token ${t.id}: principal ${t.principal} does not exist. To fix: insert the principal before its tokens.`,
            { cause: err },
          );
        throw err;
      }
    },
    async getToken(id) {
      return token(await one<TokenRow>(`SELECT ${TOKEN} FROM tokens WHERE id = $1`, [id]));
    },
    async tokenByLookup(lookup) {
      return token(await one<TokenRow>(`SELECT ${TOKEN} FROM tokens WHERE lookup = $1`, [lookup]));
    },
    async listTokens(opts) {
      guard();
      checkListLimit(opts.limit);
      const where: string[] = [];
      const args: unknown[] = [];
      if (opts.principal !== undefined) {
        args.push(opts.principal);
        where.push(`principal = $${args.length}`);
      }
      if (opts.before !== undefined) {
        args.push(opts.before);
        where.push(`id < $${args.length}`);
      }
      args.push(opts.limit);
      // With a principal, tokens_principal (principal, id) serves both the filter and the order.
      const { rows } = await pool.query<TokenRow>(
        `SELECT ${TOKEN} FROM tokens ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY id DESC LIMIT $${args.length}`,
        args,
      );
      return rows.map(tokenOf);
    },
    async revokeToken(id, at) {
      return token(
        await one<TokenRow>(
          `UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING ${TOKEN}`,
          [at, id],
        ),
      );
    },

    async revokeUcan(r) {
      guard();
      const res = await pool.query(
        'INSERT INTO ucan_revocations (cid, revoked_at, by) VALUES ($1, $2, $3) ON CONFLICT (cid) DO NOTHING',
        [r.cid, r.at, r.by],
      );
      return res.rowCount === 1;
    },
    async firstRevoked(cids) {
      guard();
      if (cids.length === 0) return null;
      // One query for the whole chain: WITH ORDINALITY numbers the array, so it keeps the given order.
      const hit = await one<{ cid: string }>(
        `SELECT c.cid FROM unnest($1::text[]) WITH ORDINALITY AS c (cid, ord)
         JOIN ucan_revocations r ON r.cid = c.cid ORDER BY c.ord LIMIT 1`,
        [cids],
      );
      return hit?.cid ?? null;
    },
  };
}
