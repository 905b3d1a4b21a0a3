import assert from 'node:assert/strict';
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { describe, it } from 'node:test';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { compactVerify, importJWK } from 'jose';
import { didKeyFromPublicKey, multibaseFromPublicKey } from './did-key.js';
import type { DidDocument, DidWebResolver } from './did-web.js';
import {
  createDidResolver,
  type DidSigner,
  decodeJws,
  JwsError,
  type JwsErrorCode,
  jwsAlgFor,
  signJws,
  verifyJws,
} from './jws.js';
import { generateKey, KEY_ALGS, type KeyAlg, publicKeyFromJwk, publicKeyToJwk, sign } from './keys.js';

const signer = (alg: KeyAlg): DidSigner => {
  const key = generateKey(alg);
  return { key, did: didKeyFromPublicKey(alg, key.publicKey) };
};
const resolve = createDidResolver();
const b64u = (x: Uint8Array | string) => Buffer.from(x).toString('base64url');
const json64 = (x: unknown) => b64u(JSON.stringify(x));
const parts = (jws: string) => jws.split('.') as [string, string, string];
const isJwsError = (code: JwsErrorCode) => (e: unknown) => e instanceof JwsError && e.code === code;

/** Signs header+payload exactly as given (no checks), for building hostile inputs. */
function rawJws(header: unknown, payload: string, by: DidSigner): string {
  const input = `${json64(header)}.${payload}`;
  return `${input}.${b64u(sign(by.key, Buffer.from(input)))}`;
}

