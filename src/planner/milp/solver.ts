/**
 * HiGHS behind a worker thread. One worker at a time solves the queue in order; it is replaced
 * (recycled) every `recycleAfter` solves and after any error, crash or overrun, because one WASM
 * instance has been reported to fail after some thousands of solves (highs-js issue #10).
 *
 * Warm workers: a fresh WASM instance runs its first solves 5–10× slower (the engine has not yet
 * optimised the hot code). So a worker spawned ahead of need — the first one, at createSolver
 * (unless `prewarm: false`), and the replacement of a worker nearing `recycleAfter`, spawned
 * `spareAhead` solves early — solves a few small models before it takes work, and a planned
 * recycle swaps in that warm spare. A worker replaced after a failure starts cold (the waiting
 * request goes to it at once).
 *
 * max_nodes short-cuts (both exact): (1) the N fastest nodes on offer, run for the horizon, must
 * reach the work, else the plan is infeasible; (2) the program without the max_nodes row is a
 * relaxation that solves as an LP plus redundancy binaries, far faster than the node MILP: when
 * it is infeasible so is the plan, and when its optimal plan happens to use ≤ max_nodes nodes
 * (checked with planViolations against the real input) that plan is optimal for the real input
 * too. Otherwise the full MILP runs.
 *
 * Contract: `solve` never rejects for a solver failure — it resolves with status 'error' and a
 * detail. Call `close()` when done; an idle worker is unref'd, so a forgotten close does not keep
 * the process alive, but close also settles anything still queued.
 */
import { Worker } from 'node:worker_threads';
import type { MilpInput, MilpResult } from '../types.js';
import { planViolations } from './check.js';
import { preAggregate } from './dominance.js';
import { MODEL_STATUS, type SolveReply } from './messages.js';
import { buildLp, emptyResult, precheck, readSolution, usable } from './model.js';

export interface SolverOptions {
  /** Replace the worker after this many solves (default 500). */
  recycleAfter?: number;
  /** Default per-solve limit when the input names none, ms (default 2000). */
  timeLimitMs?: number;
  /** Wall-clock grace over the time limit before a worker is presumed stuck (default 5000 ms). */
  guardGraceMs?: number;
  /** Start (and warm) the first worker at creation rather than at the first solve (default true). */
  prewarm?: boolean;
  /** Spawn the warm replacement this many solves before a planned recycle (default 50). */
  spareAhead?: number;
}

export interface SolverStats {
  /** Solves answered by a worker (any status). */
  solves: number;
  /** Workers replaced, planned or not. */
  recycles: number;
  /** Workers lost to an error, a crash or the wall-clock guard. */
  failures: number;
  /** Workers started. */
  workers: number;
}

export interface Solver {
  solve(input: MilpInput): Promise<MilpResult>;
  close(): Promise<void>;
  stats(): SolverStats;
}

const SOLVER = 'highs';

interface Job {
  input: MilpInput;
  lp: string;
  limitMs: number;
  started: number;
  resolve: (r: MilpResult) => void;
}

function result(status: MilpResult['status'], started: number, detail?: string): MilpResult {
  return emptyResult(status, SOLVER, started, detail);
}

