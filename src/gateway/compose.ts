import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import {
  createCapabilityCatalog,
  DEFAULT_QUERY_ALIASES,
  NAMED_PROFILES,
  resolveProviderPlaceholder,
  SPEC_DISPLAY_NOTE,
  SPEC_DISPLAY_PROFILES,
  SPEC_PLACEHOLDERS,
  validateCapabilityConfig,
} from '../capabilities/index.js';
import { ConfigError } from '../config/load.js';
import type { GatewayConfig } from '../config/schema.js';
import { createAuthenticator } from '../identity/authn.js';
import { createDidWebResolver } from '../identity/did-web.js';
import { ensureGatewayKey } from '../identity/gateway-key.js';
import { createDidResolver } from '../identity/jws.js';
import { createAccessTokenIssuer, createExternalVerifier, type ExternalIssuer } from '../identity/oauth.js';
import { ensureOperator } from '../identity/principals.js';
import { createManifestCheck } from '../identity/workload.js';
import { LbRegistry } from '../lb/registry.js';
import {
  createMarket,
  createRefresher,
  type GeoPoint,
  loadGeo,
  type Market,
  type Refresher,
} from '../market/index.js';
import { createSolver } from '../planner/milp/index.js';
import { refreshCatalogs, SKYPILOT_CATALOG_BASE } from '../providers/catalog/index.js';
import type { Provider } from '../providers/provider.js';
import { buildProviders, type ProviderSet } from '../providers/registry.js';
import { buildApp } from '../server/app.js';
import { createIdSource, openStore, type Store } from '../storage/index.js';
import { type Clock, systemClock } from '../util/clock.js';
import { packagePath } from '../util/paths.js';
import { createAgentRegistry } from './agents.js';
import { createDiscoveryApi } from './discovery.js';
import { type LedgerWiring, wireLedger } from './ledger.js';
import { createPlanningApi } from './planning.js';
import { createLeaseProofs } from './proofs.js';
import { type RuntimeWiring, wireRuntime } from './runtime-wiring.js';

export interface Gateway {
  app: FastifyInstance;
  market: Market;
  refresher: Refresher;
  providers: readonly Provider[];
  config: GatewayConfig;
  /** True when this start created the operator and its admin token. */
  operatorCreated: boolean;
  adminTokenPath: string;
  store: Store;
  /** The ledger service and its wiring (settlement, token meter). */
  ledger: LedgerWiring;
  /** The lease runtime and its periodic pass (tests step it by hand). */
  runtime: RuntimeWiring;
  /** The load balancers behind `/lb/:id` (issue 8). */
  lb: LbRegistry;
  close(): Promise<void>;
}

