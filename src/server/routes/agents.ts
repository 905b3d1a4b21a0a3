import type { FastifyInstance } from 'fastify';
import { agentToWire } from '../../gateway/agents.js';
import { problem } from '../../protocol/problem.js';
import type { GatewayDeps } from '../deps.js';
import { sendProblem } from '../problems.js';

/**
 * Node agents (issue 6, part 2): `POST /agents` registers one (a JWS its DID signed), `POST
 * /agents/:name/heartbeat` keeps it listed (and drains it), `GET /agents` shows them. Registering
 * needs `compute/provide` (a provider principal, or a token delegated that ability).
 */
export function agentRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const agents = deps.agents;
  if (!agents) return;
  const anyBody = { validatorCompiler: () => () => true };
  const who = (id: string | undefined) => id ?? '';

  app.post(
    '/agents',
    {
      ...anyBody,
      schema: {
        summary: 'Register a node agent (its offers then appear in /nodes, benchmark_based)',
        description:
          "Body: {registration: compact JWS, typ computemd-agent+jws, signed by the agent's DID, of {v: 1, name, did, capabilities (measured), price_per_hour, region?, iat}}. 201 the first time, 200 when the same agent registers again.",
        tags: ['agents'],
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const body = req.body as Record<string, unknown> | null;
      const r = await agents.register(who(req.principal?.id), String(body?.registration ?? ''));
      if (!r.ok) return sendProblem(reply, r.problem);
      return reply
        .code(r.status)
        .header('location', `/agents/${r.agent.name}`)
        .send(agentToWire(r.agent, agents.isUp(r.agent)));
    },
  );

  app.post(
    '/agents/:name/heartbeat',
    {
      ...anyBody,
      schema: {
        summary: 'A node agent is alive; {draining: true} stops new work on it',
        tags: ['agents'],
        params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const r = await agents.heartbeat(
        who(req.principal?.id),
        (req.params as { name: string }).name,
        req.body,
      );
      if (!r.ok) return sendProblem(reply, r.problem);
      return agentToWire(r.agent, agents.isUp(r.agent));
    },
  );

  app.get(
    '/agents/:name/earnings',
    {
      schema: {
        summary: "What a node agent has earned: its provider account's balance and entries",
        tags: ['agents'],
        params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        querystring: {
          type: 'object',
          properties: { cursor: { type: 'string' }, limit: { type: 'string' } },
          additionalProperties: false,
        },
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const name = (req.params as { name: string }).name;
      const mine = agents
        .list(req.principal?.role === 'operator' ? null : who(req.principal?.id))
        .some((a) => a.name === name);
      if (!mine || !deps.ledger)
        return sendProblem(
          reply,
          problem('not-found', `No node agent ${name} for this principal.`, { param: 'name' }),
        );
      const q = req.query as { cursor?: string; limit?: string };
      const r = await deps.ledger.earnings(name, {
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        ...(q.limit !== undefined ? { limit: /^\d+$/.test(q.limit) ? Number(q.limit) : Number.NaN } : {}),
      });
      if (!r.ok) return sendProblem(reply, r.problem);
      return r.body;
    },
  );

  app.get(
    '/agents',
    {
      schema: {
        summary: 'Node agents (the operator sees all; a provider its own)',
        tags: ['agents'],
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      if (!req.principal)
        return sendProblem(
          reply,
          problem('unauthorized', 'GET /agents needs a principal: send Authorization: Bearer <token>.'),
        );
      const list = agents.list(req.principal.role === 'operator' ? null : req.principal.id);
      return { agents: list.map((a) => agentToWire(a, agents.isUp(a))) };
    },
  );
}
