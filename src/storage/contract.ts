import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DuplicateError } from './errors.js';
import type { Store, StoredPlan } from './store.js';

/**
 * The one suite every storage backend passes (STYLE.md 8). A backend's test file calls it with a
 * factory that opens a fresh, empty, not yet migrated store each time. A backend that cannot meet a
 * case lists it in `gaps` with the reason, so the gap is written down rather than silently skipped.
 * Not a test file itself: it is imported by `sqlite/sqlite.test.ts` (and the PostgreSQL one later).
 */
export interface ContractOptions {
  gaps?: Partial<Record<ContractCase, string>>;
}

export type ContractCase =
  | 'round-trip'
  | 'unknown id'
  | 'duplicate id'
  | 'list order and limit'
  | 'delete expired'
  | 'migrate twice'
  | 'non-JSON values'
  | 'close twice';

const T0 = 1_760_000_000_000; // 2025-10-09T08:53:20Z
const MIN = 60_000;

/** Ids are fixed strings here: the contract is about storage, not id generation (ids.test.ts). */
function plan(id: string, over: Partial<StoredPlan> = {}): StoredPlan {
  return {
    id,
    requester: 'pr_alice',
    created_at: T0,
    expires_at: T0 + 10 * MIN,
    request: { workload: 'inference', gpus: 2 },
    plan: { allocations: [], total_cost_usd: 0 },
    ...over,
  };
}