export interface GatewayOptions {
  clock?: Clock;
  fetch?: typeof fetch;
  /** Periodic refreshes (default true); tests drive refreshes by hand. */
  background?: boolean;
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The composition root (DESIGN.md): config → capabilities → providers → market → server. Every
 * dependency is built here and passed down; nothing else constructs one.
 */
export async function createGateway(config: GatewayConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const clock = opts.clock ?? systemClock;
  const issue = validateCapabilityConfig(config.capabilities)[0];
  if (issue) throw new ConfigError(`capabilities.${issue.path}`, issue.message);
  // Checked before anything opens: a configuration error leaves nothing running behind it.
  const external =
    config.auth.jwt_issuers.length > 0 ? externalVerifier(config.auth.jwt_issuers, clock) : null;
  const capabilities = createCapabilityCatalog({
    classes: config.capabilities.classes,
    aliases: config.capabilities.aliases,
  });
  const geo = loadGeo();
  let location: GeoPoint | string = config.location;
  if (typeof location === 'string') {
    const at = geo.locateAny(location) ?? geo.parseNear(location);
    if (!at)
      throw new ConfigError(
        'location',
        `unknown region "${location}" (see data/regions.csv, or give {"lat", "lon"})`,
      );
    location = at;
  }
  const market = createMarket({ capabilities, geo, clock, location });
  const set: ProviderSet = buildProviders({
    config,
    capabilities,
    clock,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  // Node agents join at run time (gateway/agents.ts): this list, read live, grows with them.
  const providers: Provider[] = [...set.providers];
  const providerTypes = new Map(providers.map((p) => [p.info.name, p.info.type]));
  const refresher = createRefresher({
    market,
    providers,
    clock,
    timeoutMs: config.refresh.timeout_ms,
  });
  await refresher.refreshAll();
  // The gateway's own key and DID (0600 in the data dir; created on first start).
  const gatewayKey = ensureGatewayKey(config.data_dir);
  const store: Store = openStore({
    dataDir: config.data_dir,
    clock,
    ...(config.database_url ? { databaseUrl: config.database_url } : {}),
    ...(config.database_schema ? { databaseSchema: config.database_schema } : {}),
  });
  await store.migrate();
  const solver = createSolver();
  const ids = createIdSource(clock);
  const planning = createPlanningApi({ market, capabilities, geo, solver, store, ids, clock });
  // Identity (issue 5): the operator and its admin token, then the credentials requests carry.
  const { created, tokenPath } = await ensureOperator(
    store.identity,
    ids,
    config.data_dir,
    gatewayKey.did,
    clock.now(),
  );
  const resolveDid = createDidResolver({ web: createDidWebResolver() });
  const gateway = { key: gatewayKey.key, did: gatewayKey.did };
  const oauth = createAccessTokenIssuer({ ...gateway, issuer: gateway.did, audience: gateway.did, clock });
  const auth = createAuthenticator({
    repo: store.identity,
    gatewayDid: gateway.did,
    resolveDid,
    oauth,
    external,
    clock,
  });
  const agents = createAgentRegistry({
    providers,
    providerTypes,
    refresher,
    capabilities,
    clock,
    resolveDid,
    heartbeatTimeoutMs: config.agents.heartbeat_timeout_s * 1000,
  });
  // The runtime is built after the ledger it reports to; bookings reach it through this late link.
  let runtimeRef: RuntimeWiring | null = null;
  const ledger = wireLedger({
    market,
    capabilities,
    store,
    ids,
    clock,
    feeBps: config.ledger.fee_bps,
    windowS: config.ledger.hold_window_s,
    paymentMethods: config.ledger.payment_methods,
    verifyManifest: createManifestCheck({ repo: store.identity, resolveDid, clock }),
    providers,
    onBooked: async (b, key) => runtimeRef?.runtime.onBooked(b, key),
    replan: async (request, principal) => {
      const r = await planning.orchestrate(request, { id: principal });
      return r.ok ? String(r.plan.plan_id) : null;
    },
  });
  await ledger.syncReservations();
  // Balancers work in network time (health intervals, back-offs), so they get the system clock even
  // when the gateway's is a test's manual one.
  const lb = new LbRegistry({ clock: systemClock });
  const runtime = wireRuntime({
    store,
    ledger,
    agents,
    providers,
    market,
    clock,
    ids,
    gateway,
    seed: config.seed,
    heartbeatTimeoutMs: config.agents.heartbeat_timeout_s * 1000,
    lb,
    log: (msg, err) => (err ? app.log.error({ err }, msg) : app.log.info(msg)),
  });
  runtimeRef = runtime;

  const discovery = createDiscoveryApi({
    market,
    refresher,
    providers,
    capabilities,
    geo,
    now: () => clock.now(),
  });
  const aliases: Record<string, string> = { ...DEFAULT_QUERY_ALIASES };
  for (const name of SPEC_PLACEHOLDERS) {
    const t = resolveProviderPlaceholder(name);
    if (t) aliases[name] = `cheapest provider of type ${t}`;
  }
  Object.assign(aliases, config.capabilities.aliases);
  const displayProfiles: Record<string, Record<string, unknown>> = {};
  for (const [name, p] of Object.entries(SPEC_DISPLAY_PROFILES)) {
    displayProfiles[name] = {
      ...p,
      canonical_model: NAMED_PROFILES[name as keyof typeof NAMED_PROFILES],
      note: SPEC_DISPLAY_NOTE,
    };
  }

  const catalogs = set.catalogs;
  const app = await buildApp({
    clock,
    version: packageVersion(),
    startedAt: clock.now(),
    capabilities,
    displayProfiles,
    aliases,
    discovery,
    auth,
    identity: { repo: store.identity, ids, clock, gateway, oauth, auth, resolveDid },
    providerTypes,
    agents,
    lb,
    proofs: createLeaseProofs({
      runtime: store.runtime,
      ledger: store.ledger,
      agents,
      resolveDid,
      clock,
      ids,
      progress: (lease, booking, to, at) => ledger.service.leaseProgress(lease, booking, to, at),
      leases: runtime.runtime,
    }),
    runtime: runtime.runtime,
    logLevel: config.log_level,
    planning,
    ledger: ledger.service,
    gatewayDid: gatewayKey.did,
    tls: config.tls,
    rateLimit: config.rate_limit,
    trustProxy: config.trust_proxy,
    refreshCatalogs: catalogs
      ? async (req) => {
          const from = req.from ?? config.providers.catalog.refresh_url ?? SKYPILOT_CATALOG_BASE;
          const results = await refreshCatalogs({
            from,
            dataDir: config.data_dir,
            capabilities,
            ...(req.clouds ? { clouds: req.clouds } : {}),
            ...(opts.fetch ? { fetch: opts.fetch } : {}),
          });
          catalogs.reload();
          // Re-read every catalog provider now so /nodes shows the new prices at once.
          await Promise.all(catalogs.providers.map((p) => refresher.refreshOne(p.info.name)));
          return { from, clouds: results.map((r) => ({ ...r })) };
        }
      : null,
  });
  let stopSettlement = () => {};
  let stopRuntime = () => {};
  if (opts.background !== false) {
    stopRuntime = runtime.start(config.runtime.tick_ms);
    refresher.start();
    stopSettlement = ledger.startSettlement(config.ledger.settle_interval_ms, (err) =>
      app.log.error({ err }, 'settlement tick failed'),
    );
  }
  return {
    app,
    market,
    refresher,
    providers,
    config,
    operatorCreated: created,
    adminTokenPath: tokenPath,
    store,
    ledger,
    runtime,
    lb,
    async close() {
      refresher.stop();
      stopSettlement();
      stopRuntime();
      runtime.runtime.close();
      ledger.close();
      await lb.closeAll();
      await app.close();
      await solver.close();
      await store.close();
    },
  };
}

/** The external JWT verifier, its configuration errors reported as such (exit 2, naming the key). */
function externalVerifier(issuers: ExternalIssuer[], clock: Clock) {
  try {
    return createExternalVerifier(issuers, { clock });
  } catch (err) {
    if (err instanceof TypeError) throw new ConfigError('auth.jwt_issuers', err.message);
    throw err;
  }
}