describe('signJws / verifyJws', () => {
  for (const alg of KEY_ALGS) {
    it(`round-trips ${alg} (${jwsAlgFor(alg)})`, async () => {
      const by = signer(alg);
      const jws = signJws({ hello: 'world', n: 1 }, by, { typ: 'JWT', extra: 'x' });
      const { header } = decodeJws(jws);
      const mb = by.did.slice('did:key:'.length);
      assert.deepEqual(header, { alg: jwsAlgFor(alg), typ: 'JWT', kid: `${by.did}#${mb}`, extra: 'x' });
      const v = await verifyJws(jws, resolve, { expectedDid: by.did, typ: 'jwt' });
      assert.deepEqual(v.payload, { hello: 'world', n: 1 });
      assert.equal(v.did, by.did);
      assert.equal(v.kid, `${by.did}#${mb}`);
    });
  }

  it('refuses a tampered header, payload or signature', async () => {
    for (const alg of KEY_ALGS) {
      const by = signer(alg);
      const [h, p, s] = parts(signJws({ amount: 10 }, by, { typ: 'JWT' }));
      const header = JSON.parse(Buffer.from(h, 'base64url').toString());
      const sig = Buffer.from(s, 'base64url');
      sig[5] = (sig[5] ?? 0) ^ 1;
      const tampered = [
        `${json64({ ...header, typ: 'JOSE' })}.${p}.${s}`,
        `${h}.${json64({ amount: 11 })}.${s}`,
        `${h}.${p}.${b64u(sig)}`,
      ];
      for (const t of tampered) await assert.rejects(verifyJws(t, resolve), isJwsError('bad_signature'), alg);
    }
  });

  it('refuses alg confusion: the header alg must be the key algorithm', async () => {
    const ed = signer('Ed25519');
    const p = signer('P-256');
    // An ES256 header naming the Ed25519 key, signed by the P-256 key: there is no P-256 key to check.
    const forged = rawJws({ alg: 'ES256', kid: `${ed.did}#${ed.did.slice(8)}` }, json64({}), p);
    await assert.rejects(verifyJws(forged, resolve), isJwsError('bad_signature'));
    // An EdDSA header over a P-256 key.
    const input = `${json64({ alg: 'EdDSA', kid: p.did })}.${json64({})}`;
    const bytes = `${input}.${b64u(sign(p.key, Buffer.from(input)))}`;
    await assert.rejects(verifyJws(bytes, resolve), isJwsError('bad_signature'));
    await assert.rejects(
      verifyJws(rawJws({ alg: 'HS256', kid: ed.did }, json64({}), ed), resolve),
      isJwsError('unsupported_alg'),
    );
  });

  it('refuses malformed input before verifying', async () => {
    const by = signer('Ed25519');
    const good = signJws({ a: 1 }, by);
    const [h, p, s] = parts(good);
    const cases: [string, string][] = [
      ['alg none', `${json64({ alg: 'none', kid: by.did })}.${p}.`],
      ['alg NONE', `${json64({ alg: 'NONE', kid: by.did })}.${p}.${s}`],
      ['crit', rawJws({ alg: 'EdDSA', kid: by.did, crit: ['b64'], b64: false }, p, by)],
      ['payload not JSON', rawJws({ alg: 'EdDSA', kid: by.did }, b64u('not json'), by)],
      ['header not an object', `${json64([1])}.${p}.${s}`],
      ['two parts', `${h}.${p}`],
      ['padding', `${h}.${p}.${s}=`],
      ['non-canonical base64url', `${h}.${p.slice(0, -1)}${p.endsWith('9') ? '8' : '9'}.${s}`],
      ['oversize', rawJws({ alg: 'EdDSA', kid: by.did }, json64({ pad: 'x'.repeat(70_000) }), by)],
      ['kid not a DID URL', rawJws({ alg: 'EdDSA', kid: 'key-1' }, p, by)],
      ['no kid', rawJws({ alg: 'EdDSA' }, p, by)],
    ];
    for (const [name, jws] of cases) {
      await assert.rejects(verifyJws(jws, resolve), isJwsError('malformed'), name);
    }
  });

  it('wrong_signer, wrong_type and unknown_key', async () => {
    const by = signer('secp256k1');
    const other = signer('secp256k1');
    const jws = signJws({}, by, { typ: 'JWT' });
    await assert.rejects(verifyJws(jws, resolve, { expectedDid: other.did }), isJwsError('wrong_signer'));
    await assert.rejects(verifyJws(jws, resolve, { typ: 'other+jws' }), isJwsError('wrong_type'));
    const web = rawJws({ alg: 'ES256K', kid: 'did:web:example.com#k' }, json64({}), by);
    await assert.rejects(verifyJws(web, resolve), isJwsError('unknown_key'));
    const plc = rawJws({ alg: 'ES256K', kid: 'did:plc:abc' }, json64({}), by);
    await assert.rejects(verifyJws(plc, resolve), isJwsError('unknown_key'));
    const otherFragment = rawJws({ alg: 'ES256K', kid: `${by.did}#${other.did.slice(8)}` }, json64({}), by);
    await assert.rejects(verifyJws(otherFragment, resolve), isJwsError('unknown_key'));
    // A missing kid is allowed only when the caller says which DID signed (UCAN iss).
    const bare = rawJws({ alg: 'ES256K', typ: 'JWT' }, json64({ x: 1 }), by);
    assert.equal((await verifyJws(bare, resolve, { expectedDid: by.did })).kid, by.did);
    await assert.rejects(verifyJws(bare, resolve, { expectedDid: other.did }), isJwsError('bad_signature'));
  });

  it('refuses to sign with a did that is not its key, or caller-set alg/kid', () => {
    const a = signer('Ed25519');
    const b = signer('Ed25519');
    assert.throws(() => signJws({}, { key: a.key, did: b.did }), isJwsError('wrong_signer'));
    assert.throws(() => signJws({}, { key: a.key, did: 'did:web:example.com' }), isJwsError('wrong_signer'));
    assert.throws(() => signJws({}, a, { alg: 'none' }), TypeError);
    assert.throws(() => signJws({}, a, { kid: b.did }), TypeError);
  });

  it('resolves a did:web kid through the DidWebResolver', async () => {
    const did = 'did:web:example.com:user:alice';
    const ed = generateKey('Ed25519');
    const p = generateKey('P-256');
    const doc: DidDocument = {
      id: did,
      verificationMethod: [
        {
          id: `${did}#a`,
          type: 'Multikey',
          controller: did,
          publicKeyMultibase: multibaseFromPublicKey('Ed25519', ed.publicKey),
        },
        {
          id: `${did}#b`,
          type: 'JsonWebKey2020',
          controller: did,
          publicKeyJwk: { ...publicKeyToJwk('P-256', p.publicKey) },
        },
      ],
    };
    const asked: string[] = [];
    const web: DidWebResolver = {
      resolve: async (d) => {
        asked.push(d);
        if (d !== did) throw new Error('404');
        return doc;
      },
      invalidate: () => {},
    };
    const r = createDidResolver({ web });
    for (const [key, kid] of [
      [ed, `${did}#a`],
      [p, `${did}#b`],
    ] as const) {
      const v = await verifyJws(signJws({ ok: true }, { key, did, kid }), r, { expectedDid: did });
      assert.equal(v.did, did);
      assert.equal(v.kid, kid);
    }
    assert.deepEqual(asked, [did, did]);
    const stranger = { key: generateKey('Ed25519'), did, kid: `${did}#a` };
    await assert.rejects(verifyJws(signJws({}, stranger), r), isJwsError('bad_signature'));
    const unknown = { key: ed, did: 'did:web:evil.example', kid: 'did:web:evil.example#a' };
    await assert.rejects(verifyJws(signJws({}, unknown), r), isJwsError('unknown_key'));
    assert.throws(() => signJws({}, { key: ed, did }), isJwsError('wrong_signer')); // did:web needs kid
  });
});

