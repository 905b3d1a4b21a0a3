import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ComputeMdClient } from '../src/sdk/client.js';
import { type ListeningGateway, listenTestGateway } from './helpers/gateway.js';
import { call, connectMcp } from './helpers/mcp.js';

/**
 * /mcp as an HTTP endpoint: who may use it, what it answers besides JSON-RPC, and that each tool
 * call runs as the caller — two callers on the same endpoint see their own accounts.
 */

let g: ListeningGateway;
let alice: string;
let bob: string;
const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};

before(async () => {
  g = await listenTestGateway();
  const admin = new ComputeMdClient({ baseUrl: g.base, token: g.admin });
  const a = await admin.createPrincipal({ role: 'requester', name: 'alice' });
  const b = await admin.createPrincipal({ role: 'requester', name: 'bob' });
  await admin.credit(a.principal.id, 7);
  alice = a.api_key.key;
  bob = b.api_key.key;
});
after(async () => {
  await g?.close();
});

const post = (token: string | null, body: unknown = INIT) =>
  fetch(`${g.base}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });

describe('/mcp over HTTP', () => {
  it('without a token: 401 problem+json, before any MCP is spoken', async () => {
    const r = await post(null);
    assert.equal(r.status, 401);
    assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.match(((await r.json()) as { detail: string }).detail, /needs a principal/);
  });

  it('a token that does not grant compute/discover: 403', async () => {
    const narrow = await new ComputeMdClient({ baseUrl: g.base, token: alice }).createToken({
      can: ['compute/book'],
      expires_in: '1h',
    });
    const r = await post(narrow.token as string);
    assert.equal(r.status, 403);
  });

  it('a revoked token: 401 token-revoked; the operator’s admin token: 200', async () => {
    const me = new ComputeMdClient({ baseUrl: g.base, token: alice });
    const t = await me.createToken({ can: ['compute/discover'], expires_in: '1h' });
    await me.revokeToken(t.id);
    const r = await post(t.token as string);
    assert.equal(r.status, 401);
    assert.match(((await r.json()) as { type: string }).type, /token-revoked$/);
    assert.equal((await post(g.admin)).status, 200);
  });

  it('initialize answers JSON-RPC with the server’s name and instructions', async () => {
    const r = await post(alice);
    assert.equal(r.status, 200);
    const body = (await r.json()) as { result: { serverInfo: { name: string }; instructions: string } };
    assert.equal(body.result.serverInfo.name, 'computemd');
    assert.match(body.result.instructions, /book_plan spends/);
  });

  it('GET and DELETE are 405 with Allow: POST (a stateless endpoint has no sessions)', async () => {
    for (const method of ['GET', 'DELETE']) {
      const r = await fetch(`${g.base}/mcp`, { method, headers: { authorization: `Bearer ${alice}` } });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.get('allow'), 'POST');
      assert.match(((await r.json()) as { detail: string }).detail, /stateless/);
    }
  });

  it('each caller’s tools run with that caller’s token', async () => {
    const a = await connectMcp('http', g.base, alice);
    const b = await connectMcp('http', g.base, bob);
    try {
      assert.equal((await call(a.client, 'get_balance')).data.balance_usd, 7);
      assert.equal((await call(b.client, 'get_balance')).data.balance_usd, 0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('is documented in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${g.base}/openapi.json`)).json()) as { paths: Record<string, object> };
    assert.ok(doc.paths['/mcp'], 'the /mcp path is listed');
  });
});
