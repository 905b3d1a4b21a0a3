import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createIdSource, openStore, type Store } from '../storage/index.js';
import { ManualClock } from '../util/clock.js';
import {
  ADMIN_TOKEN_LABEL,
  ensureOperator,
  keyPrefix,
  newApiKey,
  OPERATOR_ID,
  sha256Hex,
} from './principals.js';

const DID = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';

describe('ensureOperator (real SQLite)', () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  after(async () => {
    for (const s of stores) await s.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  async function fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'computemd-principals-'));
    dirs.push(dir);
    const clock = new ManualClock(Date.UTC(2026, 10, 25));
    const store = openStore({ dataDir: dir, clock });
    stores.push(store);
    await store.migrate();
    return { dir, store, clock, ids: createIdSource(clock) };
  }

  test('the first start creates the operator and a 0600 admin token stored only as a hash', async () => {
    const { dir, store, clock, ids } = await fresh();
    const r = await ensureOperator(store.identity, ids, dir, DID, clock.now());
    assert.equal(r.created, true);
    assert.equal(statSync(r.tokenPath).mode & 0o777, 0o600);
    const token = readFileSync(r.tokenPath, 'utf8').trim();
    assert.match(token, /^cmd_admin_[A-Za-z0-9_-]{43}$/);
    const op = await store.identity.getPrincipal(OPERATOR_ID);
    assert.equal(op?.role, 'operator');
    assert.equal(op?.did, DID);
    const rec = await store.identity.tokenByLookup(sha256Hex(token));
    assert.equal(rec?.principal, OPERATOR_ID);
    assert.equal(rec?.label, ADMIN_TOKEN_LABEL);
    assert.ok(!JSON.stringify(rec).includes(token), 'the stored record holds no secret');

    const again = await ensureOperator(store.identity, ids, dir, DID, clock.now());
    assert.equal(again.created, false);
    assert.equal(readFileSync(r.tokenPath, 'utf8').trim(), token);
  });

  test('a deleted admin.token is replaced and the old one revoked', async () => {
    const { dir, store, clock, ids } = await fresh();
    const r = await ensureOperator(store.identity, ids, dir, DID, clock.now());
    const old = readFileSync(r.tokenPath, 'utf8').trim();
    unlinkSync(r.tokenPath);
    clock.advance(1000);
    const r2 = await ensureOperator(store.identity, ids, dir, DID, clock.now());
    assert.equal(r2.created, true);
    const fresh2 = readFileSync(r2.tokenPath, 'utf8').trim();
    assert.notEqual(fresh2, old);
    assert.notEqual((await store.identity.tokenByLookup(sha256Hex(old)))?.revoked_at, null);
    assert.equal((await store.identity.tokenByLookup(sha256Hex(fresh2)))?.revoked_at, null);
  });

  test('an existing admin.token is registered in a new database (a data dir outlives its database)', async () => {
    const { dir, store, clock, ids } = await fresh();
    writeFileSync(join(dir, 'admin.token'), 'cmd_admin_from_an_older_install\n', { mode: 0o600 });
    const r = await ensureOperator(store.identity, ids, dir, DID, clock.now());
    assert.equal(r.created, false);
    const rec = await store.identity.tokenByLookup(sha256Hex('cmd_admin_from_an_older_install'));
    assert.equal(rec?.principal, OPERATOR_ID);
  });

  test('principals.json from earlier versions is imported, never rewritten', async () => {
    const { dir, store, clock, ids } = await fresh();
    const file = join(dir, 'principals.json');
    const text = JSON.stringify([
      {
        id: 'pr_alice',
        role: 'requester',
        name: 'alice',
        token_sha256: sha256Hex('alice-secret'),
        created_at: 'x',
      },
    ]);
    writeFileSync(file, text);
    await ensureOperator(store.identity, ids, dir, DID, clock.now());
    await ensureOperator(store.identity, ids, dir, DID, clock.now());
    assert.equal((await store.identity.getPrincipal('pr_alice'))?.role, 'requester');
    assert.equal((await store.identity.tokenByLookup(sha256Hex('alice-secret')))?.principal, 'pr_alice');
    assert.equal(
      (await store.identity.listTokens({ principal: 'pr_alice', limit: 10 })).length,
      1,
      'imported once',
    );
    assert.equal(readFileSync(file, 'utf8'), text);
    assert.ok(existsSync(join(dir, 'admin.token')));
  });
});

test('API keys are random, prefixed, and their listed prefix gives nothing away', () => {
  const a = newApiKey('key');
  const b = newApiKey('key');
  assert.notEqual(a, b);
  assert.match(a, /^cmd_key_[A-Za-z0-9_-]{43}$/);
  assert.equal(keyPrefix(a), a.slice(0, 12));
});
