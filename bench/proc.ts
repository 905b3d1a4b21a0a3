import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../src/util/paths.js';

/** A free TCP port on loopback (bind to 0, read it back, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Started {
  proc: ChildProcess;
  url: string;
  /** ms from spawn to the first 200 on /health. */
  readyMs: number;
  stop(): Promise<void>;
}

/** Starts the built gateway as a real process (`computemd serve`) and waits for /health. */
export async function startGateway(
  extraEnv: Record<string, string> = {},
  timeoutMs = 20_000,
  /** Extra node flags for the gateway process (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs: string[] = [],
): Promise<Started> {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'computemd-bench-'));
  const t0 = performance.now();
  const proc = spawn(
    process.execPath,
    [...nodeArgs, packagePath('bin', 'computemd.js'), 'serve', '--port', String(port), '--data', data],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      // Rate limits off: a benchmark is thousands of requests from loopback.
      env: { ...process.env, COMPUTEMD_LOG_LEVEL: 'silent', COMPUTEMD_RATE_LIMIT: 'off', ...extraEnv },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`gateway exited with ${proc.exitCode}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error('gateway did not become healthy in time');
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const readyMs = performance.now() - t0;
  return {
    proc,
    url,
    readyMs,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
