/**
 * Starting a sandboxed process so that it is inside its cgroup before it runs anything, and dies
 * with the agent.
 *
 * The agent spawns `/bin/sh -c JOIN`. JOIN writes the shell's own pid ($$) into each cgroup.procs,
 * starts the watchdog (wrapper.ts: it waits on the lifeline, fd 6), tells the agent "ok" on fd 3,
 * closes fds 3 and 6 and execs bwrap. Every process bwrap then makes inherits the cgroup, so no
 * workload code runs outside it (writing the pid from the agent after spawn would race the exec;
 * bwrap's --block-fd blocks only after bwrap has forked). The watchdog starts after the join, so
 * whenever the agent dies, everything of the run is already where the watchdog kills: it kills
 * every pid in the cgroup but its own, until none is left, using shell builtins only (at pids.max
 * a fork would fail). It counts as one of the run's pids; the agent's cleanup kills it last.
 *
 * The shell runs with a fixed environment: the workload's environment reaches bwrap through
 * `--args 4` (see bwrap.ts) and never the host-side shell, so e.g. an LD_PRELOAD in it cannot load
 * anything into a process that still runs as the agent.
 */
import { spawn } from 'node:child_process';
import { argsPayload, bwrapArgs, systemRoot } from './bwrap.js';
import { createRunCgroup, type RunCgroup, readLayout, runName } from './cgroup.js';
import { findBwrap } from './probe.js';
import { type Meter, supervise } from './supervise.js';
import {
  type RunningSandbox,
  type RunOptions,
  type SandboxLimits,
  SandboxUnavailableError,
} from './types.js';
import { failedStart, feed, handshake, lifeline, stdio, validateLimits } from './wrapper.js';

export interface LaunchPlan {
  command: string[];
  env: Record<string, string>;
  workDir: string;
  network: boolean;
  limits: SandboxLimits;
  roBinds?: Array<{ src: string; dest: string }>;
  /** Readable by the command on fd 5, then EOF. */
  fd5?: Buffer;
}

/** Added to pids.max: bwrap's two (the outer monitor, the pid-namespace init) and the watchdog. */
export const HELPER_PIDS = 3;

// $1: how many cgroup.procs files follow; then the files; then the command.
const WATCHDOG = [
  'read _ <&6',
  'n=$1; shift; k=0',
  'while [ $k -lt 1000 ]; do',
  '  any=; i=0',
  '  for f; do',
  '    [ $i -lt $n ] || break; i=$((i+1))',
  '    while read p; do [ "$p" = "$$" ] || { kill -9 "$p"; any=1; }; done < "$f"',
  '  done 2>/dev/null',
  '  [ -n "$any" ] || exit 0',
  '  k=$((k+1))',
  'done',
].join('\n');

// $1: the watchdog's script; $2: how many cgroup.procs files follow; then the files; then the command.
const JOIN = [
  'w=$1; n=$2; shift 2; i=0',
  'for f; do [ $i -lt $n ] || break; echo $$ > "$f" || exit 125; i=$((i+1)); done',
  '/bin/sh -c "$w" watchdog "$n" "$@" </dev/null >/dev/null 2>&1 3>&- 4<&- 5<&- &',
  'shift $n',
  'echo ok >&3',
  'exec 3>&- 6<&-',
  'exec "$@"',
].join('\n');

export function cgroupMeter(cg: RunCgroup, after: () => void): Meter {
  const check = () => {
    const e = cg.events();
    return e.oomKills > 0 ? 'memory' : e.pidsMax > 0 ? 'pids' : null;
  };
  return {
    usage: () => cg.usage(),
    check,
    killAll: () => cg.killAll(),
    async finish() {
      try {
        const hit = check();
        await cg.killAll();
        const usage = cg.usage();
        await cg.remove();
        return { usage, hit };
      } finally {
        after();
      }
    },
  };
}

/** Starts a plan under bwrap in a fresh cgroup; resolves once it is inside the cgroup. */
export async function launchSandbox(plan: LaunchPlan, o: RunOptions): Promise<RunningSandbox> {
  validateLimits(plan.limits);
  const bwrap = findBwrap();
  const layout = readLayout();
  if (!bwrap || !layout.ok) {
    throw new SandboxUnavailableError({
      bwrap: bwrap !== null,
      cgroup: layout.ok ? layout.layout.version : null,
      detail: layout.ok ? 'bwrap not found on PATH' : layout.why,
    });
  }
  const { memoryBytes, cpus, pids, timeoutMs } = plan.limits;
  const { workDir, network, env, roBinds } = plan;
  const options = argsPayload(bwrapArgs({ root: systemRoot(), workDir, network, env, roBinds }));
  const cg = createRunCgroup(layout.layout, runName(), { memoryBytes, cpus, pids: pids + HELPER_PIDS });
  const files = cg.procsFiles;
  const argv = [
    '-c',
    JOIN,
    'sh',
    WATCHDOG,
    String(files.length),
    ...files,
    bwrap,
    '--args',
    '4',
    '--',
    ...plan.command,
  ];
  const startedAt = performance.now();
  const child = spawn('/bin/sh', argv, {
    stdio: stdio(plan.fd5 !== undefined),
    env: { PATH: '/usr/bin:/bin' },
  });
  feed(child, 4, options);
  if (plan.fd5) feed(child, 5, plan.fd5);
  const hs = await handshake(child);
  if (!hs.ok) {
    await cg.killAll().catch(() => {});
    await cg.remove().catch(() => {});
    return failedStart(child, hs.early, 'the sandbox could not join its cgroup');
  }
  for (const b of hs.early) o.onStderr?.(b);
  return supervise(
    child,
    cgroupMeter(cg, () => lifeline(child).destroy()),
    {
      mode: 'sandbox',
      gaps: [],
      timeoutMs,
      startedAt,
      signal: o.signal,
      onStdout: o.onStdout,
      onStderr: o.onStderr,
    },
  );
}
