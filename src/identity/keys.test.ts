import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  exportSecretKey,
  generateKey,
  importSecretKey,
  KEY_ALGS,
  KeyError,
  PUBLIC_KEY_LENGTH,
  publicKeyFromJwk,
  publicKeyToJwk,
  sign,
  verify,
} from './keys.js';

const msg = new TextEncoder().encode('computemd keys test');

describe('keys', () => {
  for (const alg of KEY_ALGS) {
    describe(alg, () => {
      it('generates, signs and verifies; public key and signature sizes', () => {
        const k = generateKey(alg);
        assert.equal(k.publicKey.length, PUBLIC_KEY_LENGTH[alg]);
        if (alg !== 'Ed25519') assert.ok(k.publicKey[0] === 2 || k.publicKey[0] === 3);
        const sig = sign(k, msg);
        assert.equal(sig.length, 64);
        assert.equal(verify(k.publicKey, alg, msg, sig), true);
        const other = new Uint8Array(msg);
        other[0] = (other[0] ?? 0) ^ 1;
        assert.equal(verify(k.publicKey, alg, other, sig), false);
        assert.equal(verify(generateKey(alg).publicKey, alg, msg, sig), false);
        assert.equal(verify(k.publicKey, alg, msg, sig.subarray(0, 63)), false);
        assert.equal(verify(k.publicKey.subarray(1), alg, msg, sig), false);
      });

      it('exports and re-imports to the same key', () => {
        const k = generateKey(alg);
        const again = importSecretKey(alg, exportSecretKey(k));
        assert.deepEqual(again.publicKey, k.publicKey);
        assert.equal(verify(k.publicKey, alg, msg, sign(again, msg)), true);
      });

      it('never shows the secret in JSON or inspect', () => {
        const k = generateKey(alg);
        const secretHex = Buffer.from(exportSecretKey(k)).toString('hex');
        const secretB64 = Buffer.from(exportSecretKey(k)).toString('base64url');
        for (const s of [JSON.stringify(k), inspect(k), inspect({ k }, { depth: 5 }), String(k)]) {
          assert.ok(s.includes('[redacted]'), s);
          assert.ok(!s.includes(secretHex) && !s.includes(secretB64), s);
        }
        assert.deepEqual(Object.keys(k).sort(), ['alg', 'publicKey']);
      });

      it('round-trips the public JWK', () => {
        const k = generateKey(alg);
        const jwk = publicKeyToJwk(alg, k.publicKey);
        assert.deepEqual(publicKeyFromJwk(jwk), { alg, publicKey: k.publicKey });
      });
    });
  }

  it('ECDSA signs over SHA-256 (ES256/ES256K) with low-S', () => {
    for (const [alg, curve] of [
      ['P-256', p256],
      ['secp256k1', secp256k1],
    ] as const) {
      const k = generateKey(alg);
      for (let i = 0; i < 8; i++) {
        const m = new TextEncoder().encode(`m${i}`);
        const sig = sign(k, m);
        assert.equal(curve.verify(sig, m, k.publicKey, { prehash: true, lowS: true }), true);
        assert.equal(curve.Signature.fromBytes(sig).hasHighS(), false);
      }
    }
  });

  it('accepts high-S for P-256 but rejects it for secp256k1', () => {
    for (const [alg, curve, expected] of [
      ['P-256', p256, true],
      ['secp256k1', secp256k1, false],
    ] as const) {
      const k = generateKey(alg);
      const s = curve.Signature.fromBytes(sign(k, msg));
      const high = new curve.Signature(s.r, curve.Point.Fn.neg(s.s)).toBytes('compact');
      assert.equal(verify(k.publicKey, alg, msg, high), expected, alg);
    }
  });

  it('rejects bad secrets and algorithms with KeyError', () => {
    const cases: [string, () => unknown, string][] = [
      ['short secret', () => importSecretKey('Ed25519', new Uint8Array(31)), 'bad_secret_key'],
      ['zero scalar', () => importSecretKey('P-256', new Uint8Array(32)), 'bad_secret_key'],
      ['scalar >= n', () => importSecretKey('secp256k1', new Uint8Array(32).fill(0xff)), 'bad_secret_key'],
      ['unknown alg', () => generateKey('RSA' as never), 'unknown_alg'],
      ['bad jwk', () => publicKeyFromJwk({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }), 'bad_jwk'],
      ['jwk crv', () => publicKeyFromJwk({ kty: 'EC', crv: 'P-384', x: '', y: '' }), 'bad_jwk'],
    ];
    for (const [name, fn, code] of cases) {
      assert.throws(fn, (e: unknown) => e instanceof KeyError && e.code === code, name);
    }
  });
});
