import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Outcome } from '../../ledger/bookings.js';
import { validIdempotencyKey } from '../../ledger/idempotency.js';
import type { Caller } from '../../ledger/service.js';
import { problem } from '../../protocol/problem.js';
import {
  AccountWire,
  BookingBody,
  BookingList,
  BookingWireSchema,
  CreditBody,
  TransactionList,
  VerifyWire,
} from '../../protocol/schemas/booking.js';
import { callerOf, requireOperator } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { sendProblem } from '../problems.js';

/**
 * Bookings, accounts and the ledger (issue 4). Every route here needs a principal: POSTs by the
 * auth hook, GETs because they show one principal's money.
 */
export function bookingRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const ledger = deps.ledger;
  if (!ledger) return;

  const caller = (req: FastifyRequest, reply: FastifyReply): Caller | null => {
    const c = callerOf(req);
    if (c) return c;
    sendProblem(
      reply,
      problem('unauthorized', 'This needs a principal: send Authorization: Bearer <token>.'),
    ).header('www-authenticate', 'Bearer realm="computemd"');
    return null;
  };
  /** The Idempotency-Key header, or a 400 when it is malformed. */
  const keyOf = (req: FastifyRequest, reply: FastifyReply): string | null | false => {
    const k = req.headers['idempotency-key'];
    if (k === undefined) return null;
    if (typeof k !== 'string' || !validIdempotencyKey(k)) {
      sendProblem(
        reply,
        problem(
          'invalid-parameter',
          'Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is typical).',
          { param: 'Idempotency-Key' },
        ),
      );
      return false;
    }
    return k;
  };
  const send = (reply: FastifyReply, o: Outcome, location?: (body: unknown) => string) => {
    if (!o.ok) return sendProblem(reply, o.problem);
    if (o.replayed) reply.header('idempotent-replayed', 'true');
    if (location && o.status === 201) reply.header('location', location(o.body));
    return reply.code(o.status).send(o.body);
  };
  const bookingLocation = (b: unknown) => `/bookings/${(b as { booking_id: string }).booking_id}`;
  const page = (q: Record<string, string | undefined>) => ({
    ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
    ...(q.limit !== undefined ? { limit: /^\d+$/.test(q.limit) ? Number(q.limit) : Number.NaN } : {}),
  });
  const pageQuery = {
    type: 'object',
    properties: { cursor: { type: 'string' }, limit: { type: 'string', description: '1–100' } },
    additionalProperties: false,
  };
  const idParams = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };

  app.post(
    '/book',
    {
      validatorCompiler: () => () => true,
      schema: {
        body: BookingBody,
        response: { 201: BookingWireSchema },
        summary: 'Book compute (reserves capacity, holds funds)',
        description:
          "Three forms: the spec's {plan: 'distributed', allocations: [{provider, gpu_hours, gpu_type}|{provider, gpu_hours, cpu_fallback}], payment: {method, stream}}; {allocations: [{offer_id, nodes, hours}]}; or {plan_id} from POST /orchestrate at its quoted prices. Capacity is reserved all-or-none; the hold comes from the caller's account. Honours Idempotency-Key (same key and body: the stored reply; other body: 422). 409 when capacity sold out (with fresh_plan_id for a plan) or the plan expired; 402 when funds are short; 422 for a payment method the operator did not map.",
        tags: ['bookings'],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      const key = keyOf(req, reply);
      if (key === false) return reply;
      return send(reply, await ledger.book(c, req.body, key), bookingLocation);
    },
  );

  app.get(
    '/bookings',
    {
      schema: {
        querystring: pageQuery,
        response: { 200: BookingList },
        summary: "The caller's bookings, newest first",
        tags: ['bookings'],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(reply, await ledger.list(c, page(req.query as Record<string, string>)));
    },
  );

  app.get(
    '/bookings/:id',
    {
      schema: {
        params: idParams,
        response: { 200: BookingWireSchema },
        summary: 'One booking with its leases',
        tags: ['bookings'],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      const o = await ledger.get(c, (req.params as { id: string }).id);
      // The runtime's attempts beside the ledger's view: which offers were tried and why each ended.
      if (o.ok && deps.runtime)
        o.body = {
          ...(o.body as object),
          attempts: await deps.runtime.attempts((o.body as { booking_id: string }).booking_id),
        };
      return send(reply, o);
    },
  );

  app.post(
    '/bookings/:id/cancel',
    {
      schema: {
        params: idParams,
        response: { 200: BookingWireSchema },
        summary:
          'Cancel a booking: what was used is paid, the rest of the hold and the capacity are released',
        tags: ['bookings'],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      const key = keyOf(req, reply);
      if (key === false) return reply;
      return send(reply, await ledger.cancel(c, (req.params as { id: string }).id, key));
    },
  );

  app.get(
    '/accounts/me',
    {
      schema: {
        response: { 200: AccountWire },
        summary: "The caller's balance and holds (USD)",
        tags: ['ledger'],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(reply, await ledger.account(c));
    },
  );

  app.get(
    '/accounts/me/transactions',
    {
      schema: {
        querystring: pageQuery,
        response: { 200: TransactionList },
        summary: "The caller's ledger entries, newest first",
        tags: ['ledger'],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(reply, await ledger.transactions(c, page(req.query as Record<string, string>)));
    },
  );

  app.post(
    '/accounts/:id/credit',
    {
      validatorCompiler: () => () => true,
      schema: {
        params: idParams,
        body: CreditBody,
        summary: 'Operator: credit an account on the credits rail (Idempotency-Key required)',
        tags: ['ledger'],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      const forbidden = requireOperator(req);
      if (forbidden) return sendProblem(reply, forbidden);
      const key = keyOf(req, reply);
      if (key === false) return reply;
      return send(reply, await ledger.credit(c, (req.params as { id: string }).id, req.body, key));
    },
  );

  app.get(
    '/ledger/verify',
    {
      schema: {
        response: { 200: VerifyWire },
        summary: 'Operator: check every ledger invariant',
        tags: ['ledger'],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      const forbidden = requireOperator(req);
      if (forbidden) return sendProblem(reply, forbidden);
      return send(reply, await ledger.verify());
    },
  );
}
