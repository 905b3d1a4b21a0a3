import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { createGateway, type Gateway } from '../../src/gateway/compose.js';
import { postgresSuites } from '../../src/ledger/postgres/testing.js';
import { ManualClock } from '../../src/util/clock.js';

/** 2026-11-25T00:00:00Z: a fixed start so the seeded market is the same in every run. */
export const T0 = Date.UTC(2026, 10, 25);

export interface TestGateway {
  gw: Gateway;
  clock: ManualClock;
  dataDir: string;
  config: GatewayConfig;
}

/**
 * A whole gateway in-process on the shipped catalogs, with a hand-moved clock and no background
 * timers, so a test decides when the market refreshes. `edit` adjusts the resolved config.
 */
export async function startTestGateway(edit: (c: GatewayConfig) => void = () => {}): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'computemd-test-'));
  // Rate limits off: tests send thousands of requests from one address.
  const config = loadConfig(
    { data_dir: dataDir },
    { COMPUTEMD_LOG_LEVEL: 'silent', COMPUTEMD_RATE_LIMIT: 'off' },
    tmpdir(),
  );
  edit(config);
  const clock = new ManualClock(T0);
  const gw = await createGateway(config, { clock, background: false });
  return { gw, clock, dataDir, config };
}

/** A test gateway listening on a free loopback port, with its base URL and admin token. */
export interface ListeningGateway {
  t: TestGateway;
  base: string;
  admin: string;
  /** Closes the gateway and removes its data dir. */
  close(): Promise<void>;
}

export async function listenTestGateway(
  edit: (c: GatewayConfig) => void = () => {},
): Promise<ListeningGateway> {
  const t = await startTestGateway(edit);
  await t.gw.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = t.gw.app.server.address();
  if (!addr || typeof addr !== 'object') throw new Error('the test gateway is not listening on TCP');
  return {
    t,
    base: `http://127.0.0.1:${addr.port}`,
    admin: readFileSync(join(t.dataDir, 'admin.token'), 'utf8').trim(),
    close: async () => {
      await t.gw.close();
      rmSync(t.dataDir, { recursive: true, force: true });
    },
  };
}

/** One JSON call over real HTTP with a bearer token: status, headers and the parsed body. */
export async function httpCall(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
): Promise<{ status: number; headers: Headers; body: Record<string, any> }> {
  const r = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, headers: r.headers, body: (await r.json()) as Record<string, unknown> };
}

/**
 * Registers a suite twice: on PostgreSQL in a fresh schema (skipped without a server, failing
 * under COMPUTEMD_REQUIRE_POSTGRES=1; ledger/postgres/testing.ts), then on SQLite. `suite` gets the
 * backend's name and the config edit that selects it, and a cleanup to run after.
 */
export async function onBothBackends(
  title: string,
  suite: (
    backend: string,
    select: () => { apply: (c: GatewayConfig) => void; cleanup: () => Promise<void> },
  ) => void,
): Promise<void> {
  // PostgreSQL first: its reachability check must not wait behind a SQLite gateway starting up.
  await postgresSuites(`${title} on PostgreSQL`, (env) => {
    suite('PostgreSQL', () => {
      const schema = env.freshSchema();
      return {
        apply: (c) => {
          c.database_url = env.url;
          c.database_schema = schema;
        },
        cleanup: async () => {
          await env.admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        },
      };
    });
  });
  suite('SQLite', () => ({ apply: () => {}, cleanup: async () => {} }));
}
