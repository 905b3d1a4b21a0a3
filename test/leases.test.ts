import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Capabilities } from '../src/agent/benchmark.js';
import { REGISTRATION_TYP } from '../src/gateway/agents.js';
import { didKeyFromPublicKey } from '../src/identity/did-key.js';
import { createDidResolver, signJws } from '../src/identity/jws.js';
import { generateKey } from '../src/identity/keys.js';
import type { Offer } from '../src/protocol/schemas/offer.js';
import {
  type Checkpoint,
  checkpointDigest,
  type Receipt,
  signCheckpoint,
  signReceipt,
  verifyReceipt,
} from '../src/runtime/proof.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/**
 * Proof of compute through the gateway (issue 6, parts 4 and 5): a node agent sends a lease's
 * checkpoints and receipt; the gateway verifies each against the agent's DID and the stored chain,
 * and serves them back as signed. Real keys, real SQLite, one in-process gateway.
 */

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;
const CAPS: Capabilities = {
  measured_at: '2026-11-25T00:00:00.000Z',
  method: 'benchmark',
  cpu: { cores: 8, model: null, gflops_per_core: 2, memory_bandwidth_gbs: 10 },
  memory_gb: 32,
  gpus: [],
  notes: [],
};

let t: TestGateway;
let admin: string;
let provider: string;
let requester: string;
let stranger: string;
let leaseId: string;
const nodeKey = generateKey('Ed25519');
const node = { key: nodeKey, did: didKeyFromPublicKey('Ed25519', nodeKey.publicKey) };

