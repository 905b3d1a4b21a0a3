import { type ExecFn, execFileFn, hostFacts, type LocalGpu, probeGpus } from '../providers/local/client.js';

/**
 * The node agent's capability vector, measured rather than declared (issue 6, part 2: offers of
 * node agents say `verification: "benchmark_based"`, the spec's word).
 *
 * - **CPU.** Cores as the OS counts them. Single-core FP64 GFLOPS from a blocked matrix
 *   multiply (n = 128, repeated for about `cpuMs`); memory bandwidth from copying a 64 MiB buffer
 *   several times (read + write bytes per second). Both are short probes of what one core of
 *   this host does, not a peak figure: they rank nodes against each other and catch a host that
 *   claims more than it has.
 * - **GPU.** The inventory from `nvidia-smi` (name, memory). When a Python with CUDA PyTorch is
 *   there, a 2-second probe measures FP16 matmul TFLOPS and device memory bandwidth per GPU; without
 *   one the GPU is listed with `measured: false` and the reason, never with a guessed figure.
 *
 * Effects go through `exec` (injectable), so tests feed recorded outputs.
 */

export interface CpuFigures {
  cores: number;
  model: string | null;
  /** Single-core FP64 matrix-multiply GFLOPS. */
  gflops_per_core: number;
  /** Copy bandwidth, GB/s (10^9 bytes: read + write). */
  memory_bandwidth_gbs: number;
}

export interface GpuFigures {
  name: string;
  memory_gb: number | null;
  measured: boolean;
  /** FP16 dense matmul TFLOPS measured on the device; null when not measured. */
  fp16_tflops: number | null;
  /** Device-to-device copy bandwidth, GB/s; null when not measured. */
  memory_bandwidth_gbs: number | null;
  /** Why there are no measured figures. */
  reason?: string;
}

export interface Capabilities {
  measured_at: string;
  method: 'benchmark';
  cpu: CpuFigures;
  memory_gb: number;
  gpus: GpuFigures[];
  /** nvidia-smi present but failing, for example. */
  notes: string[];
}

/** Single-core FP64 GFLOPS from repeated n×n matrix multiplies for about `ms` milliseconds. */
export function probeCpuGflops(ms = 300, n = 128): number {
  const a = new Float64Array(n * n).map((_, i) => ((i * 7) % 13) / 13);
  const b = new Float64Array(n * n).map((_, i) => ((i * 5) % 11) / 11);
  const c = new Float64Array(n * n);
  const once = () => {
    c.fill(0);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < n; k++) {
        const aik = a[i * n + k] as number;
        const row = i * n;
        const brow = k * n;
        for (let j = 0; j < n; j++) c[row + j] = (c[row + j] as number) + aik * (b[brow + j] as number);
      }
  };
  once(); // warm the JIT
  let runs = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    once();
    runs++;
    elapsed = performance.now() - t0;
  } while (elapsed < ms);
  // Keep the result observable so the work cannot be optimised away.
  if (Number.isNaN(c[0])) throw new Error('matrix multiply produced NaN');
  return (2 * n * n * n * runs) / (elapsed / 1000) / 1e9;
}

/** Copy bandwidth in GB/s over a `mib` MiB buffer, `rounds` copies (read + write bytes). */
export function probeMemoryBandwidth(mib = 64, rounds = 8): number {
  const src = new Float64Array((mib * 1024 * 1024) / 8).fill(1);
  const dst = new Float64Array(src.length);
  dst.set(src); // touch every page first
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) dst.set(src);
  const s = (performance.now() - t0) / 1000;
  return (2 * src.byteLength * rounds) / s / 1e9;
}

