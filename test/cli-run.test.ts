import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ComputeMdClient } from '../src/sdk/client.js';
import { cli, start } from './helpers/cli.js';
import { type ExecGateway, startExecGateway } from './helpers/exec.js';
import { type FakeNode, joinFakeNode } from './helpers/fake-node.js';

/**
 * The CLI's plan → book → leases → logs → receipts verify path, through the real binary against a
 * real gateway, with a node agent played by the test (real signatures) running what is booked.
 */

let g: ExecGateway;
let node: FakeNode;
let env: NodeJS.ProcessEnv;
let agent: ComputeMdClient;
const dir = mkdtempSync(join(tmpdir(), 'computemd-cli-run-'));

before(async () => {
  g = await startExecGateway();
  const admin = new ComputeMdClient({ baseUrl: g.base, token: g.admin });
  const p = await admin.createPrincipal({ role: 'requester', name: 'cli-runner' });
  await admin.credit(p.principal.id, 100);
  agent = new ComputeMdClient({ baseUrl: g.base, token: p.api_key.key });
  env = { COMPUTEMD_URL: g.base, COMPUTEMD_TOKEN: p.api_key.key };
  node = await joinFakeNode(g.base, g.admin, 'cli-node', () => Date.now());
});
after(async () => {
  await g?.close();
  rmSync(dir, { recursive: true, force: true });
});

const SMALL = ['--type', 'cpu', '--compute-hours', '0.01', '--providers', 'cli-node'];

