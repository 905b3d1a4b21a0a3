import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearerToken, type Principal, type PrincipalStore } from '../identity/operator.js';
import { problem } from '../protocol/problem.js';
import { sendProblem } from './problems.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Discovery GETs are public (DESIGN.md "Running it"); anything that creates state or spends needs a
 * principal, so every non-safe method without a valid bearer token is a 401 before its handler runs.
 * A token that is present but wrong is also 401, never silently anonymous. A route that only
 * quotes (POST /orchestrate: it stores a plan but spends nothing) opts in with `config.public`.
 */
export function installAuth(app: FastifyInstance, principals: PrincipalStore): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req, reply) => {
    const token = bearerToken(req.headers.authorization);
    if (token) req.principal = principals.authenticate(token);
    if (token && !req.principal) {
      return sendProblem(
        reply,
        problem(
          'unauthorized',
          'The bearer token is not valid. Use the admin token from the data dir or a token the operator issued.',
        ),
      );
    }
    if (!SAFE.has(req.method) && !req.principal && req.routeOptions.config?.public !== true) {
      return sendProblem(
        reply,
        problem(
          'unauthorized',
          `${req.method} ${req.url.split('?')[0]} needs a principal: send Authorization: Bearer <token>.`,
        ),
      ).header('www-authenticate', 'Bearer realm="computemd"');
    }
  });
}

export function requireOperator(req: FastifyRequest): ReturnType<typeof problem> | null {
  if (req.principal?.role === 'operator') return null;
  return problem('forbidden', 'Only the operator may do this. Use the admin token.');
}
