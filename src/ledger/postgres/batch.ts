import { type PgPool, pgCode } from '../../storage/postgres/driver.js';
import { byCodeUnit } from './postings.js';
import { retrying } from './tx.js';

/**
 * Group commit for createBooking. The bookings asked for in one turn of the event loop go to the
 * database together, as one call of `computemd_create_bookings` (book-function.ts): one round trip,
 * one transaction and one commit for all of them. The hot rows every booking of a principal changes
 * (its requester and escrow accounts) are locked once per batch, where alone each booking waited for
 * the one before it to commit. Each booking still runs in its own sub-block, so a sold-out or
 * unfunded one undoes only itself; nothing resolves before the COMMIT.
 *
 * A batch that fails as a whole (a duplicate id, two requests with one idempotency key, a
 * deadlock, an unsafe balance: any error the server reports, after which nothing was committed) is
 * run again booking by booking, each with the single call's retries, so every booking gets exactly
 * the outcome or error it would have got alone. An error without a SQLSTATE (the connection was
 * lost) may have come after the COMMIT, so it is not retried: every booking of the batch gets it.
 */

/** What a call answers: the createBooking outcome, less the booking of a created one. */
export type Outcome = { kind: string } & Record<string, unknown>;

export interface BookingCall {
  /** The function's argument (bookings.ts), JSON text. */
  arg: string;
  /** Offers it reserves, with the capacity its row is created with if missing. */
  offers: readonly { id: string; capacity: number }[];
  /** Accounts its hold moves, with the kind and owner one is created with if missing. */
  accounts: readonly { id: string; kind: string; owner: string }[];
}

/** A same-key request that committed first makes our idempotency insert fail: retry, then replay. */
const RETRY_ON = { retryOnUnique: ['idempotency_pkey'] } as const;

/** Prepared once per connection: each call is then a Bind and an Execute. */
const ONE = { name: 'computemd_create_booking', text: 'SELECT computemd_create_booking($1::json) AS r' };
const MANY = {
  name: 'computemd_create_bookings',
  text: 'SELECT computemd_create_bookings($1::json, $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[]) AS r',
};

/** Most bookings in one batch; more in one turn make several batches. */
const MAX_BATCH = 64;

/**
 * Batches in flight at once. One: while it runs, the next batch gathers. A second would wait at
 * the first one's locks whenever they share a principal (its requester and escrow rows), and
 * splitting the queue in two halves the batches: measured with one principal, one in flight gives
 * ~1.5× the rate at ~0.6× the server CPU per booking. The price is that one process's bookings
 * pass through one batch at a time (~0.35 ms of server CPU each; BENCHMARKS.md, "Bookings").
 */
const MAX_IN_FLIGHT = 1;

export interface BookingBatcher {
  /** Resolves with the call's outcome once committed (or rolled back); rejects with the server's error. */
  submit(call: BookingCall): Promise<Outcome>;
  /** Resolves once every booking submitted so far has its answer (the store waits before closing). */
  idle(): Promise<void>;
}

interface Waiting {
  call: BookingCall;
  resolve: (o: Outcome) => void;
  reject: (err: unknown) => void;
}

export function createBookingBatcher(pool: PgPool): BookingBatcher {
  const queue: Waiting[] = [];

  const one = (call: BookingCall) =>
    retrying(async () => {
      const { rows } = await pool.query<{ r: Outcome }>({ ...ONE, values: [call.arg] });
      return (rows[0] as { r: Outcome }).r;
    }, RETRY_ON);

  const alone = (w: Waiting) => one(w.call).then(w.resolve, w.reject);

  const many = async (batch: Waiting[]) => {
    // The first booking's figure creates a missing row, as it would alone; each booking's UPDATE
    // checks against its own figure.
    const offers = new Map<string, number>();
    const accounts = new Map<string, { kind: string; owner: string }>();
    for (const w of batch) {
      for (const o of w.call.offers) if (!offers.has(o.id)) offers.set(o.id, o.capacity);
      for (const a of w.call.accounts) accounts.set(a.id, a);
    }
    const offerIds = [...offers.keys()].sort(byCodeUnit);
    const accountIds = [...accounts.keys()].sort(byCodeUnit);
    let outcomes: Outcome[];
    try {
      const { rows } = await pool.query<{ r: Outcome[] }>({
        ...MANY,
        values: [
          `[${batch.map((w) => w.call.arg).join(',')}]`,
          offerIds,
          offerIds.map((id) => offers.get(id)),
          accountIds,
          accountIds.map((id) => accounts.get(id)?.kind),
          accountIds.map((id) => accounts.get(id)?.owner),
        ],
      });
      outcomes = (rows[0] as { r: Outcome[] }).r;
    } catch (err) {
      if (pgCode(err) === null) for (const w of batch) w.reject(err);
      else await Promise.all(batch.map(alone));
      return;
    }
    for (const [i, w] of batch.entries()) w.resolve(outcomes[i] as Outcome);
  };

  let inFlight = 0;
  let scheduled = false;
  const idlers: (() => void)[] = [];
  const schedule = () => {
    if (scheduled || queue.length === 0 || inFlight >= MAX_IN_FLIGHT) return;
    scheduled = true;
    setImmediate(run);
  };
  const run = () => {
    scheduled = false;
    while (queue.length > 0 && inFlight < MAX_IN_FLIGHT) {
      const batch = queue.splice(0, MAX_BATCH);
      inFlight++;
      const done = batch.length === 1 ? alone(batch[0] as Waiting) : many(batch);
      void done.finally(() => {
        inFlight--;
        schedule();
        if (inFlight === 0 && queue.length === 0) for (const wake of idlers.splice(0)) wake();
      });
    }
  };

  return {
    submit(call) {
      return new Promise<Outcome>((resolve, reject) => {
        queue.push({ call, resolve, reject });
        schedule();
      });
    },
    idle() {
      if (inFlight === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idlers.push(resolve));
    },
  };
}

/**
 * Reads asked for in one turn of the event loop as one query: `many` answers every key of a batch
 * (in order; it is only called with two or more), `one` a key alone. Should `many` fail, each key
 * is asked alone, so an error belongs to the read that caused it.
 */
export function turnBatched<K, V>(
  one: (key: K) => Promise<V>,
  many: (keys: K[]) => Promise<V[]>,
): (key: K) => Promise<V> {
  let queue: { key: K; resolve: (v: V) => void; reject: (err: unknown) => void }[] = [];
  const run = () => {
    const batch = queue;
    queue = [];
    for (let i = 0; i < batch.length; i += MAX_BATCH) {
      const part = batch.slice(i, i + MAX_BATCH);
      const alone = (w: (typeof part)[number]) => one(w.key).then(w.resolve, w.reject);
      if (part.length === 1) void alone(part[0] as (typeof part)[number]);
      else
        many(part.map((w) => w.key)).then(
          (values) => {
            for (const [j, w] of part.entries()) w.resolve(values[j] as V);
          },
          () => {
            for (const w of part) void alone(w);
          },
        );
    }
  };
  return (key) =>
    new Promise<V>((resolve, reject) => {
      if (queue.length === 0) setImmediate(run);
      queue.push({ key, resolve, reject });
    });
}
