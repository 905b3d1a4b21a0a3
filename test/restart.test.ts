import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type NodeAgent, startNodeAgent } from '../src/agent/node.js';
import { loadConfig } from '../src/config/load.js';
import { createGateway, type Gateway } from '../src/gateway/compose.js';
import { systemClock } from '../src/util/clock.js';
import { type Json, TEST_CAPS, until } from './helpers/exec.js';

/**
 * A gateway restart in the middle of running work (issue 6): the node keeps running the job while
 * the gateway is away, keeps the checkpoints it could not send and sends them in order once the
 * gateway is back (re-registering when it is forgotten); the restarted gateway reconciles the
 * lease from what it hears and does not fail it over while its node has one heartbeat timeout to
 * come back. The lease completes with an unbroken, verified chain.
 */

const data = mkdtempSync(join(tmpdir(), 'computemd-restart-'));
const nodeData = mkdtempSync(join(tmpdir(), 'computemd-restart-node-'));
let gw: Gateway | null = null;
let agent: NodeAgent | null = null;
after(async () => {
  agent?.stop();
  await gw?.close();
  rmSync(data, { recursive: true, force: true });
  rmSync(nodeData, { recursive: true, force: true });
});

async function start(port: number): Promise<{ gw: Gateway; port: number; stop: () => void }> {
  const config = loadConfig(
    { data_dir: data },
    { COMPUTEMD_LOG_LEVEL: 'silent', COMPUTEMD_RATE_LIMIT: 'off' },
    tmpdir(),
  );
  config.agents.heartbeat_timeout_s = 5;
  const g = await createGateway(config, { clock: systemClock, background: false });
  await g.app.listen({ port, host: '127.0.0.1' });
  const addr = g.app.server.address();
  return { gw: g, port: typeof addr === 'object' && addr ? addr.port : port, stop: g.runtime.start(200) };
}

describe('a gateway restart while work runs', () => {
  it('the lease completes after the restart, its chain whole, without a failover', async () => {
    let s = await start(0);
    gw = s.gw;
    const base = `http://127.0.0.1:${s.port}`;
    const admin = readFileSync(join(data, 'admin.token'), 'utf8').trim();
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(base + path, {
        method,
        headers: {
          authorization: `Bearer ${admin}`,
          'idempotency-key': `k${Math.random()}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: r.status, body: (await r.json()) as Json };
    };
    agent = await startNodeAgent({
      gateway: base,
      token: admin,
      name: 'rs-1',
      dataDir: nodeData,
      pricePerHour: 36,
      heartbeatS: 1,
      capabilities: TEST_CAPS,
      announce: false,
      log: () => {},
    });
    assert.equal((await call('POST', '/accounts/pr_operator/credit', { amount_usd: 100 })).status, 201);
    const offer = await until('the node lists an offer', 10_000, async () => {
      return (await call('GET', '/nodes?provider=rs-1&min_available=1')).body.offers?.[0];
    });
    const b = await call('POST', '/book', {
      allocations: [{ offer_id: offer.id, nodes: 1, hours: 1 }],
      run: {
        command: ['sh', '-c', 'sleep 5; echo done > out.txt'],
        outputs: ['out.txt'],
        checkpoint: { interval_s: 1 },
      },
    });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    const lease = b.body.allocations[0].lease_id as string;
    await until(
      'running',
      10_000,
      async () => (await call('GET', `/leases/${lease}`)).body.state === 'running',
    );

    // Down for two seconds: checkpoints made meanwhile wait on the node.
    s.stop();
    await s.gw.close();
    gw = null;
    await new Promise((r) => setTimeout(r, 2000));
    s = await start(s.port);
    gw = s.gw;

    const l = await until('the lease ends', 30_000, async () => {
      const r = (await call('GET', `/leases/${lease}`)).body;
      return ['completed', 'failed', 'cancelled'].includes(r.state) ? r : null;
    });
    assert.equal(l.state, 'completed', JSON.stringify(l.history));
    assert.equal(l.replaced_by, null);
    const cps = (await call('GET', `/leases/${lease}/checkpoints?limit=1000`)).body.checkpoints as Json[];
    assert.deepEqual(
      cps.map((c) => c.seq),
      cps.map((_, i) => i),
    );
    assert.ok(cps.length >= 5, `${cps.length} checkpoints`);
    assert.equal((await call('GET', `/leases/${lease}/receipt`)).status, 200);
    await s.gw.ledger.service.settleDue();
    assert.deepEqual((await call('GET', '/ledger/verify')).body, { ok: true, violations: [] });
    s.stop();
  });
});
