import type { FastifyInstance, FastifyReply } from 'fastify';
import { OPERATOR_ID, principalToWire } from '../../identity/principals.js';
import { problem } from '../../protocol/problem.js';
import { DuplicateError } from '../../storage/errors.js';
import type { PrincipalRecord } from '../../storage/store.js';
import { sendProblem } from '../problems.js';
import { anyBody, bad, DID, type IdentityApi, idParams, keyTools } from './identity-common.js';

/** Principals and their API keys (issue 5): the operator creates, lists, disables and re-keys them. */
export function principalRoutes(app: FastifyInstance, id: IdentityApi): void {
  const { repo, ids, clock } = id;
  const { mintKey, keyOptions } = keyTools(id);

  app.post(
    '/principals',
    {
      ...anyBody,
      schema: {
        summary: 'Create a requester or provider principal with its first API key (operator)',
        description:
          'Body: {role: "requester"|"provider", name, did?}. The reply carries the API key once (`api_key.key`); only its hash is kept. A `did` lets the principal sign its own root UCANs and workload manifests.',
        tags: ['identity'],
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['role', 'name'],
          properties: {
            role: { type: 'string', enum: ['requester', 'provider'] },
            name: { type: 'string', minLength: 1, maxLength: 100 },
            did: { type: 'string' },
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body as Record<string, unknown> | null;
      if (!b || typeof b !== 'object' || Array.isArray(b))
        return sendProblem(reply, bad('(body)', 'must be a JSON object {role, name, did?}'));
      for (const k of Object.keys(b))
        if (!['role', 'name', 'did'].includes(k))
          return sendProblem(reply, problem('invalid-body', `/${k}: unknown field`, { param: `/${k}` }));
      if (b.role !== 'requester' && b.role !== 'provider')
        return sendProblem(reply, bad('/role', 'must be "requester" or "provider" (there is one operator)'));
      if (typeof b.name !== 'string' || b.name.trim() === '' || b.name.length > 100)
        return sendProblem(reply, bad('/name', 'must be 1 to 100 characters'));
      if (b.did !== undefined && (typeof b.did !== 'string' || !DID.test(b.did) || b.did.length > 500))
        return sendProblem(reply, bad('/did', 'must be a DID such as did:key:z6Mk…'));
      const now = clock.now();
      const p: PrincipalRecord = {
        id: ids.next('pr'),
        role: b.role,
        name: b.name.trim(),
        did: (b.did as string | undefined) ?? null,
        created_at: now,
        disabled_at: null,
      };
      try {
        await repo.insertPrincipal(p);
      } catch (err) {
        if (err instanceof DuplicateError)
          return sendProblem(
            reply,
            problem('conflict', `Another principal already has DID ${String(b.did)}.`, { param: '/did' }),
          );
        throw err;
      }
      const key = await mintKey(p.id, 'first key', null, now);
      return reply
        .code(201)
        .header('location', `/principals/${p.id}`)
        .header('cache-control', 'no-store')
        .send({ principal: principalToWire(p), api_key: key });
    },
  );

  app.get(
    '/principals',
    {
      schema: {
        summary: 'List principals (operator)',
        tags: ['identity'],
        security: [{ bearer: [] }],
        querystring: {
          type: 'object',
          properties: { cursor: { type: 'string' }, limit: { type: 'string' } },
          additionalProperties: false,
        },
      },
    },
    async (req, reply) => {
      const q = req.query as { cursor?: string; limit?: string };
      const limit = q.limit === undefined ? 50 : /^\d+$/.test(q.limit) ? Number(q.limit) : Number.NaN;
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        return sendProblem(
          reply,
          problem('invalid-parameter', 'limit must be a whole number from 1 to 500', { param: 'limit' }),
        );
      const rows = await repo.listPrincipals({ ...(q.cursor ? { after: q.cursor } : {}), limit: limit + 1 });
      const page = rows.slice(0, limit);
      return {
        principals: page.map(principalToWire),
        next_cursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
      };
    },
  );

  const principalOr404 = async (pid: string, reply: FastifyReply) => {
    const p = await repo.getPrincipal(pid);
    if (!p) sendProblem(reply, problem('not-found', `No principal ${pid}.`, { param: 'id' }));
    return p;
  };

  app.get(
    '/principals/:id',
    { schema: { summary: 'One principal (operator)', tags: ['identity'], params: idParams } },
    async (req, reply) => {
      const p = await principalOr404((req.params as { id: string }).id, reply);
      return p ? principalToWire(p) : reply;
    },
  );

  app.post(
    '/principals/:id/disable',
    {
      schema: {
        summary: 'Disable a principal: every token of it stops working (operator)',
        tags: ['identity'],
        params: idParams,
      },
    },
    async (req, reply) => {
      const pid = (req.params as { id: string }).id;
      if (pid === OPERATOR_ID)
        return sendProblem(reply, problem('conflict', 'The operator cannot be disabled.', { param: 'id' }));
      const p = await repo.disablePrincipal(pid, clock.now());
      if (!p) return sendProblem(reply, problem('not-found', `No principal ${pid}.`, { param: 'id' }));
      id.auth.invalidate();
      return principalToWire(p);
    },
  );

  app.post(
    '/principals/:id/keys',
    {
      ...anyBody,
      schema: {
        summary: 'Issue another API key for a principal (operator); the key is shown once',
        tags: ['identity'],
        params: idParams,
        body: {
          type: 'object',
          properties: { label: { type: 'string' }, expires_in: { type: ['string', 'integer'] } },
        },
      },
    },
    async (req, reply) => {
      const p = await principalOr404((req.params as { id: string }).id, reply);
      if (!p) return reply;
      const body = (req.body ?? {}) as Record<string, unknown>;
      const opts = keyOptions(body);
      if ('problem' in opts) return sendProblem(reply, opts.problem);
      const now = clock.now();
      const key = await mintKey(p.id, opts.label, opts.ttlS === null ? null : now + opts.ttlS * 1000, now);
      return reply.code(201).header('cache-control', 'no-store').send(key);
    },
  );
}
