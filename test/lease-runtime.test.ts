import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NodeAgent, startNodeAgent } from '../src/agent/node.js';
import { loadKeyFile } from '../src/identity/gateway-key.js';
import { checkpointDigest, signCheckpoint, signReceipt } from '../src/runtime/proof.js';
import { helloModule } from '../src/runtime/sandbox/wasm-fixtures.js';
import { type ExecGateway, type Json, startExecGateway, TEST_CAPS, until } from './helpers/exec.js';

/**
 * The lease runtime over HTTP (issue 6, part 6) with a real node agent running real work in the
 * sandbox: a lease's states and their reasons, its live log as Server-Sent Events, its outputs by
 * name, cancelling running work (the node stops it and is paid for what its checkpoints prove),
 * the agent's long poll, and a node that lies about its results.
 */

let g: ExecGateway;
let agent: NodeAgent;
let alice: { id: string; key: string };
let bob: { id: string; key: string };
let providerKey: string;
const nodeData = mkdtempSync(join(tmpdir(), 'computemd-rt-node-'));

before(async () => {
  g = await startExecGateway();
  alice = await g.requester('alice', 100);
  bob = await g.requester('bob', 100);
  providerKey = await g.providerKey('rt');
  agent = await startNodeAgent({
    gateway: g.base,
    token: providerKey,
    name: 'rt-1',
    dataDir: nodeData,
    pricePerHour: 36,
    heartbeatS: 1,
    capabilities: TEST_CAPS,
    announce: false,
    log: () => {},
  });
});
after(async () => {
  agent?.stop();
  await g?.close();
  rmSync(nodeData, { recursive: true, force: true });
});

async function book(run: Json, token = alice.key) {
  const offer = await g.offerOf('rt-1');
  const b = await g.call('POST', '/book', token, {
    allocations: [{ offer_id: offer.id, nodes: 1, hours: 1 }],
    payment: { method: 'credits' },
    run,
  });
  assert.equal(b.status, 201, JSON.stringify(b.body));
  return { booking: b.body.booking_id as string, lease: b.body.allocations[0].lease_id as string };
}

const leaseIn = (id: string, states: string[], token = alice.key) =>
  until(`lease ${id} in ${states.join('|')}`, 30_000, async () => {
    const r = await g.call('GET', `/leases/${id}`, token);
    return states.includes(r.body.state) ? r.body : null;
  });

/** Reads a lease's SSE log until the stream ends; the events in order. */
async function readLog(id: string, q: string): Promise<{ event: string; data: Json }[]> {
  const r = await fetch(`${g.base}/leases/${id}/logs${q}`, {
    headers: { authorization: `Bearer ${alice.key}` },
  });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
  const text = await r.text();
  return text
    .split('\n\n')
    .filter((b) => b.includes('event: '))
    .map((b) => ({
      event: /event: (\w+)/.exec(b)?.[1] ?? '',
      data: JSON.parse(/data: (.*)/.exec(b)?.[1] ?? 'null') as Json,
    }));
}

