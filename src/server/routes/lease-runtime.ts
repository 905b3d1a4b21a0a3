import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  appendLogs,
  getOutput,
  MAX_OUTPUT_BYTES,
  putOutput,
  setEndpoint,
  streamLogs,
} from '../../gateway/runtime-io.js';
import { getDispute, listDisputes } from '../../gateway/validation.js';
import type { Outcome } from '../../ledger/bookings.js';
import { problem } from '../../protocol/problem.js';
import { safeRelativePath } from '../../runtime/run-spec.js';
import type { GatewayDeps } from '../deps.js';
import { sendProblem } from '../problems.js';

/**
 * The lease runtime over HTTP (issue 6, part 6; gateway/runtime.ts): leases with their state and
 * history, cancel, live logs as Server-Sent Events, outputs by name; and the node agent's side
 * (log batches, output uploads).
 */
export function leaseRuntimeRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const rt = deps.runtime;
  if (!rt) return;
  const idParams = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };
  const outParams = {
    type: 'object',
    properties: { id: { type: 'string' }, name: { type: 'string' } },
    required: ['id', 'name'],
  };
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
  const id = (req: FastifyRequest) => (req.params as { id: string }).id;

  app.get(
    '/leases',
    {
      schema: {
        summary: 'Your leases, newest first, with their state (filter by booking_id and state)',
        tags: ['leases'],
        querystring: {
          type: 'object',
          properties: {
            booking_id: { type: 'string' },
            state: { type: 'string', description: 'comma list: pending,provisioning,running,…' },
            limit: { type: 'string' },
            cursor: { type: 'string' },
          },
          additionalProperties: false,
        },
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(reply, await rt.list(c, req.query as Record<string, string>));
    },
  );

  app.get(
    '/leases/:id',
    {
      schema: {
        summary: "A lease: its state, every transition and why, its proofs' count, outputs and cost",
        tags: ['leases'],
        params: idParams,
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(reply, await rt.get(c, id(req)));
    },
  );

  app.post(
    '/leases/:id/cancel',
    {
      schema: {
        summary: 'Cancels a lease: its node stops the work; it is paid for its verified work only',
        tags: ['leases'],
        params: idParams,
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(reply, await rt.cancel(c, id(req)));
    },
  );

  app.post(
    '/leases/:id/logs',
    {
      bodyLimit: 4 * 1024 * 1024,
      validatorCompiler: () => () => true,
      schema: {
        summary: "A node agent's batch of its work's output lines",
        tags: ['leases'],
        params: idParams,
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(reply, await appendLogs(rt, c, id(req), req.body));
    },
  );

  app.get(
    '/leases/:id/logs',
    {
      config: { encodings: false },
      schema: {
        summary: "A lease's log as Server-Sent Events (follow=true keeps it open until the lease ends)",
        description:
          'text/event-stream: `log` events {seq, at, stream, line}; with follow, `state` events {state, reason, at} as the lease moves; an `end` event {state} last. Resume with after=<seq> (or Last-Event-ID).',
        tags: ['leases'],
        params: idParams,
        querystring: {
          type: 'object',
          properties: { follow: { type: 'string' }, after: { type: 'string' } },
          additionalProperties: false,
        },
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      const q = req.query as { follow?: string; after?: string };
      const afterRaw = q.after ?? (req.headers['last-event-id'] as string | undefined) ?? '0';
      if (!/^\d{1,12}$/.test(afterRaw))
        return sendProblem(
          reply,
          problem('invalid-parameter', 'after must be a log seq', { param: 'after' }),
        );
      if (q.follow !== undefined && q.follow !== 'true' && q.follow !== 'false')
        return sendProblem(
          reply,
          problem('invalid-parameter', 'follow must be true or false', { param: 'follow' }),
        );
      const r = await rt.visible(c, id(req), 'reader');
      if (!r)
        return sendProblem(
          reply,
          problem('not-found', `No lease ${id(req)} for this principal.`, { param: 'id' }),
        );
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        ...(req.raw.httpVersionMajor < 2 ? { connection: 'keep-alive' } : {}),
        'x-accel-buffering': 'no',
      });
      const closed = new Promise<void>((resolve) => res.on('close', () => resolve()));
      const write = (event: string, data: unknown) => {
        if (res.destroyed || res.writableEnded) return false;
        const idLine = event === 'log' ? `id: ${(data as { seq: number }).seq}\n` : '';
        return res.write(`${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`) || true;
      };
      const ping = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      try {
        await streamLogs(rt, r.lease_id, {
          after: Number(afterRaw),
          follow: q.follow === 'true',
          write,
          closed,
        });
      } catch (err) {
        req.log.error({ err }, 'log stream failed');
        write('error', { detail: 'the log stream failed; reconnect with after=<last seq>' });
      } finally {
        clearInterval(ping);
        res.end();
      }
    },
  );

  app.post(
    '/leases/:id/endpoint',
    {
      validatorCompiler: () => () => true,
      schema: {
        summary:
          "A node agent reports where a serving lease listens; the booking's load balancer takes it in",
        tags: ['leases'],
        params: idParams,
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(reply, await setEndpoint(rt, c, id(req), req.body));
    },
  );

  app.get(
    '/disputes',
    {
      schema: {
        summary: 'Result validations whose runs disagreed: the runs, their result digests, the decision',
        tags: ['leases'],
        querystring: {
          type: 'object',
          properties: { limit: { type: 'string' }, cursor: { type: 'string' } },
          additionalProperties: false,
        },
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(reply, await listDisputes(rt, c, req.query as Record<string, string>));
    },
  );

  app.get(
    '/disputes/:id',
    {
      schema: {
        summary: 'One result validation: every run, its result digest, the referee and the decision',
        tags: ['leases'],
        params: idParams,
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      return send(reply, await getDispute(rt, c, id(req)));
    },
  );

  // Outputs travel as bytes, whatever their type.
  app.register(async (sub) => {
    sub.removeAllContentTypeParsers();
    sub.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_OUTPUT_BYTES + 1 },
      (_req, body, done) => done(null, body),
    );
    sub.put(
      '/leases/:id/outputs/:name',
      {
        bodyLimit: MAX_OUTPUT_BYTES + 1,
        schema: {
          summary: "A node agent's upload of one declared output (the bytes; name URL-encoded)",
          tags: ['leases'],
          params: outParams,
          security: [{ bearer: [] }],
        },
      },
      async (req, reply) => {
        const c = caller(req, reply);
        if (!c) return reply;
        const name = (req.params as { name: string }).name;
        if (!safeRelativePath(name))
          return sendProblem(
            reply,
            problem(
              'invalid-parameter',
              'name: must be a relative path inside the work dir (no .., no leading /)',
              {
                param: 'name',
              },
            ),
          );
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        return send(reply, await putOutput(rt, c, id(req), name, body));
      },
    );
  });

  app.get(
    '/leases/:id/outputs/:name',
    {
      config: { encodings: false },
      schema: {
        summary: "One of a lease's outputs, as bytes (its sha256 in the Digest header)",
        tags: ['leases'],
        params: outParams,
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const c = caller(req, reply);
      if (!c) return reply;
      const o = await getOutput(rt, c, id(req), (req.params as { name: string }).name);
      if (!o.ok) return sendProblem(reply, o.problem);
      return reply
        .code(200)
        .header('content-type', 'application/octet-stream')
        .header('etag', `"${o.sha256}"`)
        .header('repr-digest', `sha-256=:${Buffer.from(o.sha256, 'hex').toString('base64')}:`)
        .send(o.data);
    },
  );
}