/** The GPU probe run by `python3`: one JSON line per GPU, or an error line. */
export const GPU_PROBE_PY = `
import json, time
try:
    import torch
except Exception as e:
    print(json.dumps({"error": "no PyTorch: %s" % e})); raise SystemExit(0)
if not torch.cuda.is_available():
    print(json.dumps({"error": "PyTorch sees no CUDA device"})); raise SystemExit(0)
for d in range(torch.cuda.device_count()):
    dev = torch.device("cuda", d)
    n = 8192
    a = torch.randn(n, n, device=dev, dtype=torch.float16); b = torch.randn(n, n, device=dev, dtype=torch.float16)
    for _ in range(3): a @ b
    torch.cuda.synchronize(dev); t = time.perf_counter(); k = 0
    while time.perf_counter() - t < 1.0:
        a @ b; k += 1
    torch.cuda.synchronize(dev); tf = 2 * n**3 * k / (time.perf_counter() - t) / 1e12
    x = torch.empty(256 * 1024 * 1024, dtype=torch.uint8, device=dev); y = torch.empty_like(x)
    y.copy_(x); torch.cuda.synchronize(dev); t = time.perf_counter(); k = 0
    while time.perf_counter() - t < 0.5:
        y.copy_(x); k += 1
    torch.cuda.synchronize(dev); bw = 2 * x.numel() * k / (time.perf_counter() - t) / 1e9
    print(json.dumps({"index": d, "name": torch.cuda.get_device_name(d), "fp16_tflops": round(tf, 1), "memory_bandwidth_gbs": round(bw, 1)}))
`;

interface GpuProbeLine {
  index?: number;
  name?: string;
  fp16_tflops?: number;
  memory_bandwidth_gbs?: number;
  error?: string;
}

/** The probe's output → per-GPU figures by index, or the error it reported. */
export function parseGpuProbe(stdout: string): { figures: Map<number, GpuProbeLine>; error: string | null } {
  const figures = new Map<number, GpuProbeLine>();
  let error: string | null = null;
  for (const line of stdout.split(/\r?\n/)) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const j = JSON.parse(t) as GpuProbeLine;
      if (typeof j.error === 'string') error = j.error;
      else if (
        Number.isInteger(j.index) &&
        typeof j.fp16_tflops === 'number' &&
        Number.isFinite(j.fp16_tflops) &&
        typeof j.memory_bandwidth_gbs === 'number' &&
        Number.isFinite(j.memory_bandwidth_gbs)
      )
        figures.set(j.index as number, j);
    } catch {
      // a line that is not the probe's: ignore
    }
  }
  if (figures.size === 0 && error === null) error = 'the GPU probe printed no figures';
  return { figures, error };
}

export interface MeasureOptions {
  exec?: ExecFn;
  /** Milliseconds of CPU matmul (default 300). */
  cpuMs?: number;
  now?: () => number;
}

/** Measures this host. Takes about half a second without a GPU, a few seconds with one. */
export async function measureCapabilities(o: MeasureOptions = {}): Promise<Capabilities> {
  const host = hostFacts();
  const exec = o.exec ?? execFileFn(120_000);
  const notes: string[] = [];
  const inv = await probeGpus(exec);
  if (inv.error) notes.push(inv.error);
  let gpus: GpuFigures[] = inv.gpus.map((g: LocalGpu) => ({
    name: g.name,
    memory_gb: g.memory_mib === null ? null : Math.round((g.memory_mib / 1024) * 10) / 10,
    measured: false,
    fp16_tflops: null,
    memory_bandwidth_gbs: null,
  }));
  if (gpus.length > 0) {
    let probe: ReturnType<typeof parseGpuProbe>;
    try {
      probe = parseGpuProbe((await exec('python3', ['-c', GPU_PROBE_PY])).stdout);
    } catch (err) {
      probe = {
        figures: new Map(),
        error: `python3 could not run the probe: ${(err as Error).message.split('\n')[0]}`,
      };
    }
    gpus = gpus.map((g, i) => {
      const f = probe.figures.get(i);
      return f
        ? {
            ...g,
            measured: true,
            fp16_tflops: f.fp16_tflops ?? null,
            memory_bandwidth_gbs: f.memory_bandwidth_gbs ?? null,
          }
        : { ...g, reason: probe.error ?? `no figures for GPU ${i}` };
    });
  }
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    measured_at: new Date((o.now ?? Date.now)()).toISOString(),
    method: 'benchmark',
    cpu: {
      cores: host.vcpus,
      model: host.cpu_model,
      gflops_per_core: round(probeCpuGflops(o.cpuMs ?? 300)),
      memory_bandwidth_gbs: round(probeMemoryBandwidth()),
    },
    memory_gb: Math.round((host.memory_bytes / 1024 ** 3) * 10) / 10,
    gpus,
    notes,
  };
}
