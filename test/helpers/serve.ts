import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { packagePath } from '../../src/util/paths.js';

/**
 * `computemd serve` as a real child process, for tests that kill, restart or replicate the
 * gateway. Every gateway started here is tracked; `killAllGateways()` (call it in `after`) stops
 * whatever is left.
 */

const BIN = packagePath('bin', 'computemd.js');

/**
 * The environment without COMPUTEMD_* and VAST_* variables, so a developer's settings never leak in,
 * and with rate limits off: tests send thousands of requests from loopback.
 */
export const BASE_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('COMPUTEMD_') && !k.startsWith('VAST_')),
  ),
  COMPUTEMD_RATE_LIMIT: 'off',
};

/** A TCP port that was free a moment ago (bind 0, read it back, close). */
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

export interface Child {
  proc: ChildProcess;
  url: string;
  /** What it printed on stdout up to its "serving" line. */
  stdout: string;
}

const live = new Set<ChildProcess>();

export function kill(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill(signal);
  });
}

/** SIGKILLs every gateway started here that has not exited. */
export async function killAllGateways(): Promise<void> {
  await Promise.all([...live].map((p) => kill(p, 'SIGKILL')));
}

/** Starts the gateway on a free port; resolves once it prints that it is serving (after listen). */
export async function startGateway(
  dataDir: string,
  env: NodeJS.ProcessEnv = {},
  /** Working directory (default the data dir, which must then exist). */
  cwd: string = dataDir,
): Promise<Child> {
  const port = await freePort();
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--data', dataDir], {
    cwd,
    env: { ...BASE_ENV, COMPUTEMD_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  let stdout = '';
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`gateway not serving after 30 s; stderr: ${stderr}`));
    }, 30_000);
    proc.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (/computemd: serving \d+ offers/.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}; stderr: ${stderr}`));
    });
  });
  return { proc, url: `http://127.0.0.1:${port}`, stdout };
}
