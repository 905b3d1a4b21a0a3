import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import type { IdentityApi } from './identity-common.js';
import { manifestRoutes } from './manifests.js';
import { oauthRoutes } from './oauth.js';
import { principalRoutes } from './principals.js';
import { tokenRoutes } from './tokens.js';
import { ucanRevocationRoutes } from './ucan-revocations.js';

export type { IdentityApi } from './identity-common.js';

/**
 * Identity over HTTP (issue 5): principals and their API keys (operator), tokens (`POST /tokens`
 * mints UCANs or API keys, `GET /tokens`, `DELETE /tokens/:id`), UCAN revocation, signed
 * manifests, the OAuth2 client-credentials grant and the JWKS its access tokens verify against.
 */
export function identityRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  if (!deps.identity) return;
  const id: IdentityApi = deps.identity;
  principalRoutes(app, id);
  tokenRoutes(app, id);
  ucanRevocationRoutes(app, id);
  manifestRoutes(app, id);
  oauthRoutes(app, id);
}
