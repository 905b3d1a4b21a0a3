/**
 * What both modes share about their host-side shell wrapper: the fds it is given, the "ok"
 * handshake on fd 3, and the lifeline on fd 6.
 *
 * fds: 0 /dev/null, 1-2 pipes to the caller, 3 the handshake (and, in rlimits mode, `times`), 4
 * bwrap's options, 5 bytes for the command (the WASM worker's module) or nothing, 6 the lifeline.
 *
 * The lifeline is one end of a socket pair whose other end only the agent holds. A watchdog in
 * the wrapper blocks reading it; the read returns when the agent's end closes, which the kernel
 * does when the agent dies, however it dies. The watchdog then kills the run. bwrap's
 * --die-with-parent alone is not enough: it arms the parent-death signal a few milliseconds after
 * bwrap starts (for its inner process later still), the kernel never sends it for a parent that
 * died before, and an agent killed in that window (seen in the tests) would leave a run nobody
 * times out.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { SandboxLimits } from './types.js';

export function stdio(withFd5: boolean): StdioOptions {
  return ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', withFd5 ? 'pipe' : 'ignore', 'pipe'];
}

/** The agent's end of the lifeline; destroy it once the run is over (the watchdog is gone by then). */
export const lifeline = (child: ChildProcess) => (child.stdio as unknown[])[6] as Readable;

/** setTimeout's ceiling (about 24.8 days); longer would fire at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export function validateLimits(l: SandboxLimits): void {
  const bad = Object.entries(l).filter(([, v]) => typeof v !== 'number' || !(v > 0) || !Number.isFinite(v));
  if (bad.length > 0) {
    throw new RangeError(`sandbox limits must be positive numbers: ${bad.map(([k]) => k).join(', ')}`);
  }
  if (l.timeoutMs > MAX_TIMEOUT_MS) throw new RangeError(`timeoutMs must be at most ${MAX_TIMEOUT_MS}`);
}

/** Feeds bytes to a child's extra fd; a child that exits without reading is not an error here. */
export function feed(child: ChildProcess, fd: number, bytes: Buffer): void {
  const w = (child.stdio as unknown[])[fd] as Writable;
  w.on('error', () => {});
  w.end(bytes);
}

/**
 * Waits for "ok" on fd 3. stderr that arrives before it is held back and returned, to be shown to
 * the caller after (on success) or in the error (on failure).
 */
export function handshake(child: ChildProcess): Promise<{ ok: boolean; early: Buffer[] }> {
  const early: Buffer[] = [];
  const hold = (b: Buffer) => early.push(b);
  child.stderr?.on('data', hold);
  return new Promise((resolve) => {
    let got = '';
    const fin = (ok: boolean) => {
      child.stderr?.off('data', hold);
      resolve({ ok, early });
    };
    const fd3 = child.stdio[3] as Readable;
    fd3.on('data', (b: Buffer) => {
      got += b.toString();
      if (got.startsWith('ok\n')) fin(true);
    });
    fd3.once('close', () => fin(got.startsWith('ok\n')));
    child.once('error', () => fin(false));
  });
}

/** After a failed start: waits (a while) for the wrapper to go, so its error text is complete. */
export async function failedStart(child: ChildProcess, early: Buffer[], what: string): Promise<never> {
  child.kill('SIGKILL');
  lifeline(child)?.destroy();
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise((r) => {
      child.once('close', r).once('error', r);
      setTimeout(r, 5000).unref();
    });
  }
  const text = Buffer.concat(early).toString().trim();
  throw new Error(`${what}: ${text || `wrapper exited with ${child.exitCode ?? child.signalCode}`}`);
}