describe('a lease runs, with its states, live log and outputs', () => {
  let ids: { booking: string; lease: string };
  it('walks pending → provisioning → running → completed, each move with its reason', async () => {
    ids = await book({
      command: [
        'sh',
        '-c',
        'for i in 1 2 3; do echo line $i; sleep 0.3; done; echo oops >&2; printf result > out.txt',
      ],
      outputs: ['out.txt'],
      checkpoint: { interval_s: 1 },
      timeout_s: 60,
    });
    // Following the log while it runs: lines arrive, then the state events, then `end`.
    const events = await readLog(ids.lease, '?follow=true');
    const lines = events.filter((e) => e.event === 'log').map((e) => `${e.data.stream}:${e.data.line}`);
    assert.deepEqual(lines, ['stdout:line 1', 'stdout:line 2', 'stdout:line 3', 'stderr:oops']);
    assert.deepEqual(events.at(-1), { event: 'end', data: { state: 'completed' } });
    const l = await leaseIn(ids.lease, ['completed']);
    assert.deepEqual(
      l.history.map((h: Json) => `${h.from}→${h.to}`),
      ['pending→provisioning', 'provisioning→running', 'running→completed'],
    );
    assert.ok(l.history.every((h: Json) => typeof h.reason === 'string' && h.reason.length > 0));
    assert.equal(l.simulated, false);
    assert.equal(l.driver, 'agent');
    assert.equal(l.exit_code, 0);
    assert.ok(l.checkpoints >= 2 && l.receipt_id);
    assert.deepEqual(l.outputs, [
      { name: 'out.txt', sha256: createHash('sha256').update('result').digest('hex'), bytes: 6 },
    ]);
  });

  it('serves the log again without follow, from any seq', async () => {
    const all = await readLog(ids.lease, '');
    assert.equal(all.filter((e) => e.event === 'log').length, 4);
    const rest = await readLog(ids.lease, '?after=2');
    assert.deepEqual(
      rest.filter((e) => e.event === 'log').map((e) => e.data.seq),
      [3, 4],
    );
  });

  it('serves an output as bytes with its digest; unknown names are 404', async () => {
    const r = await fetch(`${g.base}/leases/${ids.lease}/outputs/out.txt`, {
      headers: { authorization: `Bearer ${alice.key}` },
    });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'result');
    assert.equal(r.headers.get('etag'), `"${createHash('sha256').update('result').digest('hex')}"`);
    assert.equal((await g.call('GET', `/leases/${ids.lease}/outputs/nope.txt`, alice.key)).status, 404);
  });

  it('lists leases by booking and state; another requester sees none of them', async () => {
    const mine = await g.call('GET', `/leases?booking_id=${ids.booking}`, alice.key);
    assert.deepEqual(
      mine.body.leases.map((l: Json) => l.id),
      [ids.lease],
    );
    const done = await g.call('GET', '/leases?state=completed,failed&limit=5', alice.key);
    assert.ok(done.body.leases.some((l: Json) => l.id === ids.lease));
    assert.deepEqual((await g.call('GET', '/leases', bob.key)).body.leases, []);
    assert.equal((await g.call('GET', `/leases/${ids.lease}`, bob.key)).status, 404);
    assert.equal((await g.call('GET', `/leases/${ids.lease}/outputs/out.txt`, bob.key)).status, 404);
    // The booking shows its attempts.
    const b = await g.call('GET', `/bookings/${ids.booking}`, alice.key);
    assert.deepEqual(
      b.body.attempts.map((a: Json) => [a.id, a.state]),
      [[ids.lease, 'completed']],
    );
  });

  it('refuses bad parameters with problems naming them', async () => {
    const cases: [string, string][] = [
      ['/leases?limit=0', 'limit'],
      ['/leases?limit=abc', 'limit'],
      ['/leases?state=flying', 'state'],
      ['/leases?cursor=zz', 'cursor'],
      ['/leases?booking_id=nope', 'booking_id'],
      [`/leases/${ids.lease}/logs?after=-1`, 'after'],
      [`/leases/${ids.lease}/logs?follow=yes`, 'follow'],
      ['/agents/rt-1/leases?wait=99', 'wait'],
    ];
    for (const [path, param] of cases) {
      const r = await g.call('GET', path, path.startsWith('/agents') ? providerKey : alice.key);
      assert.equal(r.status, 400, path);
      assert.equal(r.body.param, param, path);
    }
    assert.equal((await g.call('GET', '/leases/ls_nope', alice.key)).status, 404);
    assert.equal((await g.call('POST', '/leases/ls_nope/cancel', alice.key, {})).status, 404);
    // A finished lease cannot be cancelled.
    const c = await g.call('POST', `/leases/${ids.lease}/cancel`, alice.key, {});
    assert.equal(c.status, 409);
    assert.equal(c.body.state_now, 'completed');
  });
});

