/**
 * One cgroup per run, with its limits set before anything joins it (launch.ts has the wrapper join
 * it before exec), read while it runs, emptied and removed after.
 *
 * v1: a directory named for the run under this process's cgroup in each of the memory, cpu,
 * cpuacct and pids hierarchies. v1 has no rule against processes in inner nodes, so the agent's own
 * cgroup is the parent. v2: the agent's cgroup must have memory, cpu and pids in its
 * subtree_control, which v2 refuses (EBUSY) while that cgroup holds processes. When the agent is
 * the only process there it moves itself into a `computemd-agent` leaf and enables them (the same
 * dance as a container init); when others share it, runs go under `computemd/` at the top of the
 * hierarchy instead (root may write there on a systemd host). Anything else is a probe failure.
 *
 * Swap is off for the run (memsw / memory.swap.max), so memoryBytes is a cap on RAM actually used.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CgroupLayout, cgroupLayout, type LayoutResult } from './cgroup-layout.js';
import type { SandboxUsage } from './types.js';

export interface CgroupLimits {
  memoryBytes: number;
  cpus: number;
  pids: number;
}

export interface RunCgroup {
  readonly version: 'v1' | 'v2';
  /** The cgroup.procs files a process writes its pid to, one per hierarchy. */
  readonly procsFiles: string[];
  usage(): SandboxUsage;
  /** Counters since creation: OOM kills, and refused forks at pids.max. */
  events(): { oomKills: number; pidsMax: number };
  /** SIGKILLs every process in the cgroup until none is left (pids.max bounds a fork bomb). */
  killAll(): Promise<void>;
  /** rmdir, retried while the kernel still counts exiting tasks; call after killAll. */
  remove(): Promise<void>;
}

const CPU_PERIOD_US = 100_000;
const AGENT_LEAF = 'computemd-agent';
const RUN_NAME = /^computemd-(\d+)-\d+-[0-9a-f]+$/;

let seq = 0;
/** Unique per host: the agent's pid (which sweepStale reads back), a sequence, and randomness. */
export const runName = () => `computemd-${process.pid}-${++seq}-${randomBytes(3).toString('hex')}`;

export function readLayout(): LayoutResult {
  return cgroupLayout(
    readFileSync('/proc/self/cgroup', 'utf8'),
    readFileSync('/proc/self/mountinfo', 'utf8'),
  );
}

const read = (f: string) => readFileSync(f, 'utf8');
const tryRead = (f: string): string | null => {
  try {
    return read(f);
  } catch {
    return null;
  }
};
/** `key N` lines (memory.events, pids.events, memory.oom_control, cpu.stat). */
function field(text: string | null, key: string): number {
  const m = text === null ? null : new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}
function write(f: string, value: string): void {
  try {
    writeFileSync(f, value);
  } catch (err) {
    throw new Error(`cannot write ${value.trim()} to ${f}: ${(err as Error).message}`, { cause: err });
  }
}
const quotaUs = (cpus: number) => Math.max(1000, Math.round(cpus * CPU_PERIOD_US));

function procsIn(dirs: string[]): number[] {
  const pids = new Set<number>();
  for (const d of dirs) {
    for (const line of (tryRead(join(d, 'cgroup.procs')) ?? '').split('\n')) if (line) pids.add(Number(line));
  }
  return [...pids];
}

async function killLoop(dirs: string[]): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const pids = procsIn(dirs);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(i < 10 ? 2 : 10);
  }
  throw new Error(`processes still alive in ${dirs.join(', ')} after 5 s of SIGKILL`);
}

async function rmdirAll(dirs: string[]): Promise<void> {
  for (const d of dirs) {
    for (let i = 0; ; i++) {
      try {
        rmdirSync(d);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || i >= 200) throw err;
        await sleep(10);
      }
    }
  }
}