async function call(method: string, url: string, token: string | null, payload?: unknown) {
  const r = await t.gw.app.inject({
    method: method as 'GET',
    url,
    headers: token ? { authorization: `Bearer ${token}`, 'idempotency-key': `k${Math.random()}` } : {},
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  return { status: r.statusCode, body: r.json() as Json };
}
const nowS = () => Math.floor(t.clock.now() / 1000);
const cp = (seq: number, prev: string | null, over: Partial<Checkpoint> = {}): Checkpoint => ({
  v: 1,
  lease_id: leaseId,
  seq,
  at: nowS() + seq * 10,
  cpu_seconds: seq * 5,
  peak_memory_bytes: 1_000_000 + seq,
  outputs_digest: null,
  prev,
  node: node.did,
  ...over,
});

before(async () => {
  t = await startTestGateway();
  admin = readFileSync(join(t.dataDir, 'admin.token'), 'utf8').trim();
  provider = (await call('POST', '/principals', admin, { role: 'provider', name: 'lab' })).body.api_key.key;
  const r = (await call('POST', '/principals', admin, { role: 'requester', name: 'alice' })).body;
  requester = r.api_key.key;
  stranger = (await call('POST', '/principals', admin, { role: 'requester', name: 'eve' })).body.api_key.key;
  await call('POST', `/accounts/${r.principal.id}/credit`, admin, { amount_usd: 100 });
  const registration = signJws(
    { v: 1, name: 'lab-9', did: node.did, capabilities: CAPS, price_per_hour: 1, iat: nowS() },
    node,
    { typ: REGISTRATION_TYP },
  );
  assert.equal((await call('POST', '/agents', provider, { registration })).status, 201);
  const offer = (await call('GET', '/nodes?provider=lab-9&min_available=1', null)).body.offers[0] as Offer;
  const b = await call('POST', '/book', requester, {
    allocations: [{ offer_id: offer.id, nodes: 1, hours: 1 }],
    run: { command: ['sh', '-c', 'echo hi > out.txt'], outputs: ['out.txt'] },
  });
  assert.equal(b.status, 201, JSON.stringify(b.body));
  leaseId = b.body.allocations[0].lease_id;
});
after(async () => {
  await t.gw.close();
});

describe('checkpoints and receipts through the gateway', () => {
  const sent: string[] = [];

  it('the node sends its chain; the requester reads it back as signed', async () => {
    for (let seq = 0; seq < 3; seq++) {
      const jws = signCheckpoint(cp(seq, sent.length ? checkpointDigest(sent.at(-1) as string) : null), node);
      const r = await call('POST', `/leases/${leaseId}/checkpoints`, provider, { checkpoint: jws });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.seq, seq);
      sent.push(jws);
    }
    const list = await call('GET', `/leases/${leaseId}/checkpoints`, requester);
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.checkpoints.map((c: Json) => c.jws),
      sent,
    );
    assert.equal(list.body.node, node.did);
    const page = await call('GET', `/leases/${leaseId}/checkpoints?after=0&limit=1`, requester);
    assert.equal(page.body.checkpoints[0].seq, 1);
    assert.equal(page.body.next_after, '1');
  });

  it('a resent, forked or foreign checkpoint is refused and the stored chain stands', async () => {
    const resend = await call('POST', `/leases/${leaseId}/checkpoints`, provider, { checkpoint: sent[1] });
    assert.equal(resend.status, 409);
    assert.equal(resend.body.reason, 'out_of_order');
    const fork = signCheckpoint(cp(3, checkpointDigest(sent[0] as string)), node);
    const f = await call('POST', `/leases/${leaseId}/checkpoints`, provider, { checkpoint: fork });
    assert.equal(f.status, 409);
    assert.equal(f.body.reason, 'broken_chain');
    const other = generateKey('P-256');
    const them = { key: other, did: didKeyFromPublicKey('P-256', other.publicKey) };
    const foreign = signCheckpoint(cp(3, checkpointDigest(sent[2] as string), { node: them.did }), them);
    const x = await call('POST', `/leases/${leaseId}/checkpoints`, provider, { checkpoint: foreign });
    assert.equal(x.status, 422);
    assert.equal(x.body.type, 'https://computemd.dev/problems/invalid-signature');
    const shrink = signCheckpoint(cp(3, checkpointDigest(sent[2] as string), { cpu_seconds: 1 }), node);
    assert.equal(
      (await call('POST', `/leases/${leaseId}/checkpoints`, provider, { checkpoint: shrink })).body.reason,
      'usage_decreasing',
    );
    assert.equal(
      (await call('POST', `/leases/${leaseId}/checkpoints`, provider, { checkpoint: 'nope' })).status,
      400,
    );
    assert.equal(
      (await call('POST', `/leases/${leaseId}/checkpoints`, provider, {})).body.param,
      '/checkpoint',
    );
    assert.equal((await call('GET', `/leases/${leaseId}/checkpoints`, requester)).body.checkpoints.length, 3);
  });

  it('who may send and read: 401 without a token, 403 without compute/provide, 404 for anyone else', async () => {
    const next = signCheckpoint(cp(3, checkpointDigest(sent[2] as string)), node);
    assert.equal(
      (await call('POST', `/leases/${leaseId}/checkpoints`, null, { checkpoint: next })).status,
      401,
    );
    const req = await call('POST', `/leases/${leaseId}/checkpoints`, requester, { checkpoint: next });
    assert.equal(req.status, 403);
    const otherProvider = (await call('POST', '/principals', admin, { role: 'provider', name: 'p2' })).body
      .api_key.key;
    assert.equal(
      (await call('POST', `/leases/${leaseId}/checkpoints`, otherProvider, { checkpoint: next })).status,
      404,
    );
    assert.equal((await call('GET', `/leases/${leaseId}/checkpoints`, stranger)).status, 404);
    assert.equal((await call('GET', '/leases/ls_nope/checkpoints', admin)).status, 404);
    assert.equal(
      (await call('GET', `/leases/${leaseId}/checkpoints?limit=0`, requester)).body.param,
      'limit',
    );
  });

  it('a receipt that agrees with the chain is stored and verifies offline; a lying one is refused', async () => {
    const head = checkpointDigest(sent[2] as string);
    const receipt = (over: Partial<Receipt> = {}): Receipt => ({
      v: 1,
      lease_id: leaseId,
      booking_id: 'bk_x',
      manifest_digest: null,
      outputs: [{ name: 'out.txt', sha256: 'a'.repeat(64), bytes: 3 }],
      usage: { cpu_seconds: 10, wall_s: 20, peak_memory_bytes: 1_000_002 },
      exit_status: { code: 0, signal: null, reason: 'exited' },
      checkpoint_head: head,
      checkpoints: 3,
      node: node.did,
      completed_at: nowS() + 20,
      ...over,
    });
    const lying = signReceipt(
      receipt({ usage: { cpu_seconds: 500, wall_s: 20, peak_memory_bytes: 1_000_002 } }),
      node,
    );
    const l = await call('POST', `/leases/${leaseId}/receipt`, provider, { receipt: lying });
    assert.equal(l.status, 400, JSON.stringify(l.body));
    const short = signReceipt(
      receipt({ checkpoints: 2, checkpoint_head: checkpointDigest(sent[1] as string) }),
      node,
    );
    assert.equal(
      (await call('POST', `/leases/${leaseId}/receipt`, provider, { receipt: short })).status,
      409,
    );

    const jws = signReceipt(receipt(), node);
    const ok = await call('POST', `/leases/${leaseId}/receipt`, provider, { receipt: jws });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.match(ok.body.receipt_id, /^rc_/);
    assert.equal((await call('POST', `/leases/${leaseId}/receipt`, provider, { receipt: jws })).status, 409);

    const got = await call('GET', `/receipts/${ok.body.receipt_id}`, requester);
    assert.equal(got.status, 200);
    assert.equal(got.body.jws, jws);
    // Offline: a fresh resolver, only the did:key.
    const r = await verifyReceipt(got.body.jws, createDidResolver(), { node: node.did, lease_id: leaseId });
    assert.equal(r.checkpoints, 3);
    assert.equal((await call('GET', `/receipts/${ok.body.receipt_id}`, stranger)).status, 404);
    assert.equal((await call('GET', '/receipts/rc_nope', admin)).status, 404);
  });

  it('a lease on a provider that is not a node agent takes no proofs', async () => {
    const o = (await call('GET', '/nodes?provider=aws&min_available=1&limit=1', null)).body
      .offers[0] as Offer;
    await call('POST', '/accounts/pr_operator/credit', admin, { amount_usd: 100 });
    const b = await call('POST', '/book', admin, { allocations: [{ offer_id: o.id, nodes: 1, hours: 0.1 }] });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    const lid = b.body.allocations[0].lease_id;
    const r = await call('POST', `/leases/${lid}/checkpoints`, admin, { checkpoint: sent[0] });
    assert.equal(r.status, 409);
    assert.match(r.body.detail, /not on a node agent/);
  });
});
