import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./upstream-server.js', import.meta.url));

/** An upstream-server.ts process: its URL, controls, and a way to kill and restart it on the same port. */
export interface Upstream {
  name: string;
  port: number;
  url: string;
  proc: ChildProcess;
  /** POSTs /_control: `{delay_ms, fail_status, healthy}`. */
  control(body: Record<string, unknown>): Promise<void>;
  /** Requests seen so far, and how many carried X-Request-Id `id`. */
  stats(id?: string): Promise<{ requests: number; seen: number | null }>;
  /** Lets waiting /sse streams finish. */
  release(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a fresh process on the same port (after a kill). */
  restart(): Promise<void>;
}

const live = new Set<ChildProcess>();

function spawnOne(
  name: string,
  port: number,
  prefix: string[],
): Promise<{ proc: ChildProcess; port: number }> {
  const argv = [process.execPath, SCRIPT, '--port', String(port), '--name', name];
  const [cmd, ...args] = [...prefix, ...argv] as [string, ...string[]];
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  return new Promise((resolve, reject) => {
    let out = '';
    const onExit = (code: number | null) =>
      reject(new Error(`upstream ${name} exited (${code}) before listening`));
    proc.once('exit', onExit);
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        proc.off('exit', onExit);
        resolve({ proc, port: (JSON.parse(line) as { port: number }).port });
      }
    });
  });
}

/**
 * Starts an upstream server process on `port` (0: any free one). `prefix` runs it under another
 * command (the benchmark pins it to a core with `taskset -c 1`).
 */
export async function startUpstream(name: string, port = 0, prefix: string[] = []): Promise<Upstream> {
  const first = await spawnOne(name, port, prefix);
  const u: Upstream = {
    name,
    port: first.port,
    url: `http://127.0.0.1:${first.port}`,
    proc: first.proc,
    async control(body) {
      const r = await fetch(`${u.url}/_control`, { method: 'POST', body: JSON.stringify(body) });
      if (r.status !== 200) throw new Error(`control ${name}: ${r.status}`);
      await r.arrayBuffer();
    },
    async stats(id) {
      const r = await fetch(`${u.url}/_control/stats${id ? `?id=${encodeURIComponent(id)}` : ''}`);
      return (await r.json()) as { requests: number; seen: number | null };
    },
    async release() {
      await (await fetch(`${u.url}/_control/release`, { method: 'POST' })).arrayBuffer();
    },
    kill: (signal = 'SIGKILL') =>
      new Promise((resolve) => {
        const p = u.proc;
        if (p.exitCode !== null || p.signalCode !== null) return resolve();
        p.once('exit', () => resolve());
        p.kill(signal);
      }),
    async restart() {
      await u.kill('SIGKILL');
      u.proc = (await spawnOne(name, u.port, prefix)).proc;
    },
  };
  return u;
}

/** SIGKILLs every upstream process started here that is still running (call it in `after`). */
export async function killAllUpstreams(): Promise<void> {
  await Promise.all(
    [...live].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
}
