import type { CapabilityCatalog } from '../capabilities/types.js';
import type { AgentRegistry } from '../gateway/agents.js';
import type { LeaseProofs } from '../gateway/proofs.js';
import type { LeaseRuntime } from '../gateway/runtime.js';
import type { Authenticator } from '../identity/authn.js';
import type { LbRegistry } from '../lb/registry.js';
import type { LedgerService } from '../ledger/service.js';
import type { ProviderType } from '../protocol/glossary.js';
import type { Offer } from '../protocol/schemas/offer.js';
import type {
  DiscoverResponse,
  PriceHistoryResponse,
  PriceTick,
  ProviderEntry,
  RefreshResponse,
  SpotPricesResponse,
} from '../protocol/schemas/responses.js';
import type { Clock } from '../util/clock.js';
import type { RateLimitConfig } from './rate-limit.js';
import type { IdentityApi } from './routes/identity.js';

export interface ParamProblem {
  param: string;
  detail: string;
}
export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: ParamProblem[] };

/**
 * What the HTTP layer needs from the market, in wire terms. The composition root adapts the
 * market module to this, so routes stay thin and the market stays free of HTTP.
 */
export interface DiscoveryApi {
  nodes(
    raw: Record<string, unknown>,
  ): Parsed<{ offers: Offer[]; next_cursor: string | null; snapshot_at: string }>;
  node(id: string): Offer | null;
  discover(raw: Record<string, unknown>): Parsed<Omit<DiscoverResponse, 'simulated'>>;
  providers(): ProviderEntry[];
  spotPrices(): Omit<SpotPricesResponse, 'simulated'>;
  priceHistory(raw: Record<string, unknown>): Parsed<PriceHistoryResponse>;
  /** Subscribe to price ticks; returns the unsubscribe function. */
  onTick(listener: (tick: PriceTick) => void): () => void;
  offerCount(): number;
  /** The immutable state discovery answers are computed from (the market snapshot). */
  version(): object;
  offeredModels(): Set<string>;
  offersByProvider(): Map<string, number>;
  providerHealth(): Map<string, { up: boolean; errors: number }>;
}

/** What the HTTP layer needs from the planner and its plan store (issue 3). */
export interface PlanningApi {
  orchestrate(
    body: unknown,
    principal: { id: string } | null,
  ): Promise<
    | { ok: true; plan: Record<string, unknown> }
    | { ok: false; problems: ParamProblem[] }
    | { ok: false; infeasible: { detail: string; binding: string; [k: string]: unknown } }
  >;
  /** The plan, or null when unknown or owned by another principal (the operator sees all). */
  getPlan(id: string, caller: { id: string; role: string } | null): Promise<Record<string, unknown> | null>;
}

export interface GatewayDeps {
  clock: Clock;
  version: string;
  startedAt: number;
  capabilities: CapabilityCatalog;
  displayProfiles: Record<string, Record<string, unknown>>;
  aliases: Record<string, string>;
  discovery: DiscoveryApi;
  /** Authenticates bearer tokens and checks abilities (identity/authn.ts). */
  auth: Authenticator;
  /** Principals, tokens, OAuth2 and UCAN revocation (issue 5); null in discovery-only tests. */
  identity?: IdentityApi | null;
  /** Operator-only catalog reload; null when catalogs are disabled. */
  refreshCatalogs: ((req: { from?: string; clouds?: string[] }) => Promise<RefreshResponse>) | null;
  providerTypes: ReadonlyMap<string, ProviderType>;
  logLevel: string;
  /** null until a store and solver are configured (tests of discovery alone). */
  planning: PlanningApi | null;
  /** The gateway's own DID (identity/gateway-key.ts). */
  gatewayDid?: string;
  /** Checkpoints and receipts of leases on node agents (issue 6); null in tests without them. */
  proofs?: LeaseProofs | null;
  /** The lease runtime (issue 6): lease states, logs, outputs, cancel. */
  runtime?: LeaseRuntime | null;
  /** Node agents that joined as providers (issue 6); null in tests without them. */
  agents?: AgentRegistry | null;
  /** The load balancers behind `/lb/:id` (issue 8); null or absent: no such routes. */
  lb?: LbRegistry | null;
  /** Bookings, accounts and the ledger; null in discovery-only tests. */
  ledger?: LedgerService | null;
  /** PEM certificate and key: HTTPS over HTTP/2 (HTTP/1.1 still accepted); absent or null = plain HTTP. */
  tls?: { cert: string; key: string } | null;
  /** Request limits per client IP and per principal; absent or null = none (tests of the app alone). */
  /** Fastify's trustProxy: true, or the proxies' addresses/CIDRs (comma-separated). */
  trustProxy?: boolean | string;
  rateLimit?: RateLimitConfig | null;
}
