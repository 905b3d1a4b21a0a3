import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthContext, Authenticator, Principal } from '../identity/authn.js';
import type { SpendLimit } from '../ledger/budgets.js';
import { problem } from '../protocol/problem.js';
import { sendProblem } from './problems.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    auth: AuthContext | null;
    /** Caveats of the delegated token that granted this route's ability (budgets.ts). */
    limits: SpendLimit[];
  }
}

/**
 * The ability each route needs (UCAN abilities, issue 5), in one table so the whole authorization
 * model reads in one place and the matrix test walks it. A route not listed needs none (health,
 * docs, metrics, the OAuth and JWKS endpoints). Several abilities: any one of them will do.
 *
 * Discovery is public: without a token it answers anyone. A token that is sent is checked all the
 * same: it must be valid, and it must grant the route's ability (a token scoped to booking only is
 * refused discovery with 403, so a leaked narrow token reads as what it is).
 */
export const ROUTE_ABILITIES: Readonly<Record<string, string | readonly string[]>> = {
  'GET /nodes': 'compute/discover',
  'GET /nodes/:id': 'compute/discover',
  'GET /discover': 'compute/discover',
  'GET /providers': 'compute/discover',
  'GET /providers/:name': 'compute/discover',
  'GET /capabilities': 'compute/discover',
  'GET /prices/spot': 'compute/discover',
  'GET /prices/history': 'compute/discover',
  'GET /prices/stream': 'compute/discover',
  'POST /orchestrate': 'compute/orchestrate',
  'GET /plans/:id': ['compute/orchestrate', 'compute/book'],
  'POST /book': 'compute/book',
  'GET /bookings': ['compute/lease/read', 'compute/book'],
  'GET /bookings/:id': ['compute/lease/read', 'compute/book'],
  'POST /bookings/:id/cancel': ['compute/lease/cancel', 'compute/book'],
  'GET /accounts/me': ['compute/book', 'compute/lease/read'],
  'GET /accounts/me/transactions': ['compute/book', 'compute/lease/read'],
  'POST /accounts/:id/credit': 'compute/admin',
  'GET /ledger/verify': 'compute/admin',
  'POST /catalog/refresh': 'compute/admin',
  'POST /principals': 'compute/admin',
  'GET /principals': 'compute/admin',
  'GET /principals/:id': 'compute/admin',
  'POST /principals/:id/disable': 'compute/admin',
  'POST /principals/:id/keys': 'compute/admin',
  'POST /agents': 'compute/provide',
  'POST /agents/:name/heartbeat': 'compute/provide',
  'GET /agents': ['compute/provide', 'compute/admin'],
  'GET /agents/:name/earnings': ['compute/provide', 'compute/admin'],
  'POST /leases/:id/checkpoints': 'compute/provide',
  'POST /leases/:id/receipt': 'compute/provide',
  'GET /leases/:id/checkpoints': ['compute/lease/read', 'compute/book', 'compute/provide'],
  'GET /receipts/:id': ['compute/lease/read', 'compute/book', 'compute/provide'],
  'GET /leases/:id/receipt': ['compute/lease/read', 'compute/book', 'compute/provide'],
  'GET /agents/:name/leases': 'compute/provide',
  'GET /leases': ['compute/lease/read', 'compute/book', 'compute/provide'],
  'GET /leases/:id': ['compute/lease/read', 'compute/book', 'compute/provide'],
  'POST /leases/:id/cancel': ['compute/lease/cancel', 'compute/book'],
  'GET /leases/:id/logs': ['compute/lease/read', 'compute/book', 'compute/provide'],
  'POST /leases/:id/logs': 'compute/provide',
  'POST /leases/:id/endpoint': 'compute/provide',
  'GET /leases/:id/outputs/:name': ['compute/lease/read', 'compute/book', 'compute/provide'],
  'PUT /leases/:id/outputs/:name': 'compute/provide',
  'GET /disputes': ['compute/lease/read', 'compute/book', 'compute/admin'],
  'GET /disputes/:id': ['compute/lease/read', 'compute/book', 'compute/admin'],
  'GET /lb/:id/status': ['compute/infer', 'compute/lease/read', 'compute/book'],
  'DELETE /lb/:id/*': 'compute/infer',
  'GET /lb/:id/*': 'compute/infer',
  'OPTIONS /lb/:id/*': 'compute/infer',
  'PATCH /lb/:id/*': 'compute/infer',
  'POST /lb/:id/*': 'compute/infer',
  'PUT /lb/:id/*': 'compute/infer',
  'GET /mcp': ['compute/discover'],
  'POST /mcp': ['compute/discover'],
  'DELETE /mcp': ['compute/discover'],
};

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Routes with an ability that answer anonymous callers too: discovery, and quotes (they spend nothing). */
export const ANONYMOUS_OK = new Set(['POST /orchestrate', 'GET /plans/:id']);
const anonymousOk = (route: string) =>
  ANONYMOUS_OK.has(route) || ROUTE_ABILITIES[route] === 'compute/discover';