/** Creates the directories and runs `setup`; on any failure removes what it made (still empty). */
function mkdirsOrUndo(dirs: string[], setup: () => void): void {
  const made: string[] = [];
  try {
    for (const d of dirs) {
      mkdirSync(d);
      made.push(d);
    }
    setup();
  } catch (err) {
    for (const d of made.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        // nothing joined it; a leftover empty cgroup is harmless
      }
    }
    throw err;
  }
}

class V1Cgroup implements RunCgroup {
  readonly version = 'v1';
  readonly procsFiles: string[];
  private readonly dirs: string[];
  private last: SandboxUsage = { cpuSeconds: 0, peakMemoryBytes: 0 };
  constructor(
    private readonly d: { memory: string; cpu: string; pids: string; cpuacct: string | null },
    limits: CgroupLimits,
  ) {
    this.dirs = [...new Set([d.memory, d.cpu, d.pids, ...(d.cpuacct ? [d.cpuacct] : [])])];
    mkdirsOrUndo(this.dirs, () => {
      write(join(d.memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      // Only present with swap accounting; must be set after (and not below) limit_in_bytes.
      if (existsSync(join(d.memory, 'memory.memsw.limit_in_bytes'))) {
        write(join(d.memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      }
      write(join(d.cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      write(join(d.cpu, 'cpu.cfs_quota_us'), String(quotaUs(limits.cpus)));
      write(join(d.pids, 'pids.max'), String(limits.pids));
    });
    this.procsFiles = this.dirs.map((x) => join(x, 'cgroup.procs'));
  }
  usage(): SandboxUsage {
    const ns = this.d.cpuacct ? tryRead(join(this.d.cpuacct, 'cpuacct.usage')) : null;
    const peak = tryRead(join(this.d.memory, 'memory.max_usage_in_bytes'));
    if (ns !== null && peak !== null)
      this.last = { cpuSeconds: Number(ns) / 1e9, peakMemoryBytes: Number(peak) };
    return this.last;
  }
  events() {
    return {
      oomKills: field(tryRead(join(this.d.memory, 'memory.oom_control')), 'oom_kill'),
      pidsMax: field(tryRead(join(this.d.pids, 'pids.events')), 'max'),
    };
  }
  killAll = () => killLoop(this.dirs);
  remove = () => rmdirAll(this.dirs);
}

class V2Cgroup implements RunCgroup {
  readonly version = 'v2';
  readonly procsFiles: string[];
  private last: SandboxUsage = { cpuSeconds: 0, peakMemoryBytes: 0 };
  constructor(
    private readonly dir: string,
    limits: CgroupLimits,
  ) {
    mkdirsOrUndo([dir], () => {
      write(join(dir, 'memory.max'), String(limits.memoryBytes));
      if (existsSync(join(dir, 'memory.swap.max'))) write(join(dir, 'memory.swap.max'), '0');
      // One OOM kill takes the whole run down, as v1 does through our watcher.
      if (existsSync(join(dir, 'memory.oom.group'))) write(join(dir, 'memory.oom.group'), '1');
      write(join(dir, 'cpu.max'), `${quotaUs(limits.cpus)} ${CPU_PERIOD_US}`);
      write(join(dir, 'pids.max'), String(limits.pids));
    });
    this.procsFiles = [join(dir, 'cgroup.procs')];
  }
  usage(): SandboxUsage {
    const stat = tryRead(join(this.dir, 'cpu.stat'));
    if (stat === null) return this.last;
    // memory.peak arrived in Linux 5.19; before it, the peak is the highest sample we saw.
    const peak = tryRead(join(this.dir, 'memory.peak')) ?? tryRead(join(this.dir, 'memory.current'));
    this.last = {
      cpuSeconds: field(stat, 'usage_usec') / 1e6,
      peakMemoryBytes: Math.max(this.last.peakMemoryBytes, Number(peak ?? 0)),
    };
    return this.last;
  }
  events() {
    return {
      oomKills: field(tryRead(join(this.dir, 'memory.events')), 'oom_kill'),
      pidsMax: field(tryRead(join(this.dir, 'pids.events')), 'max'),
    };
  }
  async killAll(): Promise<void> {
    // cgroup.kill (5.14+) kills atomically, forks in flight included.
    if (existsSync(join(this.dir, 'cgroup.kill'))) write(join(this.dir, 'cgroup.kill'), '1');
    await killLoop([this.dir]);
  }
  remove = () => rmdirAll([this.dir]);
}

const V2_CONTROLLERS = ['memory', 'cpu', 'pids'];
const hasAll = (text: string | null) => {
  const have = (text ?? '').trim().split(/\s+/);
  return V2_CONTROLLERS.every((c) => have.includes(c));
};
const enableAll = (dir: string) =>
  write(join(dir, 'cgroup.subtree_control'), V2_CONTROLLERS.map((c) => `+${c}`).join(' '));

/** The v2 cgroup under which runs are created, enabling controllers as the header describes. */
export function v2Parent(layout: { dir: string; mount: string }): string {
  const base = basename(layout.dir) === AGENT_LEAF ? dirname(layout.dir) : layout.dir;
  if (!hasAll(tryRead(join(base, 'cgroup.controllers')))) {
    throw new Error(`${base} is not delegated memory, cpu and pids (cgroup.controllers)`);
  }
  if (hasAll(tryRead(join(base, 'cgroup.subtree_control')))) return base;
  try {
    enableAll(base);
    return base;
  } catch {
    // EBUSY: processes live in base.
  }
  const others = read(join(base, 'cgroup.procs'))
    .split('\n')
    .filter((p) => p && Number(p) !== process.pid);
  if (others.length === 0) {
    mkdirSync(join(base, AGENT_LEAF), { recursive: true });
    write(join(base, AGENT_LEAF, 'cgroup.procs'), String(process.pid));
    enableAll(base);
    return base;
  }
  const top = join(layout.mount, 'computemd');
  if (!hasAll(tryRead(join(layout.mount, 'cgroup.subtree_control')))) enableAll(layout.mount);
  mkdirSync(top, { recursive: true });
  if (!hasAll(tryRead(join(top, 'cgroup.subtree_control')))) enableAll(top);
  return top;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Where run cgroups may live, for sweeping. */
function runParents(layout: CgroupLayout): string[] {
  if (layout.version === 'v1')
    return [layout.memory, layout.cpu, layout.pids, ...(layout.cpuacct ? [layout.cpuacct] : [])];
  const base = basename(layout.dir) === AGENT_LEAF ? dirname(layout.dir) : layout.dir;
  return [base, join(layout.mount, 'computemd')];
}

/**
 * Removes the empty run cgroups of agents that died (the pid in the name is gone): the dead agent's
 * --die-with-parent took its sandboxes down, but nobody removed their directories. Only empty ones:
 * rmdir refuses a cgroup with processes, so a run of an agent whose pid we cannot see (another pid
 * namespace sharing the hierarchy) is never disturbed. Returns how many went.
 */
export function sweepStale(layout: CgroupLayout): number {
  let removed = 0;
  for (const parent of new Set(runParents(layout))) {
    let names: string[];
    try {
      names = readdirSync(parent);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = RUN_NAME.exec(name);
      if (!m || alive(Number(m[1]))) continue;
      try {
        rmdirSync(join(parent, name));
        removed++;
      } catch {
        // not empty, or swept by another agent
      }
    }
  }
  return removed;
}

export function createRunCgroup(layout: CgroupLayout, name: string, limits: CgroupLimits): RunCgroup {
  if (layout.version === 'v1') {
    const cpuacct = layout.cpuacct ? join(layout.cpuacct, name) : null;
    return new V1Cgroup(
      {
        memory: join(layout.memory, name),
        cpu: join(layout.cpu, name),
        pids: join(layout.pids, name),
        cpuacct,
      },
      limits,
    );
  }
  return new V2Cgroup(join(v2Parent(layout), name), limits);
}