describe('interop with node:crypto (and jose)', () => {
  it('verifies JWS made by node:crypto Ed25519 and P-256 (ieee-p1363)', async () => {
    for (const [type, alg, hash] of [
      ['ed25519', 'EdDSA', null],
      ['ec', 'ES256', 'sha256'],
    ] as const) {
      // Several signatures: node does not normalise S, so some P-256 ones are high-S.
      for (let i = 0; i < 6; i++) {
        const { publicKey, privateKey } =
          type === 'ed25519'
            ? generateKeyPairSync('ed25519')
            : generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const pub = publicKeyFromJwk(publicKey.export({ format: 'jwk' }));
        const did = didKeyFromPublicKey(pub.alg, pub.publicKey);
        const input = `${json64({ alg, kid: did })}.${json64({ i })}`;
        const sig = nodeSign(hash, Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
        const v = await verifyJws(`${input}.${b64u(sig)}`, resolve);
        assert.deepEqual(v.payload, { i });
      }
    }
  });

  it('our EdDSA and ES256 JWS verify with node:crypto and jose', async () => {
    for (const [alg, hash] of [
      ['Ed25519', null],
      ['P-256', 'sha256'],
    ] as const) {
      const by = signer(alg);
      const jws = signJws({ x: 1 }, by);
      const [h, p, s] = parts(jws);
      const jwk = publicKeyToJwk(alg, by.key.publicKey);
      const key = createPublicKey({ key: { ...jwk }, format: 'jwk' });
      const ok = nodeVerify(
        hash,
        Buffer.from(`${h}.${p}`),
        { key, dsaEncoding: 'ieee-p1363' },
        Buffer.from(s, 'base64url'),
      );
      assert.equal(ok, true, alg);
      const viaJose = await compactVerify(jws, await importJWK({ ...jwk }, jwsAlgFor(alg)));
      assert.deepEqual(JSON.parse(Buffer.from(viaJose.payload).toString()), { x: 1 });
    }
  });

  it('ES256K is r||s over SHA-256 of the signing input (RFC 8812), low-S', () => {
    const by = signer('secp256k1');
    const [h, p, s] = parts(signJws({ y: 2 }, by));
    const digest = createHash('sha256').update(`${h}.${p}`).digest();
    const sig = Buffer.from(s, 'base64url');
    assert.equal(sig.length, 64);
    assert.equal(secp256k1.verify(sig, digest, by.key.publicKey, { prehash: false }), true);
    assert.equal(secp256k1.Signature.fromBytes(sig).hasHighS(), false);
  });

  it('accepts high-S ES256 (RFC 7518 allows it) and refuses high-S ES256K', async () => {
    for (const [alg, curve, accepted] of [
      ['P-256', p256, true],
      ['secp256k1', secp256k1, false],
    ] as const) {
      const by = signer(alg);
      const [h, p, s] = parts(signJws({}, by));
      const sig = curve.Signature.fromBytes(Buffer.from(s, 'base64url'));
      const high = new curve.Signature(sig.r, curve.Point.Fn.neg(sig.s)).toBytes('compact');
      const verdict = verifyJws(`${h}.${p}.${b64u(high)}`, resolve).then(() => true);
      if (accepted) assert.equal(await verdict, true);
      else await assert.rejects(verdict, isJwsError('bad_signature'));
    }
  });
});
