import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NodeAgent, startNodeAgent } from '../src/agent/node.js';
import { loadKeyFile } from '../src/identity/gateway-key.js';
import { checkpointDigest, signCheckpoint, signReceipt } from '../src/runtime/proof.js';
import { type ExecGateway, type Json, startExecGateway, TEST_CAPS, until } from './helpers/exec.js';

/**
 * Result validation (issue 6, part 7) with real node agents: the same work on two distinct
 * providers, results compared by digest. When they agree both are paid; when a node reports a
 * wrong result, a referee the requester trusts decides, the node that disagreed is not paid, its
 * reliability drops, and the dispute is kept (`GET /disputes`).
 */

let g: ExecGateway;
let stopRuntime = () => {};
let alice: { id: string; key: string };
const agents: NodeAgent[] = [];
const dirs: string[] = [];
const RUN = {
  command: ['sh', '-c', 'printf 42 > out.txt'],
  outputs: ['out.txt'],
  checkpoint: { interval_s: 1 },
};

async function agent(name: string, live = true): Promise<{ key: string; dir: string }> {
  const key = await g.providerKey(name);
  const dir = mkdtempSync(join(tmpdir(), `computemd-vd-${name}-`));
  dirs.push(dir);
  const a = await startNodeAgent({
    gateway: g.base,
    token: key,
    name,
    dataDir: dir,
    pricePerHour: 36,
    heartbeatS: 1,
    capabilities: TEST_CAPS,
    announce: false,
    log: () => {},
  });
  if (live) agents.push(a);
  else a.stop(); // registered; the test plays this node by hand
  return { key, dir };
}

