import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Capabilities } from '../../src/agent/benchmark.js';
import { loadConfig } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { createGateway, type Gateway } from '../../src/gateway/compose.js';
import type { Offer } from '../../src/protocol/schemas/offer.js';
import { systemClock } from '../../src/util/clock.js';

/**
 * A gateway on the real clock for tests where work really runs (node agents, the sandbox): it
 * listens on loopback, and the runtime's pass is started by the test when it wants one.
 */

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
export type Json = Record<string, any>;

/** Capabilities handed to in-process agents so tests need not wait for the benchmark probes. */
export const TEST_CAPS: Capabilities = {
  measured_at: new Date().toISOString(),
  method: 'benchmark',
  cpu: { cores: 2, model: null, gflops_per_core: 1, memory_bandwidth_gbs: 1 },
  memory_gb: 4,
  gpus: [],
  notes: [],
};

export interface ExecGateway {
  gw: Gateway;
  base: string;
  admin: string;
  dataDir: string;
  call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Json }>;
  /** A provider principal's API key (it may register node agents). */
  providerKey(name: string): Promise<string>;
  /** A requester principal with credit: its id and API key. */
  requester(name: string, usd: number): Promise<{ id: string; key: string }>;
  /** The first offer of a provider with capacity. */
  offerOf(provider: string): Promise<Offer>;
  close(): Promise<void>;
}

export async function startExecGateway(edit: (c: GatewayConfig) => void = () => {}): Promise<ExecGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'computemd-exec-'));
  const config = loadConfig(
    { data_dir: dataDir },
    { COMPUTEMD_LOG_LEVEL: 'silent', COMPUTEMD_RATE_LIMIT: 'off' },
    tmpdir(),
  );
  edit(config);
  const gw = await createGateway(config, { clock: systemClock, background: false });
  await gw.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = gw.app.server.address();
  assert.ok(addr && typeof addr === 'object');
  const base = `http://127.0.0.1:${addr.port}`;
  const admin = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const r = await fetch(base + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'idempotency-key': `k${Math.random()}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : {}) as Json };
  };
  return {
    gw,
    base,
    admin,
    dataDir,
    call,
    async providerKey(name) {
      const p = await call('POST', '/principals', admin, { role: 'provider', name });
      assert.equal(p.status, 201, JSON.stringify(p.body));
      return p.body.api_key.key as string;
    },
    async requester(name, usd) {
      const p = await call('POST', '/principals', admin, { role: 'requester', name });
      assert.equal(p.status, 201, JSON.stringify(p.body));
      const id = p.body.principal.id as string;
      const c = await call('POST', `/accounts/${id}/credit`, admin, { amount_usd: usd });
      assert.equal(c.status, 201, JSON.stringify(c.body));
      return { id, key: p.body.api_key.key as string };
    },
    async offerOf(provider) {
      for (let i = 0; i < 100; i++) {
        // Settlement (not running by itself here) completes ended leases and frees their capacity.
        await gw.ledger.service.settleDue();
        const r = await call('GET', `/nodes?provider=${provider}&min_available=1`, admin);
        const o = (r.body.offers as Offer[] | undefined)?.[0];
        if (o) return o;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error(`no offer of ${provider}`);
    },
    async close() {
      await gw.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` every 50 ms until it returns a value, up to `ms`. */
export async function until<T>(
  what: string,
  ms: number,
  check: () => Promise<T | null | undefined | false>,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
