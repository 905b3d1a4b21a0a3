/** Messages between solver.ts and worker.ts (kept apart so importing them never loads HiGHS). */

export interface SolveRequest {
  id: number;
  lp: string;
  /** HiGHS time_limit, seconds. */
  timeLimitS: number;
}

export type SolveReply =
  | {
      id: number;
      ok: true;
      /** HiGHS model status code (highs.constants.modelStatus). */
      status: number;
      /** A primal feasible solution is available (info primal_solution_status = 2). */
      hasSolution: boolean;
      /** info mip_gap; 0 when proven optimal. */
      gap: number;
      names: string[];
      values: number[];
      ms: number;
    }
  | { id: number; ok: false; error: string };

/** HiGHS model status codes the solver maps (highs.constants.modelStatus). */
export const MODEL_STATUS = { optimal: 7, infeasible: 8, unboundedOrInfeasible: 9, timeLimit: 13 } as const;
