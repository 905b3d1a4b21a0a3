import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Outcome } from '../../ledger/bookings.js';
import { problem } from '../../protocol/problem.js';
import type { GatewayDeps } from '../deps.js';
import { sendProblem } from '../problems.js';

/**
 * Proof of compute over HTTP (issue 6, parts 4 and 5; gateway/proofs.ts): node agents send a
 * lease's checkpoints and its receipt; the lease's requester, its node and the operator read
 * them back as the node signed them.
 */
export function leaseRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const proofs = deps.proofs;
  if (!proofs) return;
  const anyBody = { validatorCompiler: () => () => true };
  const idParams = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };
  const caller = (req: FastifyRequest, reply: FastifyReply) => {
    if (req.principal) return { id: req.principal.id, role: req.principal.role };
    sendProblem(
      reply,
      problem('unauthorized', 'This needs a principal: send Authorization: Bearer <token>.'),
    );
    return null;
  };
  const send = (reply: FastifyReply, o: Outcome) =>
    o.ok ? reply.code(o.status).send(o.body) : sendProblem(reply, o.problem);
  const body = (req: FastifyRequest, k: string) => (req.body as Record<string, unknown> | null)?.[k];

  app.post(
    '/leases/:id/checkpoints',
    {
      ...anyBody,
      schema: {
        summary:
          "A node agent's next checkpoint of a lease (a JWS its DID signed), verified against the chain",
        tags: ['leases'],
        params: idParams,
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(
        reply,
        await proofs.addCheckpoint(c, (req.params as { id: string }).id, body(req, 'checkpoint')),
      );
    },
  );

  app.get(
    '/leases/:id/checkpoints',
    {
      schema: {
        summary: "A lease's checkpoints in order, each with the compact JWS its node signed",
        tags: ['leases'],
        params: idParams,
        querystring: {
          type: 'object',
          properties: { after: { type: 'string' }, limit: { type: 'string' } },
          additionalProperties: false,
        },
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(
        reply,
        await proofs.checkpoints(c, (req.params as { id: string }).id, req.query as Record<string, string>),
      );
    },
  );

  app.post(
    '/leases/:id/receipt',
    {
      ...anyBody,
      schema: {
        summary: "A node agent's receipt for a finished lease, checked against the stored chain",
        tags: ['leases'],
        params: idParams,
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(reply, await proofs.addReceipt(c, (req.params as { id: string }).id, body(req, 'receipt')));
    },
  );

  app.get(
    '/leases/:id/receipt',
    {
      schema: {
        summary: "A lease's receipt, once its node sent it",
        tags: ['leases'],
        params: idParams,
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(reply, await proofs.leaseReceipt(c, (req.params as { id: string }).id));
    },
  );

  app.get(
    '/agents/:name/leases',
    {
      schema: {
        summary: 'The leases a node agent should run now, and those it should stop (a long poll with wait)',
        description:
          'wait=<seconds> (at most 30) holds the request until there is work for the agent, so a booked lease reaches its node within milliseconds.',
        tags: ['agents'],
        params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        querystring: {
          type: 'object',
          properties: { wait: { type: 'string' } },
          additionalProperties: false,
        },
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      const wait = (req.query as { wait?: string }).wait ?? '0';
      if (!/^\d{1,2}(\.\d{1,3})?$/.test(wait) || Number(wait) > 30)
        return sendProblem(
          reply,
          problem('invalid-parameter', 'wait must be a number of seconds from 0 to 30', { param: 'wait' }),
        );
      return send(
        reply,
        await proofs.assigned(c, (req.params as { name: string }).name, Number(wait) * 1000),
      );
    },
  );

  app.get(
    '/receipts/:id',
    {
      schema: {
        summary: 'A receipt as the node signed it (verify it offline with its did:key)',
        tags: ['leases'],
        params: idParams,
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(reply, await proofs.receipt(c, (req.params as { id: string }).id));
    },
  );
}
