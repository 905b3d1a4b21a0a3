import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Capabilities } from '../src/agent/benchmark.js';
import { type NodeAgent, startNodeAgent } from '../src/agent/node.js';
import { loadConfig } from '../src/config/load.js';
import { createGateway, type Gateway } from '../src/gateway/compose.js';
import { createDidResolver } from '../src/identity/jws.js';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { verifyCheckpointChain, verifyReceipt } from '../src/runtime/proof.js';
import { systemClock } from '../src/util/clock.js';

/**
 * Booked work that really runs (issue 6): a gateway on the real clock, a node agent in the same
 * process (its own key, its own provider), a booking that carries a run. The agent picks the lease
 * up, runs it in the sandbox (bubblewrap + cgroup), sends signed checkpoints and a receipt; the
 * gateway verifies them, the lease completes, settlement pays the node for the time it ran.
 */

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;
const CAPS: Capabilities = {
  measured_at: new Date().toISOString(),
  method: 'benchmark',
  cpu: { cores: 2, model: null, gflops_per_core: 1, memory_bandwidth_gbs: 1 },
  memory_gb: 4,
  gpus: [],
  notes: [],
};

let gw: Gateway;
let base: string;
let admin: string;
let agent: NodeAgent;
const data = mkdtempSync(join(tmpdir(), 'computemd-exec-'));
const nodeData = mkdtempSync(join(tmpdir(), 'computemd-exec-node-'));

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
  return { status: r.status, body: (await r.json()) as Json };
};

before(async () => {
  const config = loadConfig(
    { data_dir: data },
    { COMPUTEMD_LOG_LEVEL: 'silent', COMPUTEMD_RATE_LIMIT: 'off' },
    tmpdir(),
  );
  gw = await createGateway(config, { clock: systemClock, background: false });
  await gw.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = gw.app.server.address();
  assert.ok(addr && typeof addr === 'object');
  base = `http://127.0.0.1:${addr.port}`;
  admin = readFileSync(join(data, 'admin.token'), 'utf8').trim();
  const p = await call('POST', '/principals', admin, { role: 'provider', name: 'exec' });
  agent = await startNodeAgent({
    gateway: base,
    token: p.body.api_key.key,
    name: 'exec-1',
    dataDir: nodeData,
    pricePerHour: 36, // a cent a second, so a few seconds of work earn something visible
    heartbeatS: 1,
    capabilities: CAPS,
    announce: false,
    log: () => {},
  });
});
after(async () => {
  agent?.stop();
  await gw?.close();
  rmSync(data, { recursive: true, force: true });
  rmSync(nodeData, { recursive: true, force: true });
});

describe('a booked run on a node agent', () => {
  it('runs in the sandbox, checkpoints, returns a verifiable receipt, and the node is paid for what it proved', async () => {
    assert.equal(
      (await call('POST', '/accounts/pr_operator/credit', admin, { amount_usd: 100 })).status,
      201,
    );
    const offer = (
      (await call('GET', '/nodes?provider=exec-1&min_available=1', admin)).body.offers as Offer[]
    )[0] as Offer;
    assert.ok(offer, 'the agent lists an offer');
    const b = await call('POST', '/book', admin, {
      allocations: [{ offer_id: offer.id, nodes: 1, hours: 1 }],
      payment: { method: 'credits', stream: true },
      run: {
        command: ['sh', '-c', 'echo hello > out.txt; sleep 2'],
        outputs: ['out.txt'],
        checkpoint: { interval_s: 1 },
        timeout_s: 60,
      },
    });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    const leaseId = b.body.allocations[0].lease_id as string;

    let receipt: Json | null = null;
    for (let i = 0; i < 300 && !receipt; i++) {
      const r = await call('GET', `/leases/${leaseId}/receipt`, admin);
      if (r.status === 200) receipt = r.body;
      else await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(receipt, 'a receipt arrived');

    // Offline: the chain and the receipt verify with nothing but the node's did:key.
    const cps = (await call('GET', `/leases/${leaseId}/checkpoints?limit=1000`, admin)).body;
    const chain = cps.checkpoints.map((c: Json) => c.jws as string);
    assert.ok(chain.length >= 2, `${chain.length} checkpoints`);
    const resolve = createDidResolver();
    await verifyCheckpointChain(chain, resolve, { lease_id: leaseId, node: agent.did });
    const r = await verifyReceipt(receipt.jws, resolve, {
      node: agent.did,
      lease_id: leaseId,
      checkpoints: chain,
      outputs: [{ name: 'out.txt', sha256: createHash('sha256').update('hello\n').digest('hex') }],
    });
    assert.equal(r.exit_status.code, 0);
    assert.ok(r.usage.wall_s >= 1);

    // The lease completed; settlement pays the node up to the end and releases the rest.
    const lease = (await call('GET', `/bookings/${b.body.booking_id}`, admin)).body.allocations[0];
    assert.equal(lease.state, 'running');
    assert.ok(lease.ended_at, 'its end is recorded');
    await gw.ledger.service.settleDue();
    assert.equal(
      (await call('GET', `/bookings/${b.body.booking_id}`, admin)).body.allocations[0].state,
      'completed',
    );
    const done = (await call('GET', `/bookings/${b.body.booking_id}`, admin)).body;
    assert.equal(done.status, 'completed');
    assert.ok(done.settled_usd > 0 && done.settled_usd < 1, `settled ${done.settled_usd}`);
    assert.equal(done.held_usd, 0);
    assert.deepEqual((await call('GET', '/ledger/verify', admin)).body, { ok: true, violations: [] });
  });
});
