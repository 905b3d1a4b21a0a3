import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { multibaseFromPublicKey } from './did-key.js';
import {
  createDidWebResolver,
  DidWebError,
  type DidWebErrorCode,
  didWebToUrl,
  type FetchLike,
  verificationMethodKey,
} from './did-web.js';
import { generateKey, publicKeyToJwk } from './keys.js';

describe('didWebToUrl', () => {
  const ok: [string, string][] = [
    ['did:web:example.com', 'https://example.com/.well-known/did.json'],
    ['did:web:example.com:user:alice', 'https://example.com/user/alice/did.json'],
    ['did:web:w3c-ccg.github.io', 'https://w3c-ccg.github.io/.well-known/did.json'],
    ['did:web:w3c-ccg.github.io:user:alice', 'https://w3c-ccg.github.io/user/alice/did.json'],
    ['did:web:example.com%3A3000', 'https://example.com:3000/.well-known/did.json'],
    ['did:web:example.com%3a3000:u%40x', 'https://example.com:3000/u%40x/did.json'],
    ['did:web:Example.COM', 'https://example.com/.well-known/did.json'],
  ];
  for (const [did, url] of ok) it(did, () => assert.equal(didWebToUrl(did), url));

  it('http override for tests', () => {
    assert.equal(
      didWebToUrl('did:web:127.0.0.1%3A8080', { insecureHttp: true }),
      'http://127.0.0.1:8080/.well-known/did.json',
    );
  });

  const bad = [
    'did:key:z6Mk',
    'did:web:',
    'did:web::user',
    'did:web:exa mple.com',
    'did:web:example.com%2Fevil',
    'did:web:example.com%3A99999',
    'did:web:example.com%3Aabc',
    'did:web:-bad.com',
    'did:web:example.com:..:x',
    'did:web:example.com:a%2Fb',
    'did:web:example.com:a/b',
    'did:web:example.com::x',
    'did:web:user@example.com',
  ];
  for (const did of bad) {
    it(`rejects ${did}`, () => {
      assert.throws(
        () => didWebToUrl(did),
        (e: unknown) => e instanceof DidWebError && e.code === 'bad_did',
      );
    });
  }
});

const DID = 'did:web:example.com:user:alice';

function docFor(did: string) {
  const ed = generateKey('Ed25519');
  const k1 = generateKey('secp256k1');
  return {
    '@context': ['https://www.w3.org/ns/did/v1'],
    id: did,
    verificationMethod: [
      {
        id: `${did}#key-1`,
        type: 'Multikey',
        controller: did,
        publicKeyMultibase: multibaseFromPublicKey('Ed25519', ed.publicKey),
      },
      {
        id: `${did}#key-2`,
        type: 'JsonWebKey2020',
        controller: did,
        publicKeyJwk: publicKeyToJwk('secp256k1', k1.publicKey),
      },
    ],
    _keys: { ed: ed.publicKey, k1: k1.publicKey },
  };
}

function fakeFetch(bodies: Record<string, unknown>) {
  const calls: string[] = [];
  const fetch: FetchLike = async (url) => {
    calls.push(url);
    await new Promise((r) => setImmediate(r));
    if (!(url in bodies)) return { ok: false, status: 404, text: async () => 'not found' };
    const b = bodies[url];
    return { ok: true, status: 200, text: async () => (typeof b === 'string' ? b : JSON.stringify(b)) };
  };
  return { fetch, calls };
}

