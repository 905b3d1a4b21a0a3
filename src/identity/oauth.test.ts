import assert from 'node:assert/strict';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  base64url,
  type CryptoKey,
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { ManualClock } from '../util/clock.js';
import { didKeyFromPublicKey } from './did-key.js';
import { exportSecretKey, generateKey, type KeyPair, publicKeyToJwk } from './keys.js';
import {
  type AccessClaims,
  createAccessTokenIssuer,
  createExternalVerifier,
  type ExternalIssuer,
  OAuthTokenError,
  type OAuthTokenErrorCode,
  parseTokenRequest,
} from './oauth.js';

const T0 = 1_700_000_000_000; // ms; iat of tokens issued at T0 is 1_700_000_000 s
const T0_S = T0 / 1000;
const AUD = 'https://gw.example';

async function rejectsWith(p: Promise<unknown>, code: OAuthTokenErrorCode, transient = false) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof OAuthTokenError, `expected OAuthTokenError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.transient, transient);
    return true;
  });
}

/** The gateway's private key as jose sees it, so a test can forge tokens the issuer would not. */
function keyObjectOf(k: KeyPair): KeyObject {
  const d = Buffer.from(exportSecretKey(k)).toString('base64url');
  return createPrivateKey({ key: { ...publicKeyToJwk('Ed25519', k.publicKey), d }, format: 'jwk' });
}

function gateway(o: { key?: KeyPair; issuer?: string; audience?: string; clock?: ManualClock } = {}) {
  const key = o.key ?? generateKey('Ed25519');
  const clock = o.clock ?? new ManualClock(T0);
  const issuer = o.issuer ?? didKeyFromPublicKey('Ed25519', key.publicKey);
  let n = 0;
  const tokens = createAccessTokenIssuer({
    key,
    issuer,
    audience: o.audience ?? AUD,
    clock,
    newId: () => `jti_${++n}`,
  });
  return { key, clock, issuer, tokens };
}

const alice: AccessClaims = {
  principal: 'did:key:zAlice',
  role: 'requester',
  token_id: 'tok_abc',
  scope: ['jobs:read', 'jobs:write'],
};

describe('createAccessTokenIssuer', () => {
  it('issues an RFC 9068 token that verifies back to the same claims', async () => {
    const { tokens, issuer, key } = gateway();
    const res = await tokens.issue(alice, 600);
    assert.deepEqual(
      { ...res, access_token: '' },
      {
        access_token: '',
        token_type: 'Bearer',
        expires_in: 600,
        scope: 'jobs:read jobs:write',
      },
    );
    const jwk = tokens.jwks().keys[0]!;
    assert.deepEqual(decodeProtectedHeader(res.access_token), {
      alg: 'EdDSA',
      typ: 'at+jwt',
      kid: await calculateJwkThumbprint(publicKeyToJwk('Ed25519', key.publicKey) as JWK),
    });
    assert.equal(jwk.kid, decodeProtectedHeader(res.access_token).kid);
    assert.deepEqual(decodeJwt(res.access_token), {
      client_id: 'tok_abc',
      role: 'requester',
      scope: 'jobs:read jobs:write',
      iss: issuer,
      aud: AUD,
      sub: 'did:key:zAlice',
      iat: T0_S,
      exp: T0_S + 600,
      jti: 'jti_1',
    });
    assert.deepEqual(await tokens.verify(res.access_token), { ...alice, exp: T0_S + 600, jti: 'jti_1' });
  });

  it('defaults the ttl to 3600 s, caps it at 86400 s and omits an empty scope', async () => {
    const { tokens } = gateway();
    const cases: [number | undefined, number][] = [
      [undefined, 3600],
      [1, 1],
      [90.9, 90], // whole seconds, rounded down
      [86400, 86400],
      [1_000_000, 86400],
    ];
    for (const [ttl, want] of cases) {
      const res = await tokens.issue({ ...alice, scope: [] }, ttl);
      assert.equal(res.expires_in, want, `ttl ${ttl}`);
      assert.equal(res.scope, '');
      const p = decodeJwt(res.access_token);
      assert.equal(p.exp, T0_S + want);
      assert.equal('scope' in p, false);
      assert.deepEqual((await tokens.verify(res.access_token)).scope, []);
    }
  });

  it('refuses to sign nonsense (caller bugs)', async () => {
    const { tokens } = gateway();
    await assert.rejects(tokens.issue(alice, 0), RangeError);
    await assert.rejects(tokens.issue(alice, Number.NaN), RangeError);
    await assert.rejects(tokens.issue({ ...alice, scope: ['a b'] }), TypeError);
    await assert.rejects(tokens.issue({ ...alice, scope: ['say"hi'] }), TypeError);
    await assert.rejects(tokens.issue({ ...alice, principal: '' }), TypeError);
    assert.throws(
      () =>
        createAccessTokenIssuer({
          key: generateKey('P-256'),
          issuer: 'x',
          audience: AUD,
          clock: new ManualClock(T0),
        }),
      TypeError,
    );
  });

  it('expires at exp (no clock tolerance for its own tokens)', async () => {
    const { tokens, clock } = gateway();
    const { access_token } = await tokens.issue(alice, 600);
    clock.advance(599_000); // now = iat + 599 < exp = iat + 600
    assert.equal((await tokens.verify(access_token)).exp, T0_S + 600);
    clock.advance(1_000); // now = exp: expired (exp <= now)
    await rejectsWith(tokens.verify(access_token), 'expired');
  });

  it('is not valid before its iat', async () => {
    const { tokens, clock } = gateway();
    const { access_token } = await tokens.issue(alice);
    clock.set(T0 - 10_000);
    await rejectsWith(tokens.verify(access_token), 'not_yet_valid');
  });

  it('rejects a token for another audience or from another issuer on the same key', async () => {
    const a = gateway();
    const otherAud = gateway({ key: a.key, audience: 'https://other.example' });
    const otherIss = gateway({ key: a.key, issuer: 'did:key:zSomeoneElse' });
    await rejectsWith(a.tokens.verify((await otherAud.tokens.issue(alice)).access_token), 'wrong_audience');
    await rejectsWith(a.tokens.verify((await otherIss.tokens.issue(alice)).access_token), 'wrong_issuer');
  });

  it('rejects signatures from another key, under our kid or its own', async () => {
    const a = gateway();
    const b = gateway({ issuer: a.issuer }); // same iss and aud, different key
    await rejectsWith(a.tokens.verify((await b.tokens.issue(alice)).access_token), 'unknown_key');
    const kid = a.tokens.jwks().keys[0]!.kid as string;
    const forged = await new SignJWT({ client_id: 'tok_abc', role: 'operator' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
      .setIssuer(a.issuer)
      .setAudience(AUD)
      .setSubject('did:key:zMallory')
      .setIssuedAt(T0_S)
      .setExpirationTime(T0_S + 60)
      .setJti('jti_x')
      .sign(keyObjectOf(b.key));
    await rejectsWith(a.tokens.verify(forged), 'bad_signature');
  });

  it('rejects a tampered payload', async () => {
    const { tokens } = gateway();
    const [h, p, s] = (await tokens.issue(alice)).access_token.split('.');
    const claims = decodeJwt(`${h}.${p}.${s}`);
    const promoted = base64url.encode(JSON.stringify({ ...claims, role: 'operator' }));
    await rejectsWith(tokens.verify(`${h}.${promoted}.${s}`), 'bad_signature');
  });

  it('refuses alg none, a wrong typ, and garbage', async () => {
    const { tokens, issuer, key } = gateway();
    const claims = {
      iss: issuer,
      aud: AUD,
      sub: 'x',
      client_id: 'tok_a',
      role: 'operator',
      iat: T0_S,
      exp: T0_S + 60,
      jti: 'j',
    };
    const enc = (o: object) => base64url.encode(JSON.stringify(o));
    await rejectsWith(tokens.verify(`${enc({ alg: 'none', typ: 'at+jwt' })}.${enc(claims)}.`), 'malformed');
    // Signed by the gateway's own key, but an ID-token-like typ must not pass as an access token.
    const kid = tokens.jwks().keys[0]!.kid as string;
    const plainJwt = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid })
      .sign(keyObjectOf(key));
    await rejectsWith(tokens.verify(plainJwt), 'malformed');
    await rejectsWith(tokens.verify('not.a.jwt'), 'malformed');
    await rejectsWith(tokens.verify(''), 'malformed');
  });

  it('publishes a JWKS that verifies its tokens independently', async () => {
    const { tokens, issuer } = gateway();
    const { keys } = tokens.jwks();
    assert.equal(keys.length, 1);
    assert.deepEqual(Object.keys(keys[0]!).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    assert.equal(keys[0]!.alg, 'EdDSA');
    assert.equal(keys[0]!.use, 'sig');
    const { access_token } = await tokens.issue(alice);
    const { payload, protectedHeader } = await jwtVerify(
      access_token,
      createLocalJWKSet({ keys: keys as JWK[] }),
      {
        issuer,
        audience: AUD,
        typ: 'at+jwt',
        currentDate: new Date(T0),
      },
    );
    assert.equal(payload.sub, alice.principal);
    assert.equal(protectedHeader.kid, keys[0]!.kid);
  });

  it('tells its own tokens from others by the unverified iss', async () => {
    const a = gateway();
    const b = gateway();
    assert.equal(a.tokens.isOwn((await a.tokens.issue(alice)).access_token), true);
    assert.equal(a.tokens.isOwn((await b.tokens.issue(alice)).access_token), false);
    assert.equal(a.tokens.isOwn('garbage'), false);
    assert.equal(a.tokens.isOwn('tok_abc'), false);
  });
});

describe('createExternalVerifier', () => {
  const IDP = 'https://idp.example';
  const IDP2 = 'https://idp2.example';
  let server: Server;
  let url: string;
  let hits = 0;
  let status = 200;
  const served: JWK[] = [];
  type TestKey = { alg: string; kid: string; privateKey: CryptoKey; jwk: JWK };
  const keys = {} as Record<'rsa' | 'ec' | 'ed', TestKey>;

  before(async () => {
    for (const [name, alg] of [
      ['rsa', 'RS256'],
      ['ec', 'ES256'],
      ['ed', 'EdDSA'],
    ] as const) {
      const kp = await generateKeyPair(alg, { extractable: true });
      const kid = `${name}-1`;
      const jwk = { ...(await exportJWK(kp.publicKey)), kid, alg, use: 'sig' };
      keys[name] = { alg, kid, privateKey: kp.privateKey, jwk };
      // The Ed25519 key is published later, to test rotation.
      if (name !== 'ed') served.push(jwk);
    }
    server = createServer((req, res) => {
      hits++;
      if (req.url !== '/jwks' || status !== 200) {
        res.writeHead(req.url === '/jwks' ? status : 404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const config = (): ExternalIssuer[] => [
    { issuer: IDP, jwks_url: url, audience: 'computemd' },
    { issuer: IDP2, jwks_url: url, audience: 'computemd', role: 'provider', scope_claim: 'scp' },
  ];

  async function signed(
    claims: JWTPayload,
    o: { key?: 'rsa' | 'ec' | 'ed'; iss?: string; aud?: string; exp?: number; kid?: string } = {},
  ) {
    const k = keys[o.key ?? 'rsa'];
    return new SignJWT({ scope: 'jobs:read', ...claims })
      .setProtectedHeader({ alg: k.alg, kid: o.kid ?? k.kid, typ: 'JWT' })
      .setIssuer(o.iss ?? IDP)
      .setAudience(o.aud ?? 'computemd')
      .setSubject('user-42')
      .setIssuedAt(T0_S)
      .setExpirationTime(o.exp ?? T0_S + 300)
      .sign(k.privateKey);
  }

  it('verifies RS256 and ES256 tokens against the fetched JWKS, fetching it once', async () => {
    const v = createExternalVerifier(config(), { clock: new ManualClock(T0) });
    const before = hits;
    for (const key of ['rsa', 'ec'] as const) {
      const jwt = await signed({}, { key });
      assert.equal(v.handles(jwt), true);
      assert.deepEqual(await v.verify(jwt), {
        issuer: IDP,
        subject: 'user-42',
        role: 'requester',
        scope: ['jobs:read'],
        exp: T0_S + 300,
      });
    }
    assert.equal(hits - before, 1, 'the JWKS is cached between tokens');
  });

  it('reads the configured scope claim and role', async () => {
    const v = createExternalVerifier(config(), { clock: new ManualClock(T0) });
    const got = await v.verify(await signed({ scp: ['a', 'b'] }, { iss: IDP2 }));
    assert.equal(got.role, 'provider');
    assert.deepEqual(got.scope, ['a', 'b']);
    const none = await v.verify(await signed({ scope: undefined }));
    assert.deepEqual(none.scope, []);
  });

  it('rejects the wrong audience, and does not handle an unknown issuer', async () => {
    const v = createExternalVerifier(config(), { clock: new ManualClock(T0) });
    await rejectsWith(v.verify(await signed({}, { aud: 'someone-else' })), 'wrong_audience');
    const stranger = await signed({}, { iss: 'https://evil.example' });
    assert.equal(v.handles(stranger), false);
    assert.equal(v.handles('garbage'), false);
    await rejectsWith(v.verify(stranger), 'wrong_issuer');
  });

  it('rejects an nbf more than 30 s ahead', async () => {
    const v = createExternalVerifier(config(), { clock: new ManualClock(T0) });
    assert.equal((await v.verify(await signed({ nbf: T0_S + 30 }))).subject, 'user-42');
    await rejectsWith(v.verify(await signed({ nbf: T0_S + 31 })), 'not_yet_valid');
  });

  it('allows 30 s of clock skew on exp and no more', async () => {
    const clock = new ManualClock(T0);
    const v = createExternalVerifier(config(), { clock });
    const jwt = await signed({}, { exp: T0_S + 300 });
    // expired when exp <= now - 30
    const cases: [number, boolean][] = [
      [T0 + 329_000, true], // 300 - 329 = -29 s: within tolerance
      [T0 + 330_000, false], // exactly 30 s past exp
      [T0 + 3_600_000, false],
    ];
    for (const [now, ok] of cases) {
      clock.set(now);
      if (ok) assert.equal((await v.verify(jwt)).subject, 'user-42');
      else await rejectsWith(v.verify(jwt), 'expired');
    }
  });

  it('rejects an unknown kid, and picks up a rotated key once the cooldown allows', async () => {
    const strict = createExternalVerifier(config(), { clock: new ManualClock(T0) });
    await rejectsWith(strict.verify(await signed({}, { kid: 'nope' })), 'unknown_key');
    const rotating = createExternalVerifier(config(), { clock: new ManualClock(T0), cooldownMs: 0 });
    await rotating.verify(await signed({}));
    const edJwt = await signed({}, { key: 'ed' });
    await rejectsWith(rotating.verify(edJwt), 'unknown_key');
    served.push(keys.ed.jwk);
    try {
      const before = hits;
      assert.equal((await rotating.verify(edJwt)).subject, 'user-42');
      assert.equal(hits - before, 1, 'one refetch for the unknown kid');
    } finally {
      served.pop();
    }
  });

  it('refuses HS256 even when the secret is a published key', async () => {
    const v = createExternalVerifier(config(), { clock: new ManualClock(T0) });
    const secret = new TextEncoder().encode(JSON.stringify(served[0]));
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: keys.rsa.kid })
      .setIssuer(IDP)
      .setAudience('computemd')
      .setSubject('user-42')
      .setExpirationTime(T0_S + 300)
      .sign(secret);
    await rejectsWith(v.verify(hs), 'malformed');
    const none = `${base64url.encode('{"alg":"none"}')}.${hs.split('.')[1]}.`;
    await rejectsWith(v.verify(none), 'malformed');
  });

  it('requires exp', async () => {
    const v = createExternalVerifier(config(), { clock: new ManualClock(T0) });
    const k = keys.ec;
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: k.alg, kid: k.kid })
      .setIssuer(IDP)
      .setAudience('computemd')
      .setSubject('user-42')
      .sign(k.privateKey);
    await rejectsWith(v.verify(noExp), 'malformed');
  });

  it('reports an unreachable or failing JWKS as a transient unknown_key, not a crash', async () => {
    const down = createServer();
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    const port = (down.address() as AddressInfo).port;
    await new Promise<void>((r) => down.close(() => r()));
    const gone = createExternalVerifier(
      [{ issuer: IDP, jwks_url: `http://127.0.0.1:${port}/jwks`, audience: 'computemd' }],
      {
        clock: new ManualClock(T0),
      },
    );
    const jwt = await signed({});
    await rejectsWith(gone.verify(jwt), 'unknown_key', true);

    status = 500;
    try {
      const failing = createExternalVerifier(config(), { clock: new ManualClock(T0) });
      await rejectsWith(failing.verify(jwt), 'unknown_key', true);
    } finally {
      status = 200;
    }
  });

  it('refuses bad configuration at start', () => {
    const mk = (i: Partial<ExternalIssuer>) => () =>
      createExternalVerifier([{ issuer: IDP, jwks_url: url, audience: 'a', ...i }], {
        clock: new ManualClock(T0),
      });
    assert.throws(mk({ jwks_url: 'http://idp.example/jwks' }), /https/);
    assert.throws(mk({ jwks_url: 'not a url' }), /not a URL/);
    assert.doesNotThrow(mk({ jwks_url: 'https://idp.example/jwks' }));
    assert.throws(
      () => createExternalVerifier([...config(), config()[0]!], { clock: new ManualClock(T0) }),
      /configured twice/,
    );
  });
});

