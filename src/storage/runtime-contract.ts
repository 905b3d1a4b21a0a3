import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DuplicateError } from './errors.js';
import { type LeaseRuntimeCase, leaseRuntimeCases } from './lease-runtime-contract.js';
import type { CheckpointRecord, ReceiptRecord, Store } from './store.js';
import { type ValidationCase, validationCases } from './validation-contract.js';

/**
 * The runtime repository's shared suite (store.ts, `RuntimeRepository`), run by every backend like
 * the identity contract (identity-contract.ts): the factory opens a fresh, empty, not yet migrated
 * store; each case migrates, runs and closes. A backend that cannot meet a case lists it in `gaps`.
 *
 * Decisions the contract's doc comments leave open, fixed here so both backends agree:
 * - DuplicateError names what is taken through `entity`: 'checkpoint' with id `<lease_id>#<seq>`,
 *   'receipt' for a taken receipt id, 'lease receipt' (id: the lease id) for a lease's second
 *   receipt. The refused record is not stored and the first one stays as it was.
 * - Lease ids are not checked against the ledger: a checkpoint for any lease id is stored.
 * - Ids compare by bytes: `LS_A` is not `ls_a`.
 *
 * For the lease runtime (its cases are in lease-runtime-contract.ts):
 * - A taken lease id is DuplicateError entity 'lease', id the lease id. `handle` must be a JSON
 *   object and `history` an array (else a TypeError, before anything is stored).
 * - updateLease keys on `lease_id`, replaces every other field, and ignores the record's `version`:
 *   the stored and returned version is `expected_version + 1`. It never inserts.
 * - listLeases: an empty `states` is no filter (not "no state matches"); filters combine with AND.
 * - Log seqs start at 1; one call's lines get consecutive seqs in the order given. A line over
 *   8192 UTF-8 bytes, or holding U+0000 (PostgreSQL text cannot), is a RangeError, as are over 1000
 *   lines; a refused call stores none of its lines.
 * - Outputs list by name in byte order. `bytes` other than `data.length` is a RangeError.
 *
 * For validation records (their cases are in validation-contract.ts):
 * - A validation's leases are its primary (`lease_id`) and every run's. A lease belongs to one
 *   validation at most: naming one that belongs to another, on insert or update, is DuplicateError
 *   entity 'validation lease', id that lease (the first in primary-then-runs order), and the call
 *   changes nothing. A taken validation id is entity 'validation'.
 * - A lease stays with its validation once it joined: an update that drops a run from `runs` still
 *   finds the validation by that lease. Only a successful update adds leases.
 * - `runs` must be an array whose runs each name a lease, and `decision` an object or null (else a
 *   TypeError); a lease named by two runs of one record is a RangeError. All before anything is stored.
 * - updateValidation is updateLease's compare-and-set: keyed on `id`, every other field replaced
 *   (the primary lease too), `version` ignored. listValidations filters as listLeases does.
 */
export interface RuntimeContractOptions {
  gaps?: Partial<Record<RuntimeCase, string>>;
}

export type RuntimeCase =
  | 'checkpoint round-trip'
  | 'receipt round-trip'
  | 'seq order and paging'
  | 'last checkpoint'
  | 'duplicate checkpoint'
  | 'duplicate receipt id or lease'
  | 'unknown ids'
  | 'limits out of range'
  | 'closed store'
  | LeaseRuntimeCase
  | ValidationCase;

const T0 = 1_760_000_000_000; // 2025-10-09T08:53:20Z, epoch ms
const T0_S = T0 / 1000;

function checkpoint(lease_id: string, seq: number, over: Partial<CheckpointRecord> = {}): CheckpointRecord {
  return {
    lease_id,
    seq,
    jws: `eyJhbGciOiJFZERTQSJ9.${lease_id}.${seq}`,
    digest: `${seq}`.padStart(64, 'a'),
    at: T0_S + 60 * seq,
    cpu_seconds: 1.25 * seq,
    peak_memory_bytes: 1024 * (seq + 1),
    received_at: T0 + 60_000 * seq + 7,
    ...over,
  };
}

function receipt(id: string, over: Partial<ReceiptRecord> = {}): ReceiptRecord {
  return {
    id,
    lease_id: 'ls_a',
    booking_id: 'bk_a',
    node: 'did:key:z6MkNode',
    jws: `eyJhbGciOiJFZERTQSJ9.${id}.sig`,
    digest: 'f'.repeat(64),
    received_at: T0,
    ...over,
  };
}

/** Asserts `p` rejects with a DuplicateError naming `entity` and `id`, the driver error as its cause. */
async function rejectsDuplicate(p: Promise<unknown>, entity: string, id: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DuplicateError, `expected a DuplicateError, got ${String(err)}`);
    assert.equal(err.entity, entity);
    assert.equal(err.id, id);
    assert.ok(err.cause, 'the driver error is kept as the cause');
    return true;
  });
}

