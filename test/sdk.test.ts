import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AuthenticationError,
  ComputeMdClient,
  ConflictError,
  ForbiddenError,
  InfeasibleError,
  InvalidRequestError,
  NotFoundError,
  PaymentRequiredError,
} from '../src/sdk/client.js';
import { verifyLeaseReceipt } from '../src/sdk/verify.js';
import { packagePath } from '../src/util/paths.js';
import { type FakeNode, joinFakeNode } from './helpers/fake-node.js';
import { type ListeningGateway, listenTestGateway } from './helpers/gateway.js';

/**
 * The SDK against a real gateway, every endpoint: each route of the OpenAPI document has a client
 * method (a new route without one fails here), and each method is called for real, errors included.
 */

/** Route → the client method that calls it. */
const COVERAGE: Record<string, keyof ComputeMdClient> = {
  'GET /metrics': 'metrics',
  'GET /nodes': 'nodes',
  'GET /nodes/{id}': 'node',
  'GET /discover': 'discover',
  'GET /providers': 'providers',
  'GET /providers/{name}': 'provider',
  'GET /capabilities': 'capabilities',
  'GET /prices/spot': 'spotPrices',
  'GET /prices/history': 'priceHistory',
  'GET /prices/stream': 'priceStream',
  'GET /health': 'health',
  'POST /catalog/refresh': 'refreshCatalog',
  'POST /orchestrate': 'orchestrate',
  'GET /plans/{id}': 'plan',
  'POST /book': 'book',
  'GET /bookings': 'bookings',
  'GET /bookings/{id}': 'booking',
  'POST /bookings/{id}/cancel': 'cancelBooking',
  'GET /accounts/me': 'account',
  'GET /accounts/me/transactions': 'transactions',
  'POST /accounts/{id}/credit': 'credit',
  'GET /ledger/verify': 'verifyLedger',
  'POST /principals': 'createPrincipal',
  'GET /principals': 'principals',
  'GET /principals/{id}': 'principal',
  'POST /principals/{id}/disable': 'disablePrincipal',
  'POST /principals/{id}/keys': 'createKey',
  'POST /tokens': 'createToken',
  'GET /tokens': 'tokens',
  'DELETE /tokens/{id}': 'revokeToken',
  'POST /ucan/revocations': 'revokeUcan',
  'POST /manifests/verify': 'verifyManifest',
  'GET /.well-known/jwks.json': 'jwks',
  'POST /oauth/token': 'oauthToken',
  'POST /agents': 'registerAgent',
  'GET /agents': 'agents',
  'POST /agents/{name}/heartbeat': 'heartbeat',
  'GET /agents/{name}/earnings': 'earnings',
  'GET /agents/{name}/leases': 'assignedLeases',
  'POST /leases/{id}/checkpoints': 'postCheckpoint',
  'GET /leases/{id}/checkpoints': 'checkpoints',
  'POST /leases/{id}/receipt': 'postReceipt',
  'GET /leases/{id}/receipt': 'leaseReceipt',
  'GET /receipts/{id}': 'receipt',
  'GET /leases': 'leases',
  'GET /leases/{id}': 'lease',
  'POST /leases/{id}/cancel': 'cancelLease',
  'GET /leases/{id}/logs': 'leaseLogs',
  'POST /leases/{id}/logs': 'postLogs',
  'POST /leases/{id}/endpoint': 'postEndpoint',
  'GET /leases/{id}/outputs/{name}': 'leaseOutput',
  'PUT /leases/{id}/outputs/{name}': 'putOutput',
  'GET /disputes': 'disputes',
  'GET /disputes/{id}': 'dispute',
  'GET /lb/{id}/status': 'lbStatus',
};
/** Routes the SDK reaches generically: the load balancer proxies any method to its endpoints. */
const PROXIED = /^(GET|POST|PUT|PATCH|DELETE|OPTIONS) \/lb\/\{id\}(\/\{\*\})?$/;
/** MCP speaks JSON-RPC: its clients are the MCP SDKs (test/mcp*.test.ts), not this one. */
const NOT_REST = /^(GET|POST|DELETE) \/mcp$/;

let g: ListeningGateway;
let admin: ComputeMdClient;
let me: ComputeMdClient;
let meId: string;
let meKey: { id: string; key: string };
let node: FakeNode;

before(async () => {
  g = await listenTestGateway();
  admin = new ComputeMdClient({ baseUrl: g.base, token: g.admin });
  const p = await admin.createPrincipal({ role: 'requester', name: 'sdk-user' });
  meId = p.principal.id;
  meKey = { id: p.api_key.id, key: p.api_key.key };
  me = new ComputeMdClient({ baseUrl: g.base, token: p.api_key.key });
  node = await joinFakeNode(g.base, g.admin, 'sdk-node', () => g.t.clock.now());
});
after(async () => {
  await g?.close();
});

