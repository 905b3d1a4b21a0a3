import { DuplicateError } from '../errors.js';
import type { PlanRepository, StoredPlan } from '../store.js';
import { type PgPool, pgCode, pgConstraint, UNIQUE_VIOLATION } from './driver.js';

/** JSON text of a value, or a TypeError for a value JSON cannot hold (JSON.stringify gives undefined). */
export function toJson(value: unknown, field: string): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`${field} is not a JSON value (got ${typeof value})`);
  return text;
}

interface PlanRow {
  id: string;
  requester: string | null;
  created_at: number;
  expires_at: number;
  // Read as text, not through pg's json parser, so parsing is ours to control (and identical to SQLite's).
  request: string;
  plan: string;
}

const COLUMNS = 'id, requester, created_at, expires_at, request::text AS request, plan::text AS plan';

const fromRow = (r: PlanRow): StoredPlan => ({
  id: r.id,
  requester: r.requester,
  created_at: r.created_at,
  expires_at: r.expires_at,
  request: JSON.parse(r.request) as unknown,
  plan: JSON.parse(r.plan) as unknown,
});

/**
 * Plans on a pool. Each call is one statement, so each is atomic on its own and needs no explicit
 * transaction. `guard` rejects once the store is closed.
 */
export function createPostgresPlanRepository(pool: PgPool, guard: () => void): PlanRepository {
  return {
    async insert(p) {
      guard();
      // JSON text is passed as a string: pg would turn a JS array into a PostgreSQL array literal.
      const request = toJson(p.request, 'request');
      const plan = toJson(p.plan, 'plan');
      try {
        await pool.query(
          'INSERT INTO plans (id, requester, created_at, expires_at, request, plan) VALUES ($1, $2, $3, $4, $5, $6)',
          [p.id, p.requester, p.created_at, p.expires_at, request, plan],
        );
      } catch (err) {
        if (pgCode(err) === UNIQUE_VIOLATION && pgConstraint(err) === 'plans_pkey')
          throw new DuplicateError('plan', p.id, { cause: err });
        throw err;
      }
    },
    async get(id) {
      guard();
      const { rows } = await pool.query<PlanRow>(`SELECT ${COLUMNS} FROM plans WHERE id = $1`, [id]);
      return rows[0] ? fromRow(rows[0]) : null;
    },
    async listByRequester(requester, limit) {
      guard();
      if (!Number.isInteger(limit) || limit < 0)
        throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
      if (limit === 0) return [];
      // Served by plans_requester_created; id breaks ties so the order is total.
      const { rows } = await pool.query<PlanRow>(
        `SELECT ${COLUMNS} FROM plans WHERE requester = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
        [requester, limit],
      );
      return rows.map(fromRow);
    },
    async deleteExpired(before) {
      guard();
      const res = await pool.query('DELETE FROM plans WHERE expires_at <= $1', [before]);
      return res.rowCount ?? 0;
    },
  };
}