describe('parseTokenRequest', () => {
  const basic = (id: string, secret: string, encode = true) => {
    const f = (s: string) => (encode ? new URLSearchParams({ v: s }).toString().slice(2) : s);
    return `Basic ${Buffer.from(`${f(id)}:${f(secret)}`).toString('base64')}`;
  };
  const cc = { grant_type: 'client_credentials' };
  const ok = (client_id: string, client_secret: string, scope: string[] | null = null) => ({
    ok: true,
    grant_type: 'client_credentials',
    client_id,
    client_secret,
    scope,
  });
  const err = (status: number, error: string) => ({ ok: false, status, error });

  const cases: [string, unknown, string | undefined, object][] = [
    [
      'body credentials',
      { ...cc, client_id: 'tok_a', client_secret: 's3cret' },
      undefined,
      ok('tok_a', 's3cret'),
    ],
    ['Basic credentials', cc, basic('tok_a', 's3cret'), ok('tok_a', 's3cret')],
    // 'se:c+r%t' form-encodes to 'se%3Ac%2Br%25t': the ':' must not split id from secret.
    ['Basic with an encoded ":" in the secret', cc, basic('tok_a', 'se:c+r%t'), ok('tok_a', 'se:c+r%t')],
    ['Basic with an encoded ":" in the id', cc, basic('a:b', 'x'), ok('a:b', 'x')],
    ['Basic "+" decodes to a space', cc, basic('tok_a', 'a+b', false), ok('tok_a', 'a b')],
    ['Basic scheme is case-insensitive', cc, basic('tok_a', 's').replace('Basic', 'bAsIc'), ok('tok_a', 's')],
    [
      'Basic plus the same client_id in the body',
      { ...cc, client_id: 'tok_a' },
      basic('tok_a', 's'),
      ok('tok_a', 's'),
    ],
    [
      'scope tokens, deduplicated',
      { ...cc, client_id: 'a', client_secret: 's', scope: 'x:r  y x:r' },
      undefined,
      ok('a', 's', ['x:r', 'y']),
    ],
    [
      'an empty scope is omitted (§3.1)',
      { ...cc, client_id: 'a', client_secret: 's', scope: '' },
      undefined,
      ok('a', 's'),
    ],
    ['body not an object', 'grant_type=client_credentials', undefined, err(400, 'invalid_request')],
    ['null body', null, basic('a', 's'), err(400, 'invalid_request')],
    ['missing grant_type', { client_id: 'a', client_secret: 's' }, undefined, err(400, 'invalid_request')],
    [
      'repeated grant_type',
      { grant_type: ['client_credentials', 'password'] },
      basic('a', 's'),
      err(400, 'invalid_request'),
    ],
    [
      'non-string secret (JSON body)',
      { ...cc, client_id: 'a', client_secret: 42 },
      undefined,
      err(400, 'invalid_request'),
    ],
    [
      'password grant',
      { grant_type: 'password', username: 'u' },
      basic('a', 's'),
      err(400, 'unsupported_grant_type'),
    ],
    ['Basic and a body secret', { ...cc, client_secret: 's' }, basic('a', 's'), err(400, 'invalid_request')],
    [
      'Basic and another body client_id',
      { ...cc, client_id: 'b' },
      basic('a', 's'),
      err(400, 'invalid_request'),
    ],
    ['no credentials', cc, undefined, err(401, 'invalid_client')],
    ['client_id without secret', { ...cc, client_id: 'a' }, undefined, err(401, 'invalid_client')],
    ['empty secret', { ...cc, client_id: 'a', client_secret: '' }, undefined, err(401, 'invalid_client')],
    ['Bearer instead of Basic', cc, 'Bearer tok_a', err(401, 'invalid_client')],
    ['Basic that is not base64', cc, 'Basic !!!', err(401, 'invalid_client')],
    [
      'Basic without a colon',
      cc,
      `Basic ${Buffer.from('tok_a').toString('base64')}`,
      err(401, 'invalid_client'),
    ],
    ['Basic with a bad %-escape', cc, basic('tok_a', '%zz', false), err(401, 'invalid_client')],
    ['Basic with an empty secret', cc, basic('tok_a', ''), err(401, 'invalid_client')],
    ['scope with a quote', { ...cc, scope: 'a "b' }, basic('a', 's'), err(400, 'invalid_scope')],
    ['scope with a backslash', { ...cc, scope: 'a\\b' }, basic('a', 's'), err(400, 'invalid_scope')],
    ['scope of spaces only', { ...cc, scope: '   ' }, basic('a', 's'), err(400, 'invalid_scope')],
  ];
  for (const [name, body, auth, want] of cases) {
    it(name, () => {
      const got = parseTokenRequest(body, auth);
      if (got.ok) assert.deepEqual(got, want);
      else {
        const { error_description, ...rest } = got;
        assert.deepEqual(rest, want);
        assert.ok(error_description.length > 0);
      }
    });
  }
});
