import { execFile } from 'node:child_process';
import path from 'node:path';
import { ProviderError } from '../provider.js';

/**
 * Slurm's "wire API": its commands (sinfo, sbatch, squeue, scontrol, scancel, sstat), run without
 * a shell through execFile with a timeout, and their parsable output. Running is effectful; every
 * parser is pure and exported so it is tested on output captured from a real cluster. Every
 * failure — a missing binary, a controller that does not answer, a line we cannot read — is a
 * ProviderError naming the command and what to do; nothing here retries.
 */

export const SLURM_PROVIDER_NAME = 'slurm';

export type SlurmCommand = 'sinfo' | 'sbatch' | 'squeue' | 'scontrol' | 'scancel' | 'sstat';

/**
 * Runs a program without a shell. Rejects like execFile does: `code` 'ENOENT' for a missing
 * binary, a numeric `code` for a non-zero exit, `killed` when the timeout struck, and `stderr`.
 */
export type SlurmExec = (
  file: string,
  args: string[],
  opts: { timeoutMs: number; env: NodeJS.ProcessEnv },
) => Promise<{ stdout: string; stderr: string }>;

export interface SlurmClientOptions {
  /** Provider name in error messages. */
  name: string;
  /** SLURM_CONF for every command; default whatever the gateway's environment says. */
  slurmConf?: string;
  /** Directory holding the commands; default PATH. */
  binDir?: string;
  /** Per-command limit; default 20 s (an unreachable controller makes sinfo wait ~9 s). */
  timeoutMs?: number;
  exec?: SlurmExec;
}

/** One line of `sinfo --Node`: a node as one partition sees it. */
export interface SinfoNode {
  node: string;
  partition: string;
  /** The partition jobs go to when they name none (sinfo marks it with `*`). */
  default_partition: boolean;
  cpus: number;
  memory_mb: number;
  /** Raw GRES, e.g. "gpu:tesla:2"; '' when none ("(null)"). */
  gres: string;
  /** Long state with its flag suffix: "idle", "mixed", "down*", "drained", "inval"… */
  state: string;
  /** "up", "down", "drain" or "inactive". */
  partition_avail: string;
  /** The partition's MaxTime as sinfo prints it ("infinite", "4:00:00"). */
  time_limit: string;
}

export interface SqueueJob {
  state: string;
  /** Why it waits ("Resources", "Priority"), or null for "None". */
  reason: string | null;
}

/** The fields of `scontrol show job -o` the adapter reads, plus the whole record. */
export interface SlurmJob {
  job_id: string;
  state: string;
  exit_code: number | null;
  /** The signal that ended it (the part after ':' in ExitCode), or null for 0. */
  exit_signal: number | null;
  reason: string | null;
  run_time_s: number | null;
  num_nodes: number | null;
  std_out: string | null;
  fields: Record<string, string>;
}

/** `sinfo` fields, '|'-separated (no partition, node or state name contains '|'). */
export const SINFO_ARGS = ['--Node', '--noheader', '--format=%N|%P|%c|%m|%G|%T|%a|%l'];

const JOB_ID = /^\d+(_\d+)?$/;

export interface SlurmClient {
  sinfo(): Promise<SinfoNode[]>;
  /** Submits a batch script file; resolves with the job id. */
  sbatch(args: string[], script: string): Promise<string>;
  /** The job as squeue sees it, or null once it has left squeue (finished or unknown). */
  squeue(jobId: string): Promise<SqueueJob | null>;
  /** The job as scontrol sees it, or null once Slurm has forgotten it (MinJobAge). */
  showJob(jobId: string): Promise<SlurmJob | null>;
  /** Signals the job to end; a finished or unknown job is not an error (scancel says nothing). */
  scancel(jobId: string): Promise<void>;
  /** CPU seconds of all the job's running steps, or null when sstat has none. */
  sstatCpuSeconds(jobId: string): Promise<number | null>;
  /** Resolves when slurmctld answers `scontrol ping`. */
  ping(): Promise<void>;
}

