import { inTransaction } from '../../ledger/postgres/tx.js';
import { DuplicateError } from '../errors.js';
import {
  checkListLimit,
  checkLogLines,
  checkOutput,
  type LeaseRuntimeMethods,
  leaseJson,
} from '../lease-checks.js';
import type { LeaseRuntimeRecord, LogLine, OutputRecord } from '../store.js';
import { type PgPool, pgCode, pgConstraint, UNIQUE_VIOLATION } from './driver.js';

interface LeaseRow extends Omit<LeaseRuntimeRecord, 'handle' | 'history'> {
  // Read as text, not through pg's json parser, so parsing is ours (and identical to SQLite's).
  handle: string;
  history: string;
}

/** Every column but the key and the version: what an update replaces, in setArgs' order. */
const SET_COLUMNS = [
  'booking_id',
  'requester',
  'provider',
  'offer_id',
  'driver',
  'state',
  'simulated',
  'run_kind',
  'attempt',
  'replaces',
  'replaced_by',
  'exit_code',
  'handle',
  'history',
  'created_at',
  'updated_at',
];
const COLUMNS = ['lease_id', ...SET_COLUMNS, 'version'];
const LEASE = COLUMNS.map((c) => (c === 'handle' || c === 'history' ? `${c}::text AS ${c}` : c)).join(', ');
const LOG = 'lease_id, seq, at, stream, line';
const OUTPUT_META = 'lease_id, name, sha256, bytes, stored_at';

/** First key of appendLogs' two-key advisory lock (migrations.ts uses another); the second hashes the lease. */
const LOG_LOCK_CLASS = 0x636d_6c67; // 'cmlg'

const leaseOf = (r: LeaseRow): LeaseRuntimeRecord => ({
  ...r,
  handle: JSON.parse(r.handle) as Record<string, unknown>,
  history: JSON.parse(r.history) as LeaseRuntimeRecord['history'],
});

/** The values of SET_COLUMNS, in order. JSON goes as text: pg would turn a JS array into a PostgreSQL array. */
function setArgs(r: LeaseRuntimeRecord): unknown[] {
  const { handle, history } = leaseJson(r);
  return [
    r.booking_id,
    r.requester,
    r.provider,
    r.offer_id,
    r.driver,
    r.state,
    r.simulated,
    r.run_kind,
    r.attempt,
    r.replaces,
    r.replaced_by,
    r.exit_code,
    handle,
    history,
    r.created_at,
    r.updated_at,
  ];
}

/**
 * Lease runtime records, their log lines and outputs on a pool (runtime.ts composes them into the
 * repository). Every method is one statement but `appendLogs` (see there) and `updateLease`, whose
 * second statement only reads why the compare-and-set missed. `guard` rejects once the store is
 * closed. A taken lease id is told by its constraint's default name, lease_runtime_pkey (migration 7).
 */
