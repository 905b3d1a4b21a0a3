import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LaunchRequest, LeaseOps, LeaseState, LeaseStatus, LeaseUsage } from '../provider.js';
import { ProviderError } from '../provider.js';
import type { SlurmClient, SlurmJob } from './client.js';
import { parseSlurmSku } from './offers.js';

/**
 * Lease operations on Slurm: launch = `sbatch` of a generated batch script in a per-lease work
 * dir, status = `squeue` while the job is queued or running and `scontrol show job` after, usage
 * = RunTime × NumNodes (plus `sstat` CPU time while it runs), terminate = `scancel`.
 *
 * Without accounting storage (no slurmdbd) Slurm forgets a finished job MinJobAge seconds after it
 * ends (300 by default), and sacct has no history. So the last state and usage seen of each job is
 * kept in memory, per provider: status and usage answer from it once Slurm has forgotten the job.
 * It does not survive a gateway restart; a job that ended unobserved is reported failed, since its
 * outcome cannot be known.
 */

/**
 * What `LaunchRequest.run` may carry for Slurm: the runtime's command run spec (runtime/run-spec.ts)
 * or its subset — `command`, `env`, `timeout_s` or `hours`. Its `resources` are the offer's shape
 * here, and `network`, `outputs` and `checkpoint` are not enforced (see features.unsupported).
 */
export interface SlurmRunSpec {
  /** argv; the batch script execs it, each word shell-quoted. */
  command: string[];
  env: Record<string, string>;
  /** Job time limit (`--time`); `timeout_s` wins over `hours`. None: the partition's limit. */
  time_limit_s: number | null;
}

/** A SlurmLeaseUsage is a LeaseUsage with the CPU time sstat reports while the job runs. */
export interface SlurmLeaseUsage extends LeaseUsage {
  /** CPU seconds of the running steps; null when the job is not running or sstat has no figure. */
  cpu_seconds: number | null;
}

export interface SlurmLeaseOps extends LeaseOps {
  usage(providerLeaseId: string): Promise<SlurmLeaseUsage>;
}

export interface SlurmLeaseDeps {
  name: string;
  client: SlurmClient;
  /** Parent of the per-lease work dirs; must be visible at the same path on the compute nodes. */
  workRoot: string;
  /** Jobs remembered after Slurm forgets them; the oldest go first. Default 10,000. */
  rememberJobs?: number;
}

/** Job states as squeue and scontrol print them (Slurm 22.05 `job_state_string`). */
export const SLURM_JOB_STATES = [
  'PENDING',
  'CONFIGURING',
  'REQUEUED',
  'REQUEUE_HOLD',
  'REQUEUE_FED',
  'RESV_DEL_HOLD',
  'RUNNING',
  'COMPLETING',
  'SIGNALING',
  'STAGE_OUT',
  'RESIZING',
  'SUSPENDED',
  'STOPPED',
  'COMPLETED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'BOOT_FAIL',
  'DEADLINE',
  'PREEMPTED',
  'SPECIAL_EXIT',
  'CANCELLED',
  'REVOKED',
] as const;
export type SlurmJobState = (typeof SLURM_JOB_STATES)[number];

function assertNever(x: never): never {
  throw new Error(`unhandled Slurm job state ${String(x)}`);
}

const TERMINAL: ReadonlySet<LeaseState> = new Set(['succeeded', 'failed', 'terminated']);

/** How a job ended, from ExitCode "code:signal". */
function ending(job: Pick<SlurmJob, 'exit_code' | 'exit_signal'> | null): string {
  if (!job || job.exit_code === null) return 'exit code unknown';
  return job.exit_signal
    ? `exit code ${job.exit_code}, signal ${job.exit_signal}`
    : `exit code ${job.exit_code}`;
}

/**
 * A Slurm job state (with the scontrol record once there is one) → our lease state. An
 * unrecognised state is a broken contract → ProviderError.
 */
export function slurmLeaseState(
  raw: string,
  job: Pick<SlurmJob, 'exit_code' | 'exit_signal' | 'reason'> | null,
  fail: (m: string) => ProviderError,
): { state: LeaseState; detail: string } {
  if (!(SLURM_JOB_STATES as readonly string[]).includes(raw)) {
    throw fail(
      `Slurm reported an unrecognised job state ${JSON.stringify(raw)}. To fix: report it with \`sinfo --version\``,
    );
  }
  const s = raw as SlurmJobState;
  const why = job?.reason ? ` (${job.reason})` : '';
  switch (s) {
    case 'PENDING':
    case 'CONFIGURING':
    case 'REQUEUED':
    case 'REQUEUE_FED':
      return { state: 'provisioning', detail: `${s}${why}` };
    case 'REQUEUE_HOLD':
    case 'RESV_DEL_HOLD':
      return { state: 'provisioning', detail: `${s}: held until an operator releases it${why}` };
    case 'RUNNING':
    case 'COMPLETING':
    case 'SIGNALING':
    case 'STAGE_OUT':
    case 'RESIZING':
      return { state: 'running', detail: s };
    case 'SUSPENDED':
    case 'STOPPED':
      // Paused in place by the scheduler or an operator; it resumes where it was.
      return { state: 'running', detail: `${s}: paused by Slurm${why}` };
    case 'COMPLETED':
      return { state: 'succeeded', detail: `COMPLETED: ${ending(job)}` };
    case 'FAILED':
    case 'TIMEOUT':
    case 'NODE_FAIL':
    case 'OUT_OF_MEMORY':
    case 'BOOT_FAIL':
    case 'DEADLINE':
    case 'SPECIAL_EXIT':
      return { state: 'failed', detail: `${s}: ${ending(job)}${why}` };
    case 'PREEMPTED':
      return { state: 'failed', detail: `PREEMPTED: the scheduler reclaimed the nodes${why}` };
    case 'CANCELLED':
    case 'REVOKED':
      return { state: 'terminated', detail: `${s}${why}` };
    default:
      return assertNever(s);
  }
}

