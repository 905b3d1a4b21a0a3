import assert from 'node:assert/strict';
import { DuplicateError } from './errors.js';
import type { Store, ValidationRecord } from './store.js';

/**
 * The result-validation cases of the runtime contract (runtime-contract.ts registers them inside
 * its suite, with its harness and its gaps). Decisions the interface leaves open are listed there.
 */
export type ValidationCase =
  | 'validation round-trip'
  | 'duplicate validation id or lease'
  | 'validation for a lease'
  | 'validation compare-and-set'
  | 'concurrent validation writes'
  | 'validation filters and paging'
  | 'validation limits out of range'
  | 'validations on a closed store';

type Register = (c: ValidationCase, fn: (s: Store) => Promise<void>) => void;
type Run = ValidationRecord['runs'][number];

const T0 = 1_760_000_000_000; // 2025-10-09T08:53:20Z, epoch ms

const run = (lease_id: string, provider: string, role: Run['role'], over: Partial<Run> = {}): Run => ({
  lease_id,
  provider,
  role,
  outputs: null,
  exit_code: null,
  ...over,
});

/** A running validation; its primary lease is `ls_<suffix of id>` unless `over` names one. */
function validation(id: string, over: Partial<ValidationRecord> = {}): ValidationRecord {
  const lease_id = over.lease_id ?? `ls_${id.slice(3)}`;
  return {
    id,
    requester: 'pr_a',
    booking_id: 'bk_a',
    lease_id,
    replicas_wanted: 1,
    runs: [run(lease_id, 'vast', 'primary')],
    state: 'running',
    decision: null,
    version: 1,
    created_at: T0,
    updated_at: T0,
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

const sha = (c: string) => c.repeat(64);

export function validationCases(test: Register): void {
  test('validation round-trip', async (s) => {
    const all = [
      validation('vd_a'),
      // Every run shape (outputs listed, empty, not yet in), a negative exit code, a decision with
      // unicode and quotes, the widest epoch values.
      validation('vd_b', {
        replicas_wanted: 2,
        runs: [
          run('ls_b', 'vast', 'primary', {
            outputs: [
              { name: 'result.json', sha256: sha('a') },
              { name: 'weights/model.bin', sha256: sha('b') },
            ],
            exit_code: 0,
          }),
          run('ls_b2', 'lambda', 'replica', { outputs: [], exit_code: -9 }),
          run('ls_b3', 'runpod', 'referee'),
        ],
        state: 'resolved',
        decision: {
          accepted: sha('c'),
          losers: ['lambda'],
          detail: 'replica "lambda" differed on weights ✓',
        },
        version: 7,
        created_at: 0,
        updated_at: Number.MAX_SAFE_INTEGER,
      }),
      // Decided without an accepted set: every run disagreed.
      validation('vd_c', { state: 'unresolved', decision: { accepted: null, losers: [], detail: '' } }),
    ];
    for (const v of all) await s.runtime.insertValidation(v);
    for (const v of all) assert.deepEqual(await s.runtime.getValidation(v.id), v);
    assert.equal((await s.runtime.getValidation('vd_a'))?.decision, null, 'null, not the JSON text');
    assert.equal(await s.runtime.getValidation('vd_missing'), null);
    assert.equal(await s.runtime.getValidation('VD_A'), null, 'ids are case-sensitive');
    // Refused before SQL, and nothing of them stored: runs not an array, a run without a lease,
    // a decision that is not an object, a lease named by two runs.
    const bad: [Partial<ValidationRecord>, typeof TypeError | typeof RangeError][] = [
      [{ runs: {} as never }, TypeError],
      [{ runs: [{ provider: 'vast' }] as never }, TypeError],
      [{ decision: [] as never }, TypeError],
      [{ decision: 'agreed' as never }, TypeError],
      [
        {
          runs: [run('ls_d', 'vast', 'primary'), run('ls_d2', 'a', 'replica'), run('ls_d2', 'b', 'replica')],
        },
        RangeError,
      ],
    ];
    for (const [over, type] of bad)
      await assert.rejects(s.runtime.insertValidation(validation('vd_d', over)), type);
    assert.equal(await s.runtime.getValidation('vd_d'), null);
    assert.equal(await s.runtime.validationForLease('ls_d'), null);
  });

  test('duplicate validation id or lease', async (s) => {
    const first = validation('vd_a', {
      runs: [run('ls_a', 'vast', 'primary'), run('ls_r1', 'lambda', 'replica')],
    });
    await s.runtime.insertValidation(first);
    // A taken id, with fresh leases: refused, and its leases not indexed.
    await rejectsDuplicate(
      s.runtime.insertValidation(validation('vd_a', { lease_id: 'ls_x' })),
      'validation',
      'vd_a',
    );
    assert.equal(await s.runtime.validationForLease('ls_x'), null);
    // A taken primary lease, under a fresh id.
    await rejectsDuplicate(
      s.runtime.insertValidation(validation('vd_b', { lease_id: 'ls_a' })),
      'validation lease',
      'ls_a',
    );
    // vd_a's replica as vd_b's replica, or as its primary; vd_a's primary as vd_b's replica.
    const claims: [string, Run[], string][] = [
      ['ls_b', [run('ls_b', 'vast', 'primary'), run('ls_r1', 'lambda', 'replica')], 'ls_r1'],
      ['ls_r1', [run('ls_r1', 'lambda', 'primary')], 'ls_r1'],
      ['ls_b', [run('ls_b', 'vast', 'primary'), run('ls_a', 'vast', 'referee')], 'ls_a'],
    ];
    for (const [lease_id, runs, taken] of claims)
      await rejectsDuplicate(
        s.runtime.insertValidation(validation('vd_b', { lease_id, runs })),
        'validation lease',
        taken,
      );
    // Each refusal was whole: no record, and its primary (indexed before the clash) not indexed.
    assert.equal(await s.runtime.getValidation('vd_b'), null);
    assert.equal(await s.runtime.validationForLease('ls_b'), null);
    assert.deepEqual(await s.runtime.getValidation('vd_a'), first);
    assert.deepEqual(await s.runtime.validationForLease('ls_r1'), first);
    // With leases of its own, vd_b is stored.
    await s.runtime.insertValidation(validation('vd_b'));
    assert.equal((await s.runtime.validationForLease('ls_b'))?.id, 'vd_b');
  });

  test('validation for a lease', async (s) => {
    const a = validation('vd_a', {
      replicas_wanted: 2,
      runs: [
        run('ls_a', 'vast', 'primary'),
        run('ls_r1', 'lambda', 'replica'),
        run('ls_r2', 'runpod', 'replica'),
        run('ls_ref', 'coreweave', 'referee'),
      ],
    });
    const b = validation('vd_b', {
      runs: [run('ls_b', 'vast', 'primary'), run('ls_r3', 'lambda', 'replica')],
    });
    await s.runtime.insertValidation(a);
    await s.runtime.insertValidation(b);
    for (const l of ['ls_a', 'ls_r1', 'ls_r2', 'ls_ref'])
      assert.deepEqual(await s.runtime.validationForLease(l), a, l);
    for (const l of ['ls_b', 'ls_r3']) assert.deepEqual(await s.runtime.validationForLease(l), b, l);
    assert.equal(await s.runtime.validationForLease('ls_missing'), null);
    assert.equal(await s.runtime.validationForLease('LS_A'), null, 'ids are case-sensitive');
    // A validation id is not a lease id.
    assert.equal(await s.runtime.validationForLease('vd_a'), null);
  });

  test('validation compare-and-set', async (s) => {
    const start = validation('vd_a', {
      runs: [run('ls_a', 'vast', 'primary'), run('ls_r1', 'lambda', 'replica')],
    });
    const other = validation('vd_b', {
      runs: [run('ls_b', 'vast', 'primary'), run('ls_r9', 'lambda', 'replica')],
    });
    await s.runtime.insertValidation(start);
    await s.runtime.insertValidation(other);
    // The outputs disagree: a referee joins.
    const next = validation('vd_a', {
      runs: [
        run('ls_a', 'vast', 'primary', { outputs: [{ name: 'out', sha256: sha('a') }], exit_code: 0 }),
        run('ls_r1', 'lambda', 'replica', { outputs: [{ name: 'out', sha256: sha('b') }], exit_code: 0 }),
        run('ls_ref', 'runpod', 'referee'),
      ],
      state: 'refereeing',
      updated_at: T0 + 5,
      version: 99, // ignored: the store sets expected + 1
    });
    assert.deepEqual(await s.runtime.updateValidation(next, 1), {
      kind: 'updated',
      validation: { ...next, version: 2 },
    });
    assert.deepEqual(await s.runtime.getValidation('vd_a'), { ...next, version: 2 });
    assert.deepEqual(
      await s.runtime.validationForLease('ls_ref'),
      { ...next, version: 2 },
      'the new lease joined',
    );
    // A second writer that read version 1 loses, learns the version, and changes nothing: the
    // lease its runs named did not join.
    const late = validation('vd_a', {
      runs: [...start.runs, run('ls_late', 'vast', 'referee')],
      state: 'agreed',
    });
    assert.deepEqual(await s.runtime.updateValidation(late, 1), { kind: 'stale', version: 2 });
    assert.deepEqual(await s.runtime.updateValidation(next, 3), { kind: 'stale', version: 2 });
    assert.equal(await s.runtime.validationForLease('ls_late'), null);
    // Runs naming another validation's lease, or a primary that is another's: refused whole (the
    // fresh lease before the clash did not join either), the version unchanged.
    const clash = {
      ...next,
      runs: [...next.runs, run('ls_new', 'a', 'referee'), run('ls_r9', 'b', 'referee')],
    };
    await rejectsDuplicate(s.runtime.updateValidation(clash, 2), 'validation lease', 'ls_r9');
    await rejectsDuplicate(
      s.runtime.updateValidation({ ...next, lease_id: 'ls_b' }, 2),
      'validation lease',
      'ls_b',
    );
    const twice = { ...next, runs: [...next.runs, run('ls_ref', 'b', 'referee')] };
    await assert.rejects(s.runtime.updateValidation(twice, 2), RangeError);
    assert.equal(await s.runtime.validationForLease('ls_new'), null);
    assert.deepEqual(await s.runtime.getValidation('vd_a'), { ...next, version: 2 });
    // Reloaded, it wins: 2 → 3. A run dropped from `runs` keeps its lease in the validation.
    const decided = validation('vd_a', {
      runs: [next.runs[0]!, next.runs[2]!],
      state: 'resolved',
      decision: { accepted: sha('a'), losers: ['lambda'], detail: 'the referee agreed with vast' },
      updated_at: T0 + 9,
    });
    assert.deepEqual(await s.runtime.updateValidation(decided, 2), {
      kind: 'updated',
      validation: { ...decided, version: 3 },
    });
    assert.equal((await s.runtime.validationForLease('ls_r1'))?.version, 3);
    // Nulls can be written back.
    const reopened = { ...decided, decision: null, state: 'refereeing' };
    assert.deepEqual(await s.runtime.updateValidation(reopened, 3), {
      kind: 'updated',
      validation: { ...reopened, version: 4 },
    });
    assert.deepEqual(await s.runtime.updateValidation(validation('vd_missing'), 1), { kind: 'not_found' });
    assert.equal(await s.runtime.getValidation('vd_missing'), null, 'an update never inserts');
    assert.equal(await s.runtime.validationForLease('ls_missing'), null);
    assert.deepEqual(await s.runtime.getValidation('vd_b'), other, 'other validations are untouched');
  });

  test('concurrent validation writes', async (s) => {
    // Ten validations claim one replica lease at once: exactly one gets it, whole.
    const claims = Array.from({ length: 10 }, (_, i) =>
      validation(`vd_${i}`, {
        runs: [run(`ls_${i}`, 'vast', 'primary'), run('ls_shared', 'lambda', 'replica')],
      }),
    );
    const settled = await Promise.allSettled(claims.map((v) => s.runtime.insertValidation(v)));
    const won = settled.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    assert.equal(won.length, 1, 'one claim wins');
    for (const r of settled)
      if (r.status === 'rejected')
        await rejectsDuplicate(Promise.reject(r.reason), 'validation lease', 'ls_shared');
    const winner = claims[won[0]!]!;
    assert.deepEqual(await s.runtime.validationForLease('ls_shared'), winner);
    for (const [i, v] of claims.entries()) {
      if (i === won[0]) continue;
      assert.equal(await s.runtime.getValidation(v.id), null);
      assert.equal(await s.runtime.validationForLease(v.lease_id), null);
    }
    // Ten writers update it from version 1 at once: one wins, the others learn version 2.
    const updates = await Promise.all(
      Array.from({ length: 10 }, (_, i) => s.runtime.updateValidation({ ...winner, state: `s${i}` }, 1)),
    );
    assert.equal(updates.filter((u) => u.kind === 'updated').length, 1);
    assert.deepEqual(
      updates.filter((u) => u.kind !== 'updated'),
      Array.from({ length: 9 }, () => ({ kind: 'stale', version: 2 })),
    );
  });

  test('validation filters and paging', async (s) => {
    // created_at falls as the id rises: the order is by id, not by time.
    const rows: [string, string, string, string][] = [
      ['vd_1', 'pr_a', 'bk_1', 'running'],
      ['vd_2', 'pr_a', 'bk_1', 'agreed'],
      ['vd_3', 'pr_b', 'bk_2', 'refereeing'],
      ['vd_4', 'pr_a', 'bk_3', 'unresolved'],
      ['vd_5', 'pr_b', 'bk_2', 'running'],
      ['vd_6', 'pr_a', 'bk_4', 'running'],
    ];
    for (const [id, requester, booking_id, state] of rows)
      await s.runtime.insertValidation(
        validation(id, { requester, booking_id, state, created_at: T0 - Number(id.slice(3)) }),
      );
    const ids = async (q: Parameters<Store['runtime']['listValidations']>[0]) =>
      (await s.runtime.listValidations(q)).map((v) => v.id);
    assert.deepEqual(await ids({ limit: 10 }), ['vd_6', 'vd_5', 'vd_4', 'vd_3', 'vd_2', 'vd_1']);
    assert.deepEqual(await ids({ requester: 'pr_a', limit: 10 }), ['vd_6', 'vd_4', 'vd_2', 'vd_1']);
    assert.deepEqual(await ids({ booking_id: 'bk_2', limit: 10 }), ['vd_5', 'vd_3']);
    assert.deepEqual(await ids({ states: ['running'], limit: 10 }), ['vd_6', 'vd_5', 'vd_1']);
    assert.deepEqual(await ids({ states: ['refereeing', 'unresolved', 'nonesuch'], limit: 10 }), [
      'vd_4',
      'vd_3',
    ]);
    // An empty states list is no filter, not "no state".
    assert.deepEqual(await ids({ states: [], limit: 10 }), await ids({ limit: 10 }));
    // Filters combine with AND.
    assert.deepEqual(await ids({ requester: 'pr_a', states: ['running'], limit: 10 }), ['vd_6', 'vd_1']);
    assert.deepEqual(
      await ids({ requester: 'pr_b', booking_id: 'bk_2', states: ['refereeing'], limit: 10 }),
      ['vd_3'],
    );
    assert.deepEqual(await ids({ requester: 'pr_b', booking_id: 'bk_1', limit: 10 }), []);
    assert.deepEqual(await ids({ requester: 'PR_A', limit: 10 }), [], 'ids are case-sensitive');
    // `before` is a bound, not a stored id: before vd_4 starts at vd_3; before vd_35 does too.
    assert.deepEqual(await ids({ before: 'vd_4', limit: 2 }), ['vd_3', 'vd_2']);
    assert.deepEqual(await ids({ before: 'vd_35', limit: 10 }), ['vd_3', 'vd_2', 'vd_1']);
    assert.deepEqual(await ids({ before: 'vd_1', limit: 10 }), []);
    // Walking pr_a's validations two at a time visits each once.
    const seen: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await ids({ requester: 'pr_a', limit: 2, ...(before ? { before } : {}) });
      if (page.length === 0) break;
      seen.push(...page);
      before = page.at(-1);
    }
    assert.deepEqual(seen, ['vd_6', 'vd_4', 'vd_2', 'vd_1']);
    // Listed records are whole records.
    assert.deepEqual((await s.runtime.listValidations({ booking_id: 'bk_4', limit: 1 }))[0], {
      ...validation('vd_6', { requester: 'pr_a', booking_id: 'bk_4', state: 'running' }),
      created_at: T0 - 6,
    });
  });

  test('validation limits out of range', async (s) => {
    await s.runtime.insertValidation(validation('vd_a'));
    for (const limit of [0, -1, 1.5, 1001, Number.NaN, Number.POSITIVE_INFINITY])
      await assert.rejects(s.runtime.listValidations({ limit }), RangeError, `limit ${limit}`);
    for (const limit of [1, 1000]) assert.equal((await s.runtime.listValidations({ limit })).length, 1);
  });

  test('validations on a closed store', async (s) => {
    await s.close(); // the harness closes again: close is idempotent
    const r = s.runtime;
    await assert.rejects(r.insertValidation(validation('vd_a')));
    await assert.rejects(r.getValidation('vd_a'));
    await assert.rejects(r.validationForLease('ls_a'));
    await assert.rejects(r.updateValidation(validation('vd_a'), 1));
    await assert.rejects(r.listValidations({ limit: 1 }));
  });
}