export function describeStoreContract(
  name: string,
  open: () => Promise<Store>,
  opts: ContractOptions = {},
): void {
  const gaps = opts.gaps ?? {};
  const test = (c: ContractCase, fn: (s: Store) => Promise<void>) =>
    it(c, gaps[c] ? { skip: `known gap: ${gaps[c]}` } : {}, async () => {
      const store = await open();
      try {
        await store.migrate();
        await fn(store);
      } finally {
        await store.close();
      }
    });

  describe(`storage contract: ${name}`, () => {
    test('round-trip', async (s) => {
      const request = {
        workload: 'training',
        nested: { list: [1, 2.5, -3e-7, 1.7976931348623157e308, null, true, false], empty: {} },
        text: 'quotes " \\ and \u00e9 \u{1f680} \u0000 nul',
        order: { z: 1, a: 2 }, // key order survives
      };
      const planJson = [{ provider: 'vast', price: '$0.44/hr', price_per_hour_usd: 0.44 }, 'x', 0, []];
      const p = plan('plan_a', { request, plan: planJson, requester: null, expires_at: T0 + 1 });
      await s.plans.insert(p);
      const got = await s.plans.get('plan_a');
      assert.deepEqual(got, p);
      assert.deepEqual(Object.keys((got!.request as { order: object }).order), ['z', 'a']);
      // Scalars at the top level are JSON values too.
      await s.plans.insert(plan('plan_b', { request: 'just a string', plan: null }));
      const b = await s.plans.get('plan_b');
      assert.equal(b!.request, 'just a string');
      assert.equal(b!.plan, null);
    });

    test('unknown id', async (s) => {
      assert.equal(await s.plans.get('plan_missing'), null);
      await s.plans.insert(plan('plan_a'));
      assert.equal(await s.plans.get('plan_A'), null, 'ids are case-sensitive');
    });

    test('duplicate id', async (s) => {
      const first = plan('plan_a');
      await s.plans.insert(first);
      // Decision: a duplicate id is a bug (ids carry 80 random bits), so it rejects with a typed
      // DuplicateError naming the entity and id, and the stored row is left as it was.
      await assert.rejects(s.plans.insert(plan('plan_a', { requester: 'pr_bob' })), (err: unknown) => {
        assert.ok(err instanceof DuplicateError);
        assert.equal(err.entity, 'plan');
        assert.equal(err.id, 'plan_a');
        assert.match(err.message, /To fix:/);
        return true;
      });
      assert.deepEqual(await s.plans.get('plan_a'), first);
    });

    test('list order and limit', async (s) => {
      // Inserted out of order; plan_c and plan_d share a created_at, so the id breaks the tie.
      await s.plans.insert(plan('plan_b', { created_at: T0 + 2 * MIN }));
      await s.plans.insert(plan('plan_a', { created_at: T0 + 1 * MIN }));
      await s.plans.insert(plan('plan_d', { created_at: T0 + 3 * MIN }));
      await s.plans.insert(plan('plan_c', { created_at: T0 + 3 * MIN }));
      await s.plans.insert(plan('plan_x', { requester: 'pr_bob', created_at: T0 + 9 * MIN }));
      await s.plans.insert(plan('plan_n', { requester: null, created_at: T0 + 9 * MIN }));
      const ids = async (who: string, limit: number) =>
        (await s.plans.listByRequester(who, limit)).map((p) => p.id);
      assert.deepEqual(await ids('pr_alice', 10), ['plan_d', 'plan_c', 'plan_b', 'plan_a']);
      assert.deepEqual(await ids('pr_alice', 2), ['plan_d', 'plan_c']);
      assert.deepEqual(await ids('pr_alice', 0), []);
      assert.deepEqual(await ids('pr_bob', 10), ['plan_x']);
      assert.deepEqual(await ids('pr_nobody', 10), []);
      const full = await s.plans.listByRequester('pr_bob', 1);
      assert.deepEqual(full[0], plan('plan_x', { requester: 'pr_bob', created_at: T0 + 9 * MIN }));
      await assert.rejects(s.plans.listByRequester('pr_alice', -1), RangeError);
      await assert.rejects(s.plans.listByRequester('pr_alice', 1.5), RangeError);
    });

    test('delete expired', async (s) => {
      // Expiries T0+1, T0+2, T0+3 minutes. deleteExpired(t) removes expires_at <= t.
      for (const [id, m] of [
        ['plan_a', 1],
        ['plan_b', 2],
        ['plan_c', 3],
      ] as const)
        await s.plans.insert(plan(id, { expires_at: T0 + m * MIN }));
      assert.equal(await s.plans.deleteExpired(T0), 0); // nothing expired yet
      assert.equal(await s.plans.deleteExpired(T0 + 2 * MIN - 1), 1); // a only
      assert.equal(await s.plans.deleteExpired(T0 + 2 * MIN), 1); // b: expiring at t is expired at t
      assert.equal(await s.plans.deleteExpired(T0 + 2 * MIN), 0); // again: nothing left to do
      assert.equal(await s.plans.get('plan_a'), null);
      assert.equal(await s.plans.get('plan_b'), null);
      assert.equal((await s.plans.get('plan_c'))?.id, 'plan_c');
      assert.equal(await s.plans.deleteExpired(T0 + 60 * MIN), 1);
    });

    test('migrate twice', async (s) => {
      await s.plans.insert(plan('plan_a'));
      await s.migrate(); // the harness migrated once already
      await s.migrate();
      assert.deepEqual(await s.plans.get('plan_a'), plan('plan_a'));
    });

    test('non-JSON values', async (s) => {
      await assert.rejects(s.plans.insert(plan('plan_u', { request: undefined })), TypeError);
      await assert.rejects(s.plans.insert(plan('plan_u', { plan: 10n })), TypeError);
      assert.equal(await s.plans.get('plan_u'), null);
      // What JSON.stringify drops or normalises reads back as JSON would give it.
      await s.plans.insert(plan('plan_v', { request: { a: undefined, b: -0, c: [undefined] } }));
      assert.deepEqual((await s.plans.get('plan_v'))!.request, { b: 0, c: [null] });
    });

    test('close twice', async (s) => {
      assert.ok(s.kind === 'sqlite' || s.kind === 'postgres');
      await s.close();
      await s.close(); // the harness closes a third time
      await assert.rejects(s.plans.get('plan_a'));
    });
  });
}