/** Quotes one word for /bin/sh: 'it'\''s' — nothing inside single quotes is special. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:,+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** LaunchRequest.run → a checked SlurmRunSpec (a ProviderError names the field: caller's mistake). */
export function parseSlurmRun(run: unknown, fail: (m: string) => ProviderError): SlurmRunSpec {
  if (!isObject(run)) throw fail('launch: run must be an object like {"command": ["sh", "-c", "…"]}');
  if (run.wasm !== undefined || run.image !== undefined || (run.kind !== undefined && run.kind !== 'command'))
    throw fail('launch: Slurm runs commands only (run.command), not run.wasm or run.image');
  const cmd = run.command;
  if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((a) => typeof a === 'string'))
    throw fail('launch: run.command must be a non-empty array of strings (the argv)');
  if (cmd.some((a) => a.includes('\0'))) throw fail('launch: run.command may not contain NUL bytes');
  // Staging inputs is the node agent's work; a job started without them would run on nothing.
  if (Array.isArray(run.inputs) && run.inputs.length > 0)
    throw fail('launch: the Slurm adapter does not stage run.inputs; put them in the shared work root first');
  const env: Record<string, string> = {};
  if (run.env !== undefined) {
    if (!isObject(run.env)) throw fail('launch: run.env must map names to strings');
    for (const [k, v] of Object.entries(run.env)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
        throw fail(`launch: run.env name ${JSON.stringify(k)} is not a valid name`);
      if (typeof v !== 'string' || v.includes('\0'))
        throw fail(`launch: run.env.${k} must be a string without NUL`);
      env[k] = v;
    }
  }
  let limit: number | null = null;
  for (const [k, scale] of [
    ['hours', 3600],
    ['timeout_s', 1],
  ] as const) {
    const v = run[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
      throw fail(`launch: run.${k} must be a positive number`);
    limit = v * scale;
  }
  return { command: cmd as string[], env, time_limit_s: limit };
}

/** The batch script: exports, then exec of the argv. */
export function batchScript(leaseId: string, spec: SlurmRunSpec): string {
  const lines = ['#!/bin/sh', `# computemd lease ${leaseId}`];
  for (const [k, v] of Object.entries(spec.env)) lines.push(`export ${k}=${shellQuote(v)}`);
  lines.push(`exec ${spec.command.map(shellQuote).join(' ')}`, '');
  return lines.join('\n');
}

/**
 * sbatch options for a lease: the whole node(s) of the offer's shape (`--exclusive`, all their
 * memory, at least the shape's CPUs and its GPUs) in the offer's partition. With more than one
 * node the script runs on the first; the command starts its own `srun` steps across the rest.
 */
export function sbatchArgs(
  req: Pick<LaunchRequest, 'lease_id' | 'offer_sku' | 'nodes'>,
  spec: SlurmRunSpec,
  workDir: string,
  fail: (m: string) => ProviderError,
): string[] {
  const shape = parseSlurmSku(req.offer_sku);
  if (!shape)
    throw fail(`launch: ${JSON.stringify(req.offer_sku)} is not a Slurm offer sku (partition/cCPUS-mMEMORY)`);
  if (!Number.isInteger(req.nodes) || req.nodes < 1)
    throw fail(`launch: nodes must be a whole number ≥ 1, not ${req.nodes}`);
  const args = [
    `--job-name=computemd-${req.lease_id}`,
    `--partition=${shape.partition}`,
    `--nodes=${req.nodes}`,
    '--exclusive',
    '--mem=0',
    `--mincpus=${shape.cpus}`,
    `--chdir=${workDir}`,
    `--output=${path.join(workDir, 'output.log')}`,
  ];
  if (shape.gres) args.push(`--gres=${shape.gres}`);
  // --time takes minutes; round up so the limit is never shorter than asked.
  if (spec.time_limit_s !== null) args.push(`--time=${Math.ceil(spec.time_limit_s / 60)}`);
  return args;
}

interface Seen {
  status: LeaseStatus;
  node_seconds: number;
}

