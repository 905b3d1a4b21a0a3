import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { didKeyFromPublicKey } from './did-key.js';
import { createDidResolver, type DidSigner, decodeJws, signJws } from './jws.js';
import { generateKey, KEY_ALGS, type KeyAlg } from './keys.js';
import {
  checkManifest,
  MANIFEST_TYP,
  ManifestError,
  type ManifestErrorCode,
  manifestDigest,
  signManifest,
  verifyManifest,
  type WorkloadManifest,
} from './manifest.js';
import { issueUcan } from './ucan.js';

const signer = (alg: KeyAlg): DidSigner => {
  const key = generateKey(alg);
  return { key, did: didKeyFromPublicKey(alg, key.publicKey) };
};
const resolve = createDidResolver();
const b64u = (x: string) => Buffer.from(x).toString('base64url');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const isManifestError = (code: ManifestErrorCode) => (e: unknown) =>
  e instanceof ManifestError && e.code === code;

const manifest = (requester: string): WorkloadManifest => ({
  v: 1,
  requester,
  run: { image: 'ghcr.io/acme/train:1.2', command: ['python', 'train.py', '--epochs', '3'] },
  inputs: [
    { path: 'data/train.csv', sha256: sha('train') },
    { path: 'config.yaml', sha256: sha('config') },
  ],
  resources: { cpus: 8, memory_gb: 32, gpus: 1 },
  booking_id: 'bk_01',
  iat: 1_750_000_000,
  nonce: 'n-8f3a2c91d0',
});

/** Replaces the payload with `edit(payload)`, keeping the original header and signature. */
function tamper(jws: string, edit: (m: WorkloadManifest) => void): string {
  const [h, , s] = jws.split('.');
  const m = decodeJws(jws).payload as WorkloadManifest;
  edit(m);
  return `${h}.${b64u(JSON.stringify(m))}.${s}`;
}

describe('signManifest / verifyManifest', () => {
  for (const alg of KEY_ALGS) {
    it(`round-trips ${alg}`, async () => {
      const by = signer(alg);
      const jws = signManifest(manifest(by.did), by);
      assert.equal(decodeJws(jws).header.typ, MANIFEST_TYP);
      const v = await verifyManifest(jws, resolve);
      assert.deepEqual(v.manifest, manifest(by.did));
      assert.equal(v.did, by.did);
      assert.equal(v.digest, createHash('sha256').update(jws).digest('hex'));
      assert.equal(v.digest, manifestDigest(jws));
    });
  }

  it('refuses a manifest changed after signing', async () => {
    const by = signer('P-256');
    const jws = signManifest(manifest(by.did), by);
    const edits: [string, (m: WorkloadManifest) => void][] = [
      [
        'one byte of run',
        (m) => {
          (m.run.command as string[])[3] = '4';
        },
      ],
      [
        'an input digest',
        (m) => {
          m.inputs[0]!.sha256 = sha('poisoned');
        },
      ],
      [
        'resources',
        (m) => {
          m.resources.gpus = 8;
        },
      ],
    ];
    for (const [name, edit] of edits) {
      await assert.rejects(
        verifyManifest(tamper(jws, edit), resolve),
        isManifestError('bad_signature'),
        name,
      );
    }
  });

  it('refuses a signer that is not the requester', async () => {
    const alice = signer('Ed25519');
    const mallory = signer('Ed25519');
    assert.throws(() => signManifest(manifest(alice.did), mallory), isManifestError('requester_mismatch'));
    const forged = signJws(manifest(alice.did), mallory, { typ: MANIFEST_TYP });
    await assert.rejects(verifyManifest(forged, resolve), isManifestError('requester_mismatch'));
  });

  it('refuses other JWS types and non-JWS input as malformed', async () => {
    const by = signer('Ed25519');
    const ucan = issueUcan({
      issuer: by,
      audience: by.did,
      capabilities: { 'computemd:principal:pr_x': { 'compute/book': [{}] } },
      expiresAt: null,
    });
    await assert.rejects(verifyManifest(ucan, resolve), isManifestError('malformed'));
    await assert.rejects(verifyManifest('not.a.jws', resolve), isManifestError('malformed'));
  });

  it('refuses a correctly signed but invalid manifest, naming the fields', async () => {
    const by = signer('secp256k1');
    const bad = { ...manifest(by.did), iat: -1, inputs: [{ path: '../etc/passwd', sha256: 'x' }] };
    const jws = signJws(bad, by, { typ: MANIFEST_TYP });
    await assert.rejects(verifyManifest(jws, resolve), (e: unknown) => {
      assert.ok(e instanceof ManifestError && e.code === 'invalid');
      assert.deepEqual(
        e.problems?.map((p) => p.param),
        ['/inputs/0/path', '/inputs/0/sha256', '/iat'],
      );
      return true;
    });
  });
});

