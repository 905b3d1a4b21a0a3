import { DuplicateError } from '../errors.js';
import type { PlanRepository, StoredPlan } from '../store.js';
import { type SqliteDb, sqliteCode } from './driver.js';

interface PlanRow {
  id: string;
  requester: string | null;
  created_at: number;
  expires_at: number;
  request: string;
  plan: string;
}

const COLUMNS = 'id, requester, created_at, expires_at, request, plan';

/** JSON text of a value, or a TypeError for a value JSON cannot hold (JSON.stringify gives undefined). */
export function toJson(value: unknown, field: string): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`${field} is not a JSON value (got ${typeof value})`);
  return text;
}

const fromRow = (r: PlanRow): StoredPlan => ({
  id: r.id,
  requester: r.requester,
  created_at: r.created_at,
  expires_at: r.expires_at,
  request: JSON.parse(r.request) as unknown,
  plan: JSON.parse(r.plan) as unknown,
});

/**
 * Plans on one SQLite connection. Statements are prepared on first use, not here: before
 * `migrate()` the table does not exist and preparing would fail.
 */
export function createSqlitePlanRepository(db: SqliteDb): PlanRepository {
  let stmts: ReturnType<typeof prepare> | null = null;
  const q = () => {
    stmts ??= prepare(db);
    return stmts;
  };
  return {
    async insert(p) {
      const request = toJson(p.request, 'request');
      const plan = toJson(p.plan, 'plan');
      try {
        q().insert.run(p.id, p.requester, p.created_at, p.expires_at, request, plan);
      } catch (err) {
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY')
          throw new DuplicateError('plan', p.id, { cause: err });
        throw err;
      }
    },
    async get(id) {
      const row = q().get.get(id) as PlanRow | undefined;
      return row ? fromRow(row) : null;
    },
    async listByRequester(requester, limit) {
      if (!Number.isInteger(limit) || limit < 0)
        throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
      if (limit === 0) return [];
      return (q().list.all(requester, limit) as PlanRow[]).map(fromRow);
    },
    async deleteExpired(before) {
      return q().deleteExpired.run(before).changes;
    },
  };
}

function prepare(db: SqliteDb) {
  return {
    insert: db.prepare(`INSERT INTO plans (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`),
    get: db.prepare(`SELECT ${COLUMNS} FROM plans WHERE id = ?`),
    // Served by plans_requester_created; id breaks ties so the order is total.
    list: db.prepare(
      `SELECT ${COLUMNS} FROM plans WHERE requester = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
    ),
    deleteExpired: db.prepare('DELETE FROM plans WHERE expires_at <= ?'),
  };
}
