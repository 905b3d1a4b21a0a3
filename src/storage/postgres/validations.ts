import { inTransaction } from '../../ledger/postgres/tx.js';
import { DuplicateError } from '../errors.js';
import { checkListLimit } from '../lease-checks.js';
import type { ValidationRecord } from '../store.js';
import { type ValidationColumns, type ValidationMethods, validationColumns } from '../validation-checks.js';
import { type PgClient, type PgPool, pgCode, pgConstraint, UNIQUE_VIOLATION } from './driver.js';

interface ValidationRow extends Omit<ValidationRecord, 'runs' | 'decision'> {
  // Read as text, not through pg's json parser, so parsing is ours (and identical to SQLite's).
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
/** The columns as read, prefixed with a table alias (`v.`) or not; JSON as text (see ValidationRow). */
const read = (alias: string) =>
  COLUMNS.map((c) => `${alias}${c}${c === 'runs' || c === 'decision' ? `::text AS ${c}` : ''}`).join(', ');
const VALIDATION = read('');

const validationOf = (r: ValidationRow): ValidationRecord => ({
  ...r,
  runs: JSON.parse(r.runs) as ValidationRecord['runs'],
  decision: r.decision === null ? null : (JSON.parse(r.decision) as ValidationRecord['decision']),
});

/** The values of SET_COLUMNS, in order. JSON goes as text: pg would turn a JS array into a PostgreSQL array. */
function setArgs(v: ValidationRecord, cols: ValidationColumns): unknown[] {
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

const violated = (err: unknown, constraint: string) =>
  pgCode(err) === UNIQUE_VIOLATION && pgConstraint(err) === constraint;

/** Adds `leases` to the validation, one statement each so a taken one is named; it is a DuplicateError. */
async function join(c: PgClient, validationId: string, leases: readonly string[]): Promise<void> {
  for (const leaseId of leases) {
    try {
      await c.query('INSERT INTO validation_leases (lease_id, validation_id) VALUES ($1, $2)', [
        leaseId,
        validationId,
      ]);
    } catch (err) {
      if (violated(err, 'validation_leases_pkey'))
        throw new DuplicateError('validation lease', leaseId, { cause: err });
      throw err;
    }
  }
}

type Updated = Awaited<ReturnType<ValidationMethods['updateValidation']>>;

/**
 * Validation records on a pool (runtime.ts composes them into the repository), with
 * validation_leases, the index from every lease of a validation (primary, replicas, referee) to it.
 * An insert or update writes both tables in one transaction, so a lease that already belongs to
 * another validation rolls the whole call back; a lease once joined is never removed. Two writers
 * claiming one lease for different validations meet at validation_leases_pkey: the second waits for
 * the first to commit, then fails. `guard` rejects once the store is closed.
 */
export function createPostgresValidations(pool: PgPool, guard: () => void): ValidationMethods {
  const one = async (sql: string, args: unknown[]): Promise<ValidationRecord | null> => {
    guard();
    const { rows } = await pool.query<ValidationRow>(sql, args);
    return rows[0] ? validationOf(rows[0]) : null;
  };

  return {
    async insertValidation(v) {
      guard();
      const cols = validationColumns(v);
      const args = [v.id, ...setArgs(v, cols), v.version];
      await inTransaction(pool, async (c) => {
        try {
          await c.query(
            `INSERT INTO validations (${COLUMNS.join(', ')}) VALUES (${args.map((_, i) => `$${i + 1}`).join(', ')})`,
            args,
          );
        } catch (err) {
          if (violated(err, 'validations_pkey')) throw new DuplicateError('validation', v.id, { cause: err });
          if (violated(err, 'validations_lease_id_key'))
            throw new DuplicateError('validation lease', v.lease_id, { cause: err });
          throw err;
        }
        await join(c, v.id, cols.leases);
      });
    },
    async getValidation(id) {
      return one(`SELECT ${VALIDATION} FROM validations WHERE id = $1`, [id]);
    },
    async validationForLease(leaseId) {
      return one(
        `SELECT ${read('v.')} FROM validation_leases AS l JOIN validations AS v ON v.id = l.validation_id
         WHERE l.lease_id = $1`,
        [leaseId],
      );
    },
    async updateValidation(v, expected) {
      guard();
      const cols = validationColumns(v);
      const args = setArgs(v, cols);
      const set = SET_COLUMNS.map((c, i) => `${c} = $${i + 1}`).join(', ');
      return inTransaction<Updated>(pool, async (c) => {
        let rows: ValidationRow[];
        try {
          // The row lock this takes holds off a concurrent update of the same validation until commit.
          ({ rows } = await c.query<ValidationRow>(
            `UPDATE validations SET ${set}, version = version + 1
             WHERE id = $${args.length + 1} AND version = $${args.length + 2} RETURNING ${VALIDATION}`,
            [...args, v.id, expected],
          ));
        } catch (err) {
          if (violated(err, 'validations_lease_id_key'))
            throw new DuplicateError('validation lease', v.lease_id, { cause: err });
          throw err;
        }
        if (!rows[0]) {
          // Not at the expected version: say which it is at, so the caller can reload and retry.
          const now = await c.query<{ version: number }>('SELECT version FROM validations WHERE id = $1', [
            v.id,
          ]);
          return now.rows[0] ? { kind: 'stale', version: now.rows[0].version } : { kind: 'not_found' };
        }
        const joined = await c.query<{ lease_id: string }>(
          'SELECT lease_id FROM validation_leases WHERE validation_id = $1 AND lease_id = ANY($2::text[])',
          [v.id, cols.leases],
        );
        const have = new Set(joined.rows.map((r) => r.lease_id));
        await join(
          c,
          v.id,
          cols.leases.filter((l) => !have.has(l)),
        );
        return { kind: 'updated', validation: validationOf(rows[0]) };
      });
    },
    async listValidations(f) {
      guard();
      checkListLimit(f.limit);
      const where: string[] = [];
      const args: unknown[] = [];
      const add = (cond: (p: string) => string, arg: unknown) => {
        args.push(arg);
        where.push(cond(`$${args.length}`));
      };
      if (f.requester !== undefined) add((p) => `requester = ${p}`, f.requester);
      if (f.booking_id !== undefined) add((p) => `booking_id = ${p}`, f.booking_id);
      // An empty `states` is no filter (rather than "no state matches").
      if (f.states !== undefined && f.states.length > 0) add((p) => `state = ANY(${p}::text[])`, f.states);
      if (f.before !== undefined) add((p) => `id < ${p}`, f.before);
      args.push(f.limit);
      const { rows } = await pool.query<ValidationRow>(
        `SELECT ${VALIDATION} FROM validations ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY id DESC LIMIT $${args.length}`,
        args,
      );
      return rows.map(validationOf);
    },
  };
}