before(async () => {
  g = await startExecGateway();
  stopRuntime = g.gw.runtime.start(200);
  alice = await g.requester('alice', 1000);
});
after(async () => {
  stopRuntime();
  for (const a of agents) a.stop();
  await g?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const leaseEnd = (id: string) =>
  until(`lease ${id} to end`, 30_000, async () => {
    const l = (await g.call('GET', `/leases/${id}`, alice.key)).body;
    return ['completed', 'failed', 'cancelled'].includes(l.state) ? l : null;
  });

describe('result validation', () => {
  it('two honest nodes agree: both complete and are paid, and no dispute is kept', async () => {
    await agent('vd-a');
    await agent('vd-b');
    const offer = await g.offerOf('vd-a');
    const b = await g.call('POST', '/book', alice.key, {
      allocations: [{ offer_id: offer.id, nodes: 1, hours: 0.1 }],
      run: RUN,
      validation: { replicas: 2 },
    });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    const primary = await leaseEnd(b.body.allocations[0].lease_id);
    assert.equal(primary.state, 'completed', JSON.stringify(primary.history));
    assert.match(primary.history.at(-1).reason, /result validation: agreed/);
    const replicas = (await g.call('GET', '/leases?state=completed', alice.key)).body.leases.filter(
      (l: Json) => l.provider === 'vd-b',
    );
    assert.equal(replicas.length, 1, 'one replica ran on the other node');
    assert.deepEqual((await g.call('GET', '/disputes', alice.key)).body.disputes, []);
  });

  it('a node that reports a wrong result loses to the referee: unpaid, less reliable, on record', async () => {
    const liar = await agent('vd-liar', false);
    await agent('vd-referee');
    const offer = await g.offerOf('vd-liar');
    const b = await g.call('POST', '/book', alice.key, {
      allocations: [{ offer_id: offer.id, nodes: 1, hours: 0.1 }],
      payment: { method: 'credits' },
      run: RUN,
      validation: { replicas: 2, referee: 'vd-referee' },
    });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    const lease = b.body.allocations[0].lease_id as string;
    // The liar takes the lease and reports "41", consistently: its receipt matches what it uploaded.
    const work = await g.call('GET', '/agents/vd-liar/leases?wait=5', liar.key);
    assert.deepEqual(
      work.body.leases.map((l: Json) => l.lease_id),
      [lease],
    );
    const me = loadKeyFile(join(liar.dir, 'node.key'));
    const now = Math.floor(Date.now() / 1000);
    const cp = signCheckpoint(
      {
        v: 1,
        lease_id: lease,
        seq: 0,
        at: now,
        cpu_seconds: 0,
        peak_memory_bytes: 0,
        outputs_digest: null,
        prev: null,
        node: me.did,
      },
      me,
    );
    assert.equal(
      (await g.call('POST', `/leases/${lease}/checkpoints`, liar.key, { checkpoint: cp })).status,
      201,
    );
    const put = await fetch(`${g.base}/leases/${lease}/outputs/out.txt`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${liar.key}`, 'content-type': 'application/octet-stream' },
      body: '41',
    });
    assert.equal(put.status, 201);
    const receipt = signReceipt(
      {
        v: 1,
        lease_id: lease,
        booking_id: b.body.booking_id,
        manifest_digest: null,
        outputs: [{ name: 'out.txt', sha256: createHash('sha256').update('41').digest('hex'), bytes: 2 }],
        usage: { cpu_seconds: 0, wall_s: 0, peak_memory_bytes: 0 },
        exit_status: { code: 0, signal: null, reason: 'exited' },
        checkpoint_head: checkpointDigest(cp),
        checkpoints: 1,
        node: me.did,
        completed_at: now,
      },
      me,
    );
    assert.equal((await g.call('POST', `/leases/${lease}/receipt`, liar.key, { receipt })).status, 201);
    // Its receipt is in but it is not paid yet: the lease waits for the group's decision.
    assert.equal((await g.call('GET', `/leases/${lease}`, alice.key)).body.state, 'running');

    const l = await leaseEnd(lease);
    assert.equal(l.state, 'failed', JSON.stringify(l.history));
    assert.match(l.history.at(-1).reason, /disagree with the accepted ones/);
    const disputes = (await g.call('GET', '/disputes', alice.key)).body.disputes as Json[];
    assert.equal(disputes.length, 1);
    const d = (await g.call('GET', `/disputes/${disputes[0]?.id}`, alice.key)).body;
    assert.equal(d.state, 'resolved');
    assert.deepEqual(d.decision.losers, ['vd-liar']);
    assert.deepEqual(
      d.runs.map((r: Json) => r.role),
      ['primary', 'replica', 'referee'],
    );
    const [primary, replica, referee] = d.runs as Json[];
    assert.equal(referee?.provider, 'vd-referee');
    assert.equal(replica?.result_digest, referee?.result_digest);
    assert.notEqual(primary?.result_digest, referee?.result_digest);
    // Not paid; the honest replica is.
    await until('settlement', 10_000, async () => {
      await g.gw.ledger.service.settleDue();
      return (await g.call('GET', `/bookings/${b.body.booking_id}`, alice.key)).body.status === 'completed';
    });
    assert.equal((await g.call('GET', `/bookings/${b.body.booking_id}`, alice.key)).body.settled_usd, 0);
    const rep = (await g.call('GET', `/leases/${replica?.lease_id}`, alice.key)).body;
    assert.equal(rep.state, 'completed');
    // Its offers now carry less reliability than an honest node's (0.99 × 0.8).
    const rel = async (name: string) =>
      (await g.call('GET', `/nodes?provider=${name}&min_available=0`, g.admin)).body.offers[0]?.reliability;
    assert.equal(await rel('vd-liar'), 0.792);
    assert.equal(await rel('vd-referee'), 0.99);
    assert.deepEqual((await g.call('GET', '/ledger/verify', g.admin)).body, { ok: true, violations: [] });
  });

  it('refuses validation it cannot honour, naming the field', async () => {
    const offer = await g.offerOf('vd-a');
    const cases: [Json, string][] = [
      [{ validation: { replicas: 2 } }, '/validation'],
      [{ run: RUN, validation: { replicas: 1 } }, '/validation/replicas'],
      [{ run: RUN, validation: { replicas: 9 } }, '/validation/replicas'],
      [{ run: RUN, validation: { replicas: 2, referee: 'Not A Name!' } }, '/validation/referee'],
      [{ run: RUN, validation: { replicas: 2, judge: 'x' } }, '/validation/judge'],
      [{ run: RUN, validation: 'yes' }, '/validation'],
    ];
    for (const [extra, param] of cases) {
      const r = await g.call('POST', '/book', alice.key, {
        allocations: [{ offer_id: offer.id, nodes: 1, hours: 0.1 }],
        ...extra,
      });
      assert.equal(r.status, 400, JSON.stringify(extra));
      assert.equal(r.body.param, param, JSON.stringify(r.body));
    }
    assert.equal((await g.call('GET', '/disputes?limit=0', alice.key)).body.param, 'limit');
    assert.equal((await g.call('GET', '/disputes?cursor=x', alice.key)).body.param, 'cursor');
    assert.equal((await g.call('GET', '/disputes/vd_nope', alice.key)).status, 404);
    const bob = await g.requester('bob', 1);
    const mine = (await g.call('GET', '/disputes', alice.key)).body.disputes as Json[];
    assert.equal((await g.call('GET', `/disputes/${mine[0]?.id}`, bob.key)).status, 404);
    assert.deepEqual((await g.call('GET', '/disputes', bob.key)).body.disputes, []);
  });
});
