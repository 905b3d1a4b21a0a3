/** The planner's MILP: model, HiGHS solver in a recycled worker, greedy baseline, pre-aggregation. */
export { type DominanceOptions, type DominanceResult, preAggregate } from './dominance.js';
export { greedy } from './greedy.js';
export { buildLp, minShare } from './model.js';
export { createSolver, type Solver, type SolverOptions, type SolverStats } from './solver.js';
