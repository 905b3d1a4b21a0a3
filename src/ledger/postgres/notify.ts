import type pg from 'pg';
import type { PgClient } from '../../storage/postgres/driver.js';

/**
 * Capacity changes through LISTEN/NOTIFY, so every replica hears every replica's bookings (and its
 * own, the same way). A writer calls `publish` inside its transaction: PostgreSQL delivers the
 * notification when, and only if, that transaction commits. One dedicated connection per store
 * LISTENs; it starts on the first subscription and ends with the store.
 */

export const CAPACITY_CHANNEL = 'computemd_capacity';

/** NOTIFY payloads must stay under 8000 bytes; ids are chunked well below that. */
const MAX_PAYLOAD = 7000;

/** Notifies `channel` of `offerIds` (a JSON array of ids per notification), inside `c`'s transaction. */
export async function publishCapacity(
  c: PgClient,
  channel: string,
  offerIds: readonly string[],
): Promise<void> {
  let chunk: string[] = [];
  let size = 2;
  const flush = async () => {
    if (chunk.length > 0) await c.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify(chunk)]);
    chunk = [];
    size = 2;
  };
  for (const id of offerIds) {
    const len = Buffer.byteLength(JSON.stringify(id)) + 1;
    if (size + len > MAX_PAYLOAD) await flush();
    chunk.push(id);
    size += len;
  }
  await flush();
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
