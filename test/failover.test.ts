import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packagePath } from '../src/util/paths.js';
import { type ExecGateway, type Json, startExecGateway, until } from './helpers/exec.js';

/**
 * Failover with real processes (issue 6): two node agents run as separate `computemd node`
 * processes beside one gateway. A resumable job starts on the first; the first is killed with
 * SIGKILL mid-job. The gateway notices the silence, fails the lease, books the next offer that can
 * run the work, and the second node resumes from the files the last verified checkpoint left. The
 * killed node is paid for what its checkpoints prove, and the booking lists both attempts.
 */

let g: ExecGateway;
let stopRuntime = () => {};
const procs: ChildProcess[] = [];
const dirs: string[] = [];
const logs: Record<string, string> = {};

function startAgent(name: string, token: string): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), `computemd-fo-${name}-`));
  dirs.push(dir);
  const p = spawn(
    process.execPath,
    [
      packagePath('bin/computemd.js'),
      'node',
      '--gateway',
      g.base,
      '--token',
      token,
      '--name',
      name,
      '--data',
      dir,
      '--heartbeat-s',
      '1',
      '--price-per-hour',
      '36',
      '--no-announce',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  logs[name] = '';
  p.stdout?.on('data', (b: Buffer) => {
    logs[name] += b.toString();
  });
  p.stderr?.on('data', (b: Buffer) => {
    logs[name] += b.toString();
  });
  procs.push(p);
  return p;
}

before(async () => {
  g = await startExecGateway((c) => {
    c.agents.heartbeat_timeout_s = 2;
  });
  stopRuntime = g.gw.runtime.start(200);
});
after(async () => {
  stopRuntime();
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await g?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Counts to 12, half a second a step, keeping its count in state.txt: a restart picks it up. */
const COUNTER = [
  'n=$(cat state.txt 2>/dev/null || echo 0); start=$n',
  'while [ "$n" -lt 12 ]; do n=$((n+1)); echo "$n" > state.txt; echo "step $n"; sleep 0.5; done',
  'echo "resumed_from=$start" > result.txt',
].join('; ');

describe('a node killed mid-job', () => {
  it('fails over to the other node, which resumes from the last checkpoint; the dead node is paid for its proven work', async () => {
    const alice = await g.requester('alice', 100);
    const a = startAgent('fo-a', await g.providerKey('fo-a'));
    startAgent('fo-b', await g.providerKey('fo-b'));
    const offerA = await g.offerOf('fo-a');
    await g.offerOf('fo-b');
    const b = await g.call('POST', '/book', alice.key, {
      allocations: [{ offer_id: offerA.id, nodes: 1, hours: 1 }],
      payment: { method: 'credits' },
      run: {
        command: ['sh', '-c', COUNTER],
        outputs: ['state.txt', 'result.txt'],
        checkpoint: { interval_s: 1, resumable: true },
        timeout_s: 120,
      },
    });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    const first = b.body.allocations[0].lease_id as string;

    // Running, with state uploaded by a checkpoint after the start.
    await until('progress on fo-a', 30_000, async () => {
      const l = (await g.call('GET', `/leases/${first}`, alice.key)).body;
      return (
        l.state === 'running' && l.checkpoints >= 3 && l.outputs.some((o: Json) => o.name === 'state.txt')
      );
    });
    a.kill('SIGKILL');

    const failed = await until('the lease on fo-a fails over', 30_000, async () => {
      const l = (await g.call('GET', `/leases/${first}`, alice.key)).body;
      return l.state === 'failed' && l.replaced_by ? l : null;
    });
    assert.match(failed.history.at(-1).reason, /fo-a stopped heartbeating/);
    const second = failed.replaced_by as string;
    const done = await until('the replacement completes', 60_000, async () => {
      const l = (await g.call('GET', `/leases/${second}`, alice.key)).body;
      return ['completed', 'failed', 'cancelled'].includes(l.state) ? l : null;
    });
    assert.equal(done.state, 'completed', JSON.stringify(done.history) + logs['fo-b']);
    assert.equal(done.provider, 'fo-b');
    assert.equal(done.replaces, first);
    assert.equal(done.attempt, 2);
    const result = await fetch(`${g.base}/leases/${second}/outputs/result.txt`, {
      headers: { authorization: `Bearer ${alice.key}` },
    });
    const text = await result.text();
    const resumedFrom = Number(/resumed_from=(\d+)/.exec(text)?.[1]);
    assert.ok(
      resumedFrom > 0,
      `the second node resumed from step ${resumedFrom}, not from the start: ${result.status} ${text}; lease ${JSON.stringify(done)}; fo-b said: ${logs['fo-b']}`,
    );

    // The first booking lists both attempts and why the first ended.
    const booking = (await g.call('GET', `/bookings/${b.body.booking_id}`, alice.key)).body;
    assert.deepEqual(
      booking.attempts.map((x: Json) => [x.provider, x.state]),
      [
        ['fo-a', 'failed'],
        ['fo-b', 'completed'],
      ],
    );

    // The dead node is paid for what its checkpoints prove, at 36 $/h (0.01 $/s).
    await until('both bookings settle', 10_000, async () => {
      await g.gw.ledger.service.settleDue();
      const x = (await g.call('GET', `/bookings/${b.body.booking_id}`, alice.key)).body;
      return x.status === 'completed';
    });
    const cps = (await g.call('GET', `/leases/${first}/checkpoints`, alice.key)).body.checkpoints as Json[];
    const proven = (Date.parse(cps.at(-1)?.at) - Date.parse(cps[0]?.at)) / 1000;
    const settled = (await g.call('GET', `/bookings/${b.body.booking_id}`, alice.key)).body.settled_usd;
    assert.ok(Math.abs(settled - proven * 0.01) < 0.011, `fo-a paid ${settled} for ${proven} s proven`);
    assert.deepEqual((await g.call('GET', '/ledger/verify', g.admin)).body, { ok: true, violations: [] });
  });
});