export function createPostgresLeaseRuntime(pool: PgPool, guard: () => void): LeaseRuntimeMethods {
  const one = async <T>(sql: string, args: unknown[]): Promise<T | null> => {
    guard();
    const { rows } = await pool.query(sql, args);
    return (rows[0] as T | undefined) ?? null;
  };
  const lease = (r: LeaseRow | null) => (r ? leaseOf(r) : null);

  return {
    async insertLease(r) {
      guard();
      const args = [r.lease_id, ...setArgs(r), r.version];
      try {
        await pool.query(
          `INSERT INTO lease_runtime (${COLUMNS.join(', ')}) VALUES (${args.map((_, i) => `$${i + 1}`).join(', ')})`,
          args,
        );
      } catch (err) {
        if (pgCode(err) === UNIQUE_VIOLATION && pgConstraint(err) === 'lease_runtime_pkey')
          throw new DuplicateError('lease', r.lease_id, { cause: err });
        throw err;
      }
    },
    async getLease(leaseId) {
      return lease(await one<LeaseRow>(`SELECT ${LEASE} FROM lease_runtime WHERE lease_id = $1`, [leaseId]));
    },
    async updateLease(r, expected) {
      const args = setArgs(r);
      const set = SET_COLUMNS.map((c, i) => `${c} = $${i + 1}`).join(', ');
      const updated = lease(
        await one<LeaseRow>(
          `UPDATE lease_runtime SET ${set}, version = version + 1
           WHERE lease_id = $${args.length + 1} AND version = $${args.length + 2} RETURNING ${LEASE}`,
          [...args, r.lease_id, expected],
        ),
      );
      if (updated) return { kind: 'updated', lease: updated };
      // Not at the expected version: say which it is at, so the caller can reload and retry.
      const now = await one<{ version: number }>('SELECT version FROM lease_runtime WHERE lease_id = $1', [
        r.lease_id,
      ]);
      return now === null ? { kind: 'not_found' } : { kind: 'stale', version: now.version };
    },
    async listLeases(f) {
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
      if (f.provider !== undefined) add((p) => `provider = ${p}`, f.provider);
      // An empty `states` is no filter (rather than "no state matches").
      if (f.states !== undefined && f.states.length > 0) add((p) => `state = ANY(${p}::text[])`, f.states);
      if (f.before !== undefined) add((p) => `lease_id < ${p}`, f.before);
      args.push(f.limit);
      const { rows } = await pool.query<LeaseRow>(
        `SELECT ${LEASE} FROM lease_runtime ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY lease_id DESC LIMIT $${args.length}`,
        args,
      );
      return rows.map(leaseOf);
    },

    /**
     * Numbers under a transaction-scoped advisory lock on (this schema, this lease): a second append
     * to the lease waits for the first to commit, then its INSERT (a new statement, so a new
     * snapshot under READ COMMITTED) reads the first one's lines in max(seq). Chosen over
     * INSERT … SELECT with a retry on lease_logs_pkey because under contention that retries without
     * bound (each of n racing appenders may lose n − 1 times), and over a row lock on lease_runtime
     * because logs may arrive for a lease id with no record (nothing references it). The lock
     * serialises appends to one lease only; a hash collision between two leases only makes them wait.
     */
    async appendLogs(leaseId, lines) {
      guard();
      checkLogLines(leaseId, lines);
      if (lines.length === 0) return [];
      return inTransaction(pool, async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || $2))', [
          LOG_LOCK_CLASS,
          `/${leaseId}`,
        ]);
        const { rows } = await c.query<LogLine>(
          `INSERT INTO lease_logs (${LOG})
           SELECT $1, last.seq + l.ord, l.at, l.stream, l.line
           FROM (SELECT coalesce(max(seq), 0) AS seq FROM lease_logs WHERE lease_id = $1) AS last,
                unnest($2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY AS l (at, stream, line, ord)
           RETURNING ${LOG}`,
          [leaseId, lines.map((l) => l.at), lines.map((l) => l.stream), lines.map((l) => l.line)],
        );
        // RETURNING promises no order.
        return rows.sort((a, b) => a.seq - b.seq);
      });
    },
    async listLogs(leaseId, opts) {
      guard();
      checkListLimit(opts.limit);
      // seq ≥ 1 (a CHECK), so 0 stands for "from the start" and one statement serves both shapes.
      const { rows } = await pool.query<LogLine>(
        `SELECT ${LOG} FROM lease_logs WHERE lease_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
        [leaseId, opts.after ?? 0, opts.limit],
      );
      return rows;
    },

    async putOutput(o) {
      guard();
      checkOutput(o);
      // A later upload of the same name replaces the earlier one whole (store.ts).
      await pool.query(
        `INSERT INTO lease_outputs (${OUTPUT_META}, data) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (lease_id, name) DO UPDATE SET sha256 = excluded.sha256, bytes = excluded.bytes,
           stored_at = excluded.stored_at, data = excluded.data`,
        [o.lease_id, o.name, o.sha256, o.bytes, o.stored_at, o.data],
      );
    },
    async getOutput(leaseId, name) {
      return one<OutputRecord>(
        `SELECT ${OUTPUT_META}, data FROM lease_outputs WHERE lease_id = $1 AND name = $2`,
        [leaseId, name],
      );
    },
    async listOutputs(leaseId) {
      guard();
      const { rows } = await pool.query<Omit<OutputRecord, 'data'>>(
        `SELECT ${OUTPUT_META} FROM lease_outputs WHERE lease_id = $1 ORDER BY name`,
        [leaseId],
      );
      return rows;
    },
  };
}
