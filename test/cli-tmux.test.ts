import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ComputeMdClient } from '../src/sdk/client.js';
import { BIN } from './helpers/cli.js';
import { type ExecGateway, startExecGateway } from './helpers/exec.js';
import { type FakeNode, joinFakeNode } from './helpers/fake-node.js';

/**
 * Interactive use on a real terminal: `computemd leases --watch` and `computemd logs -f` in a tmux
 * pane, read back with capture-pane as a person would see them. A private tmux server (-L) so no
 * one else's sessions are touched. Skipped, saying so, where tmux is not installed (unless
 * COMPUTEMD_REQUIRE_TMUX=1, as in CI).
 */

const SOCKET = `computemd-test-${process.pid}`;
const run = (cmd: string, args: string[]) =>
  new Promise<{ code: number; out: string }>((resolve) =>
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr }),
    ),
  );
const tmux = (...args: string[]) => run('tmux', ['-L', SOCKET, ...args]);
const hasTmux = (await run('tmux', ['-V'])).code === 0;
// CI installs tmux, so there a missing tmux is a failure, not a skip.
if (!hasTmux && process.env.COMPUTEMD_REQUIRE_TMUX === '1')
  throw new Error('COMPUTEMD_REQUIRE_TMUX=1 but tmux is not installed');

let g: ExecGateway;
let node: FakeNode;
let agent: ComputeMdClient;
let token: string;

before(async () => {
  if (!hasTmux) return;
  g = await startExecGateway();
  const admin = new ComputeMdClient({ baseUrl: g.base, token: g.admin });
  const p = await admin.createPrincipal({ role: 'requester', name: 'tmux-user' });
  await admin.credit(p.principal.id, 50);
  token = p.api_key.key;
  agent = new ComputeMdClient({ baseUrl: g.base, token });
  node = await joinFakeNode(g.base, g.admin, 'tmux-node', () => Date.now());
});
after(async () => {
  if (!hasTmux) return;
  await tmux('kill-server');
  await g?.close();
});

async function bookOnNode(): Promise<{ lease: string; booking: string }> {
  const plan = await agent.orchestrate({
    workload: { type: 'cpu', compute_hours: 0.01 },
    constraints: { providers: ['tmux-node'] },
  });
  const b = await agent.bookPlan(plan.plan_id, { run: { command: ['true'] } });
  return { lease: b.allocations[0]?.lease_id as string, booking: b.booking_id };
}

/** Runs a CLI command in a new 150×20 pane; the shell prints EXIT=<code> when it ends. */
async function open(session: string, args: string[]): Promise<void> {
  const cmd = `COMPUTEMD_URL=${g.base} COMPUTEMD_TOKEN=${token} ${process.execPath} ${BIN} ${args.join(' ')}; echo EXIT=$?; sleep 60`;
  const r = await tmux('new-session', '-d', '-s', session, '-x', '150', '-y', '20', cmd);
  assert.equal(r.code, 0, r.out);
}
const screen = async (session: string) => (await tmux('capture-pane', '-p', '-t', session)).out;
async function until(session: string, re: RegExp): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const s = await screen(session);
    if (re.test(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the pane never showed ${re}:\n${await screen(session)}`);
}

describe('on a terminal (tmux)', { skip: hasTmux ? false : 'tmux is not installed' }, () => {
  it('leases --watch repaints one screen with a progress bar until the lease ends', async () => {
    const { lease, booking } = await bookOnNode();
    await open('watch', ['leases', lease, '--watch', '--interval-s', '0.3']);
    await until('watch', /pending/);
    await node.start(lease);
    const running = await until('watch', /running\s+\[[#.]{20}\]\s+\d+%/);
    // Repainted in place: one header on the screen, not one per refresh.
    assert.equal(running.match(/^LEASE\s/gm)?.length, 1, running);
    await node.complete(lease, booking);
    const done = await until('watch', /EXIT=0/);
    assert.match(done, /completed/);
    assert.match(done, /running → completed/);
    assert.equal(done.match(/^LEASE\s/gm)?.length, 1, done);
    await g.gw.ledger.service.settleDue(); // frees the node for the next booking
  });

  it('logs -f streams lines as they come; Ctrl-C stops it with exit 130', async () => {
    const { lease } = await bookOnNode();
    await node.start(lease);
    await open('follow', ['logs', lease, '-f']);
    await node.client.postLogs(lease, [{ stream: 'stdout', line: 'epoch 1 loss 0.42' }]);
    await until('follow', /epoch 1 loss 0\.42/);
    await node.client.postLogs(lease, [{ stream: 'stdout', line: 'epoch 2 loss 0.31' }]);
    await until('follow', /epoch 2 loss 0\.31/);
    await tmux('send-keys', '-t', 'follow', 'C-c');
    const s = await until('follow', /EXIT=\d+/);
    assert.match(s, /EXIT=130/);
    await agent.cancelLease(lease);
  });
});
