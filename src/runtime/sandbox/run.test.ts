import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readLayout } from './cgroup.js';
import { probeSandbox } from './probe.js';
import { runSandboxed } from './run.js';
import { capture, ENV, LIMITS, processesWith, sandboxSuites, workDir } from './testing.js';
import { type SandboxSpec, SandboxUnavailableError } from './types.js';

/** Run cgroups whose name starts with `prefix`, in every hierarchy (v1) or the agent's cgroup (v2). */
function runDirs(prefix: string): string[] {
  const layout = readLayout();
  assert.ok(layout.ok);
  const l = layout.layout;
  const parents =
    l.version === 'v1'
      ? [l.memory, l.cpu, l.pids, ...(l.cpuacct ? [l.cpuacct] : [])]
      : [l.dir, dirname(l.dir)];
  return parents.flatMap((p) =>
    readdirSync(p)
      .filter((d) => d.startsWith(prefix))
      .map((d) => join(p, d)),
  );
}

await sandboxSuites('runSandboxed', (support) => {
  const spec = (command: string[], over: Partial<SandboxSpec> = {}): SandboxSpec => ({
    command,
    env: ENV,
    workDir: workDir(),
    network: false,
    limits: LIMITS,
    ...over,
  });
  const sh = (script: string, over: Partial<SandboxSpec> = {}) => spec(['sh', '-c', script], over);

  describe('what the command sees', () => {
    it('runs in /work as uid 65534 with exactly the given environment', async () => {
      const c = capture();
      const r = await runSandboxed(spec(['env'], { env: { ...ENV, SECRET: 'x y' } }), { support, ...c });
      const res = await r.result;
      assert.equal(res.reason, 'exited');
      assert.equal(res.exitCode, 0, c.err());
      assert.equal(res.mode, 'sandbox');
      assert.deepEqual(r.gaps, []);
      // PWD is bwrap's, from --chdir.
      assert.deepEqual(c.out().trim().split('\n').sort(), [
        'LANG=C.UTF-8',
        'PATH=/usr/bin:/bin',
        'PWD=/work',
        'SECRET=x y',
      ]);

      const id = capture();
      await (await runSandboxed(sh('id -u; pwd; cat /proc/sys/kernel/hostname'), { support, ...id })).result;
      assert.deepEqual(id.out().trim().split('\n'), ['65534', '/work', 'sandbox']);
    });

    it('writes in /work reach the work dir; /etc, /usr and host paths stay out of reach', async () => {
      const s = sh('');
      const hostDir = workDir(); // a host temp dir, not bound into the sandbox
      writeFileSync(join(hostDir, 'secret'), 'host secret');
      // One line per probe: 0 = it worked, anything else = refused.
      s.command[2] = [
        'touch /etc/x; echo etc=$?',
        'touch /usr/x; echo usr=$?',
        `touch ${hostDir}/x; echo hosttmp=$?`,
        `cat ${hostDir}/secret; echo read=$?`,
        'ls /root /home; echo home=$?',
        'touch /x; echo root=$?',
        'echo made-inside > /work/out.txt; echo work=$?',
        'echo scratch > /tmp/scratch; echo tmp=$?',
      ].join('\n');
      const c = capture();
      const res = await (await runSandboxed(s, { support, ...c })).result;
      assert.equal(res.exitCode, 0);
      const codes = Object.fromEntries(
        c
          .out()
          .split('\n')
          .filter((l) => /^\w+=\d+$/.test(l))
          .map((l) => l.split('=')),
      );
      assert.deepEqual(codes, {
        etc: '1',
        usr: '1',
        hosttmp: '1',
        read: '1',
        home: '2',
        root: '1',
        work: '0',
        tmp: '0',
      });
      assert.equal(readFileSync(join(s.workDir, 'out.txt'), 'utf8'), 'made-inside\n');
      assert.equal(existsSync(join(hostDir, 'x')), false);
      assert.equal(existsSync(join(tmpdir(), 'scratch')), false);
    });

    it('has no network unless asked for, and then reaches a server on the host', async () => {
      let connections = 0;
      const server = createServer((sock) => {
        connections++;
        sock.end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      try {
        const dial = `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected`;
        const off = capture();
        const r1 = await (await runSandboxed(spec(['bash', '-c', dial]), { support, ...off })).result;
        assert.notEqual(r1.exitCode, 0);
        assert.equal(off.out(), '');
        assert.equal(connections, 0);

        const ifs = capture();
        await (await runSandboxed(sh('tail -n +3 /proc/net/dev | cut -d: -f1'), { support, ...ifs })).result;
        assert.deepEqual(ifs.out().trim().split(/\s+/), ['lo'], 'only its own loopback');

        const on = capture();
        const r2 = await (
          await runSandboxed(spec(['bash', '-c', dial], { network: true }), { support, ...on })
        ).result;
        assert.equal(r2.exitCode, 0, on.err());
        assert.equal(on.out(), 'connected\n');
        assert.equal(connections, 1);
      } finally {
        server.close();
      }
    });
  });

  describe('limits', () => {
    it('stops a fork bomb at pids.max, kills all of it, and the agent lives on', async () => {
      const marker = `bomb${randomBytes(4).toString('hex')}`;
      const r = await runSandboxed(
        spec(['bash', '-c', `f(){ f|f& }; f; sleep 30 # ${marker}`], { limits: { ...LIMITS, pids: 32 } }),
        {
          support,
          onStderr: () => {}, // bash complains on every refused fork
        },
      );
      const res = await r.result;
      assert.equal(res.reason, 'pids');
      assert.ok(res.wallMs < LIMITS.timeoutMs, 'ended by pids.max, not by the timeout');
      assert.deepEqual(processesWith(marker), [], 'nothing of the bomb is left');
      const after = await (await runSandboxed(spec(['true']), { support })).result;
      assert.equal(after.exitCode, 0, 'the agent can still start runs');
    });

    it('ends a run past its memory cap with reason memory', async () => {
      const cap = 64 << 20;
      // tail keeps a line whole until its newline, and /dev/zero has none: 512 MiB held.
      const hog = sh('head -c 512M /dev/zero | tail', { limits: { ...LIMITS, memoryBytes: cap } });
      const r = await runSandboxed(hog, { support, onStderr: () => {} });
      const res = await r.result;
      assert.equal(res.reason, 'memory');
      assert.equal(res.signal, 'SIGKILL');
      // The peak is the cgroup's high-water mark: it reached the cap and did not pass it.
      assert.ok(res.peakMemoryBytes > cap / 2 && res.peakMemoryBytes <= cap, `peak ${res.peakMemoryBytes}`);
    });

    it('kills at the time limit with reason timeout', async () => {
      const res = await (
        await runSandboxed(spec(['sleep', '30'], { limits: { ...LIMITS, timeoutMs: 300 } }), { support })
      ).result;
      assert.equal(res.reason, 'timeout');
      assert.equal(res.signal, 'SIGKILL');
      assert.ok(res.wallMs >= 300 && res.wallMs < 10_000, `wall ${res.wallMs} ms`);
    });

    it('holds a busy loop to its CPU quota, and usage() reads live', async () => {
      const cpus = 0.5;
      const r = await runSandboxed(
        sh('while :; do :; done', { limits: { ...LIMITS, cpus, timeoutMs: 1500 } }),
        { support },
      );
      await new Promise((res) => setTimeout(res, 700));
      const live = r.usage();
      assert.ok(live.cpuSeconds > 0, 'CPU time while running');
      assert.ok(live.peakMemoryBytes > 0, 'memory while running');
      const res = await r.result;
      assert.equal(res.reason, 'timeout');
      // A limit, not a speed: at most 0.5 core × wall (1.5 s → 0.75 s), 10% for the period edges.
      const ceiling = 1.1 * cpus * (res.wallMs / 1000);
      assert.ok(
        res.cpuSeconds > 0 && res.cpuSeconds <= ceiling,
        `${res.cpuSeconds} CPU-s over ${res.wallMs} ms`,
      );
      console.log(`cpu quota ${cpus}: ${res.cpuSeconds.toFixed(3)} CPU-s in ${res.wallMs} ms`);
    });
  });

  describe('ending', () => {
    it('reports exit codes and deaths by signal', async () => {
      const cases: Array<[string, number | null, string | null]> = [
        ['exit 0', 0, null],
        ['exit 7', 7, null],
        ['kill -TERM $$', null, 'SIGTERM'],
      ];
      for (const [script, exitCode, signal] of cases) {
        const res = await (await runSandboxed(sh(script), { support })).result;
        assert.deepEqual([res.exitCode, res.signal, res.reason], [exitCode, signal, 'exited'], script);
      }
    });

    it('takes background children down with it', async () => {
      const marker = `${1000 + randomBytes(2).readUInt16LE(0)}.5`; // a sleep no one else runs
      const res = await (await runSandboxed(sh(`sleep ${marker} & sleep ${marker} & exit 0`), { support }))
        .result;
      assert.equal(res.exitCode, 0);
      assert.deepEqual(processesWith(`sleep\0${marker}`), []);
    });

    it('dies with the agent, and the next probe sweeps the cgroup it left', async () => {
      const secs = `${1000 + randomBytes(2).readUInt16LE(0)}.5`;
      const s = spec(['sleep', secs]);
      const agent = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(new URL('./run.js', import.meta.url).href)});
           const r = await m.runSandboxed(${JSON.stringify(s)}, { support: ${JSON.stringify(support)} });
           console.log('started'); await r.result;`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((res) => agent.stdout.once('data', () => res()));
      // bwrap's argv ends with the command too, so the marker shows twice.
      assert.ok(processesWith(`sleep\0${secs}`).length > 0, 'running under the agent');
      agent.kill('SIGKILL');
      await new Promise((res) => agent.once('exit', res));
      for (let i = 0; i < 100 && processesWith(`sleep\0${secs}`).length > 0; i++) await sleep(20);
      assert.deepEqual(processesWith(`sleep\0${secs}`), [], 'gone with the agent');
      await probeSandbox();
      assert.deepEqual(runDirs(`computemd-${agent.pid}-`), []);
    });

    it('kill() and an AbortSignal end a run with reason killed', async () => {
      const r = await runSandboxed(spec(['sleep', '30']), { support });
      r.kill();
      r.kill();
      assert.equal((await r.result).reason, 'killed');

      const ac = new AbortController();
      const r2 = await runSandboxed(spec(['sleep', '30']), { support, signal: ac.signal });
      setTimeout(() => ac.abort(), 100);
      const res = await r2.result;
      assert.equal(res.reason, 'killed');
      assert.ok(res.wallMs < 10_000);
    });

    it('leaves no cgroup behind', () => {
      const layout = readLayout();
      assert.ok(layout.ok);
      const l = layout.layout;
      const parents =
        l.version === 'v1' ? [l.memory, l.cpu, l.pids, ...(l.cpuacct ? [l.cpuacct] : [])] : [l.dir];
      const mine = `computemd-${process.pid}-`;
      for (const p of parents) {
        assert.deepEqual(
          readdirSync(p).filter((d) => d.startsWith(mine)),
          [],
          p,
        );
      }
    });
  });
});

describe('runSandboxed without a sandbox', () => {
  it('throws SandboxUnavailableError saying what is missing and how to opt in to rlimits', async () => {
    const support = { bwrap: false, cgroup: 'v1' as const, detail: 'bwrap not found on PATH' };
    await assert.rejects(
      runSandboxed(
        { command: ['true'], env: {}, workDir: tmpdir(), network: false, limits: LIMITS },
        { support },
      ),
      (err: unknown) => {
        assert.ok(err instanceof SandboxUnavailableError);
        assert.deepEqual(err.missing, ['bwrap']);
        assert.match(err.message, /bwrap not found/);
        assert.match(err.message, /To fix: .*'rlimits'/);
        return true;
      },
    );
  });

  it('rejects limits that are not positive numbers', async () => {
    const support = { bwrap: true, cgroup: 'v1' as const, detail: '' };
    const bad = { ...LIMITS, cpus: 0, pids: Number.NaN };
    await assert.rejects(
      runSandboxed(
        { command: ['true'], env: {}, workDir: tmpdir(), network: false, limits: bad },
        { support },
      ),
      /cpus, pids/,
    );
  });
});
