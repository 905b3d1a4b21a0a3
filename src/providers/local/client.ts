import { execFile } from 'node:child_process';
import os from 'node:os';

/**
 * This host's "wire API": the OS for CPUs and memory, and `nvidia-smi` for GPUs. Effects live
 * here; parsing is pure (parseNvidiaSmi) so it is tested on sample outputs.
 */

export const LOCAL_PROVIDER_NAME = 'local';

/** Runs a program without a shell; resolves with its stdout. Injected so tests need no GPU. */
export type ExecFn = (file: string, args: string[]) => Promise<{ stdout: string }>;

export interface HostFacts {
  vcpus: number;
  /** Total host memory in bytes. */
  memory_bytes: number;
  cpu_model: string | null;
  platform: string;
  arch: string;
}

export interface LocalGpu {
  /** The name nvidia-smi prints, e.g. "NVIDIA GeForce RTX 4090". */
  name: string;
  /** Total memory in MiB (nvidia-smi's unit with `nounits`). */
  memory_mib: number | null;
}

export interface GpuProbe {
  gpus: LocalGpu[];
  /** Why there are no GPU figures when nvidia-smi exists but failed; undefined otherwise. */
  error?: string;
}

export const NVIDIA_SMI_ARGS = ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits'];

export function hostFacts(): HostFacts {
  const cpus = os.cpus();
  return {
    // os.cpus() can be empty in some containers; availableParallelism() still counts.
    vcpus: cpus.length > 0 ? cpus.length : os.availableParallelism(),
    memory_bytes: os.totalmem(),
    cpu_model: cpus[0]?.model.trim() || null,
    platform: os.platform(),
    arch: os.arch(),
  };
}

/**
 * `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` output → GPUs, one per
 * line: "NVIDIA H100 80GB HBM3, 81559". The name never contains a comma in practice, but take
 * the last field as memory so one that did would still parse. Blank lines are skipped; a memory
 * field that is not a number ("[N/A]") gives null.
 */
export function parseNvidiaSmi(stdout: string): LocalGpu[] {
  const gpus: LocalGpu[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const t = line.trim();
    if (t === '') continue;
    const comma = t.lastIndexOf(',');
    const name = (comma < 0 ? t : t.slice(0, comma)).trim();
    const mem = comma < 0 ? Number.NaN : Number(t.slice(comma + 1).trim());
    if (name === '') continue;
    gpus.push({ name, memory_mib: Number.isFinite(mem) && mem > 0 ? mem : null });
  }
  return gpus;
}

/** The default ExecFn: execFile with a timeout, so a hung driver cannot stall a refresh. */
export const execFileFn =
  (timeoutMs = 5_000): ExecFn =>
  (file, args) =>
    new Promise((resolve, reject) => {
      execFile(file, args, { timeout: timeoutMs, windowsHide: true }, (err, stdout) => {
        if (err) reject(err);
        else resolve({ stdout: String(stdout) });
      });
    });

/** Asks nvidia-smi for the GPUs. No nvidia-smi (ENOENT) is the normal "no GPU" answer. */
export async function probeGpus(exec: ExecFn): Promise<GpuProbe> {
  try {
    const { stdout } = await exec('nvidia-smi', NVIDIA_SMI_ARGS);
    return { gpus: parseNvidiaSmi(stdout) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { gpus: [] };
    // Present but failing (driver not loaded, no device): report it rather than guess.
    return { gpus: [], error: `nvidia-smi failed: ${(err as Error).message.split('\n')[0]}` };
  }
}
