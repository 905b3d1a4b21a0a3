import type pg from 'pg';

/**
 * Leadership of background duties among replicas: a session-level advisory lock held on a
 * dedicated connection. The lock lives as long as that connection, so a replica that dies (or
 * loses its connection) frees it for the next replica that asks, without any timeout to tune.
 */
export interface Leader {
  tryLead(name: string): Promise<boolean>;
  close(): Promise<void>;
}

export function createLeader(open: () => pg.Client, scope: string): Leader {
  let client: pg.Client | null = null;
  let connecting: Promise<pg.Client> | null = null;
  const held = new Set<string>();
  let closed = false;

  const connection = async (): Promise<pg.Client> => {
    if (client) return client;
    connecting ??= (async () => {
      const c = open();
      // A lost connection loses every lock it held; the next call reconnects and asks again.
      c.on('error', () => {
        if (client === c) client = null;
        held.clear();
      });
      await c.connect();
      client = c;
      return c;
    })().finally(() => {
      connecting = null;
    });
    return connecting;
  };

  return {
    async tryLead(name) {
      if (closed) return false;
      if (held.has(name) && client) return true;
      const c = await connection();
      const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
        `${scope}:${name}`,
      ]);
      const ok = r.rows[0]?.ok === true;
      if (ok) held.add(name);
      return ok;
    },
    async close() {
      closed = true;
      held.clear();
      const c = client ?? (connecting ? await connecting.catch(() => null) : null);
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
