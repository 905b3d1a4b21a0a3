import type pg from 'pg';
import type { PgPool } from '../../storage/postgres/driver.js';

/**
 * Capacity changes through LISTEN/NOTIFY, so every replica hears every replica's bookings (and its
 * own, the same way). Writers hand the offers they changed to a `CapacityPublisher` after their
 * transaction committed; it sends them in batches, off the writers' commit path: a transaction that
 * ran NOTIFY holds a database-wide lock from its commit until the commit is flushed, which would
 * serialise every booking's commit. One dedicated connection per store LISTENs; it starts on the
 * first subscription and ends with the store.
 */

export const CAPACITY_CHANNEL = 'computemd_capacity';

/** NOTIFY payloads must stay under 8000 bytes; ids are chunked well below that. */
const MAX_PAYLOAD = 7000;

/** The offers as JSON arrays of ids, each under MAX_PAYLOAD bytes. */
export function capacityPayloads(offerIds: Iterable<string>): string[] {
  const out: string[] = [];
  let chunk: string[] = [];
  let size = 2;
  for (const id of offerIds) {
    const len = Buffer.byteLength(JSON.stringify(id)) + 1;
    if (size + len > MAX_PAYLOAD && chunk.length > 0) {
      out.push(JSON.stringify(chunk));
      chunk = [];
      size = 2;
    }
    chunk.push(id);
    size += len;
  }
  if (chunk.length > 0) out.push(JSON.stringify(chunk));
  return out;
}

export interface CapacityPublisher {
  /**
   * Announces `offerIds`, whose reservations a transaction that has committed changed. They are
   * sent together with every other offer added within `delayMs` (sooner once `maxIds` are waiting),
   * so listeners everywhere, this process's included (by the same NOTIFY), hear them that much later.
   */
  add(offerIds: Iterable<string>): void;
  /** Sends what is waiting now and waits for every send in flight. Later adds are dropped. */
  close(): Promise<void>;
}

export interface PublisherOptions {
  /** How long an offer waits for others to share its NOTIFY (default 20 ms). */
  delayMs?: number;
  /** Send at once when this many offers are waiting (default 1000). */
  maxIds?: number;
}

export function createCapacityPublisher(
  pool: PgPool,
  channel: string,
  opts: PublisherOptions = {},
): CapacityPublisher {
  const delayMs = opts.delayMs ?? 20;
  const maxIds = opts.maxIds ?? 1000;
  const pending = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  let closing: Promise<void> | null = null;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (pending.size === 0) return;
    const payloads = capacityPayloads(pending);
    pending.clear();
    // One statement (one transaction) for all of them; autocommit, so it is delivered at once.
    const sent = pool
      .query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, payloads])
      .then(
        () => undefined,
        (err: Error) => {
          // Listeners treat the stream as hints (reservations are always checked in the database);
          // a lost batch leaves a replica's view stale until its next event for those offers.
          if (!closed) process.emitWarning(`capacity NOTIFY failed: ${err.message}`);
        },
      )
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  };

  return {
    add(offerIds) {
      if (closed) return;
      for (const id of offerIds) pending.add(id);
      if (pending.size >= maxIds) flush();
      else if (!timer && pending.size > 0) timer = setTimeout(flush, delayMs);
    },
    close() {
      closing ??= (async () => {
        flush();
        closed = true;
        await Promise.all([...inFlight]);
      })();
      return closing;
    },
  };
}

export interface CapacityListener {
  subscribe(listener: (offerIds: string[]) => void): () => void;
  /** Resolves once LISTEN is in place (immediately when nobody subscribed). For tests and shutdown. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** After the LISTEN connection drops, wait this long before opening another. */
const RECONNECT_MS = 1000;

export function createCapacityListener(connect: () => pg.Client, channel: string): CapacityListener {
  const listeners = new Set<(offerIds: string[]) => void>();
  let client: pg.Client | null = null;
  let starting: Promise<void> = Promise.resolve();
  let retry: NodeJS.Timeout | null = null;
  let closed = false;

  const deliver = (msg: pg.Notification) => {
    if (msg.channel !== channel || msg.payload === undefined) return;
    let ids: unknown;
    try {
      ids = JSON.parse(msg.payload);
    } catch {
      return; // not ours: anyone may NOTIFY this channel
    }
    if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) return;
    for (const l of [...listeners]) {
      try {
        l(ids);
      } catch (err) {
        // Listeners refresh caches; one failing must not starve the others or kill the connection.
        process.emitWarning(`capacity listener threw: ${(err as Error).message}`);
      }
    }
  };

  const start = () => {
    if (client || closed) return;
    const c = connect();
    client = c;
    const lost = () => {
      if (client !== c) return;
      client = null;
      c.end().catch(() => {});
      // Bookings committed while disconnected are not heard; listeners treat the stream as hints
      // (the reservation itself is always checked in the database), so reconnecting is enough.
      if (!closed && listeners.size > 0) retry = setTimeout(start, RECONNECT_MS).unref() as NodeJS.Timeout;
    };
    c.on('notification', deliver);
    c.on('error', lost);
    c.on('end', lost);
    // The channel is quoted: it may carry a schema name, and LISTEN takes an identifier.
    starting = c
      .connect()
      .then(() => c.query(`LISTEN "${channel}"`))
      .then(
        () => undefined,
        () => lost(),
      );
  };

  return {
    subscribe(listener) {
      if (closed) throw new Error('the store is closed');
      // Wrapped so the same function subscribed twice is two subscriptions, each removable once.
      const entry = (ids: string[]) => listener(ids);
      listeners.add(entry);
      start();
      return () => {
        listeners.delete(entry);
      };
    },
    ready: () => starting,
    async close() {
      closed = true;
      listeners.clear();
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      if (c) {
        await starting;
        await c.end().catch(() => {});
      }
    },
  };
}
