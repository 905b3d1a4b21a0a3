import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseTimes, rlimitGaps } from './rlimits.js';
import { runSandboxed } from './run.js';
import { capture, ENV, LIMITS, processesWith, workDir } from './testing.js';
import type { SandboxSpec } from './types.js';

// Mode 'rlimits' needs neither bwrap nor a cgroup: these run on every host.
const noSandbox = { bwrap: false, cgroup: null, detail: 'none here' };
const spec = (script: string, over: Partial<SandboxSpec> = {}): SandboxSpec => ({
  command: ['sh', '-c', script],
  env: ENV,
  workDir: workDir(),
  network: false,
  limits: LIMITS,
  ...over,
});

describe('rlimits mode', () => {
  it('runs in the work dir with the given env, and says it is rlimits and what it lacks', async () => {
    const s = spec('pwd; echo "$LANG"; exit 3');
    const c = capture();
    const r = await runSandboxed(s, { mode: 'rlimits', support: noSandbox, ...c });
    assert.equal(r.mode, 'rlimits');
    assert.deepEqual(r.gaps, rlimitGaps(true));
    const res = await r.result;
    assert.deepEqual([res.mode, res.reason, res.exitCode], ['rlimits', 'exited', 3]);
    assert.equal(c.out(), `${s.workDir}\nC.UTF-8\n`);
  });

  it('counts CPU time, live and at the end', async () => {
    const r = await runSandboxed(spec('i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; sleep 0.3'), {
      mode: 'rlimits',
    });
    await new Promise((res) => setTimeout(res, 150));
    const live = r.usage();
    const res = await r.result;
    assert.ok(res.cpuSeconds > 0, `cpu ${res.cpuSeconds}`);
    assert.ok(res.cpuSeconds >= live.cpuSeconds);
    assert.ok(res.peakMemoryBytes > 0);
  });

  it('caps the address space: an allocation past memoryBytes fails inside the command', async () => {
    const c = capture();
    // tail keeps a line whole until its newline, and /dev/zero has none: it asks for 512 MiB.
    const s = spec('head -c 512M /dev/zero | tail', { limits: { ...LIMITS, memoryBytes: 256 << 20 } });
    const res = await (await runSandboxed(s, { mode: 'rlimits', ...c })).result;
    assert.equal(res.reason, 'exited');
    assert.equal(res.exitCode, 1);
    assert.match(c.err(), /memory exhausted/);
  });

  it('kills the whole process group at the time limit', async () => {
    const secs = `${1000 + randomBytes(2).readUInt16LE(0)}.5`;
    const s = spec(`sleep ${secs} & sleep 30`, { limits: { ...LIMITS, timeoutMs: 300 } });
    const res = await (await runSandboxed(s, { mode: 'rlimits' })).result;
    assert.equal(res.reason, 'timeout');
    assert.equal(res.signal, 'SIGKILL');
    assert.deepEqual(processesWith(`sleep\0${secs}`), []);
  });

  it('dies with the agent', async () => {
    const secs = `${1000 + randomBytes(2).readUInt16LE(0)}.5`;
    const s = spec(`sleep ${secs}`);
    const agent = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(new URL('./run.js', import.meta.url).href)});
         const r = await m.runSandboxed(${JSON.stringify(s)}, { mode: 'rlimits' });
         console.log('started'); await r.result;`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((res) => agent.stdout.once('data', () => res()));
    for (let i = 0; i < 100 && processesWith(`sleep\0${secs}`).length === 0; i++) await sleep(10);
    assert.equal(processesWith(`sleep\0${secs}`).length, 1, 'running under the agent');
    agent.kill('SIGKILL');
    for (let i = 0; i < 100 && processesWith(`sleep\0${secs}`).length > 0; i++) await sleep(20);
    assert.deepEqual(processesWith(`sleep\0${secs}`), [], 'gone with the agent');
  });
});

describe('parseTimes', () => {
  // `times`: the shell's own user/sys line, then its children's; children summed.
  const cases: Array<[string, string, number | null]> = [
    ['dash', '0m0.010000s 0m0.000000s\n0m1.230000s 0m0.020000s\n', 1.25],
    ['bash', '0m0.003s 0m0.001s\n1m2.500s 0m0.500s\n', 63],
    ['nothing', '', null],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => {
      const got = parseTimes(text);
      if (want === null) assert.equal(got, null);
      else assert.ok(got !== null && Math.abs(got - want) < 1e-9, `${got}`);
    });
  }
});
