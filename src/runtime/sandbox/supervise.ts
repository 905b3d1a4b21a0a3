/**
 * Watching a started run until everything it started is gone: the time limit, kill() and the
 * caller's AbortSignal, and a 50 ms poll of the meter's counters (OOM kills, refused forks). v1
 * cgroups notify only through eventfd, which node cannot open, so both versions poll; a poll is two
 * reads of pseudo-files. The first reason to end wins; later ones change nothing.
 *
 * After the outermost process exits, the meter kills whatever is left and reads the final usage,
 * then stdio is drained; `result` resolves only then, so a caller that reads the work dir after it
 * sees every write.
 */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type {
  IsolationMode,
  RunningSandbox,
  SandboxEndReason,
  SandboxResult,
  SandboxUsage,
} from './types.js';

export interface Meter {
  /** Live usage. */
  usage(): SandboxUsage;
  /** A limit that, once hit, ends the run; polled. */
  check(): 'memory' | 'pids' | null;
  /** Kills every process of the run; idempotent. */
  killAll(): Promise<void>;
  /** After the main process exits: the last check, kill leftovers, final usage, clean up. */
  finish(): Promise<{ usage: SandboxUsage; hit: 'memory' | 'pids' | null }>;
}

const POLL_MS = 50;
/** How long stdio may stay open after everything was killed (only an escaped rlimits process can). */
const DRAIN_MS = 2000;

const SIGNALS = new Map(Object.entries(constants.signals).map(([name, n]) => [n as number, name]));

/** bwrap and sh report "died of signal N" as status 128+N; read it back as the signal. */
export function exitOf(
  code: number | null,
  signal: string | null,
): { exitCode: number | null; signal: string | null } {
  if (signal) return { exitCode: null, signal };
  if (code !== null && code > 128 && SIGNALS.has(code - 128))
    return { exitCode: null, signal: SIGNALS.get(code - 128)! };
  return { exitCode: code, signal: null };
}

export function supervise(
  child: ChildProcess,
  meter: Meter,
  a: {
    mode: IsolationMode;
    gaps: string[];
    timeoutMs: number;
    startedAt: number;
    signal?: AbortSignal;
    onStdout?: (b: Buffer) => void;
    onStderr?: (b: Buffer) => void;
  },
): RunningSandbox {
  let reason: SandboxEndReason | null = null;
  let exited = false;
  let done = false;
  let last: SandboxUsage = { cpuSeconds: 0, peakMemoryBytes: 0 };

  const end = (r: SandboxEndReason) => {
    if (reason !== null || exited) return;
    reason = r;
    meter.killAll().catch(() => {});
    child.kill('SIGKILL');
  };
  const timer = setTimeout(() => end('timeout'), a.timeoutMs);
  const poll = setInterval(() => {
    const hit = meter.check();
    if (hit) end(hit);
  }, POLL_MS);
  const onAbort = () => end('killed');
  a.signal?.addEventListener('abort', onAbort, { once: true });
  if (a.signal?.aborted) onAbort();

  child.stdout?.on('data', (b: Buffer) => a.onStdout?.(b));
  child.stderr?.on('data', (b: Buffer) => a.onStderr?.(b));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const result = new Promise<SandboxResult>((resolve) => {
    child.once('exit', async (code, sig) => {
      const wallMs = performance.now() - a.startedAt;
      exited = true;
      clearTimeout(timer);
      clearInterval(poll);
      a.signal?.removeEventListener('abort', onAbort);
      let hit: 'memory' | 'pids' | null = null;
      try {
        const f = await meter.finish();
        last = f.usage;
        hit = f.hit;
      } catch {
        // Cleanup failed (a process would not die): report what was measured.
        last = meter.usage();
      }
      done = true;
      await Promise.race([closed, new Promise((r) => setTimeout(r, DRAIN_MS).unref())]);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({
        ...exitOf(code, sig),
        reason: reason ?? hit ?? 'exited',
        wallMs: Math.round(wallMs),
        mode: a.mode,
        ...last,
      });
    });
  });

  return {
    pid: child.pid ?? -1,
    mode: a.mode,
    gaps: a.gaps,
    usage: () => (done ? last : meter.usage()),
    kill: () => end('killed'),
    result,
  };
}