describe('createDidWebResolver', () => {
  const url = didWebToUrl(DID);

  it('resolves, exposes keys, caches for ttl, then refetches', async () => {
    const { _keys, ...doc } = docFor(DID);
    const { fetch, calls } = fakeFetch({ [url]: doc });
    let now = 1_000;
    const r = createDidWebResolver({ fetch, clock: () => now, ttlMs: 60_000 });
    const got = await r.resolve(DID);
    assert.equal(got.id, DID);
    assert.deepEqual(verificationMethodKey(got.verificationMethod[0]!), {
      alg: 'Ed25519',
      publicKey: _keys.ed,
    });
    assert.deepEqual(verificationMethodKey(got.verificationMethod[1]!), {
      alg: 'secp256k1',
      publicKey: _keys.k1,
    });
    assert.ok(Object.isFrozen(got.verificationMethod[0]));
    now += 59_999;
    await r.resolve(DID);
    assert.equal(calls.length, 1);
    now += 1;
    await r.resolve(DID);
    assert.equal(calls.length, 2);
    r.invalidate(DID);
    await r.resolve(DID);
    assert.equal(calls.length, 3);
  });

  it('shares one in-flight fetch per DID and does not cache failures', async () => {
    const { _keys, ...doc } = docFor(DID);
    const bodies: Record<string, unknown> = {};
    const { fetch, calls } = fakeFetch(bodies);
    const r = createDidWebResolver({ fetch, clock: () => 0 });
    const failures = await Promise.allSettled([r.resolve(DID), r.resolve(DID), r.resolve(DID)]);
    assert.equal(calls.length, 1);
    for (const f of failures) {
      assert.ok(
        f.status === 'rejected' && f.reason instanceof DidWebError && f.reason.code === 'fetch_failed',
      );
    }
    bodies[url] = doc;
    const [a, b] = await Promise.all([r.resolve(DID), r.resolve(DID)]);
    assert.equal(calls.length, 2);
    assert.equal(a, b);
  });

  it('wraps network errors', async () => {
    const r = createDidWebResolver({
      fetch: async () => {
        throw new Error('ECONNREFUSED');
      },
    });
    await assert.rejects(
      r.resolve(DID),
      (e: unknown) => e instanceof DidWebError && e.code === 'fetch_failed' && /ECONNREFUSED/.test(e.message),
    );
  });

  const base = () => {
    const { _keys, ...doc } = docFor(DID);
    return doc as Record<string, unknown> & { verificationMethod: Record<string, unknown>[] };
  };
  const invalid: [string, () => unknown, DidWebErrorCode][] = [
    ['not JSON', () => '{nope', 'bad_document'],
    ['array', () => [], 'bad_document'],
    ['id mismatch', () => ({ ...base(), id: 'did:web:evil.com' }), 'bad_document'],
    ['no verificationMethod', () => ({ ...base(), verificationMethod: [] }), 'bad_document'],
    [
      'vm without key',
      () => {
        const d = base();
        delete d.verificationMethod[0]!.publicKeyMultibase;
        return d;
      },
      'bad_document',
    ],
    [
      'vm with both keys',
      () => {
        const d = base();
        d.verificationMethod[0]!.publicKeyJwk = { kty: 'OKP' };
        return d;
      },
      'bad_document',
    ],
    [
      'vm missing controller',
      () => {
        const d = base();
        delete d.verificationMethod[1]!.controller;
        return d;
      },
      'bad_document',
    ],
    [
      'bad multibase',
      () => {
        const d = base();
        d.verificationMethod[0]!.publicKeyMultibase = 'z111';
        return d;
      },
      'bad_document',
    ],
    [
      'bad jwk',
      () => {
        const d = base();
        d.verificationMethod[1]!.publicKeyJwk = { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' };
        return d;
      },
      'bad_document',
    ],
    [
      'private key',
      () => {
        const d = base();
        d.verificationMethod[1]!.privateKeyJwk = {};
        return d;
      },
      'bad_document',
    ],
    ['too large', () => ({ ...base(), pad: 'x'.repeat(300_000) }), 'bad_document'],
  ];
  for (const [name, make, code] of invalid) {
    it(`rejects document: ${name}`, async () => {
      const { fetch } = fakeFetch({ [url]: make() });
      const r = createDidWebResolver({ fetch });
      await assert.rejects(r.resolve(DID), (e: unknown) => e instanceof DidWebError && e.code === code);
    });
  }

  it('rejects a bad DID without fetching', async () => {
    const { fetch, calls } = fakeFetch({});
    await assert.rejects(
      createDidWebResolver({ fetch }).resolve('did:web:'),
      (e: unknown) => e instanceof DidWebError && e.code === 'bad_did',
    );
    assert.equal(calls.length, 0);
  });

  it('resolves from a real local HTTP server (insecureHttp, tests only)', async () => {
    let hits = 0;
    let did = '';
    const server = createServer((req, res) => {
      hits++;
      if (req.url !== '/.well-known/did.json') {
        res.writeHead(404).end();
        return;
      }
      const { _keys, ...doc } = docFor(did);
      res.writeHead(200, { 'content-type': 'application/did+json' }).end(JSON.stringify(doc));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      did = `did:web:127.0.0.1%3A${port}`;
      const r = createDidWebResolver({ insecureHttp: true });
      const doc = await r.resolve(did);
      assert.equal(doc.id, did);
      await r.resolve(did);
      assert.equal(hits, 1);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
