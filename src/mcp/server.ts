import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ComputeMdClient } from '../sdk/client.js';
import { registerResources } from './resources.js';
import { registerLeaseTools } from './tools-leases.js';
import { registerMarketTools } from './tools-market.js';
import { registerSpendTools, type Time } from './tools-spend.js';

/** What the model is told about the server as a whole (the MCP `instructions`). */
export const INSTRUCTIONS = `computemd: one gateway to discover, plan, book, run, verify and pay for compute across providers (clouds, GPU marketplaces, decentralised networks, serverless, clusters, hosts that joined as nodes).

How to use it:
1. find_compute / get_spot_prices / get_capabilities to see what exists and what it costs (prices are USD per GPU-hour; work is in reference GPU-hours).
2. plan_workload for a quote: the cheapest allocation across providers for {workload, constraints}, with its cost, time, SLA and savings. It spends nothing.
3. book_plan spends: it books a plan_id with an idempotency_key you choose (reuse the key to retry safely). run_job plans, books and runs a small job in one call, and refuses anything above the max_cost_usd you state.
4. get_lease, get_lease_logs and cancel_lease follow and stop work; get_receipt verifies the node's signed receipt against its did:key; get_balance shows what is left.

Everything runs with the token this server was given: its caveats (max_spend_usd, max_price_per_hour, providers, resource_types) bound what any call can spend, and a refusal says which caveat stopped it. Offers marked "simulated" are modelled on real list prices.`;

export interface McpServerOptions {
  version: string;
  /** Defaults: the system clock and setTimeout. */
  time?: Time;
}

/**
 * The computemd MCP server over any transport: tools and resources that call the gateway through
 * `client`, with whatever token the client carries — the stdio command's, or for /mcp the caller's
 * own. Nothing here holds a credential of its own.
 */
export function createMcpServer(client: ComputeMdClient, opts: McpServerOptions): McpServer {
  const server = new McpServer(
    { name: 'computemd', title: 'computemd', version: opts.version },
    { instructions: INSTRUCTIONS, capabilities: { tools: {}, resources: {} } },
  );
  const time = opts.time ?? { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
  registerMarketTools(server, client);
  registerSpendTools(server, client, time);
  registerLeaseTools(server, client);
  registerResources(server, client);
  return server;
}