export function createSlurmClient(opts: SlurmClientOptions): SlurmClient {
  const exec = opts.exec ?? execFileExec;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const env = opts.slurmConf ? { ...process.env, SLURM_CONF: opts.slurmConf } : process.env;
  const fail = (message: string, cause?: unknown) =>
    new ProviderError(opts.name, message, undefined, undefined, cause ? { cause } : undefined);

  /** Runs one command; `okIfStderr` lists stderr patterns that mean "no such job" (→ null). */
  async function run(cmd: SlurmCommand, args: string[], okIfStderr?: RegExp): Promise<string | null> {
    const file = opts.binDir ? path.join(opts.binDir, cmd) : cmd;
    const line = `${cmd} ${args.join(' ')}`;
    try {
      const { stdout } = await exec(file, args, { timeoutMs, env });
      return stdout;
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { killed?: boolean; stderr?: string; stdout?: string };
      // Most commands complain on stderr; `scontrol ping` says "is DOWN" on stdout.
      const stderr = (String(e.stderr ?? '').trim() || String(e.stdout ?? '')).trim();
      if (okIfStderr?.test(stderr)) return null;
      if (e.code === 'ENOENT') {
        throw fail(
          `${cmd} was not found${opts.binDir ? ` in ${opts.binDir}` : ' on PATH'}. To fix: install the Slurm client ` +
            'commands (Debian: apt-get install slurm-client) or set the provider’s bin_dir',
          err,
        );
      }
      if (e.killed) {
        throw fail(
          `${line} did not answer within ${timeoutMs / 1000} s. To fix: check that slurmctld runs ` +
            '(`scontrol ping`) and that SLURM_CONF names the cluster’s slurm.conf',
          err,
        );
      }
      const first = firstError(stderr) ?? e.message.split('\n')[0] ?? '';
      if (
        /Unable to contact slurm controller|Could not establish a configuration source|Slurmctld\(\w+\) at .* is DOWN/i.test(
          stderr,
        )
      ) {
        throw fail(
          `${line} cannot reach the Slurm controller (${first}). To fix: start slurmctld, or point ` +
            'SLURM_CONF at the cluster’s slurm.conf',
          err,
        );
      }
      throw fail(
        `${line} failed (exit ${String(e.code)}): ${first}. To fix: act on Slurm's message; ` +
          '`sinfo` and `scontrol ping` show the state of the cluster',
        err,
      );
    }
  }

  const checkId = (id: string) => {
    if (!JOB_ID.test(id)) throw fail(`${JSON.stringify(id)} is not a Slurm job id (digits, or N_M)`);
  };
  const gone = /Invalid job id specified/i;

  return {
    async sinfo() {
      return parseSinfo((await run('sinfo', SINFO_ARGS)) ?? '', fail);
    },
    async sbatch(args, script) {
      return parseSbatch((await run('sbatch', ['--parsable', ...args, script])) ?? '', fail);
    },
    async squeue(jobId) {
      checkId(jobId);
      const out = await run('squeue', ['--noheader', `--jobs=${jobId}`, '--format=%T|%r'], gone);
      return out === null ? null : parseSqueue(out, fail);
    },
    async showJob(jobId) {
      checkId(jobId);
      const out = await run('scontrol', ['show', 'job', jobId, '--oneliner'], gone);
      return out === null ? null : parseScontrolJob(out, fail);
    },
    async scancel(jobId) {
      checkId(jobId);
      await run('scancel', [jobId], gone);
    },
    async sstatCpuSeconds(jobId) {
      checkId(jobId);
      // --allsteps: the batch step and any srun steps; sstat prints nothing for a finished job.
      const out = await run('sstat', [
        '--noheader',
        '--parsable2',
        '--allsteps',
        `--jobs=${jobId}`,
        '--format=JobID,TRESUsageInTot',
      ]);
      return parseSstatCpu(out ?? '', fail);
    },
    async ping() {
      const out = (await run('scontrol', ['ping'])) ?? '';
      if (!/is UP/.test(out))
        throw fail(`scontrol ping: ${out.trim().split('\n')[0] ?? 'no answer'}. To fix: start slurmctld`);
    },
  };
}

