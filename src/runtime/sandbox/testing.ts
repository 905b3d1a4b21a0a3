import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { probeSandbox } from './probe.js';
import type { SandboxLimits, SandboxSupport } from './types.js';

/**
 * Test harness for the sandbox (not a test file itself). The tests need bwrap and a writable
 * cgroup and run real processes. Without them a file's suites are replaced by one failing test that
 * says what is missing, unless COMPUTEMD_SANDBOX_OPTIONAL=1, where it is one skipped test with the
 * same reason: the sandbox never silently passes.
 */
const OPTIONAL = process.env.COMPUTEMD_SANDBOX_OPTIONAL === '1';

export async function sandboxSuites(
  title: string,
  register: (support: SandboxSupport) => void,
): Promise<void> {
  const support = await probeSandbox();
  if (support.bwrap && support.cgroup !== null) {
    register(support);
    return;
  }
  const message = `this host cannot sandbox: ${support.detail}`;
  if (OPTIONAL) it(title, { skip: `${message} (COMPUTEMD_SANDBOX_OPTIONAL=1)` }, () => {});
  else
    it(`${title}: the host can sandbox`, () => {
      assert.fail(
        `${message}. Install bubblewrap and run as root (or with a delegated cgroup), or set COMPUTEMD_SANDBOX_OPTIONAL=1 to skip.`,
      );
    });
}

/** A fresh work dir, removed after the file's tests. */
export function workDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'computemd-sbx-test-'));
  after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export const LIMITS: SandboxLimits = { memoryBytes: 256 << 20, cpus: 1, pids: 64, timeoutMs: 20_000 };
export const ENV = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' };

/** Collects stdout and stderr as text. */
export function capture(): {
  out: () => string;
  err: () => string;
  onStdout: (b: Buffer) => void;
  onStderr: (b: Buffer) => void;
} {
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  return {
    out: () => Buffer.concat(o).toString(),
    err: () => Buffer.concat(e).toString(),
    onStdout: (b) => o.push(b),
    onStderr: (b) => e.push(b),
  };
}

/** Host processes whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker)) found.push(Number(p));
    } catch {
      // gone
    }
  }
  return found;
}
