import type Database from 'better-sqlite3';
import { DuplicateError } from '../errors.js';
import type { CheckpointRecord, ReceiptRecord, RuntimeRepository } from '../store.js';
import { type SqliteDb, sqliteCode } from './driver.js';
import { createSqliteLeaseRuntime } from './leases.js';
import { createSqliteValidations } from './validations.js';

const CHECKPOINT = 'lease_id, seq, jws, digest, at, cpu_seconds, peak_memory_bytes, received_at';
const RECEIPT = 'id, lease_id, booking_id, node, jws, digest, received_at';

/** A page size: 1 ≤ limit ≤ 1000, so one call never reads an unbounded table. */
function checkListLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new RangeError(`limit must be an integer from 1 to 1000, got ${limit}`);
}

/**
 * Checkpoints and receipts on one SQLite connection, with the lease runtime's records, logs and
 * outputs from leases.ts and validation records from validations.ts. Every method here is one
 * statement, so each is atomic on its own.
 * Statements are prepared on first use (before `migrate()` the tables do not exist).
 */
export function createSqliteRuntimeRepository(db: SqliteDb): RuntimeRepository {
  const cache = new Map<string, Database.Statement>();
  const q = (sql: string): Database.Statement => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  const row = <T>(r: unknown) => (r as T | undefined) ?? null;

  return {
    ...createSqliteLeaseRuntime(db),
    ...createSqliteValidations(db),
    async appendCheckpoint(c) {
      try {
        q(`INSERT INTO checkpoints (${CHECKPOINT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(
          c.lease_id,
          c.seq,
          c.jws,
          c.digest,
          c.at,
          c.cpu_seconds,
          c.peak_memory_bytes,
          c.received_at,
        );
      } catch (err) {
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY')
          throw new DuplicateError('checkpoint', `${c.lease_id}#${c.seq}`, { cause: err });
        throw err;
      }
    },
    async lastCheckpoint(leaseId) {
      return row<CheckpointRecord>(
        q(`SELECT ${CHECKPOINT} FROM checkpoints WHERE lease_id = ? ORDER BY seq DESC LIMIT 1`).get(leaseId),
      );
    },
    async listCheckpoints(leaseId, opts) {
      checkListLimit(opts.limit);
      // seq ≥ 0 (a CHECK), so -1 stands for "from the start" and one statement serves both shapes.
      return q(
        `SELECT ${CHECKPOINT} FROM checkpoints WHERE lease_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
      ).all(leaseId, opts.after ?? -1, opts.limit) as CheckpointRecord[];
    },

    async putReceipt(r) {
      try {
        q(`INSERT INTO receipts (${RECEIPT}) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
          r.id,
          r.lease_id,
          r.booking_id,
          r.node,
          r.jws,
          r.digest,
          r.received_at,
        );
      } catch (err) {
        // SQLite names the column: "UNIQUE constraint failed: receipts.lease_id".
        const code = sqliteCode(err);
        if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
          throw new DuplicateError('receipt', r.id, { cause: err });
        if (code === 'SQLITE_CONSTRAINT_UNIQUE' && /receipts\.lease_id/.test((err as Error).message))
          throw new DuplicateError('lease receipt', r.lease_id, { cause: err });
        throw err;
      }
    },
    async getReceipt(id) {
      return row<ReceiptRecord>(q(`SELECT ${RECEIPT} FROM receipts WHERE id = ?`).get(id));
    },
    async receiptForLease(leaseId) {
      return row<ReceiptRecord>(q(`SELECT ${RECEIPT} FROM receipts WHERE lease_id = ?`).get(leaseId));
    },
  };
}
