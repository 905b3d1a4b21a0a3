/**
 * Can this host sandbox? Answered by trying, not by looking: bwrap runs `true` with exactly the
 * options a real run gets (so a kernel without unprivileged user namespaces, or a bwrap too old for
 * one of the options, shows up here), and a cgroup is created with limits and removed again.
 * Callers probe once at start-up and pass the answer to every run. The probe also sweeps run
 * cgroups left by agents that died (cgroup.ts, sweepStale).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argsPayload, bwrapArgs, systemRoot } from './bwrap.js';
import { createRunCgroup, readLayout, runName, sweepStale } from './cgroup.js';
import type { SandboxSupport } from './types.js';

/** A program on the agent's PATH (or the usual places), or null. */
export function findProgram(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/local/bin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // not here
    }
  }
  return null;
}

export const findBwrap = () => findProgram('bwrap');

/** Runs a program with bwrap options fed through fd 3; resolves with its exit code and stderr. */
function runBwrap(
  bwrap: string,
  options: string[],
  command: string[],
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(bwrap, ['--args', '3', '--', ...command], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      env: {},
    });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const fd3 = child.stdio[3] as NodeJS.WritableStream & { on(e: 'error', f: () => void): void };
    fd3.on('error', () => {});
    fd3.end(argsPayload(options));
    child.on('error', (err) => resolve({ code: -1, stderr: err.message }));
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : -1), stderr: stderr.trim() }),
    );
  });
}

async function probeBwrap(): Promise<{ ok: boolean; detail: string }> {
  const bwrap = findBwrap();
  if (!bwrap) return { ok: false, detail: 'bwrap not found on PATH' };
  const work = mkdtempSync(join(tmpdir(), 'computemd-probe-'));
  try {
    const options = bwrapArgs({ root: systemRoot(), workDir: work, network: false, env: {} });
    const r = await runBwrap(bwrap, options, ['true']);
    return r.code === 0
      ? { ok: true, detail: `bwrap ${bwrap} runs` }
      : { ok: false, detail: `bwrap ${bwrap} fails (status ${r.code}): ${r.stderr || 'no message'}` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function probeCgroup(): Promise<{ version: 'v1' | 'v2' | null; detail: string }> {
  const found = readLayout();
  if (!found.ok) return { version: null, detail: found.why };
  try {
    const swept = sweepStale(found.layout);
    const cg = createRunCgroup(found.layout, runName(), { memoryBytes: 64 << 20, cpus: 1, pids: 16 });
    await cg.remove();
    const where = cg.procsFiles.map((f) => f.replace(/\/[^/]+\/cgroup\.procs$/, '')).join(', ');
    const note = swept > 0 ? ` (removed ${swept} run directories left by dead agents)` : '';
    return { version: found.layout.version, detail: `cgroup ${found.layout.version} under ${where}${note}` };
  } catch (err) {
    return {
      version: null,
      detail: `cgroup ${found.layout.version} not writable: ${(err as Error).message}`,
    };
  }
}

export async function probeSandbox(): Promise<SandboxSupport> {
  const [b, c] = await Promise.all([probeBwrap(), probeCgroup()]);
  return { bwrap: b.ok, cgroup: c.version, detail: `${b.detail}; ${c.detail}` };
}