export function createSlurmLeases(deps: SlurmLeaseDeps): SlurmLeaseOps {
  const { client } = deps;
  const fail = (message: string, status?: number) => new ProviderError(deps.name, message, status);
  const limit = deps.rememberJobs ?? 10_000;
  const seen = new Map<string, Seen>();

  function remember(id: string, status: LeaseStatus, nodeSeconds?: number): LeaseStatus {
    const prev = seen.get(id);
    seen.delete(id); // re-insert: the Map's order is the eviction order
    seen.set(id, { status, node_seconds: nodeSeconds ?? prev?.node_seconds ?? 0 });
    if (seen.size > limit) seen.delete(seen.keys().next().value as string);
    return status;
  }

  function forgotten(id: string): LeaseStatus {
    const last = seen.get(id);
    if (!last) {
      throw fail(
        `job ${id} is unknown to Slurm and was not launched through this gateway process. To fix: ` +
          'check the id; a finished job leaves Slurm MinJobAge seconds after it ends when there is no accounting storage',
        404,
      );
    }
    if (TERMINAL.has(last.status.state)) return last.status;
    return remember(id, {
      provider_lease_id: id,
      state: 'failed',
      detail: `Slurm forgot the job (no accounting storage; MinJobAge) before its end was seen; last seen ${last.status.detail ?? last.status.state}`,
    });
  }

  /**
   * An end state is final (the runtime's states only move forward): once a job was reported
   * succeeded, failed or terminated — terminate reports terminated while Slurm is still
   * COMPLETING — a later reading can refresh the detail of that same state, never change it.
   */
  function settle(id: string, next: { state: LeaseState; detail: string }, nodeSecs?: number): LeaseStatus {
    const last = seen.get(id)?.status;
    const ended = last && TERMINAL.has(last.state) && last.state !== next.state ? last : null;
    return remember(id, ended ?? { provider_lease_id: id, ...next }, nodeSecs);
  }

  async function status(id: string): Promise<LeaseStatus> {
    const q = await client.squeue(id);
    if (q !== null) {
      const m = slurmLeaseState(q.state, { exit_code: null, exit_signal: null, reason: q.reason }, fail);
      // A finished job is read from scontrol, which has its exit code.
      if (!TERMINAL.has(m.state)) return settle(id, m);
    }
    const job = await client.showJob(id);
    if (job === null) return forgotten(id);
    return settle(id, slurmLeaseState(job.state, job, fail), nodeSeconds(job));
  }

  return {
    async launch(req) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(req.lease_id))
        throw fail(
          `launch: lease_id ${JSON.stringify(req.lease_id)} cannot name a work dir (letters, digits, . _ -)`,
        );
      const spec = parseSlurmRun(req.run, fail);
      const workDir = path.join(deps.workRoot, req.lease_id);
      const args = sbatchArgs(req, spec, workDir, fail);
      const script = path.join(workDir, 'job.sh');
      try {
        await mkdir(workDir, { recursive: true });
        await writeFile(script, batchScript(req.lease_id, spec));
        await chmod(script, 0o755);
      } catch (err) {
        throw fail(
          `launch: cannot write ${script}: ${(err as Error).message}. To fix: make the work root writable`,
        );
      }
      let id: string;
      try {
        id = await client.sbatch(args, script);
      } catch (err) {
        if (err instanceof ProviderError && /invalid partition/i.test(err.message)) {
          throw new ProviderError(
            deps.name,
            `launch: the cluster has no partition ${JSON.stringify(parseSlurmSku(req.offer_sku)?.partition)} ` +
              `(${err.message}). To fix: book an offer the cluster lists now`,
            undefined,
            undefined,
            { cause: err },
          );
        }
        throw err;
      }
      return remember(
        id,
        {
          provider_lease_id: id,
          state: 'provisioning',
          detail: `submitted; output in ${path.join(workDir, 'output.log')}`,
        },
        0,
      );
    },

    status,

    async terminate(id) {
      await client.scancel(id);
      const st = await status(id);
      if (TERMINAL.has(st.state)) return st;
      // Still COMPLETING or PENDING: the signal is on its way; Slurm will show CANCELLED shortly.
      return settle(id, { state: 'terminated', detail: 'scancel sent; Slurm is ending the job' });
    },

    async usage(id) {
      const job = await client.showJob(id);
      if (job === null) {
        forgotten(id); // throws for a job never seen
        return { provider_lease_id: id, node_seconds: seen.get(id)?.node_seconds ?? 0, cpu_seconds: null };
      }
      const nodeSecs = nodeSeconds(job);
      const prev = seen.get(id);
      if (prev) seen.set(id, { ...prev, node_seconds: nodeSecs });
      let cpu: number | null = null;
      if (job.state === 'RUNNING') {
        // sstat needs the job's accounting gatherer (JobAcctGatherType); without it, no figure.
        cpu = await client.sstatCpuSeconds(id).catch(() => null);
      }
      return { provider_lease_id: id, node_seconds: nodeSecs, cpu_seconds: cpu };
    },
  };
}

/** Node time so far: RunTime × NumNodes (whole seconds, as scontrol reports it). */
function nodeSeconds(job: SlurmJob): number {
  return (job.run_time_s ?? 0) * (job.num_nodes ?? 1);
}