export function createSolver(opts: SolverOptions = {}): Solver {
  const recycleAfter = Math.max(1, opts.recycleAfter ?? 500);
  const defaultLimitMs = opts.timeLimitMs ?? 2000;
  // Grace over HiGHS' own time_limit; it also covers loading the WASM in a fresh worker.
  const grace = opts.guardGraceMs ?? 5000;
  const spareAhead = Math.max(0, opts.spareAhead ?? 50);
  const stats: SolverStats = { solves: 0, recycles: 0, failures: 0, workers: 0 };
  const queue: Job[] = [];
  let worker: Worker | null = null;
  /** The warm replacement, spawned ahead of a planned recycle. */
  let spare: Worker | null = null;
  let onWorker = 0;
  let busy: Job | null = null;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  function finish(job: Job, r: MilpResult): void {
    if (timer) clearTimeout(timer);
    timer = null;
    busy = null;
    job.resolve(r);
  }

  function drop(w: Worker): void {
    w.removeAllListeners();
    w.on('error', () => {});
    void w.terminate();
  }

  /** Drops the current worker; `failed` counts it as lost rather than retired. */
  function retire(failed: boolean): void {
    if (!worker) return;
    const w = worker;
    worker = null;
    onWorker = 0;
    stats.recycles++;
    if (failed) stats.failures++;
    drop(w);
  }

  /** A new worker; `warm` makes it solve a few small models before it reads the queue. */
  function spawn(warm: boolean): Worker {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { warm } });
    stats.workers++;
    w.unref();
    w.on('message', (msg: SolveReply | { ready: true }) => {
      if (w !== worker || 'ready' in msg || !busy) return;
      const job = busy;
      stats.solves++;
      onWorker++;
      if (!msg.ok) {
        retire(true);
        finish(job, result('error', job.started, `HiGHS failed: ${msg.error}`));
      } else {
        finish(job, decode(job, msg));
        if (onWorker >= recycleAfter) retire(false);
        else if (!spare && !closed && onWorker >= recycleAfter - spareAhead) spare = spawn(true);
      }
      pump();
    });
    const lost = (why: string) => {
      if (w === spare) {
        // A spare that dies is simply not used.
        spare = null;
        drop(w);
        stats.failures++;
        return;
      }
      if (w !== worker) return;
      retire(true);
      if (busy) finish(busy, result('error', busy.started, `solver worker ${why}; it was replaced`));
      pump();
    };
    w.on('error', (err) => lost(`crashed: ${err.message}`));
    w.on('exit', (code) => lost(`exited with code ${code}`));
    return w;
  }

  function pump(): void {
    if (busy || closed) return;
    const job = queue.shift();
    if (!job) {
      worker?.unref();
      return;
    }
    busy = job;
    if (!worker) {
      worker = spare ?? spawn(false);
      spare = null;
    }
    worker.ref();
    timer = setTimeout(() => {
      if (busy !== job) return;
      retire(true);
      finish(
        job,
        result('error', job.started, `solver overran ${job.limitMs} ms by ${grace} ms; worker replaced`),
      );
      pump();
    }, job.limitMs + grace);
    worker.postMessage({ id: stats.solves, lp: job.lp, timeLimitS: job.limitMs / 1000 });
  }

  /** Queues one model; resolves with its result. */
  function run(input: MilpInput, started: number): Promise<MilpResult> {
    if (closed) return Promise.resolve(result('error', started, 'solver is closed'));
    let lp: string;
    try {
      lp = buildLp(input);
    } catch (err) {
      return Promise.resolve(result('error', started, `model: ${(err as Error).message}`));
    }
    const limitMs = input.time_limit_ms ?? defaultLimitMs;
    return new Promise((resolve) => {
      queue.push({ input, lp, limitMs, started, resolve });
      pump();
    });
  }

  if (opts.prewarm ?? true) spare = spawn(true);

  return {
    async solve(input) {
      const started = performance.now();
      const early = precheck(input);
      if (early) return result(early.status, started, early.detail);
      if (input.max_nodes !== null && !closed) {
        const short = nodeCapacityShort(input);
        if (short) return result('infeasible', started, short);
        const relaxed = await run(preAggregate({ ...input, max_nodes: null }).input, started);
        if (relaxed.status === 'infeasible') {
          return result('infeasible', started, relaxed.detail ?? 'infeasible even without max_nodes');
        }
        if (relaxed.status === 'optimal' && planViolations(input, relaxed.allocations).length === 0) {
          return { ...relaxed, solve_ms: performance.now() - started };
        }
      }
      return run(input, started);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const w = worker;
      worker = null;
      if (spare) drop(spare);
      spare = null;
      if (busy) busy.resolve(result('error', busy.started, 'solver closed'));
      busy = null;
      for (const job of queue.splice(0)) job.resolve(result('error', job.started, 'solver closed'));
      if (w) {
        w.removeAllListeners();
        w.on('error', () => {});
        await w.terminate();
      }
    },
    stats: () => ({ ...stats }),
  };
}

/**
 * Short-cut (1) of the header: the most work any max_nodes plan can deliver is the N fastest
 * nodes on offer running the whole horizon. Returns a reason when that falls short of the work
 * (with brute.ts's tolerance), else null.
 */
function nodeCapacityShort(input: MilpInput): string | null {
  const N = Math.floor(input.max_nodes ?? Number.POSITIVE_INFINITY);
  const fast = input.candidates.filter(usable).sort((a, b) => b.work_rate - a.work_rate);
  let left = N;
  let most = 0;
  for (const c of fast) {
    if (left <= 0) break;
    const n = Math.min(left, Math.floor(c.max_nodes));
    most += n * input.horizon_hours * c.work_rate;
    left -= n;
  }
  if (most >= input.work * (1 - 1e-9)) return null;
  return `max_nodes ${N}: the fastest ${N} nodes deliver ${most.toPrecision(4)} of ${input.work.toPrecision(4)} reference-hours within the horizon`;
}

function decode(job: Job, msg: Extract<SolveReply, { ok: true }>): MilpResult {
  const { input, started } = job;
  if (msg.status === MODEL_STATUS.infeasible || msg.status === MODEL_STATUS.unboundedOrInfeasible) {
    // Costs are ≥ 0 and every variable is bounded, so "infeasible or unbounded" is infeasible.
    return result('infeasible', started);
  }
  const optimal = msg.status === MODEL_STATUS.optimal;
  if (!(optimal || (msg.status === MODEL_STATUS.timeLimit && msg.hasSolution)) || !msg.hasSolution) {
    const why =
      msg.status === MODEL_STATUS.timeLimit
        ? 'time limit reached before any plan'
        : `HiGHS model status ${msg.status}`;
    return result('error', started, why);
  }
  const byName = new Map<string, number>();
  msg.names.forEach((n, j) => {
    byName.set(n, msg.values[j] ?? 0);
  });
  const { allocations, objective } = readSolution(input, (name) => byName.get(name) ?? 0);
  const r: MilpResult = {
    status: optimal ? 'optimal' : 'feasible',
    allocations,
    objective,
    gap: optimal ? 0 : msg.gap,
    solver: SOLVER,
    solve_ms: performance.now() - started,
  };
  if (!optimal) r.detail = `time limit ${job.limitMs} ms reached; best plan so far, gap ${msg.gap}`;
  return r;
}