describe('the SDK covers every endpoint', () => {
  it('every operation in the OpenAPI document has a client method', async () => {
    const doc = (await admin.openapi()) as { paths: Record<string, Record<string, unknown>> };
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths))
      for (const m of Object.keys(ops)) {
        const route = `${m.toUpperCase()} ${path}`;
        if (PROXIED.test(route) || NOT_REST.test(route)) continue;
        const method = COVERAGE[route];
        if (!method || typeof me[method] !== 'function') missing.push(route);
      }
    assert.deepEqual(missing, []);
    assert.equal(typeof me.lbFetch, 'function');
  });
});

describe('discovery, planning and the gateway itself', () => {
  it('reads offers, options, providers, profiles, prices and the gateway documents', async () => {
    const page = await me.nodes({ resource_type: 'GPU_A', limit: 2 });
    const offer = page.offers[0];
    assert.ok(offer);
    assert.equal((await me.node(offer.id)).id, offer.id);
    assert.equal((await me.discover({ gpu_hours: 10, limit: 2 })).gpu_hours, 10);
    const { providers } = await me.providers();
    assert.equal((await me.provider(providers[0]?.name as string)).name, providers[0]?.name);
    assert.ok((await me.capabilities()).resource_profiles.GPU_TYPE_A);
    assert.ok('GPU_A' in (await me.spotPrices()).traditional);
    assert.ok(Array.isArray((await me.priceHistory({ resource_type: 'GPU_A' })).series));
    assert.equal((await me.health()).status, 'ok');
    assert.match(await me.metrics(), /^# HELP /m);
    assert.ok((await me.jwks()).keys.length >= 1);
    const ids: string[] = [];
    for await (const o of me.nodesAll({ resource_type: 'GPU_A', limit: 3 })) if (ids.push(o.id) >= 7) break;
    assert.equal(new Set(ids).size, 7, 'pages follow each other without repeats');
    await assert.rejects(me.node('of_nope'), NotFoundError);
    await assert.rejects(
      me.nodes({ max_price: 'abc' }),
      (e: InvalidRequestError) => e.problem.param === 'max_price',
    );
  });

  it('the price stream opens as Server-Sent Events and stops when aborted', async () => {
    const ac = new AbortController();
    const it = me.priceStream(ac.signal);
    const next = it.next();
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(next, { name: 'AbortError' });
  });

  it('orchestrate quotes, plan reads it back; an impossible one is an InfeasibleError naming the limit', async () => {
    const plan = await me.orchestrate({
      workload: { type: 'batch_processing', compute_hours: 10, memory_gb: 24 },
    });
    assert.equal((await me.plan(plan.plan_id)).plan_id, plan.plan_id);
    const err = await me
      .orchestrate({
        workload: { type: 'training', compute_hours: 10 },
        constraints: { max_price_per_hour: 0.0001 },
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof InfeasibleError);
    assert.match(String(err.problem.param), /max_price_per_hour/);
  });

  it('the operator refreshes a catalog from a directory', async () => {
    const r = await admin.refreshCatalog({ from: packagePath('data', 'catalogs'), clouds: ['lambda'] });
    assert.equal(r.clouds[0]?.cloud, 'lambda');
  });
});

describe('money: accounts, bookings, the ledger', () => {
  it('a booking without funds is a PaymentRequiredError; credited, it books, replays its key, cancels', async () => {
    const plan = await me.orchestrate({
      workload: { type: 'batch_processing', compute_hours: 10, memory_gb: 24 },
    });
    await assert.rejects(me.bookPlan(plan.plan_id), PaymentRequiredError);
    const c = await admin.credit(meId, 200, { idempotencyKey: 'sdk-credit', memo: 'test' });
    assert.equal(c.balance_usd, 200);
    assert.equal(
      (await admin.credit(meId, 200, { idempotencyKey: 'sdk-credit', memo: 'test' })).replayed,
      true,
    );
    await assert.rejects(admin.credit(meId, 300, { idempotencyKey: 'sdk-credit' }), InvalidRequestError);
    const b = await me.bookPlan(plan.plan_id, {}, { idempotencyKey: 'sdk-book' });
    assert.equal(
      (await me.bookPlan(plan.plan_id, {}, { idempotencyKey: 'sdk-book' })).booking_id,
      b.booking_id,
    );
    assert.equal((await me.booking(b.booking_id)).booking_id, b.booking_id);
    assert.ok((await me.bookings({ limit: 10 })).bookings.some((x) => x.booking_id === b.booking_id));
    assert.ok((await me.account()).held_usd > 0);
    assert.ok((await me.transactions({ limit: 10 })).transactions.length >= 1);
    assert.equal((await me.cancelBooking(b.booking_id)).status, 'cancelled');
    assert.deepEqual(await admin.verifyLedger(), { ok: true, violations: [] });
    await assert.rejects(me.verifyLedger(), ForbiddenError);
  });
});

describe('identity', () => {
  it('principals, keys, tokens, UCAN revocation, OAuth2 and manifests', async () => {
    const p = await admin.createPrincipal({ role: 'requester', name: 'sdk-temp' });
    assert.equal((await admin.principal(p.principal.id)).name, 'sdk-temp');
    assert.ok((await admin.principals({ limit: 100 })).principals.some((x) => x.id === p.principal.id));
    const key = await admin.createKey(p.principal.id, { label: 'second' });
    assert.equal(
      (await new ComputeMdClient({ baseUrl: g.base, token: key.key }).account()).principal,
      p.principal.id,
    );
    const t = await me.createToken({ can: ['compute/discover'], expires_in: '1h' });
    const u = new ComputeMdClient({ baseUrl: g.base, token: t.token as string });
    await u.capabilities();
    assert.ok((await me.tokens()).tokens.some((x) => x.id === t.id));
    assert.equal((await me.revokeUcan({ revoke: t.cid as string })).revoked, true);
    await assert.rejects(u.capabilities(), AuthenticationError);
    const t2 = await me.createToken({ can: ['compute/discover'] });
    assert.ok((await me.revokeToken(t2.id)).revoked_at);
    const oauth = await me.oauthToken(meKey.id, meKey.key, ['compute/lease/read']);
    assert.equal(
      (await new ComputeMdClient({ baseUrl: g.base, token: oauth.access_token }).account()).principal,
      meId,
    );
    await assert.rejects(me.oauthToken(meKey.id, 'wrong'), AuthenticationError);
    await assert.rejects(me.verifyManifest('not.a.jws'), InvalidRequestError);
    assert.ok((await admin.disablePrincipal(p.principal.id)).disabled_at);
    await assert.rejects(
      new ComputeMdClient({ baseUrl: g.base, token: key.key }).account(),
      AuthenticationError,
    );
  });
});

describe('leases, proofs and node agents', () => {
  it('a node takes work, logs, uploads, proves; the requester follows, reads and verifies it', async () => {
    await admin.credit(meId, 50, { idempotencyKey: 'sdk-credit-2' });
    const plan = await me.orchestrate({
      workload: { type: 'cpu', compute_hours: 0.01 },
      constraints: { providers: ['sdk-node'] },
    });
    const b = await me.bookPlan(plan.plan_id, { run: { command: ['true'], outputs: ['r.txt'] } });
    const leaseId = b.allocations[0]?.lease_id as string;
    const n = node.client;
    assert.equal((await n.heartbeat('sdk-node', { draining: false })).status, 'up');
    assert.ok((await n.agents()).agents.some((a) => a.name === 'sdk-node'));
    const work = await n.assignedLeases('sdk-node', 0);
    assert.deepEqual(
      work.leases.map((l) => l.lease_id),
      [leaseId],
    );
    await node.start(leaseId);
    assert.equal((await n.postLogs(leaseId, [{ stream: 'stdout', line: 'working' }])).count, 1);
    const { receipt_id } = await node.complete(leaseId, b.booking_id, { outputs: { 'r.txt': 'result' } });
    await assert.rejects(n.postReceipt(leaseId, 'x.y.z'), ConflictError);

    assert.equal((await me.lease(leaseId)).state, 'completed');
    assert.ok((await me.leases({ booking_id: b.booking_id })).leases.some((l) => l.id === leaseId));
    const all: string[] = [];
    for await (const l of me.leasesAll({ booking_id: b.booking_id })) all.push(l.id);
    assert.deepEqual(all, [leaseId]);
    const events = [];
    for await (const e of me.leaseLogs(leaseId)) events.push(e);
    assert.deepEqual(
      events.filter((e) => e.event === 'log').map((e) => (e as { line: string }).line),
      ['working'],
    );
    assert.equal(new TextDecoder().decode(await me.leaseOutput(leaseId, 'r.txt')), 'result');
    assert.equal((await me.checkpoints(leaseId)).checkpoints.length, 2);
    assert.equal((await me.checkpointsAll(leaseId)).node, node.did);
    assert.equal((await me.leaseReceipt(leaseId)).id, receipt_id);
    assert.equal((await me.receipt(receipt_id)).lease_id, leaseId);
    const check = await verifyLeaseReceipt(me, receipt_id, { node: node.did, outputs: true });
    assert.deepEqual([check.ok, check.outputs_checked], [true, ['r.txt']]);
    await g.t.gw.ledger.service.settleDue();
    assert.ok((await n.earnings('sdk-node')).balance_usd > 0);

    await assert.rejects(me.lease('ls_nope'), NotFoundError);
    await assert.rejects(me.cancelLease('ls_nope'), NotFoundError);
    assert.ok(Array.isArray((await me.disputes()).disputes));
    await assert.rejects(me.dispute('vd_nope'), NotFoundError);
    await assert.rejects(me.lbStatus('lb_nope'), NotFoundError);
    await assert.rejects(me.lbFetch('lb_nope', '/v1/models'), NotFoundError);
  });
});
