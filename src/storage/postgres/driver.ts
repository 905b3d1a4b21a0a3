import pg from 'pg';

/**
 * The connection pool every PostgreSQL store uses. Settings live here so the plans repository, the
 * ledger and the LISTEN connection all see the same types and the same schema.
 */

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

const INT8_OID = 20;

/**
 * BIGINT (money, epoch ms, counts) as a JS number. pg returns int8 as a string by default because
 * it may exceed 2^53; every value this code stores is a safe integer, so a larger one means the
 * data was changed behind our back, and it is refused rather than silently rounded.
 */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new RangeError(`database returned ${text}, which is not a safe integer`);
  return n;
}

/** Per-pool parsers, so this module never changes pg's process-wide defaults for other code. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** Schema names are spliced into SQL and the `options` parameter, so only plain identifiers pass. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema))
    throw new RangeError(
      `schema must be a lower-case identifier (letters, digits, _; at most 63), got ${JSON.stringify(schema)}`,
    );
}

export interface PgDriverOptions {
  /** `postgres://user@host:port/db`; parameters in it (e.g. `application_name`) win over ours. */
  url: string;
  /** Tables live in this schema: it goes first on every connection's `search_path`. */
  schema?: string;
  /** Most connections open at once (default 16): one per transaction in flight. */
  poolSize?: number;
}

/** The client settings shared by the pool and the dedicated LISTEN connection. */
export function clientConfig(opts: PgDriverOptions): pg.ClientConfig {
  if (opts.schema !== undefined) {
    assertSchemaName(opts.schema);
    // pg lets the URL's parameters override ours; an `options` there would silently drop the
    // search_path and put the tables in another schema.
    if (/[?&]options=/.test(opts.url))
      throw new RangeError('give either a schema or an `options` parameter in the database URL, not both');
  }
  return {
    connectionString: opts.url,
    application_name: 'computemd',
    types,
    // Set at connection start, so no pooled connection can run a query before its search_path is
    // right (an on-connect `SET` would race the first query).
    ...(opts.schema !== undefined ? { options: `-c search_path=${opts.schema}` } : {}),
    connectionTimeoutMillis: 10_000,
  };
}

export function createPool(opts: PgDriverOptions): PgPool {
  const size = opts.poolSize ?? 16;
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`poolSize must be a positive integer, got ${size}`);
  const pool = new pg.Pool({ ...clientConfig(opts), max: size, idleTimeoutMillis: 30_000 });
  // An idle connection that the server drops emits 'error' on the pool; without a handler Node
  // would crash the process. The pool has already discarded that connection, and the next
  // checkout opens a fresh one, so there is nothing more to do here.
  pool.on('error', () => {});
  return pool;
}

/** A new, unpooled connection with the pool's settings (for LISTEN, which must keep its session). */
export function createClient(opts: PgDriverOptions): pg.Client {
  return new pg.Client(clientConfig(opts));
}

/** PostgreSQL's SQLSTATE of a driver error (`23505` unique violation …), or null. */
export function pgCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

/** The constraint a violation names (`plans_pkey` …), or null. */
export function pgConstraint(err: unknown): string | null {
  const c = (err as { constraint?: unknown } | null)?.constraint;
  return typeof c === 'string' ? c : null;
}

export const UNIQUE_VIOLATION = '23505';
export const SERIALIZATION_FAILURE = '40001';
export const DEADLOCK_DETECTED = '40P01';
