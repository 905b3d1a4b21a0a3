import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { didKeyFromPublicKey } from '../identity/did-key.js';
import { createDidResolver } from '../identity/jws.js';
import { generateKey } from '../identity/keys.js';
import { checkManifest, signManifest, verifyManifest } from '../identity/manifest.js';
import { manifestFor, parseRunSpec, RUN_LIMITS, safeRelativePath } from './run-spec.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('parseRunSpec', () => {
  it('a command with inputs, outputs and a checkpoint interval, defaults filled', () => {
    const r = parseRunSpec({
      command: ['python3', 'train.py', '--epochs', '3'],
      env: { SEED: '1' },
      inputs: [{ path: 'train.py', content: 'print(1)', sha256: sha('print(1)') }],
      outputs: ['model.bin', 'logs/out.txt'],
      checkpoint: { interval_s: 10, resumable: true },
    });
    assert.ok(r.ok);
    assert.equal(r.value.kind, 'command');
    assert.deepEqual(r.value.resources, { cpus: 1, memory_gb: 1, gpus: 0 });
    assert.equal(r.value.timeout_s, RUN_LIMITS.defaultTimeoutS);
    assert.equal(r.value.network, false);
    assert.deepEqual(r.value.checkpoint, { interval_s: 10, resumable: true });
  });

  it('a wasm module and an image with its own command', () => {
    const w = parseRunSpec({ wasm: { module: { base64: 'AGFzbQEAAAA=', sha256: sha('x') }, args: ['a'] } });
    assert.ok(w.ok && w.value.kind === 'wasm');
    const i = parseRunSpec({ image: 'ghcr.io/org/app:1.2', command: ['serve'], resources: { gpus: 1 } });
    assert.ok(i.ok && i.value.kind === 'image' && i.value.command?.[0] === 'serve');
  });

  it('every bad field is named by its JSON pointer', () => {
    const cases: [unknown, string][] = [
      [null, '/run'],
      [{}, '/run'],
      [{ command: [] }, '/run/command'],
      [{ command: ['ok', 3] }, '/run/command/1'],
      [{ command: ['a'], wasm: { module: { base64: 'AA==', sha256: sha('') } } }, '/run'],
      [{ command: ['a'], colour: 1 }, '/run/colour'],
      [{ command: ['a'], env: { '1BAD': 'x' } }, '/run/env/1BAD'],
      [
        { command: ['a'], inputs: [{ path: '../etc/passwd', content: 'x', sha256: sha('x') }] },
        '/run/inputs/0/path',
      ],
      [{ command: ['a'], inputs: [{ path: '/abs', content: 'x', sha256: sha('x') }] }, '/run/inputs/0/path'],
      [{ command: ['a'], inputs: [{ path: 'a', sha256: sha('x') }] }, '/run/inputs/0'],
      [{ command: ['a'], inputs: [{ path: 'a', url: 'ftp://x', sha256: sha('x') }] }, '/run/inputs/0/url'],
      [{ command: ['a'], inputs: [{ path: 'a', content: 'x', sha256: 'ABC' }] }, '/run/inputs/0/sha256'],
      [
        {
          command: ['a'],
          inputs: [
            { path: 'a', content: 'x', sha256: sha('x') },
            { path: 'a', content: 'y', sha256: sha('y') },
          ],
        },
        '/run/inputs/1/path',
      ],
      [{ command: ['a'], outputs: ['ok', 'x/../../y'] }, '/run/outputs/1'],
      [{ command: ['a'], timeout_s: 0 }, '/run/timeout_s'],
      [{ command: ['a'], timeout_s: 1.5 }, '/run/timeout_s'],
      [{ command: ['a'], resources: { gpus: 0.5 } }, '/run/resources/gpus'],
      [{ command: ['a'], resources: { tpus: 1 } }, '/run/resources/tpus'],
      [{ command: ['a'], network: 'yes' }, '/run/network'],
      [{ command: ['a'], checkpoint: { interval_s: 0 } }, '/run/checkpoint/interval_s'],
      [{ wasm: { module: { sha256: sha('x') } } }, '/run/wasm/module'],
      [{ wasm: { module: { base64: '%%%', sha256: sha('x') } } }, '/run/wasm/module/base64'],
      [{ image: 'bad image name' }, '/run/image'],
    ];
    for (const [v, param] of cases) {
      const r = parseRunSpec(v);
      assert.equal(r.ok, false, JSON.stringify(v));
      if (!r.ok)
        assert.ok(
          r.problems.some((p) => p.param === param),
          `${JSON.stringify(v)} → ${JSON.stringify(r.problems)}`,
        );
    }
  });

  it('paths that would leave the work dir are refused', () => {
    for (const p of ['', '/x', '..', 'a/..', 'a//b', './a', 'a\\b', 'a\0b'])
      assert.equal(safeRelativePath(p), false, p);
    for (const p of ['a', 'a/b.txt', 'logs/2026/out']) assert.equal(safeRelativePath(p), true, p);
  });
});

describe('manifestFor', () => {
  it('a run becomes a manifest that signs, verifies and pins every digest', async () => {
    const r = parseRunSpec({
      wasm: { module: { base64: 'AGFzbQEAAAA=', sha256: sha('module') } },
      inputs: [{ path: 'data.csv', url: 'https://example.test/data.csv', sha256: sha('data') }],
    });
    assert.ok(r.ok);
    const key = generateKey('Ed25519');
    const did = didKeyFromPublicKey('Ed25519', key.publicKey);
    const m = manifestFor(r.value, { requester: did, iat: 1_750_000_000, nonce: 'nonce-1234' });
    assert.ok(checkManifest(m).ok, JSON.stringify(checkManifest(m)));
    assert.deepEqual(
      m.inputs.map((i) => i.sha256),
      [sha('data'), sha('module')],
    );
    const v = await verifyManifest(signManifest(m, { key, did }), createDidResolver());
    assert.equal(v.manifest.run.kind, 'wasm');
  });
});
