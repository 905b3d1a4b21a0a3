import type Database from 'better-sqlite3';
import { DuplicateError } from '../errors.js';
import {
  checkListLimit,
  checkLogLines,
  checkOutput,
  type LeaseRuntimeMethods,
  leaseJson,
} from '../lease-checks.js';
import type { LeaseRuntimeRecord, LogLine, NewLogLine, OutputRecord } from '../store.js';
import { type SqliteDb, sqliteCode } from './driver.js';

interface LeaseRow extends Omit<LeaseRuntimeRecord, 'simulated' | 'handle' | 'history'> {
  simulated: number;
  handle: string;
  history: string;
}

const LEASE =
  'lease_id, booking_id, requester, provider, offer_id, driver, state, simulated, run_kind, attempt, ' +
  'replaces, replaced_by, exit_code, handle, history, created_at, updated_at, version';
/** Every column but the key and the version, in LEASE's order: what an update replaces. */
const LEASE_SET =
  'booking_id = ?, requester = ?, provider = ?, offer_id = ?, driver = ?, state = ?, simulated = ?, ' +
  'run_kind = ?, attempt = ?, replaces = ?, replaced_by = ?, exit_code = ?, handle = ?, history = ?, ' +
  'created_at = ?, updated_at = ?';
const LOG = 'lease_id, seq, at, stream, line';
const OUTPUT_META = 'lease_id, name, sha256, bytes, stored_at';

const leaseOf = (r: LeaseRow): LeaseRuntimeRecord => ({
  ...r,
  simulated: r.simulated === 1,
  handle: JSON.parse(r.handle) as Record<string, unknown>,
  history: JSON.parse(r.history) as LeaseRuntimeRecord['history'],
});

/** The columns LEASE_SET names, in its order. */
function setArgs(r: LeaseRuntimeRecord): unknown[] {
  const { handle, history } = leaseJson(r);
  return [
    r.booking_id,
    r.requester,
    r.provider,
    r.offer_id,
    r.driver,
    r.state,
    r.simulated ? 1 : 0,
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
 * Lease runtime records, their log lines and outputs on one SQLite connection (runtime.ts composes
 * them into the repository). Every method is one statement but `appendLogs`, which reads the last
 * seq and inserts in one IMMEDIATE transaction: it takes the write lock before the read, so another
 * process appending to the same file waits instead of numbering from the same seq (a DEFERRED one
 * would fail with SQLITE_BUSY when its read lock could not be upgraded). Within this process
 * better-sqlite3 is synchronous, so concurrent calls cannot interleave at all.
 */
export function createSqliteLeaseRuntime(db: SqliteDb): LeaseRuntimeMethods {
  const cache = new Map<string, Database.Statement>();
  const q = (sql: string): Database.Statement => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  const lease = (row: unknown) => (row ? leaseOf(row as LeaseRow) : null);

  const appendInTx = db.transaction((leaseId: string, lines: readonly NewLogLine[]): LogLine[] => {
    const last = q('SELECT max(seq) FROM lease_logs WHERE lease_id = ?').pluck().get(leaseId) as
      | number
      | null;
    const insert = q(`INSERT INTO lease_logs (${LOG}) VALUES (?, ?, ?, ?, ?)`);
    return lines.map((l, i) => {
      const stored = {
        lease_id: leaseId,
        seq: (last ?? 0) + i + 1,
        at: l.at,
        stream: l.stream,
        line: l.line,
      };
      insert.run(stored.lease_id, stored.seq, stored.at, stored.stream, stored.line);
      return stored;
    });
  });

  return {
    async insertLease(r) {
      const args = [r.lease_id, ...setArgs(r), r.version];
      try {
        q(`INSERT INTO lease_runtime (${LEASE}) VALUES (${args.map(() => '?').join(', ')})`).run(...args);
      } catch (err) {
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY')
          throw new DuplicateError('lease', r.lease_id, { cause: err });
        throw err;
      }
    },
    async getLease(leaseId) {
      return lease(q(`SELECT ${LEASE} FROM lease_runtime WHERE lease_id = ?`).get(leaseId));
    },
    async updateLease(r, expected) {
      const updated = lease(
        q(
          `UPDATE lease_runtime SET ${LEASE_SET}, version = version + 1
           WHERE lease_id = ? AND version = ? RETURNING ${LEASE}`,
        ).get(...setArgs(r), r.lease_id, expected),
      );
      if (updated) return { kind: 'updated', lease: updated };
      // Not at the expected version: say which it is at, so the caller can reload and retry.
      const version = q('SELECT version FROM lease_runtime WHERE lease_id = ?').pluck().get(r.lease_id);
      return version === undefined ? { kind: 'not_found' } : { kind: 'stale', version: version as number };
    },
    async listLeases(f) {
      checkListLimit(f.limit);
      const where: string[] = [];
      const args: unknown[] = [];
      const add = (cond: string, arg: unknown) => {
        where.push(cond);
        args.push(arg);
      };
      if (f.requester !== undefined) add('requester = ?', f.requester);
      if (f.booking_id !== undefined) add('booking_id = ?', f.booking_id);
      if (f.provider !== undefined) add('provider = ?', f.provider);
      // An empty `states` is no filter. One JSON parameter, so any number of states is one statement.
      if (f.states !== undefined && f.states.length > 0)
        add('state IN (SELECT value FROM json_each(?))', JSON.stringify(f.states));
      if (f.before !== undefined) add('lease_id < ?', f.before);
      const rows = q(
        `SELECT ${LEASE} FROM lease_runtime ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY lease_id DESC LIMIT ?`,
      ).all(...args, f.limit) as LeaseRow[];
      return rows.map(leaseOf);
    },

    async appendLogs(leaseId, lines) {
      checkLogLines(leaseId, lines);
      return appendInTx.immediate(leaseId, lines);
    },
    async listLogs(leaseId, opts) {
      checkListLimit(opts.limit);
      // seq ≥ 1 (a CHECK), so 0 stands for "from the start" and one statement serves both shapes.
      return q(`SELECT ${LOG} FROM lease_logs WHERE lease_id = ? AND seq > ? ORDER BY seq LIMIT ?`).all(
        leaseId,
        opts.after ?? 0,
        opts.limit,
      ) as LogLine[];
    },

    async putOutput(o) {
      checkOutput(o);
      // A later upload of the same name replaces the earlier one whole (store.ts).
      q(
        `INSERT INTO lease_outputs (${OUTPUT_META}, data) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (lease_id, name) DO UPDATE SET sha256 = excluded.sha256, bytes = excluded.bytes,
           stored_at = excluded.stored_at, data = excluded.data`,
      ).run(o.lease_id, o.name, o.sha256, o.bytes, o.stored_at, o.data);
    },
    async getOutput(leaseId, name) {
      const row = q(`SELECT ${OUTPUT_META}, data FROM lease_outputs WHERE lease_id = ? AND name = ?`).get(
        leaseId,
        name,
      );
      return (row as OutputRecord | undefined) ?? null;
    },
    async listOutputs(leaseId) {
      return q(`SELECT ${OUTPUT_META} FROM lease_outputs WHERE lease_id = ? ORDER BY name`).all(
        leaseId,
      ) as Omit<OutputRecord, 'data'>[];
    },
  };
}
