import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REGISTRATION_TYP } from '../src/gateway/agents.js';
import { didKeyFromPublicKey } from '../src/identity/did-key.js';
import { ensureGatewayKey } from '../src/identity/gateway-key.js';
import type { DidSigner } from '../src/identity/jws.js';
import { signJws } from '../src/identity/jws.js';
import { generateKey } from '../src/identity/keys.js';
import { ROLE_ABILITIES } from '../src/identity/principals.js';
import { abilityCovers, type Caveats, issueUcan } from '../src/identity/ucan.js';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { ANONYMOUS_OK, ROUTE_ABILITIES } from '../src/server/auth.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/**
 * The authorization matrix (issue 5): every endpoint with an ability, and the identity endpoints,
 * against every kind of credential, each cell with its exact status and problem type. The
 * credentials are real: UCANs signed by the gateway's own key (read from its data dir) or by
 * fresh keys, API keys from POST /principals.
 */

const P = 'https://computemd.dev/problems/';
let t: TestGateway;
let admin: string;
let gateway: DidSigner;
let alice: { id: string; key: string };
let bob: { id: string; key: string };
let offer: Offer;
let alicePlan: string;
let aliceBooking: string;
let aliceLease: string;

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;
let n = 0;
async function call(method: string, url: string, headers: Record<string, string>, payload?: unknown) {
  const r = await t.gw.app.inject({
    method: method as 'GET',
    url,
    headers,
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  const json = /json/.test(String(r.headers['content-type'] ?? ''));
  return { status: r.statusCode, body: (r.body ? (json ? r.json() : { text: r.body }) : null) as Json };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const asAdmin = (method: string, url: string, payload?: unknown) =>
  call(method, url, { ...bearer(admin), 'idempotency-key': `m${++n}` }, payload);

async function newRequester(name: string) {
  const r = await asAdmin('POST', '/principals', { role: 'requester', name });
  assert.equal(r.status, 201);
  return { id: r.body.principal.id as string, key: r.body.api_key.key as string };
}
/** The cheapest offer with a node free now (the matrix books one node per allowed cell). */
async function freeOffer(): Promise<Offer> {
  const o = (await call('GET', '/nodes?min_available=1&sort=price_asc&limit=1', {})).body.offers[0];
  assert.ok(o, 'an offer with a free node');
  return o;
}
async function newBooking(token: string): Promise<string> {
  return (await book(token)).booking_id;
}
async function newLease(token: string): Promise<string> {
  return (await book(token)).allocations[0].lease_id;
}
async function book(token: string): Promise<Json> {
  const o = await freeOffer();
  const r = await call('POST', '/book', bearer(token), {
    allocations: [{ offer_id: o.id, nodes: 1, hours: 0.01 }],
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

const nowS = () => Math.floor(t.clock.now() / 1000);
const resource = (pid: string) => `computemd:principal:${pid}`;
const REQUESTER_ALL = [
  'compute/discover',
  'compute/orchestrate',
  'compute/book',
  'compute/lease/*',
  'compute/infer',
];
function ucanFor(
  pid: string,
  abilities: string[],
  o: {
    caveats?: Caveats;
    exp?: number | null;
    nbf?: number;
    aud?: string;
    issuer?: DidSigner;
    proofs?: string[];
  } = {},
) {
  return issueUcan({
    issuer: o.issuer ?? gateway,
    audience: o.aud ?? gateway.did,
    capabilities: { [resource(pid)]: Object.fromEntries(abilities.map((a) => [a, [o.caveats ?? {}]])) },
    expiresAt: o.exp === undefined ? nowS() + 3600 : o.exp,
    ...(o.nbf !== undefined ? { notBefore: o.nbf } : {}),
    ...(o.proofs ? { proofs: o.proofs } : {}),
  });
}

interface Endpoint {
  /** The route as ROUTE_ABILITIES names it. */
  route: string;
  method: string;
  /** A function when each call needs a fresh resource (a cancel, a revocation). */
  url: string | ((owner: { id: string; key: string }) => Promise<string>);
  body?: (owner: { id: string; key: string }) => Promise<unknown> | unknown;
  /** Status when the call is allowed. */
  ok: number;
  /** Status for an anonymous caller ('unauthorized' 401 unless given). */
  anon?: number;
  /** Names a resource of alice's: another tenant gets 404. */
  owned?: boolean;
}

let endpoints: Endpoint[];

before(async () => {
  t = await startTestGateway();
  admin = readFileSync(join(t.dataDir, 'admin.token'), 'utf8').trim();
  const gk = ensureGatewayKey(t.dataDir);
  gateway = { key: gk.key, did: gk.did };
  alice = await newRequester('alice');
  bob = await newRequester('bob');
  for (const p of ['pr_operator', alice.id, bob.id])
    await asAdmin('POST', `/accounts/${p}/credit`, { amount_usd: 100_000 });
  offer = await freeOffer();
  const plan = await call('POST', '/orchestrate', bearer(alice.key), {
    workload: { type: 'training', compute_hours: 2 },
  });
  assert.equal(plan.status, 201);
  alicePlan = plan.body.plan_id;
  aliceBooking = await newBooking(alice.key);
  aliceLease = await newLease(alice.key);
  const gpuHours = { workload: { type: 'training', compute_hours: 1 } };
  endpoints = [
    { route: 'GET /nodes', method: 'GET', url: '/nodes?limit=1', ok: 200, anon: 200 },
    {
      route: 'GET /nodes/:id',
      method: 'GET',
      url: `/nodes/${encodeURIComponent(offer.id)}`,
      ok: 200,
      anon: 200,
    },
    { route: 'GET /discover', method: 'GET', url: '/discover?gpu_hours=10', ok: 200, anon: 200 },
    { route: 'GET /providers', method: 'GET', url: '/providers', ok: 200, anon: 200 },
    { route: 'GET /providers/:name', method: 'GET', url: `/providers/${offer.provider}`, ok: 200, anon: 200 },
    { route: 'GET /capabilities', method: 'GET', url: '/capabilities', ok: 200, anon: 200 },
    { route: 'GET /prices/spot', method: 'GET', url: '/prices/spot', ok: 200, anon: 200 },
    { route: 'GET /prices/history', method: 'GET', url: '/prices/history', ok: 200, anon: 200 },
    {
      route: 'POST /orchestrate',
      method: 'POST',
      url: '/orchestrate',
      body: () => gpuHours,
      ok: 201,
      anon: 201,
    },
    { route: 'GET /plans/:id', method: 'GET', url: `/plans/${alicePlan}`, ok: 200, anon: 404, owned: true },
    {
      route: 'POST /book',
      method: 'POST',
      url: '/book',
      body: async () => ({ allocations: [{ offer_id: (await freeOffer()).id, nodes: 1, hours: 0.01 }] }),
      ok: 201,
    },
    { route: 'GET /bookings', method: 'GET', url: '/bookings', ok: 200 },
    { route: 'GET /bookings/:id', method: 'GET', url: `/bookings/${aliceBooking}`, ok: 200, owned: true },
    {
      route: 'POST /bookings/:id/cancel',
      method: 'POST',
      url: async () => `/bookings/${await newBooking(alice.key)}/cancel`,
      ok: 200,
      owned: true,
    },
    { route: 'GET /accounts/me', method: 'GET', url: '/accounts/me', ok: 200 },
    { route: 'GET /accounts/me/transactions', method: 'GET', url: '/accounts/me/transactions', ok: 200 },
    {
      route: 'POST /accounts/:id/credit',
      method: 'POST',
      url: `/accounts/${alice.id}/credit`,
      body: () => ({ amount_usd: 1 }),
      ok: 201,
    },
    { route: 'GET /ledger/verify', method: 'GET', url: '/ledger/verify', ok: 200 },
    {
      route: 'POST /principals',
      method: 'POST',
      url: '/principals',
      body: () => ({ role: 'requester', name: 'x' }),
      ok: 201,
    },
    { route: 'GET /principals', method: 'GET', url: '/principals', ok: 200 },
    { route: 'GET /principals/:id', method: 'GET', url: `/principals/${alice.id}`, ok: 200 },
    {
      route: 'POST /principals/:id/disable',
      method: 'POST',
      url: async () => `/principals/${(await newRequester('y')).id}/disable`,
      ok: 200,
    },
    {
      route: 'POST /principals/:id/keys',
      method: 'POST',
      url: `/principals/${bob.id}/keys`,
      body: () => ({}),
      ok: 201,
    },
    {
      route: 'POST /tokens',
      method: 'POST',
      url: '/tokens',
      body: () => ({ can: ['compute/discover'], expires_in: '1h' }),
      ok: 201,
    },
    { route: 'GET /tokens', method: 'GET', url: '/tokens', ok: 200 },
    {
      route: 'DELETE /tokens/:id',
      method: 'DELETE',
      url: async (owner) => {
        const r = await call('POST', '/tokens', bearer(owner.key), { can: ['compute/discover'] });
        return `/tokens/${r.body.id}`;
      },
      ok: 200,
      owned: true,
    },
    {
      route: 'POST /agents',
      method: 'POST',
      url: '/agents',
      body: () => ({ registration: registration(`m-${++n}`) }),
      ok: 201,
    },
    {
      route: 'POST /agents/:name/heartbeat',
      method: 'POST',
      url: '/agents/m-op/heartbeat',
      body: () => ({}),
      ok: 200,
    },
    { route: 'GET /agents', method: 'GET', url: '/agents', ok: 200 },
    { route: 'GET /agents/:name/earnings', method: 'GET', url: '/agents/m-op/earnings', ok: 200 },
    { route: 'GET /leases', method: 'GET', url: '/leases', ok: 200 },
    { route: 'GET /leases/:id', method: 'GET', url: `/leases/${aliceLease}`, ok: 200, owned: true },
    {
      route: 'POST /leases/:id/cancel',
      method: 'POST',
      url: async (owner) => `/leases/${await newLease(owner.key)}/cancel`,
      ok: 200,
      owned: true,
    },
    { route: 'GET /leases/:id/logs', method: 'GET', url: `/leases/${aliceLease}/logs`, ok: 200, owned: true },
    { route: 'GET /disputes', method: 'GET', url: '/disputes', ok: 200 },
  ];
  // The operator's own node agent, for the heartbeat route.
  const r = await call('POST', '/agents', bearer(admin), { registration: registration('m-op') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
});

/** A node agent's registration, signed by a fresh key (gateway/agents.ts). */
function registration(name: string): string {
  const k = generateKey('Ed25519');
  const signer = { key: k, did: didKeyFromPublicKey('Ed25519', k.publicKey) };
  return signJws(
    {
      v: 1,
      name,
      did: signer.did,
      capabilities: {
        measured_at: '2026-11-25T00:00:00.000Z',
        method: 'benchmark',
        cpu: { cores: 4, model: null, gflops_per_core: 1, memory_bandwidth_gbs: 1 },
        memory_gb: 8,
        gpus: [],
        notes: [],
      },
      price_per_hour: 0.1,
      iat: nowS(),
    },
    signer,
    { typ: REGISTRATION_TYP },
  );
}
after(async () => {
  await t.gw.close();
});

async function run(e: Endpoint, headers: Record<string, string>, owner = alice) {
  const url = typeof e.url === 'string' ? e.url : await e.url(owner);
  const body = e.body ? await e.body(owner) : undefined;
  return call(e.method, url, { ...headers, 'idempotency-key': `k${++n}` }, body);
}
const abilityOf = (e: Endpoint) => ROUTE_ABILITIES[e.route];
/** Beyond what a requester's role allows (administration, providing): 403 for every requester credential. */
const isAdmin = (e: Endpoint) => {
  const ab = abilityOf(e);
  if (ab === undefined) return false;
  const wanted = typeof ab === 'string' ? [ab] : ab;
  return !wanted.some((a) => ROLE_ABILITIES.requester.some((g) => abilityCovers(g, a)));
};

/** One matrix row: a credential, and what every endpoint answers to it. */
interface Row {
  name: string;
  headers: () => Record<string, string>;
  expect: (e: Endpoint) => { status: number; type?: string };
}

const invalid = (type: string) => () => ({ status: 401, type: P + type });

const rows: Row[] = [
  {
    name: 'no token',
    headers: () => ({}),
    expect: (e) => (e.anon !== undefined ? { status: e.anon } : { status: 401, type: `${P}unauthorized` }),
  },
  {
    name: 'malformed',
    headers: () => ({ authorization: 'Bearer eyJub3Q.anNvbg.c2ln' }),
    expect: invalid('invalid-token'),
  },
  {
    name: 'malformed header',
    headers: () => ({ authorization: 'Token abc' }),
    expect: invalid('invalid-token'),
  },
  {
    name: 'forged signature',
    // The gateway's name on it, and a real signature of the gateway's, over another payload.
    headers: () => {
      const [h, p] = ucanFor(alice.id, REQUESTER_ALL).split('.');
      const sig = ucanFor(bob.id, ['compute/discover']).split('.')[2];
      return bearer(`${h}.${p}.${sig}`);
    },
    expect: invalid('invalid-token'),
  },
  {
    name: 'expired',
    headers: () => bearer(ucanFor(alice.id, REQUESTER_ALL, { exp: nowS() - 1 })),
    expect: invalid('token-expired'),
  },
  {
    name: 'not yet valid',
    headers: () => bearer(ucanFor(alice.id, REQUESTER_ALL, { nbf: nowS() + 600 })),
    expect: invalid('token-not-yet-valid'),
  },
  {
    name: 'wrong audience',
    headers: () => {
      const k = generateKey('Ed25519');
      return bearer(ucanFor(alice.id, REQUESTER_ALL, { aud: didKeyFromPublicKey('Ed25519', k.publicKey) }));
    },
    expect: invalid('invalid-token'),
  },
  { name: 'revoked', headers: () => bearer(revoked), expect: invalid('token-revoked') },
  {
    // A child that claims more than its parent delegated: refused whatever it asks for.
    name: 'escalated capability',
    headers: () => ({ ...bearer(escalated.child), ucans: escalated.parent }),
    expect: () => ({ status: 403, type: `${P}insufficient-capability` }),
  },
  {
    // A valid token that only discovers: everything else is beyond it.
    name: 'narrow token (discover only)',
    headers: () => bearer(ucanFor(alice.id, ['compute/discover'])),
    expect: (e) => {
      const ab = abilityOf(e);
      return ab === undefined || ab === 'compute/discover'
        ? { status: e.ok }
        : { status: 403, type: `${P}insufficient-capability` };
    },
  },
  {
    name: 'caveat exceeded',
    headers: () => bearer(ucanFor(alice.id, REQUESTER_ALL, { caveats: { max_spend_usd: 0.000001 } })),
    expect: (e) =>
      isAdmin(e)
        ? { status: 403, type: `${P}insufficient-capability` }
        : e.route === 'POST /book'
          ? { status: 403, type: `${P}caveat-max-spend-usd` }
          : e.route === 'POST /tokens'
            ? { status: 403, type: `${P}insufficient-capability` } // a child without the parent's cap would be looser
            : { status: e.ok },
  },
  {
    name: "other tenant's resource",
    headers: () => bearer(bob.key),
    expect: (e) =>
      isAdmin(e)
        ? { status: 403, type: `${P}insufficient-capability` }
        : e.owned
          ? { status: 404, type: `${P}not-found` }
          : { status: e.ok },
  },
  {
    name: 'owner',
    headers: () => bearer(alice.key),
    expect: (e) => (isAdmin(e) ? { status: 403, type: `${P}insufficient-capability` } : { status: e.ok }),
  },
  { name: 'operator', headers: () => bearer(admin), expect: (e) => ({ status: e.ok }) },
];

let revoked: string;
let escalated: { parent: string; child: string };

describe('authorization matrix', () => {
  before(async () => {
    revoked = ucanFor(alice.id, REQUESTER_ALL);
    const { ucanCid } = await import('../src/identity/ucan.js');
    const r = await asAdmin('POST', '/ucan/revocations', { revoke: ucanCid(revoked), ucan: revoked });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const k = generateKey('secp256k1');
    const holder = { key: k, did: didKeyFromPublicKey('secp256k1', k.publicKey) };
    const parent = ucanFor(alice.id, ['compute/discover'], { aud: holder.did });
    escalated = {
      parent,
      child: ucanFor(alice.id, ['compute/*'], { issuer: holder, proofs: [ucanCid(parent)] }),
    };
  });

  test('the matrix covers every route that needs an ability', () => {
    const covered = new Set(endpoints.map((e) => e.route));
    // The price stream never ends, and a catalog refresh would fetch the internet: both are
    // checked on their refusals alone, below.
    // Proofs need a node agent's signed chain: test/leases.test.ts walks their cells (no token,
    // no compute/provide, another principal, the node, the requester, the operator).
    const elsewhere = new Set([
      'GET /prices/stream',
      'POST /catalog/refresh',
      'POST /leases/:id/checkpoints',
      'POST /leases/:id/receipt',
      'GET /leases/:id/checkpoints',
      'GET /receipts/:id',
      'GET /leases/:id/receipt',
      'GET /agents/:name/leases',
      // A node's logs and outputs: test/lease-runtime.test.ts (the node, the requester, another
      // tenant, a requester posting a node's logs).
      'POST /leases/:id/logs',
      'POST /leases/:id/endpoint',
      'PUT /leases/:id/outputs/:name',
      'GET /leases/:id/outputs/:name',
      // A dispute needs nodes that disagree: test/validation.test.ts (the requester, another
      // tenant, unknown ids).
      'GET /disputes/:id',
      // The load balancers: test/lb.test.ts walks every method against no token, a narrow token,
      // another principal, the owner, a derived compute/infer token and the operator.
      'GET /lb/:id/status',
      'GET /lb/:id/*',
      'POST /lb/:id/*',
      'PUT /lb/:id/*',
      'PATCH /lb/:id/*',
      'DELETE /lb/:id/*',
      'OPTIONS /lb/:id/*',
      // MCP speaks JSON-RPC with its own Accept: test/mcp-http.test.ts walks no token, a token
      // without compute/discover, a revoked one, two tenants, the operator, and GET/DELETE (405).
      'GET /mcp',
      'POST /mcp',
      'DELETE /mcp',
    ]);
    const missing = Object.keys(ROUTE_ABILITIES).filter((r) => !covered.has(r) && !elsewhere.has(r));
    assert.deepEqual(missing, []);
    assert.ok(ANONYMOUS_OK.has('POST /orchestrate'));
  });

  for (const row of rows) {
    test(row.name, async () => {
      const bad: string[] = [];
      for (const e of endpoints) {
        const want = row.expect(e);
        const r = await run(e, row.headers());
        const label = e.route;
        if (r.status !== want.status || (want.type && r.body?.type !== want.type))
          bad.push(
            `${label}: got ${r.status} ${r.body?.type ?? ''} ${r.body?.detail ?? ''}; want ${want.status} ${want.type ?? ''}`,
          );
      }
      assert.deepEqual(bad, []);
    });
  }

  test('streams and catalog refresh refuse bad credentials before doing anything', async () => {
    for (const url of ['/prices/stream']) {
      assert.equal(
        (await call('GET', url, bearer(ucanFor(alice.id, REQUESTER_ALL, { exp: nowS() - 1 })))).status,
        401,
      );
      assert.equal((await call('GET', url, bearer(ucanFor(alice.id, ['compute/book'])))).status, 403);
    }
    assert.equal((await call('POST', '/catalog/refresh', {}, {})).status, 401);
    const r = await call('POST', '/catalog/refresh', bearer(alice.key), {});
    assert.equal(r.status, 403);
    assert.equal(r.body.type, `${P}insufficient-capability`);
  });
});