export function describeRuntimeContract(
  name: string,
  open: () => Promise<Store>,
  opts: RuntimeContractOptions = {},
): void {
  const gaps = opts.gaps ?? {};
  const test = (c: RuntimeCase, fn: (s: Store) => Promise<void>) =>
    it(c, gaps[c] ? { skip: `known gap: ${gaps[c]}` } : {}, async () => {
      const store = await open();
      try {
        await store.migrate();
        await fn(store);
      } finally {
        await store.close();
      }
    });

  describe(`runtime contract: ${name}`, () => {
    test('checkpoint round-trip', async (s) => {
      const all = [
        checkpoint('ls_a', 0, { cpu_seconds: 0, peak_memory_bytes: 0 }),
        // A fractional CPU figure, and memory past 2^32 (80 GiB): REAL/DOUBLE and INTEGER/BIGINT.
        checkpoint('ls_a', 1, { cpu_seconds: 3600.125, peak_memory_bytes: 80 * 2 ** 30 }),
        checkpoint('ls_b', 0, { jws: 'a.b.c', received_at: 0, at: 0 }),
        // The largest seq and memory the proof format allows (safe integers).
        checkpoint('ls_b', Number.MAX_SAFE_INTEGER, {
          at: T0_S,
          received_at: T0,
          peak_memory_bytes: Number.MAX_SAFE_INTEGER,
        }),
      ];
      for (const c of all) await s.runtime.appendCheckpoint(c);
      assert.deepEqual(await s.runtime.listCheckpoints('ls_a', { limit: 10 }), all.slice(0, 2));
      assert.deepEqual(await s.runtime.listCheckpoints('ls_b', { limit: 10 }), all.slice(2));
      assert.deepEqual(await s.runtime.lastCheckpoint('ls_b'), all[3]);
      const [, second] = await s.runtime.listCheckpoints('ls_a', { limit: 10 });
      assert.equal(typeof second?.peak_memory_bytes, 'number');
      assert.equal(typeof second?.cpu_seconds, 'number');
    });

    test('receipt round-trip', async (s) => {
      const all = [
        receipt('rc_a'),
        receipt('rc_b', {
          lease_id: 'ls_b',
          booking_id: 'bk_b',
          node: 'did:web:gpu.example',
          received_at: 0,
        }),
      ];
      for (const r of all) await s.runtime.putReceipt(r);
      for (const r of all) assert.deepEqual(await s.runtime.getReceipt(r.id), r);
      assert.deepEqual(await s.runtime.receiptForLease('ls_a'), all[0]);
      assert.deepEqual(await s.runtime.receiptForLease('ls_b'), all[1]);
    });

    test('seq order and paging', async (s) => {
      // Appended out of order, with gaps, and interleaved with another lease: 0 2 10 3 1 on ls_a.
      // Numeric order, not text order: 10 comes after 3 ("10" < "3" as text).
      for (const seq of [2, 10, 0, 3, 1]) {
        await s.runtime.appendCheckpoint(checkpoint('ls_a', seq));
        await s.runtime.appendCheckpoint(checkpoint('ls_other', seq + 100));
      }
      const seqs = async (o: { after?: number; limit: number }) =>
        (await s.runtime.listCheckpoints('ls_a', o)).map((c) => c.seq);
      assert.deepEqual(await seqs({ limit: 10 }), [0, 1, 2, 3, 10]);
      assert.deepEqual(await seqs({ limit: 2 }), [0, 1]);
      assert.deepEqual(await seqs({ after: 1, limit: 2 }), [2, 3]);
      assert.deepEqual(await seqs({ after: 3, limit: 2 }), [10]);
      assert.deepEqual(await seqs({ after: 10, limit: 2 }), []);
      // `after` is a bound, not a stored seq: after 0 excludes 0 itself; after 5 starts at 10.
      assert.deepEqual(await seqs({ after: 0, limit: 10 }), [1, 2, 3, 10]);
      assert.deepEqual(await seqs({ after: 5, limit: 10 }), [10]);
      // Walking page by page visits every checkpoint once.
      const seen: number[] = [];
      let after: number | undefined;
      for (;;) {
        const page = await s.runtime.listCheckpoints(
          'ls_a',
          after === undefined ? { limit: 2 } : { after, limit: 2 },
        );
        if (page.length === 0) break;
        seen.push(...page.map((c) => c.seq));
        after = page.at(-1)!.seq;
      }
      assert.deepEqual(seen, [0, 1, 2, 3, 10]);
      assert.deepEqual(
        (await s.runtime.listCheckpoints('ls_a', { after: 2, limit: 1 }))[0],
        checkpoint('ls_a', 3),
      );
    });

    test('last checkpoint', async (s) => {
      assert.equal(await s.runtime.lastCheckpoint('ls_a'), null);
      await s.runtime.appendCheckpoint(checkpoint('ls_a', 0));
      assert.deepEqual(await s.runtime.lastCheckpoint('ls_a'), checkpoint('ls_a', 0));
      // The highest seq wins, not the latest appended nor the latest received.
      await s.runtime.appendCheckpoint(checkpoint('ls_a', 9, { received_at: T0 }));
      await s.runtime.appendCheckpoint(checkpoint('ls_a', 4, { received_at: T0 + 10 * 60_000 }));
      await s.runtime.appendCheckpoint(checkpoint('ls_b', 50));
      assert.deepEqual(await s.runtime.lastCheckpoint('ls_a'), checkpoint('ls_a', 9, { received_at: T0 }));
      assert.deepEqual(await s.runtime.lastCheckpoint('ls_b'), checkpoint('ls_b', 50));
    });

    test('duplicate checkpoint', async (s) => {
      const first = checkpoint('ls_a', 1);
      await s.runtime.appendCheckpoint(first);
      // Same (lease, seq) with other content: refused, never a replacement.
      await rejectsDuplicate(
        s.runtime.appendCheckpoint(checkpoint('ls_a', 1, { jws: 'x.y.z', digest: 'b'.repeat(64) })),
        'checkpoint',
        'ls_a#1',
      );
      await rejectsDuplicate(s.runtime.appendCheckpoint(first), 'checkpoint', 'ls_a#1');
      assert.deepEqual(await s.runtime.listCheckpoints('ls_a', { limit: 10 }), [first]);
      // The same seq on another lease is another checkpoint.
      await s.runtime.appendCheckpoint(checkpoint('ls_b', 1));
      assert.deepEqual(await s.runtime.lastCheckpoint('ls_b'), checkpoint('ls_b', 1));
    });

    test('duplicate receipt id or lease', async (s) => {
      const first = receipt('rc_a');
      await s.runtime.putReceipt(first);
      // A second receipt for the lease, under a fresh id.
      await rejectsDuplicate(
        s.runtime.putReceipt(receipt('rc_b', { digest: 'b'.repeat(64) })),
        'lease receipt',
        'ls_a',
      );
      // A taken id, for another lease.
      await rejectsDuplicate(s.runtime.putReceipt(receipt('rc_a', { lease_id: 'ls_b' })), 'receipt', 'rc_a');
      // Nothing of the refused rows was stored; the first is as it was.
      assert.deepEqual(await s.runtime.getReceipt('rc_a'), first);
      assert.deepEqual(await s.runtime.receiptForLease('ls_a'), first);
      assert.equal(await s.runtime.getReceipt('rc_b'), null);
      assert.equal(await s.runtime.receiptForLease('ls_b'), null);
    });

    test('unknown ids', async (s) => {
      await s.runtime.appendCheckpoint(checkpoint('ls_a', 0));
      await s.runtime.putReceipt(receipt('rc_a'));
      assert.equal(await s.runtime.lastCheckpoint('ls_missing'), null);
      assert.equal(await s.runtime.lastCheckpoint('LS_A'), null, 'ids are case-sensitive');
      assert.deepEqual(await s.runtime.listCheckpoints('ls_missing', { limit: 10 }), []);
      assert.equal(await s.runtime.getReceipt('rc_missing'), null);
      assert.equal(await s.runtime.getReceipt('RC_A'), null);
      assert.equal(await s.runtime.receiptForLease('ls_missing'), null);
      // A receipt id is not a lease id, nor the other way round.
      assert.equal(await s.runtime.getReceipt('ls_a'), null);
      assert.equal(await s.runtime.receiptForLease('rc_a'), null);
    });

    test('limits out of range', async (s) => {
      await s.runtime.appendCheckpoint(checkpoint('ls_a', 0));
      for (const limit of [0, -1, 1.5, 1001, Number.NaN, Number.POSITIVE_INFINITY])
        await assert.rejects(s.runtime.listCheckpoints('ls_a', { limit }), RangeError, `limit ${limit}`);
      // The bounds themselves are accepted.
      assert.equal((await s.runtime.listCheckpoints('ls_a', { limit: 1 })).length, 1);
      assert.equal((await s.runtime.listCheckpoints('ls_a', { limit: 1000 })).length, 1);
    });

    test('closed store', async (s) => {
      await s.close(); // the harness closes again: close is idempotent
      await assert.rejects(s.runtime.lastCheckpoint('ls_a'));
      await assert.rejects(s.runtime.appendCheckpoint(checkpoint('ls_a', 0)));
      await assert.rejects(s.runtime.receiptForLease('ls_a'));
    });

    leaseRuntimeCases(test);
    validationCases(test);
  });
}
