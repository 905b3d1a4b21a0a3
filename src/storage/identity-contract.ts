import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DuplicateError } from './errors.js';
import type { PrincipalRecord, Store, TokenRecord } from './store.js';

/**
 * The identity repository's shared suite (store.ts, `IdentityRepository`), run by every backend
 * like the plans contract (contract.ts): the factory opens a fresh, empty, not yet migrated store;
 * each case migrates, runs and closes. A backend that cannot meet a case lists it in `gaps`.
 *
 * Decisions the contract's doc comments leave open, fixed here so both backends agree:
 * - A token whose principal does not exist is a RangeError naming the principal (driver error as
 *   `cause`), and nothing is stored. Principals are created before their tokens and never deleted,
 *   so it is a caller's bug, not an expected outcome; it is not a DuplicateError (nothing is taken)
 *   and the caller never sees the driver's foreign-key error.
 * - DuplicateError names the column through `entity`: 'principal' / 'token' for a taken id,
 *   'principal did' for a taken DID, 'token lookup' for a taken lookup; `id` is the taken value.
 * - Both lists take 1 ≤ limit ≤ 1000 (store.ts states it for principals; tokens use the same page).
 * - `detail` must be a JSON object; an array, a scalar or a value JSON cannot hold is a TypeError.
 * - Ids order by bytes (uppercase before lowercase), whatever the database's locale.
 */
export interface IdentityContractOptions {
  gaps?: Partial<Record<IdentityCase, string>>;
}

export type IdentityCase =
  | 'principal round-trip'
  | 'token round-trip'
  | 'unknown ids'
  | 'duplicate principal id or did'
  | 'duplicate token id or lookup'
  | 'token for an unknown principal'
  | 'principal list order and paging'
  | 'token list order and paging'
  | 'disable and revoke keep the first time'
  | 'ucan revocations'
  | 'limits out of range'
  | 'non-object detail'
  | 'closed store';

const T0 = 1_760_000_000_000; // 2025-10-09T08:53:20Z
const MIN = 60_000;

function principal(id: string, over: Partial<PrincipalRecord> = {}): PrincipalRecord {
  return {
    id,
    role: 'requester',
    name: `name of ${id}`,
    did: null,
    created_at: T0,
    disabled_at: null,
    ...over,
  };
}

function token(id: string, over: Partial<TokenRecord> = {}): TokenRecord {
  return {
    id,
    principal: 'pr_alice',
    kind: 'api_key',
    lookup: `sha256-of-${id}`,
    label: `label of ${id}`,
    created_at: T0,
    expires_at: null,
    revoked_at: null,
    detail: { prefix: 'cmd_abcd' },
    ...over,
  };
}

/** Asserts `p` rejects with a DuplicateError naming `entity` and `id`. */
async function rejectsDuplicate(p: Promise<unknown>, entity: string, id: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DuplicateError, `expected a DuplicateError, got ${String(err)}`);
    assert.equal(err.entity, entity);
    assert.equal(err.id, id);
    assert.ok(err.cause, 'the driver error is kept as the cause');
    return true;
  });
}