/** plan (flags) → book (a file with the plan and a run) → the lease id. */
async function bookSmallJob(): Promise<{ lease: string; booking: string }> {
  const plan = await cli(['plan', ...SMALL, '--json'], env);
  assert.equal(plan.code, 0, plan.stderr);
  const file = join(dir, `book-${Date.now()}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      plan_id: JSON.parse(plan.stdout).plan_id,
      run: { command: ['sh', '-c', 'echo hi > out.txt'], outputs: ['out.txt'] },
    }),
  );
  const b = await cli(['book', '--file', file, '--json'], env);
  assert.equal(b.code, 0, b.stderr);
  const body = JSON.parse(b.stdout);
  return { lease: body.allocations[0].lease_id, booking: body.booking_id };
}

describe('computemd plan', () => {
  it('from flags: a quote table and how to book it; --json is the plan', async () => {
    const r = await cli(['plan', ...SMALL], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^plan_\w+: \$[\d.]+ over [\d.]+ hours, SLA [\d.]+%/);
    assert.match(r.stdout, /^PROVIDER\s+NODES\s+GPU\s+PRICE\s+SHARE\s+HOURS\s+COST\s+OFFER$/m);
    assert.match(r.stdout, /^cli-node\s+1\s+CPU/m);
    assert.match(r.stdout, /book it with: computemd book --plan plan_\w+$/m);
  });

  it('from a JSON file, flags overriding its fields', async () => {
    const file = join(dir, 'plan.json');
    writeFileSync(
      file,
      JSON.stringify({
        workload: { type: 'batch_processing', compute_hours: 1000, memory_gb: 80 },
        constraints: { max_price_per_hour: 2.0, latency_band: 'regional', redundancy: 2 },
      }),
    );
    const r = await cli(['plan', file, '--redundancy', '1', '--compute-hours', '10', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.equal(plan.work, 10, 'the flag won over the file');
    for (const a of plan.allocations) assert.ok(a.price_per_hour_usd <= 2.0, JSON.stringify(a));
  });

  it('a bad value exits 2 naming the flag; a refusal exits 1 with the detail and the flag', async () => {
    const usage: [string[], RegExp][] = [
      [
        ['--type', 'cpu', '--compute-hours', 'abc'],
        /^error: --compute-hours: must be a number \(got "abc"\)$/m,
      ],
      [['--type', 'cpu', '--compute-hours=-1'], /^error: --compute-hours: must be greater than 0/m],
      [
        ['--type', 'cpu', '--compute-hours', '1', '--redundancy', '1.5'],
        /^error: --redundancy: must be a whole number/m,
      ],
      [
        ['--type', 'cpu', '--compute-hours', '1', '--latency-band', 'space'],
        /^error: --latency-band: must be one of LAN, metro/m,
      ],
      [['--type', 'cpu', '--compute-hours', '1', '--objective', 'fast'], /^error: --objective: /m],
      [
        ['--type', 'cpu', '--compute-hours', '1', '--provider-types', 'cloud'],
        /^error: --provider-types: cloud is not one of/m,
      ],
      [['--type', 'quantum', '--compute-hours', '1'], /^error: --type: must be one of batch_processing/m],
      [['--max-price-per-hour', '2'], /^error: give the workload/m],
      [[join(dir, 'missing.json')], /^error: --file: cannot read JSON/m],
    ];
    for (const [args, re] of usage) {
      const r = await cli(['plan', ...args], env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    const refused = await cli(
      ['plan', '--type', 'training', '--compute-hours', '100', '--max-price-per-hour', '0.0001'],
      env,
    );
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^error: --max-price-per-hour: No offer .* To fix: raise max_price_per_hour/m,
    );
  });
});

describe('computemd leases / logs / receipts verify', () => {
  it('a booked lease runs, shows progress, logs, ends; its receipt verifies offline', async () => {
    const { lease, booking } = await bookSmallJob();
    const listed = await cli(['leases', '--booking-id', booking], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^LEASE\s+PROVIDER\s+STATE\s+TIME\s+USED\/BOOKED\s+CKPTS\s+PAID\/COST$/m);
    assert.match(listed.stdout, new RegExp(`^${lease}\\s+cli-node\\s+pending`, 'm'));

    await node.start(lease);
    const one = await cli(['leases', lease], env);
    assert.equal(one.code, 0, one.stderr);
    assert.match(
      one.stdout,
      new RegExp(`^${lease}\\s+cli-node\\s+running\\s+\\[[#.]{20}\\]\\s+\\d+%\\s+\\d+:\\d\\d:\\d\\d/`, 'm'),
    );
    assert.match(one.stdout, /provisioning → running\s+first verified checkpoint/);

    // logs -f follows until the lease ends; leases --watch repaints until it has ended.
    const follow = start(['logs', lease, '-f'], env);
    const watch = start(['leases', lease, '--watch', '--interval-s', '0.2'], env);
    await watch.waitFor(/running/);
    await node.client.postLogs(lease, [{ stream: 'stdout', line: 'step 1 of 2' }]);
    await follow.waitFor(/step 1 of 2/);
    const { receipt_id } = await node.complete(lease, booking, {
      lines: ['step 2 of 2'],
      outputs: { 'out.txt': 'hi\n' },
    });
    assert.equal(await follow.exited, 0, follow.stderr());
    assert.equal(follow.stdout(), 'step 1 of 2\nstep 2 of 2\n');
    assert.match(follow.stderr(), /-- ended: completed/);
    assert.equal(await watch.exited, 0, watch.stderr());
    const frames = watch
      .stdout()
      .split(/^LEASE /m)
      .filter((f) => f.trim() !== '');
    assert.ok(frames.length >= 2, `${frames.length} frames`);
    assert.match(frames.at(-1) ?? '', /completed/);
    assert.ok(!watch.stdout().includes('\u001b'), 'no screen control codes off a terminal');

    const logs = await cli(['logs', lease, '--json'], env);
    const events = logs.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      events.filter((e) => e.event === 'log').map((e) => e.line),
      ['step 1 of 2', 'step 2 of 2'],
    );
    const resumed = await cli(['logs', lease, '--after', String(events[0].seq)], env);
    assert.equal(resumed.stdout, 'step 2 of 2\n');

    const v = await cli(['receipts', 'verify', receipt_id, '--check-outputs'], env);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, new RegExp(`^receipt ${receipt_id} verified offline$`, 'm'));
    assert.match(v.stdout, new RegExp(`signed by\\s+${node.did}$`, 'm'));
    assert.match(v.stdout, /output\s+out\.txt 3 B sha256 [0-9a-f]{64} \(hashed: matches\)/);
    const byLease = await cli(['receipts', 'verify', lease, '--node', node.did, '--json'], env);
    assert.equal(byLease.code, 0, byLease.stderr);
    assert.equal(JSON.parse(byLease.stdout).verified, true);
    const other = await cli(
      ['receipts', 'verify', lease, '--node', 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'],
      env,
    );
    assert.equal(other.code, 1);
    assert.match(other.stdout, /NOT verified/);
    assert.match(other.stderr, /^error: wrong_signer: /m);
    await g.gw.ledger.service.settleDue();
  });

  it('a receipt the gateway altered does not verify (exit 1, bad_signature)', async () => {
    const { lease, booking } = await bookSmallJob();
    const { receipt_id } = await node.complete(lease, booking);
    const real = await agent.receipt(receipt_id);
    const chain = await agent.checkpoints(lease);
    // Flip the exit code in the payload, keep the node's signature: what a lying gateway would do.
    const [h, p, s] = real.jws.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    payload.exit_status.code = 1;
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    const liar: Server = createServer((req, res) => {
      const body = req.url?.startsWith('/receipts/') ? { ...real, jws: forged } : chain;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
      const r = await cli(['receipts', 'verify', receipt_id, '--url', url, '--token', 'any']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /NOT verified/);
      assert.match(r.stderr, /^error: bad_signature: /m);
    } finally {
      liar.close();
    }
    await g.gw.ledger.service.settleDue();
  });

  it('usage errors exit 2 naming the flag; an unknown lease exits 1 with the detail', async () => {
    const usage: [string[], RegExp][] = [
      [['leases', '--watch', '--interval-s', '0'], /^error: --interval-s: /m],
      [['leases', '--limit', 'many'], /^error: --limit: /m],
      [['logs'], /usage: computemd logs LEASE_ID/],
      [['logs', 'ls_x', '--after', 'soon'], /^error: --after: /m],
      [['receipts', 'verify'], /usage: computemd receipts verify/],
      [['receipts', 'check', 'rc_x'], /usage: computemd receipts verify/],
      [['receipts', 'verify', 'rc_x', '--node', 'alice'], /^error: --node: must be a DID/m],
      [['leases', '--bogus'], /--bogus/],
    ];
    for (const [args, re] of usage) {
      const r = await cli(args, env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
    const missing = await cli(['leases', 'ls_nope'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: .*ls_nope/m);
    const noReceipt = await cli(['receipts', 'verify', 'rc_nope'], env);
    assert.equal(noReceipt.code, 1);
    assert.match(noReceipt.stderr, /rc_nope/);
  });
});
