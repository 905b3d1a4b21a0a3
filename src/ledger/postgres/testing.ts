import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import pg from 'pg';
import { createPool, type PgPool } from '../../storage/postgres/driver.js';
import { openPostgresStore, type PostgresStoreOptions } from '../../storage/postgres/index.js';
import type { Store } from '../../storage/store.js';

/**
 * Test harness for the PostgreSQL store (not a test file itself). Needs a server:
 * COMPUTEMD_TEST_DATABASE_URL, default the local trust-auth one. Without one a test file is skipped
 * with the reason, unless COMPUTEMD_REQUIRE_POSTGRES=1 (CI), where that is a failure: a backend
 * never silently passes. Every store lives in a fresh schema, dropped when the store closes.
 */

export const TEST_URL = process.env.COMPUTEMD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REQUIRED = process.env.COMPUTEMD_REQUIRE_POSTGRES === '1';

export interface PgTestEnv {
  url: string;
  /** A pool without a search_path, for checks across schemas. Ended after the file's tests. */
  admin: PgPool;
  freshSchema(): string;
  /** A store in `schema` (default a fresh one); closing it also drops the schema. */
  open(over?: Partial<PostgresStoreOptions>, schema?: string): Store;
  /** Runs raw SQL in the schema of a store from `open`, on a connection of its own. */
  rawSql(store: Store, sql: string): Promise<void>;
}

/**
 * Registers `register`'s suites when PostgreSQL answers; otherwise one test that is skipped (or,
 * with COMPUTEMD_REQUIRE_POSTGRES=1, fails) saying why. Call it with top-level await.
 */
export async function postgresSuites(title: string, register: (env: PgTestEnv) => void): Promise<void> {
  const why = await unreachable(TEST_URL);
  if (why === null) {
    register(environment());
    return;
  }
  const message = `PostgreSQL is not reachable at ${shown(TEST_URL)} (${why})`;
  if (REQUIRED)
    it(`${title}: PostgreSQL is reachable (COMPUTEMD_REQUIRE_POSTGRES=1)`, () => {
      assert.fail(`${message}. Start it, or point COMPUTEMD_TEST_DATABASE_URL at one.`);
    });
  else it(title, { skip: `${message}; set COMPUTEMD_REQUIRE_POSTGRES=1 to fail instead` }, () => {});
}

function environment(): PgTestEnv {
  const admin = createPool({ url: TEST_URL, poolSize: 4 });
  after(() => admin.end());
  const schemaOf = new WeakMap<Store, string>();
  const freshSchema = () => `cmtest_${randomBytes(6).toString('hex')}`;
  return {
    url: TEST_URL,
    admin,
    freshSchema,
    open(over = {}, schema = freshSchema()) {
      const store = openPostgresStore({ url: TEST_URL, schema, ...over });
      const wrapped: Store = {
        ...store,
        async close() {
          await store.close();
          await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        },
      };
      schemaOf.set(wrapped, schema);
      return wrapped;
    },
    async rawSql(store, sql) {
      const schema = schemaOf.get(store);
      if (!schema) throw new Error('not a store opened by this harness');
      const c = await admin.connect();
      try {
        await c.query('BEGIN');
        await c.query(`SET LOCAL search_path TO ${schema}`);
        await c.query(sql);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    },
  };
}

/** Why PostgreSQL cannot be used, or null when it can. */
async function unreachable(url: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 15_000 }); // generous: a busy test process can starve the handshake
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (err) {
    // A refused connection to a host with two addresses is an AggregateError with no message.
    return (err as Error).message || String((err as { code?: unknown }).code ?? err);
  } finally {
    await c.end().catch(() => {});
  }
}

/** The URL without its password, for messages. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparseable URL)';
  }
}
