import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { didKeyFromPublicKey } from '../src/identity/did-key.js';
import { signJws } from '../src/identity/jws.js';
import { generateKey } from '../src/identity/keys.js';
import { signManifest, type WorkloadManifest } from '../src/identity/manifest.js';
import { issueUcan, ucanCid } from '../src/identity/ucan.js';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { manifestFor, parseRunSpec } from '../src/runtime/run-spec.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/**
 * Identity end to end on one in-process gateway (real SQLite): principals and API keys, OAuth2
 * client credentials, UCAN delegation with caveats enforced at booking, revocation, isolation.
 */
let t: TestGateway;
let admin: string;
let gatewayDid: string;
before(async () => {
  t = await startTestGateway();
  admin = readFileSync(join(t.dataDir, 'admin.token'), 'utf8').trim();
  gatewayDid = ((await t.gw.app.inject({ method: 'GET', url: '/health' })).json() as { did: string }).did;
});
after(async () => {
  await t.gw.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;
let n = 0;
async function call(
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  token: string | null,
  payload?: unknown,
  headers: Record<string, string> = {},
) {
  const r = await t.gw.app.inject({
    method,
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  return { status: r.statusCode, body: (r.body ? r.json() : null) as Json, headers: r.headers };
}
const credit = async (principal: string, usd: number) => {
  const r = await call(
    'POST',
    `/accounts/${principal}/credit`,
    admin,
    { amount_usd: usd },
    { 'idempotency-key': `c${++n}` },
  );
  assert.equal(r.status, 201, JSON.stringify(r.body));
};
async function newRequester(name: string, extra: Record<string, unknown> = {}) {
  const r = await call('POST', '/principals', admin, { role: 'requester', name, ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return {
    id: r.body.principal.id as string,
    key: r.body.api_key.key as string,
    keyId: r.body.api_key.id as string,
  };
}
const cheapest = async (q: string): Promise<Offer> => {
  const r = await call('GET', `/nodes?${q}&sort=price_asc&limit=1`, null);
  return r.body.offers[0] as Offer;
};
const book = (token: string, offer: Offer, hours: number, headers: Record<string, string> = {}) =>
  call('POST', '/book', token, { allocations: [{ offer_id: offer.id, nodes: 1, hours }] }, headers);

describe('principals and API keys', () => {
  test('the operator creates a requester whose key is shown once and works at once', async () => {
    const a = await newRequester('alice');
    assert.match(a.id, /^pr_/);
    assert.match(a.key, /^cmd_key_/);
    const me = await call('GET', '/accounts/me', a.key);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    const list = await call('GET', `/tokens?principal=${a.id}`, admin);
    assert.equal(list.status, 200);
    assert.equal(list.body.tokens.length, 1);
    assert.equal(list.body.tokens[0].prefix, a.key.slice(0, 12));
    assert.ok(!JSON.stringify(list.body).includes(a.key), 'a listed key never shows its secret');
  });

  test('bad principal bodies name the field; a requester cannot create principals', async () => {
    const cases: [unknown, string][] = [
      [{ role: 'operator', name: 'x' }, '/role'],
      [{ role: 'requester' }, '/name'],
      [{ role: 'requester', name: 'x', did: 'not-a-did' }, '/did'],
      [{ role: 'requester', name: 'x', extra: 1 }, '/extra'],
      [[1], '(body)'],
    ];
    for (const [body, param] of cases) {
      const r = await call('POST', '/principals', admin, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.param, param);
    }
    const a = await newRequester('mallory');
    const r = await call('POST', '/principals', a.key, { role: 'requester', name: 'x' });
    assert.equal(r.status, 403);
    assert.equal(r.body.type, 'https://computemd.dev/problems/insufficient-capability');
  });

  test('a revoked key stops working at once; only its owner or the operator may revoke it', async () => {
    const a = await newRequester('bob');
    const b = await newRequester('carol');
    assert.equal((await call('DELETE', `/tokens/${a.keyId}`, b.key)).status, 404);
    const r = await call('DELETE', `/tokens/${a.keyId}`, a.key);
    assert.equal(r.status, 200);
    assert.ok(r.body.revoked_at);
    const after1 = await call('GET', '/accounts/me', a.key);
    assert.equal(after1.status, 401);
    assert.equal(after1.body.type, 'https://computemd.dev/problems/token-revoked');
  });

  test('a disabled principal: every key of it is refused', async () => {
    const a = await newRequester('dave');
    const d = await call('POST', `/principals/${a.id}/disable`, admin);
    assert.equal(d.status, 200);
    const r = await call('GET', '/accounts/me', a.key);
    assert.equal(r.status, 401);
    assert.equal(r.body.reason, 'principal_disabled');
    assert.equal((await call('POST', '/principals/pr_operator/disable', admin)).status, 409);
  });

  test('lists page by cursor; bad paging parameters are 400 naming the parameter', async () => {
    for (const [url, param] of [
      ['/tokens?limit=501', 'limit'],
      ['/tokens?limit=abc', 'limit'],
      ['/tokens?cursor=nope', 'cursor'],
      ['/principals?limit=0', 'limit'],
    ] as const) {
      const r = await call('GET', url, admin);
      assert.equal(r.status, 400, url);
      assert.equal(r.body.param, param, url);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call('GET', `/principals?limit=2${cursor ? `&cursor=${cursor}` : ''}`, admin);
      assert.equal(page.status, 200);
      seen.push(...page.body.principals.map((p: Json) => p.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    assert.equal(new Set(seen).size, seen.length);
    assert.ok(seen.includes('pr_operator'));
    const tk = await call('GET', '/tokens?limit=1', admin);
    assert.equal(tk.body.tokens.length, 1);
    assert.ok(tk.body.next_cursor);
    const next = await call('GET', `/tokens?limit=1&cursor=${tk.body.next_cursor}`, admin);
    assert.notEqual(next.body.tokens[0].id, tk.body.tokens[0].id);
    assert.equal((await call('GET', '/principals/pr_nobody', admin)).status, 404);
    assert.equal((await call('POST', '/principals/pr_nobody/keys', admin, {})).status, 404);
    assert.equal((await call('DELETE', '/tokens/tok_nope', admin)).status, 404);
  });

  test('an API key with an expiry expires', async () => {
    const a = await newRequester('erin');
    const k = await call('POST', '/tokens', a.key, { kind: 'api_key', expires_in: '1h', label: 'ci' });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    assert.equal((await call('GET', '/accounts/me', k.body.key)).status, 200);
    t.clock.advance(3600_000);
    const r = await call('GET', '/accounts/me', k.body.key);
    assert.equal(r.status, 401);
    assert.equal(r.body.type, 'https://computemd.dev/problems/token-expired');
  });
});

describe('OAuth2 client credentials', () => {
  test('an API key buys a JWT access token that verifies against the JWKS and acts for its principal', async () => {
    const a = await newRequester('frank');
    const r = await t.gw.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&client_id=${a.keyId}&client_secret=${encodeURIComponent(a.key)}&scope=compute%2Fbook`,
    });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['cache-control'], 'no-store');
    const tok = r.json() as Json;
    assert.equal(tok.token_type, 'Bearer');
    assert.equal(tok.scope, 'compute/book');
    const jwks = (await call('GET', '/.well-known/jwks.json', null)).body;
    const v = await jwtVerify(tok.access_token, createLocalJWKSet(jwks as never), {
      currentDate: new Date(t.clock.now()),
    });
    assert.equal(v.payload.sub, a.id);
    assert.equal((await call('GET', '/accounts/me', tok.access_token)).body.principal, a.id);
    // The scope bounds it: compute/book does not include discovery.
    const d = await call('GET', '/nodes?limit=1', tok.access_token);
    assert.equal(d.status, 403);
    // HTTP Basic works too, with client_id = the principal id.
    const basic = Buffer.from(`${a.id}:${a.key}`).toString('base64');
    const r2 = await t.gw.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials',
    });
    assert.equal(r2.statusCode, 200, r2.body);
    // Revoking the key ends the access tokens obtained with it.
    await call('DELETE', `/tokens/${a.keyId}`, admin);
    const dead = await call('GET', '/accounts/me', tok.access_token);
    assert.equal(dead.status, 401);
    assert.equal(dead.body.type, 'https://computemd.dev/problems/token-revoked');
  });

  test('token endpoint errors are RFC 6749 errors inside problem+json', async () => {
    const a = await newRequester('grace');
    const post = (payload: string) =>
      t.gw.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload,
      });
    const cases: [string, number, string][] = [
      ['grant_type=password&username=a&password=b', 400, 'unsupported_grant_type'],
      [`grant_type=client_credentials&client_id=${a.keyId}&client_secret=wrong`, 401, 'invalid_client'],
      ['grant_type=client_credentials', 401, 'invalid_client'],
      [
        `grant_type=client_credentials&client_id=${a.keyId}&client_secret=${a.key}&scope=compute%2Fadmin`,
        400,
        'invalid_scope',
      ],
    ];
    for (const [body, status, error] of cases) {
      const r = await post(body);
      assert.equal(r.statusCode, status, body);
      assert.equal((r.json() as Json).error, error, body);
    }
  });
});

describe('UCAN delegation', () => {
  test('a budget-capped token: refused past its price cap, its providers and its budget; the budget frees on cancel', async () => {
    const a = await newRequester('heidi');
    await credit(a.id, 10_000);
    const offer = await cheapest('resource_type=GPU_A&min_available=2');
    const perHour = offer.price_per_hour;
    const budget = Math.ceil(perHour * 3 * 100) / 100; // room for 3 node-hours
    const m = await call('POST', '/tokens', a.key, {
      can: ['compute/book'],
      max_spend_usd: budget,
      max_price_per_hour: (offer.price_per_gpu_hour ?? perHour) + 0.01,
      expires_in: '1d',
    });
    assert.equal(m.status, 201, JSON.stringify(m.body));
    const ucan = m.body.token as string;
    assert.equal(m.body.audience, gatewayDid);

    const ok = await book(ucan, offer, 2);
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const over = await book(ucan, offer, 2);
    assert.equal(over.status, 403, JSON.stringify(over.body));
    assert.equal(over.body.type, 'https://computemd.dev/problems/caveat-max-spend-usd');
    assert.equal(over.body.caveat, 'max_spend_usd');
    // Cancelling gives the unspent hold back to the budget.
    const c = await call('POST', `/bookings/${ok.body.booking_id}/cancel`, ucan);
    assert.equal(c.status, 200, JSON.stringify(c.body));
    assert.equal((await book(ucan, offer, 2)).status, 201);

    const pricey = (
      await call('GET', '/nodes?resource_type=GPU_A&min_available=1&sort=price_desc&limit=1', null)
    ).body.offers[0] as Offer;
    assert.ok((pricey.price_per_gpu_hour ?? 0) > (offer.price_per_gpu_hour ?? perHour) + 0.01);
    const r = await book(ucan, pricey, 0.01);
    assert.equal(r.status, 403);
    assert.equal(r.body.type, 'https://computemd.dev/problems/caveat-max-price-per-hour');
    // compute/book does not grant discovery or administration.
    assert.equal((await call('GET', '/ledger/verify', ucan)).status, 403);
    assert.deepEqual((await call('GET', '/ledger/verify', admin)).body, { ok: true, violations: [] });
  });

  test('a child token narrows its parent; widening is refused and the parent budget binds the child', async () => {
    const a = await newRequester('ivan');
    await credit(a.id, 10_000);
    const offer = await cheapest('resource_type=GPU_A&min_available=1');
    const parent = (
      await call('POST', '/tokens', a.key, {
        can: ['compute/book', 'compute/discover'],
        max_spend_usd: 1000,
        providers: [offer.provider],
      })
    ).body;
    const wider = await call('POST', '/tokens', parent.token, {
      can: ['compute/book'],
      max_spend_usd: 2000,
      providers: [offer.provider],
    });
    assert.equal(wider.status, 403);
    assert.equal(wider.body.caveat, 'max_spend_usd');
    const noProviders = await call('POST', '/tokens', parent.token, {
      can: ['compute/book'],
      max_spend_usd: 10,
    });
    assert.equal(noProviders.status, 403, 'dropping a caveat the parent has is widening');
    const escalate = await call('POST', '/tokens', parent.token, { can: ['compute/admin'] });
    assert.equal(escalate.status, 403);
    assert.equal(escalate.body.type, 'https://computemd.dev/problems/insufficient-capability');

    const child = await call('POST', '/tokens', parent.token, {
      can: ['compute/book'],
      max_spend_usd: 5000, // looser than the parent: refused
      providers: [offer.provider],
    });
    assert.equal(child.status, 403);
    const ok = await call('POST', '/tokens', parent.token, {
      can: ['compute/book'],
      max_spend_usd: 500,
      providers: [offer.provider],
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.proofs, [parent.cid]);
    // The child may discover? No: it was not delegated.
    assert.equal((await call('GET', '/nodes?limit=1', ok.body.token)).status, 403);
    const other = (
      await call('GET', '/nodes?resource_type=GPU_A&min_available=1&sort=price_desc&limit=1', null)
    ).body.offers[0] as Offer;
    assert.notEqual(other.provider, offer.provider);
    const r = await book(ok.body.token, other, 0.1);
    assert.equal(r.status, 403);
    assert.equal(r.body.type, 'https://computemd.dev/problems/caveat-providers');
    // Revoking the parent kills the child.
    assert.equal((await call('DELETE', `/tokens/${parent.id}`, a.key)).status, 200);
    const dead = await book(ok.body.token, offer, 0.1);
    assert.equal(dead.status, 401);
    assert.equal(dead.body.type, 'https://computemd.dev/problems/token-revoked');
  });

  test('a principal with its own did:key signs its own root UCAN, and revokes it with a signed record', async () => {
    const key = generateKey('P-256');
    const did = didKeyFromPublicKey('P-256', key.publicKey);
    const a = await newRequester('judy', { did });
    await credit(a.id, 100);
    const now = Math.floor(t.clock.now() / 1000);
    const jwt = issueUcan({
      issuer: { key, did },
      audience: gatewayDid,
      capabilities: { [`computemd:principal:${a.id}`]: { 'compute/book': [{ max_spend_usd: 1 }] } },
      expiresAt: now + 3600,
    });
    const me = await call('GET', '/accounts/me', jwt);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.principal, a.id);
    // Someone else's key cannot sign for judy.
    const other = generateKey('Ed25519');
    const forged = issueUcan({
      issuer: { key: other, did: didKeyFromPublicKey('Ed25519', other.publicKey) },
      audience: gatewayDid,
      capabilities: { [`computemd:principal:${a.id}`]: { 'compute/book': [{}] } },
      expiresAt: now + 3600,
    });
    const f = await call('GET', '/accounts/me', forged);
    assert.equal(f.status, 401);
    assert.equal(f.body.reason, 'unknown_issuer');

    const cid = ucanCid(jwt);
    const wrongSig = await call('POST', '/ucan/revocations', null, {
      iss: did,
      revoke: cid,
      challenge: signJws(`REVOKE:${cid}`, {
        key: other,
        did: didKeyFromPublicKey('Ed25519', other.publicKey),
      }),
      ucan: jwt,
    });
    assert.equal(wrongSig.status, 401);
    const rv = await call('POST', '/ucan/revocations', null, {
      iss: did,
      revoke: cid,
      challenge: signJws(`REVOKE:${cid}`, { key, did }),
      ucan: jwt,
    });
    assert.equal(rv.status, 201, JSON.stringify(rv.body));
    const gone = await call('GET', '/accounts/me', jwt);
    assert.equal(gone.status, 401);
    assert.equal(gone.body.type, 'https://computemd.dev/problems/token-revoked');
  });

  test('revocation requests: each error names its field, and only the issuer may sign one', async () => {
    const a = await newRequester('olga');
    const key = generateKey('Ed25519');
    const did = didKeyFromPublicKey('Ed25519', key.publicKey);
    const jwt = issueUcan({
      issuer: { key, did },
      audience: gatewayDid,
      capabilities: { [`computemd:principal:${a.id}`]: { 'compute/book': [{}] } },
      expiresAt: Math.floor(t.clock.now() / 1000) + 60,
    });
    const cid = ucanCid(jwt);
    const sig = signJws(`REVOKE:${cid}`, { key, did });
    const cases: [unknown, number, string][] = [
      [{}, 400, '/revoke'],
      [{ revoke: 'not-a-cid' }, 400, '/revoke'],
      [{ revoke: cid, iss: 'nope', challenge: sig }, 400, '/iss'],
      [{ revoke: cid, iss: did }, 400, '/challenge'],
      [{ revoke: cid, iss: did, challenge: sig }, 404, '/ucan'], // not minted here, and not sent
      [{ revoke: cid, iss: did, challenge: sig, ucan: 'x.y.z' }, 400, '/ucan'],
      [{ revoke: ucanCid(`${jwt}x`), iss: did, challenge: sig, ucan: jwt }, 400, '/ucan'],
      [{ revoke: cid, iss: gatewayDid, challenge: sig, ucan: jwt }, 403, '/iss'],
    ];
    for (const [body, status, param] of cases) {
      const r = await call('POST', '/ucan/revocations', null, body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(r.body.param, param, JSON.stringify(r.body));
    }
    // Unauthenticated and unsigned: 401. Another tenant's UCAN: 404. The operator may; twice is 200.
    assert.equal((await call('POST', '/ucan/revocations', null, { revoke: cid })).status, 401);
    const m = await call('POST', '/tokens', a.key, { can: ['compute/book'] });
    const b = await newRequester('pavel');
    assert.equal((await call('POST', '/ucan/revocations', b.key, { revoke: m.body.cid })).status, 404);
    assert.equal((await call('POST', '/ucan/revocations', a.key, { revoke: m.body.cid })).status, 201);
    assert.equal((await call('POST', '/ucan/revocations', admin, { revoke: m.body.cid })).status, 200);
    assert.ok(
      (await call('GET', `/tokens?principal=${a.id}`, admin)).body.tokens.some(
        (x: Json) => x.id === m.body.id && x.revoked_at,
      ),
    );
  });

  test('a UCAN cannot mint an API key; a DID belongs to one principal', async () => {
    const a = await newRequester('quinn');
    const u = await call('POST', '/tokens', a.key, { can: ['compute/book'] });
    const k = await call('POST', '/tokens', u.body.token, { kind: 'api_key' });
    assert.equal(k.status, 403);
    assert.equal(k.body.type, 'https://computemd.dev/problems/insufficient-capability');
    assert.equal((await call('POST', '/tokens', a.key, { kind: 'bogus' })).body.param, '/kind');
    assert.equal(
      (await call('POST', '/tokens', a.key, { kind: 'api_key', expires_in: 'never' })).body.param,
      '/expires_in',
    );
    const key = generateKey('Ed25519');
    const did = didKeyFromPublicKey('Ed25519', key.publicKey);
    await newRequester('r1', { did });
    const dup = await call('POST', '/principals', admin, { role: 'requester', name: 'r2', did });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.param, '/did');
  });

  test('token create validates its body and names the field', async () => {
    const a = await newRequester('ken');
    const cases: [unknown, string][] = [
      [{}, '/can'],
      [{ can: ['compute/book'], expires_in: '1y' }, '/expires_in'],
      [{ can: ['not an ability'] }, '/can/0'],
      [{ can: ['compute/book'], max_spend_usd: -1 }, '/max_spend_usd'],
      [{ can: ['compute/book'], providers: [] }, '/providers'],
      [{ can: ['compute/book'], audience: 'nope' }, '/audience'],
      [{ can: ['compute/book'], colour: 'red' }, '/colour'],
    ];
    for (const [body, param] of cases) {
      const r = await call('POST', '/tokens', a.key, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.param, param, JSON.stringify(r.body));
    }
  });
});

describe('isolation', () => {
  test("another principal's booking, plan and token are 404, never 403; the operator sees them", async () => {
    const a = await newRequester('leo');
    const b = await newRequester('mia');
    await credit(a.id, 1000);
    const offer = await cheapest('resource_type=GPU_A&min_available=1');
    const bk = await book(a.key, offer, 0.1);
    assert.equal(bk.status, 201);
    const plan = await call('POST', '/orchestrate', a.key, {
      workload: { type: 'training', compute_hours: 2 },
    });
    assert.equal(plan.status, 201, JSON.stringify(plan.body));
    for (const url of [`/bookings/${bk.body.booking_id}`, `/plans/${plan.body.plan_id}`]) {
      assert.equal((await call('GET', url, b.key)).status, 404, url);
      assert.equal((await call('GET', url, a.key)).status, 200, url);
      assert.equal((await call('GET', url, admin)).status, 200, url);
    }
    assert.equal((await call('POST', `/bookings/${bk.body.booking_id}/cancel`, b.key)).status, 404);
    const other = await call('POST', '/book', b.key, { plan_id: plan.body.plan_id });
    assert.equal(other.status, 404, "booking someone else's plan");
    assert.equal((await call('GET', '/bookings', b.key)).body.bookings.length, 0);
  });
});

describe('signed workload manifests', () => {
  test('a booking carries a manifest signed by its requester; a tampered or foreign one is refused', async () => {
    const key = generateKey('secp256k1');
    const did = didKeyFromPublicKey('secp256k1', key.publicKey);
    const a = await newRequester('nina', { did });
    await credit(a.id, 1000);
    const offer = await cheapest('resource_type=GPU_A&min_available=1');
    const manifest: WorkloadManifest = {
      v: 1,
      requester: did,
      run: { command: ['python3', 'train.py'], timeout_s: 3600 },
      inputs: [{ path: 'train.py', sha256: 'a'.repeat(64) }],
      resources: { gpus: 1 },
      iat: Math.floor(t.clock.now() / 1000),
      nonce: 'nonce-0001',
    };
    const jws = signManifest(manifest, { key, did });
    const body = (m: string) => ({
      allocations: [{ offer_id: offer.id, nodes: 1, hours: 0.1 }],
      manifest: m,
    });

    const ok = await call('POST', '/book', a.key, body(jws));
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.manifest.signer, did);
    assert.match(ok.body.manifest.digest, /^[0-9a-f]{64}$/);
    assert.deepEqual(
      (await call('GET', `/bookings/${ok.body.booking_id}`, a.key)).body.manifest,
      ok.body.manifest,
    );

    // One changed input digest, the signature left as it was.
    const [h, p, sig] = jws.split('.') as [string, string, string];
    const changed = JSON.parse(Buffer.from(p, 'base64url').toString());
    changed.inputs[0].sha256 = 'b'.repeat(64);
    const tampered = `${h}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${sig}`;
    const bad = await call('POST', '/book', a.key, body(tampered));
    assert.equal(bad.status, 422);
    assert.equal(bad.body.type, 'https://computemd.dev/problems/invalid-signature');
    assert.equal(bad.body.param, '/manifest');

    // Signed properly, but by a DID that is not the booking principal's.
    const other = generateKey('Ed25519');
    const otherDid = didKeyFromPublicKey('Ed25519', other.publicKey);
    const foreign = signManifest({ ...manifest, requester: otherDid }, { key: other, did: otherDid });
    const f = await call('POST', '/book', a.key, body(foreign));
    assert.equal(f.status, 403);
    assert.equal(f.body.signer, otherDid);

    const stale = signManifest({ ...manifest, iat: manifest.iat - 2 * 86_400 }, { key, did });
    assert.equal((await call('POST', '/book', a.key, body(stale))).body.param, '/manifest/iat');
    const malformed = await call('POST', '/book', a.key, body('not-a-jws'));
    assert.equal(malformed.status, 400);
    assert.match(malformed.body.param, /^\/manifest/);
    const noDid = await newRequester('oscar');
    await credit(noDid.id, 100);
    const r = await call('POST', '/book', noDid.key, body(jws));
    assert.equal(r.status, 403);
    assert.match(r.body.detail, /no DID registered/);

    // A run sent beside the manifest must be the one it signs.
    const parsedRun = parseRunSpec({ command: ['python3', 'train.py'] });
    assert.ok(parsedRun.ok);
    const signedRun = manifestFor(parsedRun.value, {
      requester: did,
      iat: manifest.iat,
      nonce: 'nonce-0002',
    });
    const jws2 = signManifest(signedRun, { key, did });
    const mismatch = await call('POST', '/book', a.key, {
      ...body(jws2),
      run: { command: ['python3', 'evil.py'] },
    });
    assert.equal(mismatch.status, 422, JSON.stringify(mismatch.body));
    assert.equal(mismatch.body.param, '/run');
    const matching = await call('POST', '/book', a.key, {
      ...body(jws2),
      run: { command: ['python3', 'train.py'] },
    });
    assert.equal(
      matching.body.param,
      '/allocations/0',
      'past the match, refused only because this offer runs nothing',
    );

    // Anyone can check a manifest offline-style through the gateway.
    const v = await call('POST', '/manifests/verify', null, { manifest: jws });
    assert.equal(v.status, 200);
    assert.equal(v.body.signer, did);
    assert.equal(v.body.digest, ok.body.manifest.digest);
    assert.equal((await call('POST', '/manifests/verify', null, { manifest: tampered })).status, 422);
    assert.equal((await call('POST', '/manifests/verify', null, {})).body.param, '/manifest');
  });
});
