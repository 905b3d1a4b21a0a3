import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEADLOCK_DETECTED,
  type PgClient,
  type PgPool,
  pgCode,
  pgConstraint,
  SERIALIZATION_FAILURE,
  UNIQUE_VIOLATION,
} from '../../storage/postgres/driver.js';

/**
 * One ledger method = one database transaction on one pooled connection (BEGIN … COMMIT), so
 * concurrent calls each get their own connection and never see each other's half-done work.
 */

/** Returned by a transaction body for an expected negative outcome: roll back, then answer `value`. */
export class Rollback<T> {
  constructor(readonly value: T) {}
}

/** Deadlocks and serialization failures are the server telling us to try again; a few times is plenty. */
const MAX_CONFLICT_RETRIES = 5;

export interface TxOptions {
  /**
   * Unique constraints whose violation means a concurrent request with the same key committed
   * first (the idempotency key, a rail's reference). The transaction is retried once: the retry
   * sees the committed row and replays it. A second violation is a real error.
   */
  retryOnUnique?: readonly string[];
}

export async function inTransaction<T>(
  pool: PgPool,
  body: (c: PgClient) => Promise<T | Rollback<T>>,
  opts: TxOptions = {},
): Promise<T> {
  return retrying(async () => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const out = await body(client);
      if (out instanceof Rollback) {
        await client.query('ROLLBACK');
        return out.value;
      }
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw err;
    } finally {
      // A connection whose ROLLBACK failed is in an unknown state: destroy it rather than pool it.
      client.release(broken);
    }
  }, opts);
}

/**
 * Runs `attempt` (one whole transaction: a BEGIN … COMMIT, or a single statement in autocommit)
 * again after a deadlock or serialization failure (a few times, with jittered backoff) and once
 * after a violation of one of `opts.retryOnUnique`. Any other error is thrown.
 */
export async function retrying<T>(attempt: () => Promise<T>, opts: TxOptions = {}): Promise<T> {
  let conflicts = 0;
  let uniqueRetried = false;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      const code = pgCode(err);
      if (
        (code === DEADLOCK_DETECTED || code === SERIALIZATION_FAILURE) &&
        conflicts < MAX_CONFLICT_RETRIES
      ) {
        conflicts++;
        // Jittered backoff so the two sides of a deadlock do not collide again in lockstep.
        await sleep(Math.random() * 5 * conflicts);
        continue;
      }
      const constraint = pgConstraint(err);
      if (
        code === UNIQUE_VIOLATION &&
        !uniqueRetried &&
        constraint !== null &&
        opts.retryOnUnique?.includes(constraint)
      ) {
        uniqueRetried = true;
        continue;
      }
      throw err;
    }
  }
}

/** Runs `sql`, turning a violation of `constraint` into `make()` (a DuplicateError, typically). */
export async function queryUnique(
  c: PgClient,
  sql: string,
  params: unknown[],
  constraint: string,
  make: (cause: unknown) => Error,
): Promise<void> {
  try {
    await c.query(sql, params);
  } catch (err) {
    if (pgCode(err) === UNIQUE_VIOLATION && pgConstraint(err) === constraint) throw make(err);
    throw err;
  }
}