export function describeIdentityContract(
  name: string,
  open: () => Promise<Store>,
  opts: IdentityContractOptions = {},
): void {
  const gaps = opts.gaps ?? {};
  const test = (c: IdentityCase, fn: (s: Store) => Promise<void>) =>
    it(c, gaps[c] ? { skip: `known gap: ${gaps[c]}` } : {}, async () => {
      const store = await open();
      try {
        await store.migrate();
        await fn(store);
      } finally {
        await store.close();
      }
    });

  describe(`identity contract: ${name}`, () => {
    test('principal round-trip', async (s) => {
      const all = [
        principal('pr_operator', { role: 'operator', name: 'Operator' }),
        principal('pr_a', { did: 'did:key:z6MkA', name: 'Alice \u00e9 \u{1f680} "quoted"' }),
        principal('pr_p', { role: 'provider', did: 'did:web:gpu.example', disabled_at: T0 + MIN, name: 'x' }),
        principal('pr_n', { created_at: 0, name: 'n'.repeat(100) }),
      ];
      for (const p of all) await s.identity.insertPrincipal(p);
      for (const p of all) assert.deepEqual(await s.identity.getPrincipal(p.id), p);
      assert.deepEqual(await s.identity.principalByDid('did:key:z6MkA'), all[1]);
      assert.deepEqual(await s.identity.principalByDid('did:web:gpu.example'), all[2]);
    });

    test('token round-trip', async (s) => {
      await s.identity.insertPrincipal(principal('pr_alice'));
      const ucanDetail = {
        iss: 'did:key:z6MkA',
        aud: 'did:key:z6MkB',
        nbf: null,
        exp: T0 + 60 * MIN,
        cap: [{ with: 'computemd:bookings', can: 'booking/create', nb: { max_usd: 12.5 } }],
        prf: ['bafy1', 'bafy2'],
        zz: { z: 1, a: 2 }, // key order survives
        text: 'quotes " \\ \u0000 nul',
      };
      const all = [
        token('tok_a'),
        token('tok_b', { kind: 'ucan', lookup: 'bafyucan', expires_at: T0 + MIN, detail: ucanDetail }),
        token('tok_c', { revoked_at: T0 + 2 * MIN, expires_at: T0 + 3 * MIN, detail: {} }),
      ];
      for (const t of all) await s.identity.insertToken(t);
      for (const t of all) assert.deepEqual(await s.identity.getToken(t.id), t);
      const b = await s.identity.tokenByLookup('bafyucan');
      assert.deepEqual(b, all[1]);
      assert.deepEqual(Object.keys((b!.detail.zz as object) ?? {}), ['z', 'a']);
      assert.deepEqual(await s.identity.tokenByLookup('sha256-of-tok_a'), all[0]);
    });

    test('unknown ids', async (s) => {
      await s.identity.insertPrincipal(principal('pr_alice', { did: 'did:key:z6MkA' }));
      await s.identity.insertToken(token('tok_a'));
      assert.equal(await s.identity.getPrincipal('pr_missing'), null);
      assert.equal(await s.identity.getPrincipal('PR_ALICE'), null, 'ids are case-sensitive');
      assert.equal(await s.identity.principalByDid('did:key:z6Mka'), null);
      assert.equal(await s.identity.disablePrincipal('pr_missing', T0), null);
      assert.equal(await s.identity.getToken('tok_missing'), null);
      assert.equal(await s.identity.tokenByLookup('sha256-of-nothing'), null);
      assert.equal(await s.identity.revokeToken('tok_missing', T0), null);
      assert.deepEqual(await s.identity.listTokens({ principal: 'pr_missing', limit: 10 }), []);
    });

    test('duplicate principal id or did', async (s) => {
      const first = principal('pr_a', { did: 'did:key:z6MkA' });
      await s.identity.insertPrincipal(first);
      await rejectsDuplicate(
        s.identity.insertPrincipal(principal('pr_a', { name: 'other', did: 'did:key:other' })),
        'principal',
        'pr_a',
      );
      await rejectsDuplicate(
        s.identity.insertPrincipal(principal('pr_b', { did: 'did:key:z6MkA' })),
        'principal did',
        'did:key:z6MkA',
      );
      // Nothing of the refused rows was stored; the first row is as it was.
      assert.deepEqual(await s.identity.getPrincipal('pr_a'), first);
      assert.equal(await s.identity.getPrincipal('pr_b'), null);
      assert.equal(await s.identity.principalByDid('did:key:other'), null);
      // A DID is unique only when set: any number of principals have none.
      await s.identity.insertPrincipal(principal('pr_c'));
      await s.identity.insertPrincipal(principal('pr_d'));
      assert.equal((await s.identity.listPrincipals({ limit: 10 })).length, 3);
    });

    test('duplicate token id or lookup', async (s) => {
      await s.identity.insertPrincipal(principal('pr_alice'));
      await s.identity.insertPrincipal(principal('pr_bob'));
      const first = token('tok_a', { lookup: 'L1' });
      await s.identity.insertToken(first);
      await rejectsDuplicate(s.identity.insertToken(token('tok_a', { lookup: 'L2' })), 'token', 'tok_a');
      // The lookup is unique across principals and kinds (an api_key hash and a CID share one space).
      await rejectsDuplicate(
        s.identity.insertToken(token('tok_b', { lookup: 'L1', principal: 'pr_bob', kind: 'ucan' })),
        'token lookup',
        'L1',
      );
      assert.deepEqual(await s.identity.getToken('tok_a'), first);
      assert.equal(await s.identity.getToken('tok_b'), null);
      assert.equal(await s.identity.tokenByLookup('L2'), null);
    });

    test('token for an unknown principal', async (s) => {
      // Decision (see the header): a RangeError naming the principal, and nothing stored.
      await assert.rejects(
        s.identity.insertToken(token('tok_a', { principal: 'pr_ghost' })),
        (err: unknown) => {
          assert.ok(err instanceof RangeError, `expected a RangeError, got ${String(err)}`);
          assert.match(err.message, /pr_ghost/);
          assert.match(err.message, /To fix:/);
          assert.ok(err.cause, 'the driver error is kept as the cause');
          return true;
        },
      );
      assert.equal(await s.identity.getToken('tok_a'), null);
      await s.identity.insertPrincipal(principal('pr_ghost'));
      await s.identity.insertToken(token('tok_a', { principal: 'pr_ghost' })); // the same token now fits
      assert.equal((await s.identity.getToken('tok_a'))?.principal, 'pr_ghost');
    });

    test('principal list order and paging', async (s) => {
      // Inserted out of order. Byte order puts uppercase first: pr_B < pr_Z < pr_a < pr_b < pr_c.
      for (const id of ['pr_b', 'pr_Z', 'pr_c', 'pr_a', 'pr_B'])
        await s.identity.insertPrincipal(principal(id));
      const ids = async (o: { after?: string; limit: number }) =>
        (await s.identity.listPrincipals(o)).map((p) => p.id);
      assert.deepEqual(await ids({ limit: 10 }), ['pr_B', 'pr_Z', 'pr_a', 'pr_b', 'pr_c']);
      assert.deepEqual(await ids({ limit: 2 }), ['pr_B', 'pr_Z']);
      assert.deepEqual(await ids({ after: 'pr_Z', limit: 2 }), ['pr_a', 'pr_b']);
      assert.deepEqual(await ids({ after: 'pr_b', limit: 2 }), ['pr_c']);
      assert.deepEqual(await ids({ after: 'pr_c', limit: 2 }), []);
      // `after` need not be a stored id: it is a bound, not a cursor row.
      assert.deepEqual(await ids({ after: 'pr_a0', limit: 10 }), ['pr_b', 'pr_c']);
      // Walking page by page visits every principal once.
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await s.identity.listPrincipals(
          after === undefined ? { limit: 2 } : { after, limit: 2 },
        );
        if (page.length === 0) break;
        seen.push(...page.map((p) => p.id));
        after = page.at(-1)!.id;
      }
      assert.deepEqual(seen, ['pr_B', 'pr_Z', 'pr_a', 'pr_b', 'pr_c']);
      assert.deepEqual((await s.identity.listPrincipals({ limit: 1 }))[0], principal('pr_B'));
    });

    test('token list order and paging', async (s) => {
      await s.identity.insertPrincipal(principal('pr_alice'));
      await s.identity.insertPrincipal(principal('pr_bob'));
      // alice: tok_1, tok_3, tok_5, tok_A; bob: tok_2, tok_4. Newest first is id descending by bytes,
      // and '1'…'5' (0x31…0x35) < 'A' (0x41): tok_A > tok_5 > tok_4 > tok_3 > tok_2 > tok_1.
      for (const [id, who] of [
        ['tok_3', 'pr_alice'],
        ['tok_A', 'pr_alice'],
        ['tok_2', 'pr_bob'],
        ['tok_5', 'pr_alice'],
        ['tok_1', 'pr_alice'],
        ['tok_4', 'pr_bob'],
      ] as const)
        await s.identity.insertToken(token(id, { principal: who }));
      const ids = async (o: { principal?: string; before?: string; limit: number }) =>
        (await s.identity.listTokens(o)).map((t) => t.id);
      assert.deepEqual(await ids({ limit: 10 }), ['tok_A', 'tok_5', 'tok_4', 'tok_3', 'tok_2', 'tok_1']);
      assert.deepEqual(await ids({ limit: 2 }), ['tok_A', 'tok_5']);
      assert.deepEqual(await ids({ before: 'tok_5', limit: 2 }), ['tok_4', 'tok_3']);
      assert.deepEqual(await ids({ principal: 'pr_alice', limit: 10 }), ['tok_A', 'tok_5', 'tok_3', 'tok_1']);
      assert.deepEqual(await ids({ principal: 'pr_alice', before: 'tok_5', limit: 1 }), ['tok_3']);
      assert.deepEqual(await ids({ principal: 'pr_bob', before: 'tok_4', limit: 10 }), ['tok_2']);
      assert.deepEqual(await ids({ principal: 'pr_bob', before: 'tok_2', limit: 10 }), []);
      assert.deepEqual((await s.identity.listTokens({ principal: 'pr_bob', limit: 1 }))[0], {
        ...token('tok_4'),
        principal: 'pr_bob',
      });
    });

    test('disable and revoke keep the first time', async (s) => {
      await s.identity.insertPrincipal(principal('pr_alice'));
      await s.identity.insertToken(token('tok_a'));
      const disabled = await s.identity.disablePrincipal('pr_alice', T0 + MIN);
      assert.deepEqual(disabled, principal('pr_alice', { disabled_at: T0 + MIN }));
      // A second call changes nothing and returns the record as it is.
      assert.deepEqual(await s.identity.disablePrincipal('pr_alice', T0 + 2 * MIN), disabled);
      assert.deepEqual(await s.identity.getPrincipal('pr_alice'), disabled);

      const revoked = await s.identity.revokeToken('tok_a', T0 + 3 * MIN);
      assert.deepEqual(revoked, token('tok_a', { revoked_at: T0 + 3 * MIN }));
      assert.deepEqual(await s.identity.revokeToken('tok_a', T0 + 4 * MIN), revoked);
      assert.deepEqual(await s.identity.getToken('tok_a'), revoked);
    });

    test('ucan revocations', async (s) => {
      assert.equal(await s.identity.revokeUcan({ cid: 'bafyA', at: T0, by: 'pr_operator' }), true);
      assert.equal(await s.identity.revokeUcan({ cid: 'bafyA', at: T0 + MIN, by: 'pr_alice' }), false);
      assert.equal(
        await s.identity.revokeUcan({ cid: 'bafya', at: T0, by: 'pr_alice' }),
        true,
        'case matters',
      );
      await s.identity.revokeUcan({ cid: 'bafyC', at: T0, by: 'did:key:z6MkElsewhere' });
      // Revoked: bafyA, bafya, bafyC. The first in the order given wins, not the first revoked.
      const first = (cids: string[]) => s.identity.firstRevoked(cids);
      assert.equal(await first([]), null);
      assert.equal(await first(['bafyX', 'bafyY']), null);
      assert.equal(await first(['bafyX', 'bafyC', 'bafyA']), 'bafyC');
      assert.equal(await first(['bafyA', 'bafyC']), 'bafyA');
      assert.equal(await first(['bafyX', 'bafyX', 'bafya']), 'bafya');
      // A long chain is still one answer (and one query).
      const chain = Array.from({ length: 500 }, (_, i) => `bafy-chain-${i}`);
      assert.equal(await first([...chain, 'bafyC', 'bafyA']), 'bafyC');
    });

    test('limits out of range', async (s) => {
      await s.identity.insertPrincipal(principal('pr_alice'));
      await s.identity.insertToken(token('tok_a'));
      for (const limit of [0, -1, 1.5, 1001, Number.NaN, Number.POSITIVE_INFINITY]) {
        await assert.rejects(s.identity.listPrincipals({ limit }), RangeError, `principals, limit ${limit}`);
        await assert.rejects(s.identity.listTokens({ limit }), RangeError, `tokens, limit ${limit}`);
      }
      // The bounds themselves are accepted.
      assert.equal((await s.identity.listPrincipals({ limit: 1 })).length, 1);
      assert.equal((await s.identity.listPrincipals({ limit: 1000 })).length, 1);
      assert.equal((await s.identity.listTokens({ limit: 1 })).length, 1);
      assert.equal((await s.identity.listTokens({ principal: 'pr_alice', limit: 1000 })).length, 1);
    });

    test('non-object detail', async (s) => {
      await s.identity.insertPrincipal(principal('pr_alice'));
      for (const detail of [[1, 2], 'text', 3, null, { big: 10n }])
        await assert.rejects(
          s.identity.insertToken(token('tok_a', { detail: detail as Record<string, unknown> })),
          TypeError,
        );
      assert.equal(await s.identity.getToken('tok_a'), null);
      // What JSON.stringify drops reads back as JSON would give it.
      await s.identity.insertToken(token('tok_a', { detail: { a: undefined, b: -0 } }));
      assert.deepEqual((await s.identity.getToken('tok_a'))!.detail, { b: 0 });
    });

    test('closed store', async (s) => {
      await s.close(); // the harness closes again: close is idempotent
      await assert.rejects(s.identity.getPrincipal('pr_alice'));
      await assert.rejects(s.identity.firstRevoked(['bafyA']));
    });
  });
}