/** The default SlurmExec: execFile with a timeout and a bounded output buffer. */
export const execFileExec: SlurmExec = (file, args, { timeoutMs, env }) =>
  new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, env, maxBuffer: 16 * 1024 * 1024, windowsHide: true },
      (err, stdout, stderr) => {
        if (err) reject(Object.assign(err, { stdout: String(stdout), stderr: String(stderr) }));
        else resolve({ stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });

/** The first line of stderr that says something ("sbatch: error: invalid partition…"). */
function firstError(stderr: string): string | null {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.find((l) => /error|fatal|unable|invalid/i.test(l)) ?? lines[0] ?? null;
}

type Fail = (message: string) => ProviderError;
const defaultFail: Fail = (m) => new ProviderError(SLURM_PROVIDER_NAME, m);
const REPORT = 'To fix: report this line with the Slurm version (`sinfo --version`)';

function lines(stdout: string): string[] {
  return stdout.split(/\r?\n/).filter((l) => l.trim() !== '');
}

function count(v: string, what: string, lineText: string, fail: Fail): number {
  if (!/^\d+$/.test(v))
    throw fail(
      `sinfo line ${JSON.stringify(lineText)}: ${what} is ${JSON.stringify(v)}, not a number. ${REPORT}`,
    );
  return Number(v);
}

/** `sinfo --Node --format=%N|%P|%c|%m|%G|%T|%a|%l` output → one entry per node and partition. */
export function parseSinfo(stdout: string, fail: Fail = defaultFail): SinfoNode[] {
  return lines(stdout).map((l) => {
    const f = l.split('|');
    if (f.length !== 8)
      throw fail(`sinfo line ${JSON.stringify(l)} has ${f.length} fields, expected 8. ${REPORT}`);
    const [node, part, cpus, mem, gres, state, avail, limit] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (node === '' || part === '')
      throw fail(`sinfo line ${JSON.stringify(l)} names no node or partition. ${REPORT}`);
    return {
      node,
      partition: part.replace(/\*$/, ''),
      default_partition: part.endsWith('*'),
      cpus: count(cpus, 'CPUs', l, fail),
      memory_mb: count(mem, 'memory', l, fail),
      gres: gres === '(null)' ? '' : gres,
      state,
      partition_avail: avail,
      time_limit: limit,
    };
  });
}

export interface Gres {
  name: string;
  type: string | null;
  count: number;
}

/**
 * A GRES string → its parts: "gpu:tesla:2" → gpu/tesla/2; "gpu:2" → gpu/null/2; socket
 * bindings ("gpu:a100:4(S:0-1)") are dropped; "gpu" alone counts 1.
 */
export function parseGres(s: string): Gres[] {
  if (s === '' || s === '(null)') return [];
  const out: Gres[] = [];
  // Split on commas outside parentheses ("gpu:a100:4(S:0,1)" keeps its binding together).
  for (const item of s.split(/,(?![^(]*\))/)) {
    const parts = item.replace(/\(.*\)$/, '').split(':');
    const last = parts[parts.length - 1] ?? '';
    const n = /^\d+$/.test(last) ? Number(last) : null;
    const named = n === null ? parts : parts.slice(0, -1);
    if (!named[0]) continue;
    out.push({ name: named[0], type: named[1] ?? null, count: n ?? 1 });
  }
  return out;
}

/** `sbatch --parsable` → the job id ("123", or "123;cluster" on a federation). */
export function parseSbatch(stdout: string, fail: Fail = defaultFail): string {
  const id = (lines(stdout)[0] ?? '').split(';')[0]?.trim() ?? '';
  if (!JOB_ID.test(id))
    throw fail(`sbatch --parsable printed ${JSON.stringify(stdout.trim())}, not a job id. ${REPORT}`);
  return id;
}

/** `squeue --noheader --jobs=ID --format=%T|%r` → state and reason; '' → null (left the queue). */
export function parseSqueue(stdout: string, fail: Fail = defaultFail): SqueueJob | null {
  const l = lines(stdout)[0];
  if (l === undefined) return null;
  const [state, reason] = l.split('|');
  if (!state || !/^[A-Z_]+$/.test(state))
    throw fail(`squeue printed ${JSON.stringify(l)}, not STATE|REASON. ${REPORT}`);
  return { state, reason: reason && reason !== 'None' ? reason : null };
}

/**
 * `scontrol show job ID --oneliner` → its Key=Value pairs. A value may itself hold '='
 * (TRES=cpu=1,node=1) or be empty (Power=), so a pair starts only where a space is followed by a
 * key and '='. A value with such a space inside (a path "a b=c") would split; the fields read
 * here never hold one.
 */
export function parseScontrolFields(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const pair of line.trim().split(/ +(?=[A-Za-z][\w:/.-]*=)/)) {
    const eq = pair.indexOf('=');
    if (eq > 0) fields[pair.slice(0, eq)] = pair.slice(eq + 1).trim();
  }
  return fields;
}

