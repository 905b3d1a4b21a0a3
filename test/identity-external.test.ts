import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { ConfigError } from '../src/config/load.js';
import { startTestGateway, T0, type TestGateway } from './helpers/gateway.js';

/**
 * JWTs from an external OAuth2/OIDC issuer configured by JWKS URL (`auth.jwt_issuers`): a real
 * HTTP server publishes the issuer's keys; its subjects become principals here.
 */
const ISSUER = 'https://idp.example.test';
let t: TestGateway;
let jwks: Server;
let sign: (claims: Record<string, unknown>, aud?: string) => Promise<string>;

before(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const port = (jwks.address() as AddressInfo).port;
  t = await startTestGateway((c) => {
    c.auth.jwt_issuers = [
      { issuer: ISSUER, jwks_url: `http://127.0.0.1:${port}/jwks`, audience: 'computemd' },
    ];
  });
  sign = (claims, aud = 'computemd') =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
      .setIssuer(ISSUER)
      .setAudience(aud)
      .setIssuedAt(Math.floor(T0 / 1000))
      .setExpirationTime(Math.floor(T0 / 1000) + 3600)
      .sign(privateKey);
});
after(async () => {
  await t.gw.close();
  jwks.close();
});

const get = async (url: string, token: string) => {
  const r = await t.gw.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  return { status: r.statusCode, body: r.json() as Record<string, string> };
};

describe('external JWT issuers', () => {
  test("an issuer's subject is a principal here, bounded by the token's scope", async () => {
    const jwt = await sign({ sub: 'agent-42', scope: 'compute/book compute/lease/read' });
    const me = await get('/accounts/me', jwt);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.match(me.body.principal as string, /^ext_[0-9a-f]{24}$/);
    // The same subject is the same principal next time.
    assert.equal((await get('/accounts/me', jwt)).body.principal, me.body.principal);
    const other = await get('/accounts/me', await sign({ sub: 'agent-43', scope: 'compute/book' }));
    assert.notEqual(other.body.principal, me.body.principal);
    // Its scope does not include discovery.
    const d = await get('/nodes?limit=1', jwt);
    assert.equal(d.status, 403);
    assert.equal(d.body.type, 'https://computemd.dev/problems/insufficient-capability');
  });

  test('wrong audience, expiry and unknown issuers are 401 with the reason', async () => {
    const wrongAud = await get(
      '/accounts/me',
      await sign({ sub: 'a', scope: 'compute/book' }, 'someone-else'),
    );
    assert.equal(wrongAud.status, 401);
    assert.equal(wrongAud.body.reason, 'wrong_audience');
    t.clock.advance(2 * 3600_000);
    const expired = await get('/accounts/me', await sign({ sub: 'a', scope: 'compute/book' }));
    assert.equal(expired.status, 401);
    assert.equal(expired.body.type, 'https://computemd.dev/problems/token-expired');
    t.clock.advance(-2 * 3600_000);
    const stranger = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://nobody.test')
      .setExpirationTime(Math.floor(T0 / 1000) + 60)
      .sign(new Uint8Array(32));
    const s = await get('/accounts/me', stranger);
    assert.equal(s.status, 401);
    assert.equal(s.body.reason, 'unknown_issuer');
  });

  test("when the issuer's keys cannot be fetched the answer is 503, not 401", async () => {
    const jwt = await sign({ sub: 'agent-99', scope: 'compute/book' });
    // A fresh gateway whose configured JWKS URL has nothing listening.
    const dead = await startTestGateway((c) => {
      c.auth.jwt_issuers = [{ issuer: ISSUER, jwks_url: 'http://127.0.0.1:9/jwks', audience: 'computemd' }];
    });
    try {
      const r = await dead.gw.app.inject({
        method: 'GET',
        url: '/accounts/me',
        headers: { authorization: `Bearer ${jwt}` },
      });
      assert.equal(r.statusCode, 503, r.body);
      assert.equal((r.json() as { reason: string }).reason, 'jwks_unavailable');
    } finally {
      await dead.gw.close();
    }
  });
});

test('an issuer whose keys would travel in clear text is a configuration error naming the key', async () => {
  await assert.rejects(
    startTestGateway((c) => {
      c.auth.jwt_issuers = [
        { issuer: ISSUER, jwks_url: 'http://idp.example.test/jwks', audience: 'computemd' },
      ];
    }),
    (err: unknown) => err instanceof ConfigError && err.key === 'auth.jwt_issuers',
  );
});
