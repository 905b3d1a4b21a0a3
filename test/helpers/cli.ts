import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { packagePath } from '../../src/util/paths.js';
import { BASE_ENV } from './serve.js';

/**
 * The real binary (`node bin/computemd.js …`) as a child process, with COMPUTEMD_* scrubbed from
 * its environment. Always asynchronous: a test may run the gateway in its own process, and a
 * synchronous spawn would stall the very gateway the CLI is calling.
 */
export const BIN = packagePath('bin', 'computemd.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...BASE_ENV, ...env }, timeout: 30_000, ...(cwd ? { cwd } : {}) },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A long-running CLI command (follow, watch): its output so far, and its exit. */
export interface Running {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once stdout matches `re` (rejects if the process exits first). */
  waitFor(re: RegExp): Promise<void>;
  exited: Promise<number | null>;
}

export function start(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { ...BASE_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  proc.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
    for (const w of [...waiters])
      if (w.re.test(out)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  });
  proc.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (re) =>
      re.test(out)
        ? Promise.resolve()
        : new Promise((resolve, reject) => {
            waiters.push({ re, resolve });
            void exited.then((code) =>
              reject(new Error(`exited ${code} before ${re}; stdout: ${out}; stderr: ${err}`)),
            );
          }),
  };
}
