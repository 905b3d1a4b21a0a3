import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * One better-sqlite3 connection with the settings every SQLite store uses: WAL (readers never wait
 * for the writer), a busy timeout (a second process waits for the write lock instead of failing at
 * once), foreign keys on (SQLite leaves them off by default), and a database file readable only by
 * its owner, since it holds requesters' plans.
 */

export type SqliteDb = Database.Database;

export const MEMORY_PATH = ':memory:';

export interface SqliteDriverOptions {
  /** A file path, or `:memory:` for a private in-memory database. */
  path: string;
  /** How long a statement waits for another connection's lock (default 5000 ms). */
  busyTimeoutMs?: number;
}

export function openSqliteDb(opts: SqliteDriverOptions): SqliteDb {
  const isFile = opts.path !== MEMORY_PATH;
  if (isFile) {
    mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
    // Create the file 0600 before SQLite does (it would use 0644 less the umask); SQLite gives the
    // -wal and -shm files the main file's mode. chmod also tightens a file an older start left open.
    closeSync(openSync(opts.path, 'a', 0o600));
    chmodSync(opts.path, 0o600);
  }
  const db = new Database(opts.path);
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(opts.busyTimeoutMs ?? 5000))}`);
    if (isFile) {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal')
        throw new Error(`SQLite refused WAL mode for ${opts.path} (journal_mode is ${mode})`);
      // NORMAL is durable across application crashes in WAL mode; only an OS crash can lose the last commits.
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** better-sqlite3's error code for a violated constraint, e.g. `SQLITE_CONSTRAINT_PRIMARYKEY`. */
export function sqliteCode(err: unknown): string | null {
  return err instanceof Database.SqliteError ? err.code : null;
}
