import type { FastifyInstance } from 'fastify';
import { parseTokenRequest } from '../../identity/oauth.js';
import { ROLE_ABILITIES, sha256Hex } from '../../identity/principals.js';
import { abilityCovers } from '../../identity/ucan.js';
import { problem } from '../../protocol/problem.js';
import { anyBody, type IdentityApi } from './identity-common.js';

/** OAuth2 (issue 5): the client-credentials grant at `/oauth/token` and the JWKS its tokens verify against. */
export function oauthRoutes(app: FastifyInstance, id: IdentityApi): void {
  const { repo, clock } = id;

  app.register(async (scope) => {
    // RFC 6749 token requests are form-encoded; this parser is scoped to the OAuth route only.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 16 * 1024 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.post(
      '/oauth/token',
      {
        ...anyBody,
        // The client authenticates with its credentials (body or HTTP Basic), not a bearer token.
        config: { public: true, clientAuth: true },
        schema: {
          summary: 'OAuth2 client-credentials grant: an access token (JWT) for an API key',
          description:
            'RFC 6749 §4.4. client_id: the API key id (tok_…) or its principal id; client_secret: the API key (in the body or HTTP Basic). scope: space-separated abilities within the principal role (default: all of them). The token verifies against GET /.well-known/jwks.json and stops working when its key is revoked.',
          tags: ['identity'],
        },
      },
      async (req, reply) => {
        const oauthError = (status: number, error: string, description: string) =>
          reply
            .code(status)
            .header('content-type', 'application/problem+json')
            .header('cache-control', 'no-store')
            .header(status === 401 ? 'www-authenticate' : 'x-oauth', 'Basic realm="computemd"')
            .send({
              ...problem(status === 401 ? 'unauthorized' : 'invalid-body', description),
              status,
              error,
              error_description: description,
              instance: '/oauth/token',
            });
        const parsed = parseTokenRequest(req.body, req.headers.authorization);
        if (!parsed.ok) return oauthError(parsed.status, parsed.error, parsed.error_description);
        const now = clock.now();
        const key = await repo.tokenByLookup(sha256Hex(parsed.client_secret));
        if (
          key?.kind !== 'api_key' ||
          key.revoked_at !== null ||
          (key.expires_at !== null && now >= key.expires_at) ||
          (parsed.client_id !== key.id && parsed.client_id !== key.principal)
        )
          return oauthError(
            401,
            'invalid_client',
            'Unknown client, wrong secret, or a revoked or expired key.',
          );
        const p = await repo.getPrincipal(key.principal);
        if (!p || p.disabled_at !== null)
          return oauthError(401, 'invalid_client', 'The principal is disabled.');
        const roleAbilities = ROLE_ABILITIES[p.role];
        const scopeList = parsed.scope ?? [...roleAbilities];
        for (const s of scopeList)
          if (!roleAbilities.some((g) => abilityCovers(g, s)))
            return oauthError(
              400,
              'invalid_scope',
              `Scope ${s} is not within a ${p.role}'s abilities (${roleAbilities.join(' ')}).`,
            );
        const t = await id.oauth.issue({ principal: p.id, role: p.role, token_id: key.id, scope: scopeList });
        return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(t);
      },
    );
  });

  app.get(
    '/.well-known/jwks.json',
    {
      config: { encodings: false },
      schema: {
        summary: 'Public keys that verify the access tokens this gateway issues',
        tags: ['identity'],
      },
    },
    async (_req, reply) => reply.header('cache-control', 'public, max-age=300').send(id.oauth.jwks()),
  );
}