/** `Authorization: Bearer <token>` → the token; undefined when absent; null when present but malformed. */
export function bearerToken(header: string | undefined): string | null | undefined {
  if (header === undefined || header === '') return undefined;
  const m = /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
  return m?.[1] ?? null;
}

/** UCAN proofs sent beside a UCAN bearer (the UCAN-as-bearer-token convention: `ucans: jwt, jwt`). */
function proofsHeader(v: string | string[] | undefined): string[] {
  const all = Array.isArray(v) ? v.join(',') : (v ?? '');
  return all
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .slice(0, 16);
}

const challenge = 'Bearer realm="computemd"';

/**
 * Runs before every handler: authenticates the bearer token (any credential authn.ts knows), then
 * checks the route's ability. Anything that creates state or spends needs a principal, so every
 * non-safe method without one is a 401 before its handler runs; a token that is present but does
 * not authenticate is refused with its exact reason, never treated as anonymous. A route that only
 * quotes (POST /orchestrate) opts in to anonymous use with `config.public`.
 */
export function installAuth(app: FastifyInstance, auth: Authenticator): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('auth', null);
  app.decorateRequest('limits', null as unknown as SpendLimit[]);
  app.addHook('onRequest', async (req, reply) => {
    req.limits = [];
    if (req.routeOptions.config?.clientAuth === true) return;
    const token = bearerToken(req.headers.authorization);
    if (token === null)
      return sendProblem(
        reply,
        problem('invalid-token', 'The Authorization header must be "Bearer <token>".', {
          param: 'Authorization',
          reason: 'malformed',
        }),
      ).header('www-authenticate', `${challenge}, error="invalid_token"`);
    if (token !== undefined) {
      const r = await auth.authenticate(token, proofsHeader(req.headers.ucans));
      if (!r.ok)
        return sendProblem(reply, r.problem).header(
          'www-authenticate',
          `${challenge}, error="${r.problem.status === 403 ? 'insufficient_scope' : 'invalid_token'}"`,
        );
      req.auth = r.ctx;
      req.principal = r.ctx.principal;
    }
    const route = `${req.method === 'HEAD' ? 'GET' : req.method} ${req.routeOptions.url}`;
    const ability = ROUTE_ABILITIES[route];
    const needsPrincipal = ability
      ? !anonymousOk(route)
      : !SAFE.has(req.method) && req.routeOptions.config?.public !== true;
    if (needsPrincipal && !req.principal) {
      return sendProblem(
        reply,
        problem(
          'unauthorized',
          `${req.method} ${req.url.split('?')[0]} needs a principal: send Authorization: Bearer <token>.`,
        ),
      ).header('www-authenticate', challenge);
    }
    if (ability && req.auth) {
      const g = auth.can(req.auth, ability);
      if (!g.ok)
        return sendProblem(reply, g.problem).header(
          'www-authenticate',
          `${challenge}, error="insufficient_scope"`,
        );
      req.limits = g.limits;
    }
  });
}

/** The caller as the ledger sees it, with its token's caveats. */
export function callerOf(
  req: FastifyRequest,
): { id: string; role: Principal['role']; limits: SpendLimit[] } | null {
  return req.principal ? { id: req.principal.id, role: req.principal.role, limits: req.limits } : null;
}

/** A 403 unless the caller may administer (the operator, or a token delegated `compute/admin`). */
export function requireOperator(req: FastifyRequest): ReturnType<typeof problem> | null {
  if (req.principal?.role === 'operator') return null;
  return problem('forbidden', 'Only the operator may do this. Use the admin token.');
}
