import type { FastifyInstance } from 'fastify';
import { verifyJws } from '../../identity/jws.js';
import { parseUcan } from '../../identity/ucan.js';
import { problem } from '../../protocol/problem.js';
import { sendProblem } from '../problems.js';
import { anyBody, bad, DID, type IdentityApi, isOperator } from './identity-common.js';

/** `POST /ucan/revocations`: revoke a UCAN by CID, signed by its issuer or by its principal. */
export function ucanRevocationRoutes(app: FastifyInstance, id: IdentityApi): void {
  const { repo, clock } = id;

  app.post(
    '/ucan/revocations',
    {
      ...anyBody,
      config: { public: true },
      schema: {
        summary: 'Revoke a UCAN by CID',
        description:
          'Either signed, as UCAN revocation records are: {iss: DID, revoke: CID, challenge: base64url signature by iss over "REVOKE:<CID>" (a compact JWS of that payload is also accepted), ucan?: the revoked JWT when the gateway did not issue it}; iss must have issued the revoked UCAN. Or authenticated: {revoke} with the bearer of the principal the UCAN belongs to, or the operator. Every UCAN whose chain contains a revoked CID stops working.',
        tags: ['identity'],
      },
    },
    async (req, reply) => {
      const body = req.body as Record<string, unknown> | null;
      if (
        !body ||
        typeof body !== 'object' ||
        typeof body.revoke !== 'string' ||
        !/^b[a-z2-7]{20,100}$/.test(body.revoke)
      )
        return sendProblem(reply, bad('/revoke', 'must be the CID of a UCAN (b…)'));
      const cid = body.revoke;
      const rec = await repo.tokenByLookup(cid);
      let issuer: string | null = rec?.kind === 'ucan' ? String(rec.detail.iss) : null;
      if (!issuer && typeof body.ucan === 'string') {
        try {
          const u = parseUcan(body.ucan);
          if (u.cid !== cid) return sendProblem(reply, bad('/ucan', 'is not the UCAN the CID names'));
          issuer = u.payload.iss;
        } catch {
          return sendProblem(reply, bad('/ucan', 'is not a UCAN'));
        }
      }
      let by: string;
      if (body.iss !== undefined || body.challenge !== undefined) {
        if (typeof body.iss !== 'string' || !DID.test(body.iss))
          return sendProblem(reply, bad('/iss', 'must be a DID'));
        if (typeof body.challenge !== 'string')
          return sendProblem(reply, bad('/challenge', 'must be a signature'));
        if (issuer === null)
          return sendProblem(
            reply,
            problem(
              'not-found',
              `UCAN ${cid} is not known here: send it in "ucan" so its issuer can be checked.`,
              {
                param: '/ucan',
              },
            ),
          );
        if (body.iss !== issuer)
          return sendProblem(
            reply,
            problem(
              'forbidden',
              `Only the issuer of UCAN ${cid} (${issuer}) may revoke it with a signature.`,
              { param: '/iss' },
            ),
          );
        if (!(await challengeValid(body.iss, cid, body.challenge)))
          return sendProblem(
            reply,
            problem('invalid-token', 'The challenge is not a signature by iss over "REVOKE:<cid>".', {
              param: '/challenge',
              reason: 'bad_signature',
            }),
          );
        by = body.iss;
      } else {
        if (!req.principal)
          return sendProblem(
            reply,
            problem(
              'unauthorized',
              'Send a signed revocation {iss, revoke, challenge}, or authenticate as the UCAN’s principal.',
            ),
          );
        if (!isOperator(req) && rec?.principal !== req.principal.id)
          return sendProblem(
            reply,
            problem('not-found', `No UCAN ${cid} for this principal.`, { param: '/revoke' }),
          );
        by = req.principal.id;
      }
      const now = clock.now();
      const fresh = await repo.revokeUcan({ cid, at: now, by });
      if (rec) await repo.revokeToken(rec.id, now);
      id.auth.invalidate();
      return reply.code(fresh ? 201 : 200).send({ revoke: cid, revoked: true, by });
    },
  );

  /** A revocation challenge: a JWS whose payload is "REVOKE:<cid>", signed by `iss`. */
  async function challengeValid(iss: string, cid: string, challenge: string): Promise<boolean> {
    try {
      const v = await verifyJws(challenge, id.resolveDid, { expectedDid: iss });
      return v.payload === `REVOKE:${cid}`;
    } catch {
      return false;
    }
  }
}
