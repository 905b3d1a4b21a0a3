import type { FastifyInstance } from 'fastify';
import { invalidParams, problem } from '../../protocol/problem.js';
import { OrchestrateBody, PlanResponseWire } from '../../protocol/schemas/orchestrate.js';
import type { GatewayDeps } from '../deps.js';
import { sendProblem } from '../problems.js';

/**
 * POST /orchestrate and GET /plans/:id. A plan is a quote: it holds prices until expires_at and
 * spends nothing, so it needs no principal (the spec's example sends none); a principal, when
 * present, becomes the plan's requester.
 */
export function orchestrateRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const planning = deps.planning;
  if (!planning) return;
  app.post(
    '/orchestrate',
    {
      config: { public: true },
      // The planner's parser is the one validator: it names the JSON path at fault and knows
      // profiles, placeholders and regions. The body schema documents the shape for OpenAPI.
      validatorCompiler: () => () => true,
      schema: {
        body: OrchestrateBody,
        response: { 201: { ...PlanResponseWire, additionalProperties: true } },
        summary: 'Plan a workload across providers (a quote; spends nothing)',
        description:
          "The spec's Unified Orchestration. Body: {requester, workload: {type, compute_hours (reference GPU-hours on reference_profile, default GPU_TYPE_A), memory_gb (GPU memory per GPU), interconnect, …}, constraints: {max_price_per_hour (USD per GPU-hour), latency_band, redundancy, deadline_hours, budget_usd, …}} or the spec's inference form {workload: 'large_model_serve', requests_per_second, redundancy, providers}. Returns the cost-optimal plan with its arithmetic, alternatives, fallbacks, a computed SLA and savings against the cheapest traditional-cloud placement. 422 when nothing fits, naming the binding constraint and the nearest feasible change.",
        tags: ['planning'],
      },
    },
    async (req, reply) => {
      const r = await planning.orchestrate(req.body, req.principal);
      if (r.ok)
        return reply
          .code(201)
          .header('location', `/plans/${String(r.plan.plan_id)}`)
          .send(r.plan);
      if ('problems' in r) {
        return sendProblem(
          reply,
          invalidParams(
            r.problems.map((p) => ({ name: p.param, reason: p.detail })),
            'invalid-body',
          ),
        );
      }
      const { detail, binding, ...rest } = r.infeasible;
      return sendProblem(reply, { ...problem('infeasible', detail), param: binding, ...rest });
    },
  );

  app.get(
    '/plans/:id',
    {
      schema: {
        summary: 'A stored plan (quote) by id',
        description:
          'status is "active" until expires_at, then "expired" (booking an expired plan is refused).',
        tags: ['planning'],
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: { 200: { ...PlanResponseWire, additionalProperties: true } },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const plan = await planning.getPlan(id, req.principal);
      if (!plan)
        return sendProblem(
          reply,
          problem('not-found', `No plan ${id} for this principal. Plans come from POST /orchestrate.`, {
            param: 'id',
          }),
        );
      return plan;
    },
  );
}
