import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { installAuth } from './auth.js';
import type { GatewayDeps } from './deps.js';
import { registerEncodings } from './encoding/plugin.js';
import { installLbFastPath } from './lb-fast.js';
import { installMetrics } from './metrics.js';
import { installProblemHandlers } from './problems.js';
import { installAuthFailureLimit, installRateLimit } from './rate-limit.js';
import { installResponseCache } from './response-cache.js';
import { agentRoutes } from './routes/agents.js';
import { bookingRoutes } from './routes/bookings.js';
import { capabilitiesRoutes } from './routes/capabilities.js';
import { discoveryRoutes } from './routes/discovery.js';
import { identityRoutes } from './routes/identity.js';
import { lbRoutes } from './routes/lb.js';
import { leaseRuntimeRoutes } from './routes/lease-runtime.js';
import { leaseRoutes } from './routes/leases.js';
import { mcpRoutes } from './routes/mcp.js';
import { metaRoutes } from './routes/meta.js';
import { orchestrateRoutes } from './routes/orchestrate.js';
import { pricesRoutes } from './routes/prices.js';

const NEGOTIATED_TYPES = ['application/json', 'application/msgpack', 'application/x-protobuf'] as const;

declare module 'fastify' {
  interface FastifyContextConfig {
    // `encodings` is declared beside its plugin (encoding/plugin.ts).
    /** true: a non-GET route anyone may call (it quotes, it does not spend). */
    public?: boolean;
    /** true: the route authenticates its client itself (OAuth2 token endpoint); no bearer is read. */
    clientAuth?: boolean;
  }
}

/**
 * The Fastify app factory: everything comes in through `deps`, nothing is global, so a test builds
 * exactly the gateway it needs (DESIGN.md: one composition root).
 */
export async function buildApp(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // With TLS: HTTPS over HTTP/2, and HTTP/1.1 on the same port for clients that do not offer h2
    // (ALPN decides). An HTTP/2 server cannot close only its idle connections, so on close every
    // session is told to finish (GOAWAY) rather than holding shutdown until the client leaves. The
    // instance keeps the plain-HTTP type: no route or hook depends on which server carries it.
    ...((deps.tls
      ? {
          http2: true,
          https: { allowHTTP1: true, cert: deps.tls.cert, key: deps.tls.key },
          forceCloseConnections: true,
        }
      : {}) as object),
    logger:
      deps.logLevel === 'silent'
        ? false
        : {
            level: deps.logLevel,
            // Requests are logged as method, URL and peer: never headers, never a body, and no value
            // of a credential-named query parameter (EventSource clients cannot send headers).
            serializers: {
              req: (req) => ({
                method: req.method,
                url: req.url?.replace(
                  /([?&](?:access_token|token|api_key|client_secret|secret_key)=)[^&#]*/gi,
                  '$1[redacted]',
                ),
                remoteAddress: req.socket?.remoteAddress,
              }),
            },
            // Should anything log headers or a parsed body anyway, credentials are censored. pino
            // redacts by path, so credential-named fields are covered to three levels deep.
            redact: {
              paths: [
                ...['req.headers', 'headers'].flatMap((h) => [
                  `${h}.authorization`,
                  `${h}["proxy-authorization"]`,
                  `${h}.cookie`,
                ]),
                'res.headers["set-cookie"]',
                ...['client_secret', 'token', 'api_key', 'secret_key'].flatMap((k) => [
                  k,
                  `*.${k}`,
                  `*.*.${k}`,
                ]),
              ],
              censor: '[redacted]',
            },
          },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    // Query strings are validated by the market's own parser, which names the parameter at fault
    // and knows classes, models and regions; the querystring schemas (all optional strings) feed
    // the OpenAPI document. Bodies are validated by their schemas, unknown keys rejected.
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    // Behind a proxy the operator trusts, the client address (rate limits, logs) is the one the
    // proxy reports in X-Forwarded-For; otherwise it is the socket's.
    ...(deps.trustProxy ? { trustProxy: deps.trustProxy } : {}),
  });
  await app.register(swagger, {
    // Every negotiated route also answers in MessagePack and Protobuf: say so in the document.
    transform: ({ schema, url, route }) => {
      if (!schema || route.config?.encodings === false) return { schema, url };
      return { schema: { ...schema, produces: [...NEGOTIATED_TYPES] }, url };
    },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'computemd',
        version: deps.version,
        description:
          'One gateway through which agents discover, plan, book, run, verify and pay for compute across every kind of provider. Units: GPU prices in USD per GPU-hour (node-hour for CPU-only offers); memory_gb filters are GPU memory per GPU; gpu_hours in /discover are reference GPU-hours (default reference profile GPU_TYPE_A).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      tags: [
        { name: 'discovery', description: 'Offers, options, providers, capability profiles' },
        { name: 'prices', description: 'Spot aggregates, history and the live stream' },
        { name: 'planning', description: 'Plans (quotes) across providers' },
        { name: 'bookings', description: 'Bookings: capacity reserved, funds held, settled as work runs' },
        { name: 'ledger', description: 'Accounts, transactions, credits and invariant checks' },
        { name: 'catalog', description: 'Published price catalogs' },
        { name: 'identity', description: 'Principals, API keys, UCAN delegation, OAuth2' },
        { name: 'agents', description: 'Node agents: hosts that join as providers' },
        { name: 'leases', description: 'Checkpoints and receipts: proof of compute' },
        { name: 'meta', description: 'Health and documentation' },
      ],
    },
  });

  installProblemHandlers(app);
  installAuthFailureLimit(app, deps.rateLimit);
  installAuth(app, deps.auth);
  await installRateLimit(app, deps.rateLimit);
  registerEncodings(app, {
    protobufMessageFor: (url) =>
      url === '/nodes' ? 'OfferList' : url === '/nodes/:id' ? 'Offer' : undefined,
  });
  installResponseCache(app, {
    version: () => deps.discovery.version(),
    routes: ['/nodes', '/nodes/:id', '/discover', '/capabilities', '/prices/spot'],
  });
  const metrics = installMetrics(app, {
    offersByProvider: () => deps.discovery.offersByProvider(),
    refreshErrorsByProvider: () =>
      new Map([...deps.discovery.providerHealth()].map(([p, h]) => [p, h.errors])),
    providerUp: () => new Map([...deps.discovery.providerHealth()].map(([p, h]) => [p, h.up ? 1 : 0])),
  });

  discoveryRoutes(app, deps);
  capabilitiesRoutes(app, {
    capabilities: deps.capabilities,
    displayProfiles: deps.displayProfiles,
    aliases: deps.aliases,
    offeredModels: () => deps.discovery.offeredModels(),
  });
  pricesRoutes(app, deps);
  metaRoutes(app, deps);
  orchestrateRoutes(app, deps);
  bookingRoutes(app, deps);
  identityRoutes(app, deps);
  agentRoutes(app, deps);
  leaseRoutes(app, deps);
  lbRoutes(app, deps, metrics);
  mcpRoutes(app, deps);
  leaseRuntimeRoutes(app, deps);
  await app.ready();
  // Proxied requests skip Fastify's routing and hooks (the routes above still serve app.inject).
  if (deps.lb) installLbFastPath(app, deps.lb, deps.auth);
  return app;
}
