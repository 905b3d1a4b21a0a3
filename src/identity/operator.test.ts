import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { bearerToken, ensureOperator } from './operator.js';

const T0 = '2025-10-09T08:00:00.000Z';
const T1 = '2025-10-10T08:00:00.000Z';
const OPERATOR = { id: 'pr_operator', role: 'operator', name: 'operator' };

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A data dir that does not exist yet (ensureOperator creates it), inside a fresh temp dir. */
function freshDataDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'computemd-operator-'));
  made.push(root);
  return join(root, 'data');
}

const tokenIn = (dir: string) => readFileSync(join(dir, 'admin.token'), 'utf8').trim();

describe('ensureOperator', () => {
  it('first start creates admin.token (0600) and stores only the hash of the token', () => {
    const dir = freshDataDir();
    const setup = ensureOperator(dir, T0);
    assert.equal(setup.created, true);
    assert.equal(setup.tokenPath, join(dir, 'admin.token'));
    assert.equal(statSync(setup.tokenPath).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'principals.json')).mode & 0o777, 0o600);

    const token = tokenIn(dir);
    // cmd_admin_ + base64url of 32 random bytes (43 characters, no padding).
    assert.match(token, /^cmd_admin_[A-Za-z0-9_-]{43}$/);
    const text = readFileSync(join(dir, 'principals.json'), 'utf8');
    assert.ok(!text.includes(token), 'principals.json must not contain the raw token');
    assert.deepEqual(JSON.parse(text), [
      { ...OPERATOR, token_sha256: createHash('sha256').update(token).digest('hex'), created_at: T0 },
    ]);
    assert.deepEqual(setup.store.authenticate(token), OPERATOR);
    assert.deepEqual(setup.store.operator(), OPERATOR);
  });

  it('a second start reuses the operator: created=false, the same token authenticates', () => {
    const dir = freshDataDir();
    ensureOperator(dir, T0);
    const token = tokenIn(dir);
    const before = readFileSync(join(dir, 'principals.json'), 'utf8');

    const again = ensureOperator(dir, T1);
    assert.equal(again.created, false);
    assert.equal(tokenIn(dir), token);
    assert.equal(readFileSync(join(dir, 'principals.json'), 'utf8'), before, 'nothing rewritten');
    assert.deepEqual(again.store.authenticate(token), OPERATOR);
  });

  it('a wrong token is null', () => {
    const dir = freshDataDir();
    const { store } = ensureOperator(dir, T0);
    const token = tokenIn(dir);
    for (const wrong of ['', 'cmd_admin_nope', `${token}x`, token.slice(0, -1), token.toUpperCase()]) {
      assert.equal(store.authenticate(wrong), null, JSON.stringify(wrong));
    }
  });

  it('deleting admin.token re-creates the operator with a new token; the old one stops working', () => {
    const dir = freshDataDir();
    ensureOperator(dir, T0);
    const old = tokenIn(dir);
    rmSync(join(dir, 'admin.token'));

    const again = ensureOperator(dir, T1);
    assert.equal(again.created, true);
    const fresh = tokenIn(dir);
    assert.notEqual(fresh, old);
    assert.equal(statSync(again.tokenPath).mode & 0o777, 0o600);
    assert.deepEqual(again.store.authenticate(fresh), OPERATOR);
    assert.equal(again.store.authenticate(old), null);
    // Still one operator, recorded at the time of the re-creation.
    const principals = JSON.parse(readFileSync(join(dir, 'principals.json'), 'utf8')) as unknown[];
    assert.deepEqual(principals, [
      { ...OPERATOR, token_sha256: createHash('sha256').update(fresh).digest('hex'), created_at: T1 },
    ]);
    // A later start (as a restarted gateway would do) also refuses the old token.
    assert.equal(ensureOperator(dir, T1).store.authenticate(old), null);
  });
});

describe('bearerToken', () => {
  const cases: { header: string | undefined; token: string | null }[] = [
    { header: 'Bearer abc123', token: 'abc123' },
    { header: 'bearer abc123', token: 'abc123' },
    { header: 'BEARER abc123', token: 'abc123' },
    { header: 'Bearer   abc123  ', token: 'abc123' },
    { header: 'Bearer\tabc123', token: 'abc123' },
    { header: 'Bearer cmd_admin_A-b_9', token: 'cmd_admin_A-b_9' },
    { header: undefined, token: null },
    { header: '', token: null },
    { header: 'Bearer', token: null },
    { header: 'Bearer ', token: null },
    { header: 'Bearer abc 123', token: null },
    { header: 'Basic dXNlcjpwYXNz', token: null },
    { header: 'abc123', token: null },
    { header: ' Bearer abc123', token: null },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.header)} → ${JSON.stringify(c.token)}`, () => {
      assert.equal(bearerToken(c.header), c.token);
    });
  }
});