describe('cancelling running work', () => {
  it('stops it on the node, and pays the node only up to its last verified checkpoint', async () => {
    const ids = await book({
      command: ['sh', '-c', 'echo started; sleep 60'],
      checkpoint: { interval_s: 1 },
      timeout_s: 120,
    });
    await leaseIn(ids.lease, ['running']);
    await until('two checkpoints', 10_000, async () => {
      const r = await g.call('GET', `/leases/${ids.lease}`, alice.key);
      return r.body.checkpoints >= 2;
    });
    const c = await g.call('POST', `/leases/${ids.lease}/cancel`, alice.key, {});
    assert.equal(c.status, 200);
    assert.equal(c.body.state, 'cancelled');
    assert.match(c.body.history.at(-1).reason, /cancelled by the requester/);
    // Cancelling again is the same answer.
    assert.equal(
      (await g.call('POST', `/leases/${ids.lease}/cancel`, alice.key, {})).body.state,
      'cancelled',
    );
    await g.gw.ledger.service.settleDue();
    const b = (await g.call('GET', `/bookings/${ids.booking}`, alice.key)).body;
    const cps = (await g.call('GET', `/leases/${ids.lease}/checkpoints`, alice.key)).body
      .checkpoints as Json[];
    const proven = (Date.parse(cps.at(-1)?.at) - Date.parse(cps[0]?.at)) / 1000;
    // 36 $/h = 0.01 $/s: what was settled is what the checkpoints prove, never the booked hour.
    assert.ok(
      Math.abs(b.settled_usd - proven * 0.01) < 0.011,
      `settled ${b.settled_usd} for ${proven} s proven`,
    );
    assert.equal(b.status, 'completed');
    assert.deepEqual((await g.call('GET', '/ledger/verify', g.admin)).body, { ok: true, violations: [] });
  });
});

