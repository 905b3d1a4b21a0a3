import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createMcpServer } from '../../mcp/server.js';
import { problem } from '../../protocol/problem.js';
import { ComputeMdClient } from '../../sdk/client.js';
import { bearerToken } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { injectFetch } from '../inject-fetch.js';
import { sendProblem } from '../problems.js';

/**
 * The MCP server over Streamable HTTP at `/mcp`, stateless: each POST gets a fresh server whose
 * tools call this gateway with the caller's own bearer token (and UCAN proofs), through
 * `injectFetch`, so every tool call is authorised, capped by the token's caveats and rate-limited
 * exactly like the same call over HTTP. No session outlives its request, so no token is held.
 * The auth hook has already required a principal with `compute/discover` (ROUTE_ABILITIES).
 */
export function mcpRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const schema = {
    summary: 'Model Context Protocol (Streamable HTTP, stateless; JSON-RPC over POST)',
    description:
      'Tools find_compute, get_capabilities, get_spot_prices, plan_workload, book_plan, run_job, get_lease, get_lease_logs, cancel_lease, get_receipt, get_balance; resources computemd://providers and computemd://capabilities. Send Accept: application/json, text/event-stream. They run with this request’s bearer token. GET and DELETE are 405: there are no sessions.',
    tags: ['meta'],
    security: [{ bearer: [] }],
  };

  app.post('/mcp', { config: { encodings: false }, schema }, async (req, reply) => {
    const proofs = String(req.headers.ucans ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const client = new ComputeMdClient({
      baseUrl: 'http://computemd.internal',
      token: bearerToken(req.headers.authorization) ?? undefined,
      proofs,
      fetch: injectFetch(app, { remoteAddress: req.ip }),
      // The MCP client decides whether to retry; a tool call does not wait out a rate limit here.
      retries: 0,
    });
    const server = createMcpServer(client, { version: deps.version });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req.raw, reply.raw, req.body);
    } catch (err) {
      req.log.error({ err }, 'mcp request failed');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/problem+json' });
        reply.raw.end(JSON.stringify(problem('internal', 'The MCP request failed inside the gateway.')));
      }
    }
  });

  const noSessions = (req: FastifyRequest, reply: FastifyReply) =>
    sendProblem(
      reply,
      problem(
        'method-not-allowed',
        `${req.method} /mcp: this MCP endpoint is stateless (no sessions, no server-initiated stream). POST JSON-RPC requests.`,
      ),
    ).header('allow', 'POST');
  app.get(
    '/mcp',
    { config: { encodings: false }, schema: { ...schema, summary: 'Not offered (405)' } },
    noSessions,
  );
  app.delete(
    '/mcp',
    { config: { encodings: false }, schema: { ...schema, summary: 'Not offered (405)' } },
    noSessions,
  );
}