export function parseScontrolJob(stdout: string, fail: Fail = defaultFail): SlurmJob {
  const l = lines(stdout)[0] ?? '';
  const f = parseScontrolFields(l);
  const id = f.JobId;
  const state = f.JobState;
  if (!id || !state)
    throw fail(
      `scontrol show job printed ${JSON.stringify(l.slice(0, 120))}, without JobId and JobState. ${REPORT}`,
    );
  const exit = /^(\d+):(\d+)$/.exec(f.ExitCode ?? '');
  const nodes = /^(\d+)/.exec(f.NumNodes ?? ''); // "1", or "5-5" while pending
  return {
    job_id: id,
    state,
    exit_code: exit ? Number(exit[1]) : null,
    exit_signal: exit && exit[2] !== '0' ? Number(exit[2]) : null,
    reason: f.Reason && f.Reason !== 'None' ? f.Reason : null,
    run_time_s: parseSlurmDuration(f.RunTime ?? ''),
    num_nodes: nodes ? Number(nodes[1]) : null,
    std_out: f.StdOut || null,
    fields: f,
  };
}

/** Slurm durations → seconds: "[D-]HH:MM:SS", "MM:SS", "MM:SS.mmm"; anything else → null. */
export function parseSlurmDuration(s: string): number | null {
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$/.exec(s.trim());
  if (!m) return null;
  const [, d, h, mi, se] = m;
  return Number(d ?? 0) * 86_400 + Number(h ?? 0) * 3600 + Number(mi) * 60 + Number(se);
}

/** `sstat --parsable2 --format=JobID,TRESUsageInTot` → the sum of `cpu=` over steps; none → null. */
export function parseSstatCpu(stdout: string, fail: Fail = defaultFail): number | null {
  let total: number | null = null;
  for (const l of lines(stdout)) {
    const tres = l.split('|')[1];
    if (tres === undefined)
      throw fail(`sstat line ${JSON.stringify(l)} is not JobID|TRESUsageInTot. ${REPORT}`);
    const cpu = /(?:^|,)cpu=([^,]+)/.exec(tres);
    if (!cpu) continue;
    const secs = parseSlurmDuration(cpu[1] ?? '');
    if (secs === null)
      throw fail(`sstat line ${JSON.stringify(l)}: cpu=${cpu[1]} is not a duration. ${REPORT}`);
    total = (total ?? 0) + secs;
  }
  return total;
}
