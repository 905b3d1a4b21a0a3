import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Client } from 'undici';
import { cannon } from './cannon.js';
import { quantile, round } from './stats.js';

/** Measuring tools of the load-balancer benchmark: CPU time, pinning, loads and a latency probe. */

const TICKS_PER_S = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU seconds (user + system) a process has used, from /proc (Linux); null elsewhere. */
export function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime), counted after the name, in clock ticks.
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_S;
  } catch {
    return null;
  }
}

/** CPUs to pin on: the proxy alone on the first, everything else on the last; null when not possible. */
export function pinning(): { proxy: string; rest: string; all: string } | null {
  const n = availableParallelism();
  if (n < 2 || spawnSync('taskset', ['-V']).status !== 0) return null;
  return { proxy: '0', rest: String(n - 1), all: `0-${n - 1}` };
}

/** Moves every thread of this process onto `cpus`. */
export function pinSelf(cpus: string): void {
  spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

export interface Load {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** Non-2xx answers by status, socket errors, timeouts. */
  failed: Record<string, number>;
  /** CPU seconds the proxy process spent per 1,000 answered requests. */
  proxy_cpu_ms_per_1k: number | null;
  /** Share of one core the proxy process used during the load. */
  proxy_cpu_share: number | null;
}

/** An autocannon load of GET `path` with `headers`, and the proxy process's CPU over it. */
export async function load(
  base: string,
  path: string,
  headers: Record<string, string>,
  seconds: number,
  connections: number,
  proxyPid: number | undefined,
): Promise<Load> {
  const cpu0 = cpuSeconds(proxyPid);
  const t0 = performance.now();
  const r = await cannon({
    url: base,
    duration: seconds,
    connections,
    pipelining: 1,
    requests: [{ method: 'GET', path, headers }],
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(proxyPid);
  const failed: Record<string, number> = {};
  let ok = 0;
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) {
    if (code.startsWith('2')) ok += Number(s.count);
    else failed[code] = Number(s.count);
  }
  if (r.errors) failed.errors = r.errors;
  if (r.timeouts) failed.timeouts = r.timeouts;
  const used = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
  return {
    rps: Math.round(ok / (r.duration || seconds)),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    failed,
    proxy_cpu_ms_per_1k: used === null || ok === 0 ? null : round((used * 1000 * 1000) / ok, 1),
    proxy_cpu_share: used === null ? null : round(used / wall, 2),
  };
}

export interface Latency {
  n: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
}

/**
 * One request at a time over one kept-alive connection per origin, timed in microseconds (what
 * autocannon's millisecond histogram cannot resolve). `targets` are [origin, path, headers]; each
 * round sends `perRound` requests to each target group in turn so drift hits them alike.
 */
export async function sequentialLatency(
  groups: Record<string, [origin: string, path: string, headers: Record<string, string>][]>,
  rounds: number,
  perRound: number,
  warm: number,
): Promise<Record<string, Latency>> {
  const clients = new Map<string, Client>();
  const client = (origin: string) => {
    let c = clients.get(origin);
    if (!c) {
      c = new Client(origin, { pipelining: 1 });
      clients.set(origin, c);
    }
    return c;
  };
  const samples: Record<string, number[]> = {};
  const once = async ([origin, path, headers]: [string, string, Record<string, string>]) => {
    const t0 = performance.now();
    const r = await client(origin).request({ method: 'GET', path, headers });
    await r.body.dump();
    const dt = performance.now() - t0;
    if (r.statusCode !== 200) throw new Error(`${origin}${path}: ${r.statusCode}`);
    return dt;
  };
  try {
    for (const [name, targets] of Object.entries(groups)) {
      samples[name] = [];
      for (let i = 0; i < warm; i++) await once(targets[i % targets.length]!);
    }
    for (let round_ = 0; round_ < rounds; round_++)
      for (const [name, targets] of Object.entries(groups))
        for (let i = 0; i < perRound; i++) samples[name]!.push(await once(targets[i % targets.length]!));
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
  const out: Record<string, Latency> = {};
  for (const [name, xs] of Object.entries(samples))
    out[name] = {
      n: xs.length,
      p50_ms: round(quantile(xs, 0.5), 3),
      p99_ms: round(quantile(xs, 0.99), 3),
      mean_ms: round(xs.reduce((a, b) => a + b, 0) / xs.length, 3),
    };
  return out;
}
