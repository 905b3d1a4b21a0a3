import type { FastifyInstance } from 'fastify';
import { type AuthContext, principalResource } from '../../identity/authn.js';
import { sha256Hex, tokenToWire } from '../../identity/principals.js';
import {
  type Capabilities,
  type Caveats,
  caveatsWithin,
  checkCaveats,
  issueUcan,
  parseUcan,
  type UcanPayload,
} from '../../identity/ucan.js';
import { type Problem, problem } from '../../protocol/problem.js';
import { DuplicateError } from '../../storage/errors.js';
import type { TokenRecord } from '../../storage/store.js';
import { parseDuration } from '../../util/duration.js';
import { sendProblem } from '../problems.js';
import {
  anyBody,
  bad,
  CAVEAT_KEYS,
  DEFAULT_TTL_S,
  DID,
  type IdentityApi,
  idParams,
  isOperator,
  iso,
  keyTools,
  MAX_TTL_S,
} from './identity-common.js';

/**
 * Tokens (issue 5): `POST /tokens` mints a UCAN (default) or an API key for the caller; a UCAN
 * caller's new token is its child and can only narrow it. `GET /tokens`, `DELETE /tokens/:id`.
 */
export function tokenRoutes(app: FastifyInstance, id: IdentityApi): void {
  const { repo, ids, clock } = id;
  const { mintKey, keyOptions } = keyTools(id);

  app.post(
    '/tokens',
    {
      ...anyBody,
      schema: {
        summary: 'Delegate: mint a UCAN (default) or an API key for yourself',
        description:
          'UCAN: {can: ["compute/book", …], max_spend_usd?, max_price_per_hour?, providers?, provider_types?, resource_types?, expires_in ("30s"|"1h"|"1d"|seconds; default 1d), audience? (a DID; default this gateway, so the token is a bearer token), label?}. The gateway signs it on your behalf; called with a UCAN, the new one is its child and can only narrow it (abilities, caveats, lifetime). max_spend_usd is enforced atomically at booking, across every token below it. API key: {kind: "api_key", label?, expires_in?}.',
        tags: ['identity'],
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const ctx = req.auth as AuthContext;
      const body = req.body as Record<string, unknown> | null;
      if (!body || typeof body !== 'object' || Array.isArray(body))
        return sendProblem(reply, bad('(body)', 'must be a JSON object such as {"can": ["compute/book"]}'));
      const now = clock.now();
      if (body.kind === 'api_key') {
        if (ctx.via === 'ucan')
          return sendProblem(
            reply,
            problem(
              'insufficient-capability',
              'A UCAN cannot mint an API key: a key would outlive and outreach it. Mint a narrower UCAN instead.',
            ),
          );
        const opts = keyOptions(body, ['kind']);
        if ('problem' in opts) return sendProblem(reply, opts.problem);
        const key = await mintKey(
          ctx.principal.id,
          opts.label,
          opts.ttlS === null ? null : now + opts.ttlS * 1000,
          now,
        );
        return reply.code(201).header('cache-control', 'no-store').send(key);
      }
      if (body.kind !== undefined && body.kind !== 'ucan')
        return sendProblem(reply, bad('/kind', 'must be "ucan" (default) or "api_key"'));
      const minted = await mintUcan(ctx, body, now);
      if ('problem' in minted) return sendProblem(reply, minted.problem);
      return reply.code(201).header('cache-control', 'no-store').send(minted);
    },
  );

  async function mintUcan(ctx: AuthContext, body: Record<string, unknown>, now: number) {
    const fail = (p: Problem) => ({ problem: p });
    const allowed = new Set(['kind', 'can', 'expires_in', 'audience', 'label', ...CAVEAT_KEYS]);
    for (const k of Object.keys(body)) if (!allowed.has(k)) return fail(bad(`/${k}`, 'unknown field'));
    const can = body.can;
    if (
      !Array.isArray(can) ||
      can.length === 0 ||
      can.length > 20 ||
      !can.every((c) => typeof c === 'string')
    )
      return fail(bad('/can', 'must list 1 to 20 abilities, e.g. ["compute/book"]'));
    for (const [i, a] of (can as string[]).entries())
      if (!/^(\*|compute\/(\*|[a-z]+(\/(\*|[a-z]+))?))$/.test(a))
        return fail(
          bad(`/can/${i}`, `"${a}" is not an ability (compute/discover, compute/book, compute/lease/*, …)`),
        );
    const caveats: Caveats = {};
    for (const k of CAVEAT_KEYS) if (body[k] !== undefined) (caveats as Record<string, unknown>)[k] = body[k];
    const caveatError = checkCaveats(caveats, '');
    if (caveatError) {
      const name = /^\.([a-z_]+)/.exec(caveatError)?.[1] ?? '';
      return fail(bad(`/${name}`, caveatError.replace(/^\.[a-z_]+ /, '')));
    }
    const ttl = body.expires_in === undefined ? DEFAULT_TTL_S : parseDuration(body.expires_in);
    if (ttl === null || ttl > MAX_TTL_S)
      return fail(
        bad('/expires_in', 'must be a duration such as 30s, 1h, 1d (at most 365d) or a number of seconds'),
      );
    const audience = body.audience === undefined ? id.gateway.did : body.audience;
    if (typeof audience !== 'string' || !DID.test(audience)) return fail(bad('/audience', 'must be a DID'));
    const label = body.label === undefined ? '' : body.label;
    if (typeof label !== 'string' || label.length > 100)
      return fail(bad('/label', 'must be at most 100 characters'));

    // Attenuation: each ability must be granted to the caller, with caveats no looser than the
    // caller's own for it (for a UCAN caller: every link of its chain).
    const resource = principalResource(ctx.principal.id);
    const abilities: Record<string, [Caveats]> = {};
    for (const a of can as string[]) {
      const g = id.auth.can(ctx, a);
      if (!g.ok)
        return fail(
          problem('insufficient-capability', `You cannot delegate ${a}: your own token does not grant it.`, {
            param: '/can',
          }),
        );
      for (const lim of g.limits) {
        const { id: _cid, ...parent } = lim;
        const looser = caveatsWithin(caveats, parent);
        if (looser)
          return fail(
            problem(
              'insufficient-capability',
              `You cannot delegate ${a} with a looser ${looser} than your own token's. To fix: set ${looser} within it.`,
              { param: `/${looser}`, caveat: looser },
            ),
          );
      }
      abilities[a] = [caveats];
    }
    const parent = ctx.ucan;
    let exp = Math.floor(now / 1000) + ttl;
    const proofs: string[] = [];
    if (parent) {
      const leaf = parent.links[0];
      if (leaf?.exp != null) exp = Math.min(exp, leaf.exp);
      proofs.push(parent.cid);
      await recordChain(ctx, now);
    }
    const capabilities: Capabilities = { [resource]: abilities };
    const jwt = issueUcan({
      issuer: id.gateway,
      audience,
      capabilities,
      ...(parent?.links[0]?.nbf != null ? { notBefore: parent.links[0].nbf } : {}),
      expiresAt: exp,
      proofs,
      nonce: sha256Hex(ids.next('tok')).slice(0, 16),
    });
    const { payload, cid } = parseUcan(jwt);
    const rec: TokenRecord = {
      id: ids.next('tok'),
      principal: ctx.principal.id,
      kind: 'ucan',
      lookup: cid,
      label,
      created_at: now,
      expires_at: exp * 1000,
      revoked_at: null,
      detail: payload as unknown as Record<string, unknown>,
    };
    await repo.insertToken(rec);
    return {
      id: rec.id,
      token: jwt,
      cid,
      issuer: payload.iss,
      audience: payload.aud,
      capabilities: payload.cap,
      expires_at: iso(exp * 1000),
      proofs,
      note:
        audience === id.gateway.did
          ? 'A bearer token: send it as Authorization: Bearer <token>. Revoke it with DELETE /tokens/{id}.'
          : `Delegated to ${audience}: that key signs a UCAN to this gateway (${id.gateway.did}) with this one's CID as its proof.`,
    };
  }

  /**
   * A UCAN caller's chain, recorded (payloads only) so the child minted from it validates later
   * without the client resending proofs. The chain was validated on this request.
   */
  async function recordChain(ctx: AuthContext, now: number) {
    for (const l of Object.values(ctx.ucan?.tokens ?? {})) {
      if (await repo.tokenByLookup(l.cid)) continue;
      const payload: UcanPayload = {
        ucv: '0.10.0',
        iss: l.iss,
        aud: l.aud,
        ...(l.nbf !== null ? { nbf: l.nbf } : {}),
        exp: l.exp,
        cap: l.cap,
        prf: l.prf,
      };
      await repo
        .insertToken({
          id: ids.next('tok'),
          principal: ctx.principal.id,
          kind: 'ucan',
          lookup: l.cid,
          label: 'recorded proof',
          created_at: now,
          expires_at: l.exp === null ? null : l.exp * 1000,
          revoked_at: null,
          detail: payload as unknown as Record<string, unknown>,
        })
        .catch((err) => {
          if (!(err instanceof DuplicateError)) throw err;
        });
    }
  }

  app.get(
    '/tokens',
    {
      schema: {
        summary: 'Your tokens (the operator: everyone’s, or one principal’s with ?principal=)',
        tags: ['identity'],
        security: [{ bearer: [] }],
        querystring: {
          type: 'object',
          properties: {
            principal: { type: 'string' },
            cursor: { type: 'string' },
            limit: { type: 'string' },
          },
          additionalProperties: false,
        },
      },
    },
    async (req, reply) => {
      if (!req.principal)
        return sendProblem(
          reply,
          problem('unauthorized', 'GET /tokens needs a principal: send Authorization: Bearer <token>.'),
        );
      const q = req.query as { principal?: string; cursor?: string; limit?: string };
      const limit = q.limit === undefined ? 50 : /^\d+$/.test(q.limit) ? Number(q.limit) : Number.NaN;
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        return sendProblem(
          reply,
          problem('invalid-parameter', 'limit must be a whole number from 1 to 500', { param: 'limit' }),
        );
      if (q.cursor !== undefined && !/^tok_[0-9a-z]{26}$/.test(q.cursor))
        return sendProblem(
          reply,
          problem('invalid-parameter', 'cursor must be the next_cursor of a previous page', {
            param: 'cursor',
          }),
        );
      const principal = isOperator(req) ? q.principal : req.principal.id;
      const rows = await repo.listTokens({
        ...(principal ? { principal } : {}),
        ...(q.cursor ? { before: q.cursor } : {}),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return {
        tokens: page.map(tokenToWire),
        next_cursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
      };
    },
  );

  app.delete(
    '/tokens/:id',
    {
      schema: {
        summary: 'Revoke a token (yours; the operator: any). A revoked UCAN revokes every token below it',
        tags: ['identity'],
        security: [{ bearer: [] }],
        params: idParams,
      },
    },
    async (req, reply) => {
      const tid = (req.params as { id: string }).id;
      const t = await repo.getToken(tid);
      if (!t || (!isOperator(req) && t.principal !== req.principal?.id))
        return sendProblem(
          reply,
          problem('not-found', `No token ${tid} for this principal. GET /tokens lists yours.`, {
            param: 'id',
          }),
        );
      const now = clock.now();
      const r = (await repo.revokeToken(tid, now)) as TokenRecord;
      if (t.kind === 'ucan') await repo.revokeUcan({ cid: t.lookup, at: now, by: req.principal?.id ?? '' });
      id.auth.invalidate();
      return tokenToWire(r);
    },
  );
}