describe('checkManifest', () => {
  const did = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
  const cases: [string, (m: Record<string, unknown>) => void, string[]][] = [
    ['valid', () => {}, []],
    ['no booking_id and no resources', (m) => Object.assign(m, { booking_id: undefined, resources: {} }), []],
    [
      'v 2',
      (m) => {
        m.v = 2;
      },
      ['/v'],
    ],
    [
      'requester not a DID',
      (m) => {
        m.requester = 'alice';
      },
      ['/requester'],
    ],
    [
      'run empty',
      (m) => {
        m.run = {};
      },
      ['/run'],
    ],
    [
      'run a string',
      (m) => {
        m.run = 'echo hi';
      },
      ['/run'],
    ],
    [
      'inputs not an array',
      (m) => {
        m.inputs = {};
      },
      ['/inputs'],
    ],
    [
      'input digest upper-case',
      (m) => {
        (m.inputs as { sha256: string }[])[1]!.sha256 = sha('c').toUpperCase();
      },
      ['/inputs/1/sha256'],
    ],
    [
      'input digest short',
      (m) => {
        (m.inputs as { sha256: string }[])[0]!.sha256 = 'abc';
      },
      ['/inputs/0/sha256'],
    ],
    [
      'absolute path',
      (m) => {
        (m.inputs as { path: string }[])[0]!.path = '/etc/passwd';
      },
      ['/inputs/0/path'],
    ],
    [
      'duplicate path',
      (m) => {
        (m.inputs as { path: string }[])[1]!.path = 'data/train.csv';
      },
      ['/inputs/1/path'],
    ],
    [
      'extra input field',
      (m) => {
        (m.inputs as Record<string, unknown>[])[0]!.url = 'https://x';
      },
      ['/inputs/0/url'],
    ],
    [
      'gpus fractional',
      (m) => {
        m.resources = { gpus: 0.5 };
      },
      ['/resources/gpus'],
    ],
    [
      'cpus zero',
      (m) => {
        m.resources = { cpus: 0 };
      },
      ['/resources/cpus'],
    ],
    [
      'unknown resource',
      (m) => {
        m.resources = { 'disk/gb': 1 };
      },
      ['/resources/disk~1gb'],
    ],
    [
      'iat in ms is still an integer',
      (m) => {
        m.iat = 1_750_000_000_000;
      },
      [],
    ],
    [
      'iat fractional',
      (m) => {
        m.iat = 1.5;
      },
      ['/iat'],
    ],
    [
      'nonce short',
      (m) => {
        m.nonce = 'abc';
      },
      ['/nonce'],
    ],
    [
      'unknown field',
      (m) => {
        m.priority = 'high';
      },
      ['/priority'],
    ],
    [
      'several at once',
      (m) => Object.assign(m, { v: 0, nonce: 1, booking_id: '' }),
      ['/v', '/booking_id', '/nonce'],
    ],
  ];
  for (const [name, edit, params] of cases) {
    it(name, () => {
      const m = structuredClone(manifest(did)) as unknown as Record<string, unknown>;
      edit(m);
      for (const k of Object.keys(m)) if (m[k] === undefined) delete m[k];
      const r = checkManifest(m);
      if (params.length === 0) assert.deepEqual(r, { ok: true, value: m });
      else assert.deepEqual(r.ok ? [] : r.problems.map((p) => p.param), params);
    });
  }

  it('a non-object is one problem at the root', () => {
    assert.deepEqual(checkManifest([]), {
      ok: false,
      problems: [{ param: '', detail: 'must be a JSON object' }],
    });
  });

  it('signManifest refuses an invalid manifest with its problems', () => {
    const by = signer('Ed25519');
    assert.throws(
      () => signManifest({ ...manifest(by.did), nonce: '' }, by),
      (e: unknown) =>
        e instanceof ManifestError && e.code === 'invalid' && e.problems?.[0]?.param === '/nonce',
    );
  });
});
