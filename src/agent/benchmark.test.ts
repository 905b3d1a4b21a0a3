import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, it } from 'node:test';
import { type ExecFn, execFileFn } from '../providers/local/client.js';
import {
  GPU_PROBE_PY,
  measureCapabilities,
  parseGpuProbe,
  probeCpuGflops,
  probeMemoryBandwidth,
} from './benchmark.js';

const H100_SMI = 'NVIDIA H100 80GB HBM3, 81559\n';

/** An exec that answers nvidia-smi and python3 from recorded outputs, and counts the calls. */
function fakeExec(answers: Record<string, string | Error>): ExecFn & { calls: string[] } {
  const calls: string[] = [];
  const fn = (async (file: string) => {
    calls.push(file);
    const a = answers[file];
    if (a === undefined) throw Object.assign(new Error(`spawn ${file} ENOENT`), { code: 'ENOENT' });
    if (a instanceof Error) throw a;
    return { stdout: a };
  }) as unknown as ExecFn & { calls: string[] };
  fn.calls = calls;
  return fn;
}

describe('CPU probes', () => {
  it('measure real work on this host (positive, finite figures)', () => {
    const g = probeCpuGflops(50, 64);
    assert.ok(Number.isFinite(g) && g > 0, String(g));
    const bw = probeMemoryBandwidth(8, 2);
    assert.ok(Number.isFinite(bw) && bw > 0, String(bw));
  });
});

describe('measureCapabilities', () => {
  it('a host without nvidia-smi: CPU figures, no GPUs, and python is never asked', async () => {
    const exec = fakeExec({});
    const c = await measureCapabilities({ exec, cpuMs: 20 });
    assert.equal(c.method, 'benchmark');
    assert.equal(c.cpu.cores, os.cpus().length || os.availableParallelism());
    assert.ok(c.cpu.gflops_per_core > 0 && c.cpu.memory_bandwidth_gbs > 0);
    assert.deepEqual(c.gpus, []);
    assert.deepEqual(exec.calls, ['nvidia-smi']);
  });

  it('an H100 with a CUDA PyTorch: measured FP16 TFLOPS and bandwidth from the probe', async () => {
    const exec = fakeExec({
      'nvidia-smi': H100_SMI,
      python3:
        '{"index": 0, "name": "NVIDIA H100 80GB HBM3", "fp16_tflops": 612.4, "memory_bandwidth_gbs": 2710.5}\n',
    });
    const c = await measureCapabilities({ exec, cpuMs: 20 });
    assert.deepEqual(c.gpus, [
      {
        name: 'NVIDIA H100 80GB HBM3',
        memory_gb: 79.6,
        measured: true,
        fp16_tflops: 612.4,
        memory_bandwidth_gbs: 2710.5,
      },
    ]);
  });

  it('a GPU the probe cannot measure is listed unmeasured with the reason, never with a guess', async () => {
    for (const [py, reason] of [
      ['{"error": "no PyTorch: No module named \'torch\'"}\n', /no PyTorch/],
      [new Error('spawn python3 ENOENT'), /python3 could not run/],
      ['garbage\n', /printed no figures/],
    ] as const) {
      const c = await measureCapabilities({
        exec: fakeExec({ 'nvidia-smi': H100_SMI, python3: py }),
        cpuMs: 20,
      });
      assert.equal(c.gpus[0]?.measured, false);
      assert.equal(c.gpus[0]?.fp16_tflops, null);
      assert.match(c.gpus[0]?.reason ?? '', reason);
    }
  });

  it('nvidia-smi present but failing is a note, not a crash', async () => {
    const c = await measureCapabilities({
      exec: fakeExec({ 'nvidia-smi': new Error('NVIDIA-SMI has failed') }),
      cpuMs: 20,
    });
    assert.deepEqual(c.gpus, []);
    assert.match(c.notes[0] ?? '', /nvidia-smi failed/);
  });
});

describe('parseGpuProbe', () => {
  it('reads one line per GPU and ignores noise and non-finite figures', () => {
    const p = parseGpuProbe(
      'warning: something\n{"index": 1, "fp16_tflops": 300, "memory_bandwidth_gbs": 1500}\n{"index": 0, "fp16_tflops": "x", "memory_bandwidth_gbs": 1}\n',
    );
    assert.deepEqual([...p.figures.keys()], [1]);
    assert.equal(p.error, null);
  });
  it('the real probe script runs under python3 and, without CUDA here, says why', async () => {
    const { stdout } = await execFileFn(60_000)('python3', ['-c', GPU_PROBE_PY]);
    const p = parseGpuProbe(stdout);
    assert.equal(p.figures.size, 0);
    assert.match(p.error ?? '', /no PyTorch|no CUDA/);
  });
});
