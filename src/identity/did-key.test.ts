import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  base58btcDecode,
  base58btcEncode,
  DidKeyError,
  type DidKeyErrorCode,
  didKeyFromPublicKey,
  parseDidKey,
} from './did-key.js';
import { DID_KEY_VECTORS } from './did-key.vectors.js';
import { generateKey, importSecretKey, KEY_ALGS, publicKeyFromJwk } from './keys.js';

const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

describe('did:key published test vectors (w3c-ccg/did-method-key)', () => {
  for (const v of DID_KEY_VECTORS) {
    it(`${v.alg} ${v.did}`, () => {
      let pub: Uint8Array;
      if (v.privateKeyJwk) {
        const { d, ...publicJwk } = v.privateKeyJwk;
        const fromJwk = publicKeyFromJwk(publicJwk);
        assert.equal(fromJwk.alg, v.alg);
        pub = fromJwk.publicKey;
        const k = importSecretKey(v.alg, new Uint8Array(Buffer.from(d, 'base64url')));
        assert.deepEqual(k.publicKey, pub);
      } else {
        assert.ok(v.publicKeyBase58);
        pub = base58btcDecode(v.publicKeyBase58);
        const secret = v.seed ? hex(v.seed) : base58btcDecode(v.privateKeyBase58 ?? '');
        if (v.seed && v.privateKeyBase58) assert.deepEqual(base58btcDecode(v.privateKeyBase58), secret);
        // the published public key is the one derived from the published secret
        assert.deepEqual(importSecretKey(v.alg, secret).publicKey, pub);
      }
      assert.equal(didKeyFromPublicKey(v.alg, pub), v.did);
      assert.deepEqual(parseDidKey(v.did), { alg: v.alg, publicKey: pub });
    });
  }

  it('multicodec prefixes are the published ones', () => {
    const prefixOf = (did: string) => base58btcDecode(did.slice('did:key:z'.length)).subarray(0, 2);
    const first = (alg: string) => DID_KEY_VECTORS.find((v) => v.alg === alg)?.did ?? '';
    assert.deepEqual([...prefixOf(first('Ed25519'))], [0xed, 0x01]);
    assert.deepEqual([...prefixOf(first('P-256'))], [0x80, 0x24]);
    assert.deepEqual([...prefixOf(first('secp256k1'))], [0xe7, 0x01]);
  });
});

describe('did:key round-trips', () => {
  for (const alg of KEY_ALGS) {
    it(alg, () => {
      for (let i = 0; i < 5; i++) {
        const k = generateKey(alg);
        const did = didKeyFromPublicKey(alg, k.publicKey);
        assert.deepEqual(parseDidKey(did), { alg, publicKey: k.publicKey });
      }
    });
  }

  it('base58btc keeps leading zeros', () => {
    for (const b of [[], [0], [0, 0, 1], [0, 255, 0], [255, 255]]) {
      const bytes = Uint8Array.from(b);
      assert.deepEqual(base58btcDecode(base58btcEncode(bytes)), bytes);
    }
    assert.equal(base58btcEncode(Uint8Array.from([0, 0, 1])), '112');
  });
});

describe('did:key errors', () => {
  const ed = DID_KEY_VECTORS[0]?.did ?? '';
  const enc = (bytes: number[]) => `did:key:z${base58btcEncode(Uint8Array.from(bytes))}`;
  const edPub = [...base58btcDecode(ed.slice('did:key:z'.length)).subarray(2)];
  const cases: [string, string, DidKeyErrorCode][] = [
    ['wrong method', ed.replace('did:key:', 'did:web:'), 'not_did_key'],
    ['no prefix', ed.slice('did:key:'.length), 'not_did_key'],
    ['fragment', `${ed}#${ed.slice(8)}`, 'not_did_key'],
    ['not z-multibase', `did:key:f${'00'.repeat(34)}`, 'not_base58btc_multibase'],
    ['empty id', 'did:key:', 'not_base58btc_multibase'],
    ['bad base58 char', `${ed.slice(0, -1)}0`, 'bad_base58'],
    ['unknown multicodec (x25519 0xec)', enc([0xec, 0x01, ...edPub]), 'unknown_multicodec'],
    ['truncated varint', enc([0x80]), 'bad_varint'],
    ['short Ed25519 key', enc([0xed, 0x01, ...edPub.slice(1)]), 'bad_key_length'],
    ['long Ed25519 key', enc([0xed, 0x01, ...edPub, 0]), 'bad_key_length'],
    ['uncompressed P-256', enc([0x80, 0x24, 4, ...new Array(64).fill(1)]), 'bad_key_length'],
    ['secp256k1 not on curve', enc([0xe7, 0x01, 5, ...new Array(32).fill(1)]), 'invalid_key'],
  ];
  for (const [name, did, code] of cases) {
    it(name, () => {
      assert.throws(
        () => parseDidKey(did),
        (e: unknown) => e instanceof DidKeyError && e.code === code && e.message.length > 0,
      );
    });
  }

  it('refuses to encode a wrong-length key', () => {
    assert.throws(
      () => didKeyFromPublicKey('P-256', new Uint8Array(32)),
      (e: unknown) => e instanceof DidKeyError && e.code === 'bad_key_length',
    );
  });
});
