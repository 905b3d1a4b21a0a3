import { DuplicateError } from '../errors.js';
import type { CheckpointRecord, ReceiptRecord, RuntimeRepository } from '../store.js';
import { type PgPool, pgCode, pgConstraint, UNIQUE_VIOLATION } from './driver.js';
import { createPostgresLeaseRuntime } from './leases.js';
import { createPostgresValidations } from './validations.js';

const CHECKPOINT = 'lease_id, seq, jws, digest, at, cpu_seconds, peak_memory_bytes, received_at';
const RECEIPT = 'id, lease_id, booking_id, node, jws, digest, received_at';

/** A page size: 1 ≤ limit ≤ 1000, so one call never reads an unbounded table. */
function checkListLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new RangeError(`limit must be an integer from 1 to 1000, got ${limit}`);
}

/**
 * Checkpoints and receipts on a pool, with the lease runtime's records, logs and outputs from
 * leases.ts and validation records from validations.ts. Every method here is one statement, so
 * each is atomic on its own.
 * `guard` rejects once the store is closed. Unique violations are told apart by constraint name;
 * the names are PostgreSQL's defaults for the columns in migration 6 (checkpoints_pkey,
 * receipts_pkey, receipts_lease_id_key). BIGINT reads back as a number (driver.ts), DOUBLE
 * PRECISION as pg's float.
 */
export function createPostgresRuntimeRepository(pool: PgPool, guard: () => void): RuntimeRepository {
  const one = async <T>(sql: string, args: unknown[]): Promise<T | null> => {
    guard();
    const { rows } = await pool.query(sql, args);
    return (rows[0] as T | undefined) ?? null;
  };

  return {
    ...createPostgresLeaseRuntime(pool, guard),
    ...createPostgresValidations(pool, guard),
    async appendCheckpoint(c) {
      guard();
      try {
        await pool.query(`INSERT INTO checkpoints (${CHECKPOINT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
          c.lease_id,
          c.seq,
          c.jws,
          c.digest,
          c.at,
          c.cpu_seconds,
          c.peak_memory_bytes,
          c.received_at,
        ]);
      } catch (err) {
        if (pgCode(err) === UNIQUE_VIOLATION && pgConstraint(err) === 'checkpoints_pkey')
          throw new DuplicateError('checkpoint', `${c.lease_id}#${c.seq}`, { cause: err });
        throw err;
      }
    },
    async lastCheckpoint(leaseId) {
      return one<CheckpointRecord>(
        `SELECT ${CHECKPOINT} FROM checkpoints WHERE lease_id = $1 ORDER BY seq DESC LIMIT 1`,
        [leaseId],
      );
    },
    async listCheckpoints(leaseId, opts) {
      guard();
      checkListLimit(opts.limit);
      // seq ≥ 0 (a CHECK), so -1 stands for "from the start" and one statement serves both shapes.
      const { rows } = await pool.query<CheckpointRecord>(
        `SELECT ${CHECKPOINT} FROM checkpoints WHERE lease_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
        [leaseId, opts.after ?? -1, opts.limit],
      );
      return rows;
    },

    async putReceipt(r) {
      guard();
      try {
        await pool.query(`INSERT INTO receipts (${RECEIPT}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
          r.id,
          r.lease_id,
          r.booking_id,
          r.node,
          r.jws,
          r.digest,
          r.received_at,
        ]);
      } catch (err) {
        if (pgCode(err) === UNIQUE_VIOLATION && pgConstraint(err) === 'receipts_pkey')
          throw new DuplicateError('receipt', r.id, { cause: err });
        if (pgCode(err) === UNIQUE_VIOLATION && pgConstraint(err) === 'receipts_lease_id_key')
          throw new DuplicateError('lease receipt', r.lease_id, { cause: err });
        throw err;
      }
    },
    async getReceipt(id) {
      return one<ReceiptRecord>(`SELECT ${RECEIPT} FROM receipts WHERE id = $1`, [id]);
    },
    async receiptForLease(leaseId) {
      return one<ReceiptRecord>(`SELECT ${RECEIPT} FROM receipts WHERE lease_id = $1`, [leaseId]);
    },
  };
}
