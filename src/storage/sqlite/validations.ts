import type Database from 'better-sqlite3';
import { DuplicateError } from '../errors.js';
import { checkListLimit } from '../lease-checks.js';
import type { ValidationRecord } from '../store.js';
import { type ValidationColumns, type ValidationMethods, validationColumns } from '../validation-checks.js';
import { type SqliteDb, sqliteCode } from './driver.js';

interface ValidationRow extends Omit<ValidationRecord, 'runs' | 'decision'> {
  runs: string;
  decision: string | null;
}

/** Every column but the key and the version: what an update replaces, in setArgs' order. */
const SET_COLUMNS = [
  'requester',
  'booking_id',
  'lease_id',
  'replicas_wanted',
  'runs',
  'state',
  'decision',
  'created_at',
  'updated_at',
];
const COLUMNS = ['id', ...SET_COLUMNS, 'version'];
const VALIDATION = COLUMNS.join(', ');
/** The same columns read through validation_leases (alias l) joined to validations (alias v). */
const VALIDATION_V = COLUMNS.map((c) => `v.${c}`).join(', ');

const validationOf = (r: ValidationRow): ValidationRecord => ({
  ...r,
  runs: JSON.parse(r.runs) as ValidationRecord['runs'],
  decision: r.decision === null ? null : (JSON.parse(r.decision) as ValidationRecord['decision']),
});

function setArgs(v: ValidationRecord, cols: { runs: string; decision: string | null }): unknown[] {
  return [
    v.requester,
    v.booking_id,
    v.lease_id,
    v.replicas_wanted,
    cols.runs,
    v.state,
    cols.decision,
    v.created_at,
    v.updated_at,
  ];
}

/** A unique violation on the primary lease ("UNIQUE constraint failed: validations.lease_id"). */
const primaryTaken = (err: unknown) =>
  sqliteCode(err) === 'SQLITE_CONSTRAINT_UNIQUE' && /validations\.lease_id/.test((err as Error).message);

/**
 * Validation records on one SQLite connection (runtime.ts composes them into the repository), with
 * validation_leases, the index from every lease of a validation (primary, replicas, referee) to it.
 * An insert or update writes both tables in one IMMEDIATE transaction, so a lease that already
 * belongs to another validation rolls the whole call back; a lease once joined is never removed.
 */
export function createSqliteValidations(db: SqliteDb): ValidationMethods {
  const cache = new Map<string, Database.Statement>();
  const q = (sql: string): Database.Statement => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  const validation = (row: unknown) => (row ? validationOf(row as ValidationRow) : null);

  /** Adds `leases` to the validation; one that belongs to another is a DuplicateError. */
  const join = (validationId: string, leases: readonly string[]) => {
    const insert = q('INSERT INTO validation_leases (lease_id, validation_id) VALUES (?, ?)');
    for (const leaseId of leases) {
      try {
        insert.run(leaseId, validationId);
      } catch (err) {
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY')
          throw new DuplicateError('validation lease', leaseId, { cause: err });
        throw err;
      }
    }
  };

  const insertInTx = db.transaction((v: ValidationRecord, cols: ValidationColumns) => {
    const args = [v.id, ...setArgs(v, cols), v.version];
    try {
      q(`INSERT INTO validations (${VALIDATION}) VALUES (${args.map(() => '?').join(', ')})`).run(...args);
    } catch (err) {
      if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY')
        throw new DuplicateError('validation', v.id, { cause: err });
      if (primaryTaken(err)) throw new DuplicateError('validation lease', v.lease_id, { cause: err });
      throw err;
    }
    join(v.id, cols.leases);
  });

  type Updated = Awaited<ReturnType<ValidationMethods['updateValidation']>>;
  const updateInTx = db.transaction(
    (v: ValidationRecord, cols: ValidationColumns, expected: number): Updated => {
      let row: unknown;
      try {
        row = q(
          `UPDATE validations SET ${SET_COLUMNS.map((c) => `${c} = ?`).join(', ')}, version = version + 1
         WHERE id = ? AND version = ? RETURNING ${VALIDATION}`,
        ).get(...setArgs(v, cols), v.id, expected);
      } catch (err) {
        if (primaryTaken(err)) throw new DuplicateError('validation lease', v.lease_id, { cause: err });
        throw err;
      }
      const updated = validation(row);
      if (!updated) {
        // Not at the expected version: say which it is at, so the caller can reload and retry.
        const version = q('SELECT version FROM validations WHERE id = ?').pluck().get(v.id);
        return version === undefined ? { kind: 'not_found' } : { kind: 'stale', version: version as number };
      }
      const joined = new Set(
        q(
          `SELECT lease_id FROM validation_leases
         WHERE validation_id = ? AND lease_id IN (SELECT value FROM json_each(?))`,
        )
          .pluck()
          .all(v.id, JSON.stringify(cols.leases)) as string[],
      );
      join(
        v.id,
        cols.leases.filter((l) => !joined.has(l)),
      );
      return { kind: 'updated', validation: updated };
    },
  );

  return {
    async insertValidation(v) {
      insertInTx.immediate(v, validationColumns(v));
    },
    async getValidation(id) {
      return validation(q(`SELECT ${VALIDATION} FROM validations WHERE id = ?`).get(id));
    },
    async validationForLease(leaseId) {
      return validation(
        q(
          `SELECT ${VALIDATION_V} FROM validation_leases AS l JOIN validations AS v ON v.id = l.validation_id
           WHERE l.lease_id = ?`,
        ).get(leaseId),
      );
    },
    async updateValidation(v, expected) {
      return updateInTx.immediate(v, validationColumns(v), expected);
    },
    async listValidations(f) {
      checkListLimit(f.limit);
      const where: string[] = [];
      const args: unknown[] = [];
      const add = (cond: string, arg: unknown) => {
        where.push(cond);
        args.push(arg);
      };
      if (f.requester !== undefined) add('requester = ?', f.requester);
      if (f.booking_id !== undefined) add('booking_id = ?', f.booking_id);
      // An empty `states` is no filter. One JSON parameter, so any number of states is one statement.
      if (f.states !== undefined && f.states.length > 0)
        add('state IN (SELECT value FROM json_each(?))', JSON.stringify(f.states));
      if (f.before !== undefined) add('id < ?', f.before);
      const rows = q(
        `SELECT ${VALIDATION} FROM validations ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY id DESC LIMIT ?`,
      ).all(...args, f.limit) as ValidationRow[];
      return rows.map(validationOf);
    },
  };
}
