/**
 * What the sandbox costs (issue 6, part 3): the same one-second CPU job (a shell counting loop,
 * calibrated here to about 1 s bare) run bare and under bwrap + a cgroup (1 CPU, which a
 * single-threaded loop never exceeds), wall time from spawn to exit, median of RUNS each,
 * interleaved so drift hits both. And the time from asking for a sandboxed run to the first
 * instruction of the workload: `date +%s%N` inside against the host clock (bwrap does not unshare
 * time), bare alongside. Printed, not asserted. `node dist/bench/sandbox.js` runs it alone.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeSandbox, runSandboxed } from '../src/runtime/sandbox/index.js';

const RUNS = 5;
const loop = (n: number) => `i=0; while [ $i -lt ${n} ]; do i=$((i+1)); done`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const nowMs = () => performance.timeOrigin + performance.now();

function bare(argv: string[]): Promise<{ ms: number; out: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.on('error', reject);
    child.on('close', () => resolve({ ms: performance.now() - t0, out }));
  });
}

export async function runSandboxBench(): Promise<{
  bare_s: number;
  sandboxed_s: number;
  overhead_ratio: number;
  spawn_to_first_instruction_ms: number;
  bare_spawn_to_first_instruction_ms: number;
}> {
  const support = await probeSandbox();
  if (!support.bwrap || support.cgroup === null) throw new Error(`no sandbox here: ${support.detail}`);
  const work = mkdtempSync(join(tmpdir(), 'computemd-bench-sbx-'));
  try {
    const probe = 200_000;
    const n = Math.round(probe * (1000 / (await bare(['/bin/sh', '-c', loop(probe)])).ms));
    const spec = (command: string[]) => ({
      command,
      env: { PATH: '/usr/bin:/bin' },
      workDir: work,
      network: false,
      limits: { memoryBytes: 256 << 20, cpus: 1, pids: 64, timeoutMs: 60_000 },
    });
    const bareS: number[] = [];
    const boxS: number[] = [];
    const firstBox: number[] = [];
    const firstBare: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      bareS.push((await bare(['/bin/sh', '-c', loop(n)])).ms / 1000);
      const res = await (await runSandboxed(spec(['/bin/sh', '-c', loop(n)]), { support })).result;
      if (res.exitCode !== 0) throw new Error(`sandboxed loop ended ${res.reason} ${res.exitCode}`);
      boxS.push(res.wallMs / 1000);

      let out = '';
      const t0 = nowMs();
      const r = await runSandboxed(spec(['date', '+%s%N']), { support, onStdout: (b) => (out += b) });
      await r.result;
      firstBox.push(Number(out.trim()) / 1e6 - t0);
      const t1 = nowMs();
      firstBare.push(Number((await bare(['date', '+%s%N'])).out.trim()) / 1e6 - t1);
    }
    const b = median(bareS);
    const s = median(boxS);
    return {
      bare_s: Number(b.toFixed(3)),
      sandboxed_s: Number(s.toFixed(3)),
      overhead_ratio: Number((s / b).toFixed(3)),
      spawn_to_first_instruction_ms: Number(median(firstBox).toFixed(1)),
      bare_spawn_to_first_instruction_ms: Number(median(firstBare).toFixed(1)),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runSandboxBench(), null, 2));
}