describe('a node that lies', () => {
  it('is caught when its receipt names other output digests than the bytes it uploaded, and is not paid', async () => {
    // A second agent, played by hand: it registers, takes the lease, and sends forged results.
    const liarKey = await g.providerKey('liar');
    const dir = mkdtempSync(join(tmpdir(), 'computemd-liar-'));
    const liar = await startNodeAgent({
      gateway: g.base,
      token: liarKey,
      name: 'liar-1',
      dataDir: dir,
      pricePerHour: 36,
      heartbeatS: 1,
      capabilities: TEST_CAPS,
      announce: false,
      log: () => {},
    });
    liar.stop(); // registered; from here on the test speaks for it
    const offer = await g.offerOf('liar-1');
    const b = await g.call('POST', '/book', alice.key, {
      allocations: [{ offer_id: offer.id, nodes: 1, hours: 1 }],
      payment: { method: 'credits' },
      run: { command: ['true'], outputs: ['out.txt'] },
    });
    assert.equal(b.status, 201);
    const lease = b.body.allocations[0].lease_id as string;
    const work = await g.call('GET', '/agents/liar-1/leases?wait=1', liarKey);
    assert.deepEqual(
      work.body.leases.map((l: Json) => l.lease_id),
      [lease],
    );
    const me = loadKeyFile(join(dir, 'node.key'));
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
      (await g.call('POST', `/leases/${lease}/checkpoints`, liarKey, { checkpoint: cp })).status,
      201,
    );
    const put = await fetch(`${g.base}/leases/${lease}/outputs/out.txt`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${liarKey}`, 'content-type': 'application/octet-stream' },
      body: 'the real bytes',
    });
    assert.equal(put.status, 201);
    const receipt = signReceipt(
      {
        v: 1,
        lease_id: lease,
        booking_id: b.body.booking_id,
        manifest_digest: null,
        outputs: [
          {
            name: 'out.txt',
            sha256: createHash('sha256').update('a better result').digest('hex'),
            bytes: 15,
          },
        ],
        usage: { cpu_seconds: 0, wall_s: 0, peak_memory_bytes: 0 },
        exit_status: { code: 0, signal: null, reason: 'exited' },
        checkpoint_head: checkpointDigest(cp),
        checkpoints: 1,
        node: me.did,
        completed_at: now,
      },
      me,
    );
    const r = await g.call('POST', `/leases/${lease}/receipt`, liarKey, { receipt });
    assert.equal(r.status, 422);
    assert.equal(r.body.reason, 'output_mismatch');
    const l = (await g.call('GET', `/leases/${lease}`, alice.key)).body;
    assert.equal(l.state, 'failed');
    assert.match(l.history.at(-1).reason, /result rejected/);
    await g.gw.ledger.service.settleDue();
    assert.equal((await g.call('GET', `/bookings/${b.body.booking_id}`, alice.key)).body.settled_usd, 0);
    // Outputs that are not declared, or bodies that are not log lines, are refused.
    const bad = await fetch(`${g.base}/leases/${lease}/outputs/other.txt`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${liarKey}`, 'content-type': 'application/octet-stream' },
      body: 'x',
    });
    assert.equal(bad.status, 400);
    const logs = await g.call('POST', `/leases/${lease}/logs`, liarKey, {
      lines: [{ stream: 'tty', line: 'x' }],
    });
    assert.equal(logs.status, 400);
    assert.equal(logs.body.param, '/lines/0/stream');
    assert.equal((await g.call('POST', `/leases/${lease}/logs`, liarKey, { lines: [] })).status, 400);
    // A requester may not post a node's logs.
    assert.equal(
      (await g.call('POST', `/leases/${lease}/logs`, alice.key, { lines: [{ stream: 'stdout', line: 'x' }] }))
        .status,
      403,
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('what the node checks before it runs anything', () => {
  const ends = async (run: Json) => {
    const ids = await book(run);
    return leaseIn(ids.lease, ['completed', 'failed']);
  };

  it('runs a WASM module in the sandbox and streams what it writes', async () => {
    const module = Buffer.from(helloModule('hello from wasm\n'));
    const l = await ends({
      wasm: {
        module: {
          base64: module.toString('base64'),
          sha256: createHash('sha256').update(module).digest('hex'),
        },
      },
      checkpoint: { interval_s: 1 },
      timeout_s: 30,
    });
    assert.equal(l.state, 'completed', JSON.stringify(l.history));
    assert.equal(l.run_kind, 'wasm');
    const lines = (await readLog(l.id, '')).filter((e) => e.event === 'log').map((e) => e.data.line);
    assert.deepEqual(lines, ['hello from wasm']);
  });

  it('refuses an input whose bytes do not match their sha256, and fails the lease', async () => {
    const l = await ends({
      command: ['cat', 'in.txt'],
      inputs: [
        {
          path: 'in.txt',
          content: 'tampered',
          sha256: createHash('sha256').update('original').digest('hex'),
        },
      ],
    });
    assert.equal(l.state, 'failed');
    assert.match(l.history.at(-1).reason, /input in\.txt does not match its sha256/);
    assert.equal(l.exit_code, null);
  });

  it('refuses an input it cannot fetch', async () => {
    const l = await ends({
      command: ['cat', 'in.txt'],
      inputs: [{ path: 'in.txt', url: 'http://127.0.0.1:9/none', sha256: 'a'.repeat(64) }],
    });
    assert.equal(l.state, 'failed');
    assert.match(l.history.at(-1).reason, /input in\.txt could not be fetched/);
  });

  it('refuses a WASM module whose digest does not match', async () => {
    const module = Buffer.from(helloModule('x'));
    const l = await ends({ wasm: { module: { base64: module.toString('base64'), sha256: 'b'.repeat(64) } } });
    assert.equal(l.state, 'failed');
    assert.match(l.history.at(-1).reason, /WASM module does not match its sha256/);
  });

  it('a non-zero exit fails the lease with its code, and the node is still paid for its proven time', async () => {
    const l = await ends({ command: ['sh', '-c', 'exit 3'] });
    assert.equal(l.state, 'failed');
    assert.equal(l.exit_code, 3);
    assert.match(l.history.at(-1).reason, /exit 3/);
  });
});
