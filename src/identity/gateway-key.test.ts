import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { parseDidKey } from './did-key.js';
import { ensureGatewayKey, GatewayKeyError } from './gateway-key.js';
import { sign, verify } from './keys.js';

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function freshDataDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'computemd-gwkey-'));
  made.push(root);
  return join(root, 'data');
}

const mode = (p: string) => statSync(p).mode & 0o777;

describe('ensureGatewayKey', () => {
  it('creates a 0600 key on first start and reloads the same DID', () => {
    const dir = freshDataDir();
    const first = ensureGatewayKey(dir);
    assert.equal(first.created, true);
    assert.equal(first.path, join(dir, 'gateway.key'));
    assert.equal(mode(first.path), 0o600);
    assert.equal(mode(dir), 0o700);
    assert.match(first.did, /^did:key:z6Mk/);
    assert.deepEqual(parseDidKey(first.did), { alg: 'Ed25519', publicKey: first.key.publicKey });
    const stored = JSON.parse(readFileSync(first.path, 'utf8'));
    assert.equal(stored.did, first.did);
    assert.equal(Buffer.from(stored.secret_key, 'base64url').length, 32);

    const again = ensureGatewayKey(dir);
    assert.equal(again.created, false);
    assert.equal(again.did, first.did);
    const msg = new TextEncoder().encode('hello');
    assert.equal(verify(first.key.publicKey, 'Ed25519', msg, sign(again.key, msg)), true);
  });

  it('never shows the secret in JSON.stringify or util.inspect', () => {
    const { key, path, did } = ensureGatewayKey(freshDataDir());
    const secret = JSON.parse(readFileSync(path, 'utf8')).secret_key as string;
    const secretHex = Buffer.from(secret, 'base64url').toString('hex');
    for (const s of [
      JSON.stringify(key),
      inspect(key),
      JSON.stringify({ did, key }),
      inspect({ did, key }),
    ]) {
      assert.ok(!s.includes(secret) && !s.includes(secretHex), s);
      assert.ok(s.includes('[redacted]'), s);
    }
  });

  it('chmods an existing key file back to 0600', () => {
    const dir = freshDataDir();
    const { path, did } = ensureGatewayKey(dir);
    chmodSync(path, 0o644);
    assert.equal(ensureGatewayKey(dir).did, did);
    assert.equal(mode(path), 0o600);
  });

  const good = () => {
    const dir = freshDataDir();
    const { path } = ensureGatewayKey(dir);
    return { dir, path, stored: JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> };
  };
  const cases: [string, (s: Record<string, unknown>) => unknown, RegExp][] = [
    ['not JSON', () => '{', /not JSON/],
    ['array', () => [], /not a JSON object/],
    ['wrong version', (s) => ({ ...s, version: 2 }), /version/],
    ['wrong alg', (s) => ({ ...s, alg: 'P-256' }), /alg/],
    ['short secret', (s) => ({ ...s, secret_key: 'AAAA' }), /secret_key/],
    ['missing secret', (s) => ({ ...s, secret_key: undefined }), /secret_key/],
    [
      'DID mismatch',
      (s) => ({ ...s, did: 'did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp' }),
      /did does not match/,
    ],
  ];
  for (const [name, mutate, re] of cases) {
    it(`refuses a malformed file: ${name}`, () => {
      const { dir, path, stored } = good();
      const m = mutate(stored);
      writeFileSync(path, typeof m === 'string' ? m : JSON.stringify(m));
      assert.throws(
        () => ensureGatewayKey(dir),
        (e: unknown) =>
          e instanceof GatewayKeyError &&
          re.test(e.message) &&
          e.message.includes(path) &&
          !e.message.includes(String(stored.secret_key)),
      );
    });
  }
});
