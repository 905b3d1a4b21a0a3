import { RuntimeApi } from './runtime.js';

/**
 * The typed client every interface builds on — the CLI, the MCP server and the examples — so there
 * is one client rather than three. Methods mirror the HTTP API one to one. They are written one
 * group per file, each a class extending the one before, so the API stays flat (`client.book()`,
 * `client.lease()`) while no file holds all of it:
 *
 *   core.ts (transport, retries, errors) → discovery.ts (offers, prices, plans) → ledger.ts
 *   (bookings, accounts) → identity.ts (principals, tokens, OAuth2) → runtime.ts (leases, logs,
 *   checkpoints, receipts, node agents) → ComputeMdClient.
 */
export class ComputeMdClient extends RuntimeApi {}

export {
  type ClientOptions,
  type CreateOptions,
  type Query,
  type QueryValue,
  toSearch,
} from './core.js';
export * from './errors.js';
export type * from './types.js';
export { TERMINAL_LEASE_STATES } from './types.js';
