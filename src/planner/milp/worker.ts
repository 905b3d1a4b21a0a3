/**
 * Worker thread that owns one HiGHS (WASM) instance and solves LP strings sent by solver.ts.
 * HiGHS is loaded once per worker; solver.ts replaces the whole worker every N solves and after
 * any failure, because one WASM instance has been reported to fail after some thousands of solves
 * (highs-js issue #10). Each solve uses a fresh native model that is disposed before replying.
 *
 * With workerData `{ warm: true }` (a worker spawned ahead of need) it first solves a few small
 * planner models, so the engine has optimised HiGHS' hot code before real work arrives: a cold
 * instance runs its first solves 5–10× slower. Messages that arrive meanwhile wait in the port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import highsModule from 'highs';
import type { Candidate, MilpInput } from '../types.js';
import { MODEL_STATUS, type SolveReply, type SolveRequest } from './messages.js';
import { buildLp } from './model.js';

// types.d.ts is typed as CommonJS, so TypeScript sees the default import as the module object;
// at run time the ESM build's default export is the loader itself.
type Loader = typeof import('highs').default;
const loadHighs: Loader =
  typeof highsModule === 'function' ? (highsModule as Loader) : (highsModule as { default: Loader }).default;

type Highs = Awaited<ReturnType<Loader>>;

/** Small planner markets (fixed, pseudo-random): both model shapes, redundancy rows, nodes. */
function warmModels(): string[] {
  let seed = 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const out: string[] = [];
  for (let k = 0; k < 4; k++) {
    const candidates: Candidate[] = Array.from({ length: 60 }, (_, i) => ({
      index: i,
      offer_id: `w${i}`,
      provider: `p${i % 8}`,
      work_rate: 0.25 + next() * 8,
      effective_price: 0.2 + next() * 10,
      max_nodes: 1 + Math.floor(next() * 12),
    }));
    const input: MilpInput = {
      candidates,
      work: 2000,
      redundancy: 1 + (k % 3),
      horizon_hours: 48,
      budget_usd: null,
      min_nodes: 0,
      max_nodes: k % 2 === 0 ? 30 : null,
    };
    out.push(buildLp(input));
  }
  return out;
}

function solve(highs: Highs, req: SolveRequest): SolveReply {
  const started = performance.now();
  let reply: SolveReply;
  try {
    const model = highs.createModel({ format: 'lp', data: req.lp });
    try {
      model.options.set('output_flag', false);
      model.options.set('time_limit', req.timeLimitS);
      // Tight gaps: the objective is scaled so the optimum is ≥ 1 (model.ts), and callers compare
      // plans to ~1e-6 relative. The default 1e-4 relative gap would leave money on the table.
      model.options.set('mip_rel_gap', 1e-9);
      model.options.set('mip_abs_gap', 1e-10);
      model.options.set('random_seed', 0);
      model.run();
      const status = model.getModelStatus() as number;
      const hasSolution = Number(model.info.get('primal_solution_status')) === 2;
      const { numCols } = model.getDimensions();
      const names: string[] = [];
      for (let j = 0; j < numCols; j++) names.push(model.getColName(j));
      const values = hasSolution ? Array.from(model.getSolution().colValue as ArrayLike<number>) : [];
      const rawGap = status === MODEL_STATUS.optimal ? 0 : Number(model.info.get('mip_gap'));
      reply = {
        id: req.id,
        ok: true,
        status,
        hasSolution,
        gap: Number.isFinite(rawGap) ? rawGap : 1,
        names,
        values,
        ms: performance.now() - started,
      };
    } finally {
      model.dispose();
    }
  } catch (err) {
    reply = { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  return reply;
}

const port = parentPort;
if (port) {
  const highs = await loadHighs();
  if ((workerData as { warm?: boolean } | null)?.warm) {
    for (const lp of warmModels()) solve(highs, { id: -1, lp, timeLimitS: 1 });
  }
  port.on('message', (req: SolveRequest) => {
    port.postMessage(solve(highs, req));
  });
  port.postMessage({ ready: true });
}
