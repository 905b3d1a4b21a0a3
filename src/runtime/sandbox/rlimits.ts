/**
 * Mode 'rlimits': for hosts without bwrap or a writable cgroup, and only when the operator chose
 * it. The command runs on the host, as the agent's user, in the work dir, in a new session (its
 * process group is what gets killed), under limits a shell wrapper sets with `ulimit`:
 *
 * - memory: RLIMIT_AS (address space, per process: a tree of N processes may use N times it);
 * - CPU: RLIMIT_CPU = ceil(cpus × timeout) seconds per process, a total and not a rate;
 * - processes: RLIMIT_NPROC = the user's processes now + pids, since it counts every process of
 *   the user; the kernel ignores it for root;
 * - no core dumps.
 *
 * What it lacks is listed in `gaps` on the handle, so the caller can say so. Usage is sampled from
 * /proc every poll (processes of the group) and the final CPU time is the shell's `times` for its
 * waited children, written to fd 3 after the command ends. Like a sandboxed run, the group dies
 * with the agent (the lifeline, wrapper.ts).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { type Meter, supervise } from './supervise.js';
import type { RunningSandbox, RunOptions, SandboxLimits, SandboxUsage } from './types.js';
import { failedStart, feed, handshake, lifeline, stdio, validateLimits } from './wrapper.js';

/** What mode 'rlimits' does not enforce, for the handle's `gaps`. */
export function rlimitGaps(addressSpace: boolean): string[] {
  return [
    'no file-system isolation: the command sees and may write whatever the agent user may',
    'no network isolation: the network flag is not enforced',
    'no pid namespace: processes that leave the process group outlive the run',
    addressSpace
      ? 'memory is an address-space limit per process, not a cap on the tree'
      : 'memory: only the WASM linear-memory cap, nothing on the worker process',
    'CPU is a total of seconds per process, not a quota',
    'the process limit counts all of the user’s processes and does not apply to root',
  ];
}

const WRAPPER = [
  'ulimit -c 0',
  'ulimit -t "$1" || exit 125',
  '[ "$2" = unlimited ] || ulimit -v "$2" || exit 125',
  // dash calls it -p, bash -u; best effort either way (root is exempt anyway).
  'if ulimit -a 2>/dev/null | grep -q "^process"; then ulimit -p "$3"; else ulimit -u "$3"; fi 2>/dev/null',
  'cd "$4" || exit 125',
  'shift 4',
  // The lifeline's watchdog (wrapper.ts): the agent died, so the group goes. $$ is the group.
  '(read _ <&6; kill -9 -$$) </dev/null >/dev/null 2>&1 3>&- &',
  'echo ok >&3',
  '"$@" 3>&- 6<&-',
  'st=$?',
  'times >&3',
  'exit $st',
].join('\n');

/** /proc/PID/stat: fields after the command name, which may hold spaces and parens. */
function stat(pid: string): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}
const TICK = 100; // USER_HZ; Linux fixes it at 100 for every architecture node runs on
const PAGE = 4096;

function uid(): number {
  return process.getuid?.() ?? 0;
}
function userProcesses(): number {
  const me = uid();
  let n = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] === String(me)) n++;
    } catch {
      // gone
    }
  }
  return n;
}

/** CPU seconds and resident bytes of every process in group `pgid` (stat fields 5, 14-17, 24). */
function sampleGroup(pgid: number): SandboxUsage {
  let ticks = 0;
  let rss = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const f = stat(p);
    // After ')': [0]=state [1]=ppid [2]=pgrp … [11]=utime [12]=stime [13]=cutime [14]=cstime … [21]=rss
    if (!f || Number(f[2]) !== pgid) continue;
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    rss += Number(f[21]) * PAGE;
  }
  return { cpuSeconds: ticks / TICK, peakMemoryBytes: rss };
}

/** `times` prints the shell's own line, then its children's: "0m1.230000s 0m0.010000s". */
export function parseTimes(text: string): number | null {
  const line = text.trim().split('\n')[1];
  const m = line ? /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(line) : null;
  return m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : null;
}

export async function launchRlimits(
  plan: {
    command: string[];
    env: Record<string, string>;
    workDir: string;
    limits: SandboxLimits;
    fd5?: Buffer;
  },
  o: RunOptions,
  /** false for node's WASM worker: V8 reserves far more address space than it uses. */
  limitAddressSpace = true,
): Promise<RunningSandbox> {
  validateLimits(plan.limits);
  const { memoryBytes, cpus, pids, timeoutMs } = plan.limits;
  const cpuSeconds = Math.max(1, Math.ceil((cpus * timeoutMs) / 1000));
  const vKb = limitAddressSpace ? String(Math.ceil(memoryBytes / 1024)) : 'unlimited';
  const startedAt = performance.now();
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      WRAPPER,
      'sh',
      String(cpuSeconds),
      vKb,
      String(userProcesses() + pids),
      plan.workDir,
      ...plan.command,
    ],
    {
      stdio: stdio(plan.fd5 !== undefined),
      env: plan.env,
      detached: true,
    },
  );
  feed(child, 4, Buffer.alloc(0));
  if (plan.fd5) feed(child, 5, plan.fd5);
  let fd3 = '';
  const times = child.stdio[3] as Readable;
  times.on('data', (b: Buffer) => {
    fd3 += b.toString();
  });
  const timesClosed = new Promise((r) => times.once('close', r));
  const hs = await handshake(child);
  if (!hs.ok) return failedStart(child, hs.early, 'the rlimits wrapper could not start');
  for (const b of hs.early) o.onStderr?.(b);

  const pgid = child.pid ?? -1;
  let peak = 0;
  let lastCpu = 0;
  const usage = (): SandboxUsage => {
    const s = sampleGroup(pgid);
    peak = Math.max(peak, s.peakMemoryBytes);
    lastCpu = Math.max(lastCpu, s.cpuSeconds);
    return { cpuSeconds: lastCpu, peakMemoryBytes: peak };
  };
  const killAll = async () => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // group already empty
    }
  };
  const meter: Meter = {
    usage,
    check: () => {
      usage();
      return null;
    },
    killAll,
    async finish() {
      await killAll();
      lifeline(child).destroy();
      await timesClosed;
      const cpu = parseTimes(fd3.replace(/^ok\n/, ''));
      return { usage: { cpuSeconds: Math.max(cpu ?? 0, lastCpu), peakMemoryBytes: peak }, hit: null };
    },
  };
  return supervise(child, meter, {
    mode: 'rlimits',
    gaps: rlimitGaps(limitAddressSpace),
    timeoutMs,
    startedAt,
    signal: o.signal,
    onStdout: o.onStdout,
    onStderr: o.onStderr,
  });
}
