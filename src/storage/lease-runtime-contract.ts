import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DuplicateError } from './errors.js';
import type { LeaseRuntimeRecord, NewLogLine, OutputRecord, Store } from './store.js';

/**
 * The lease-runtime cases of the runtime contract (runtime-contract.ts registers them inside its
 * suite, with its harness and its gaps). Decisions the interface leaves open are listed there.
 */
export type LeaseRuntimeCase =
  | 'lease round-trip'
  | 'duplicate lease'
  | 'lease compare-and-set'
  | 'lease filters and paging'
  | 'log numbering'
  | 'concurrent log appends'
  | 'log paging'
  | 'log line limits'
  | 'outputs put, replace, get, list'
  | 'lease runtime limits out of range'
  | 'lease runtime on a closed store';

type Register = (c: LeaseRuntimeCase, fn: (s: Store) => Promise<void>) => void;

const T0 = 1_760_000_000_000; // 2025-10-09T08:53:20Z, epoch ms

function lease(lease_id: string, over: Partial<LeaseRuntimeRecord> = {}): LeaseRuntimeRecord {
  return {
    lease_id,
    booking_id: 'bk_a',
    requester: 'pr_a',
    provider: 'vast',
    offer_id: 'vast:h100',
    driver: 'agent',
    state: 'pending',
    simulated: false,
    run_kind: null,
    attempt: 1,
    replaces: null,
    replaced_by: null,
    exit_code: null,
    handle: {},
    history: [],
    version: 1,
    created_at: T0,
    updated_at: T0,
    ...over,
  };
}

const line = (i: number, over: Partial<NewLogLine> = {}): NewLogLine => ({
  at: T0 + i,
  stream: 'stdout',
  line: `line ${i}`,
  ...over,
});

function output(lease_id: string, name: string, data: Buffer, stored_at = T0): OutputRecord {
  const sha256 = createHash('sha256').update(data).digest('hex');
  return { lease_id, name, sha256, bytes: data.length, data, stored_at };
}

export function leaseRuntimeCases(test: Register): void {
  test('lease round-trip', async (s) => {
    const all = [
      lease('ls_a'),
      // Every nullable set, both booleans, nested JSON with unicode, an exit code below zero.
      lease('ls_b', {
        simulated: true,
        run_kind: 'command',
        attempt: 2,
        replaces: 'ls_a',
        replaced_by: 'ls_c',
        exit_code: -9,
        driver: 'slurm',
        state: 'failed',
        handle: { job_id: '81234', nodes: ['gpu-1', 'gpu-2'], env: { LANG: 'C.UTF-8' }, note: 'café ✓' },
        history: [
          { from: 'pending', to: 'provisioning', at: T0 + 1, reason: 'submitted' },
          { from: 'provisioning', to: 'failed', at: T0 + 2, reason: 'node "gpu-1" lost' },
        ],
        version: 7,
        created_at: 0,
        updated_at: Number.MAX_SAFE_INTEGER,
      }),
      lease('ls_c', { exit_code: 0, run_kind: 'wasm', simulated: true }),
    ];
    for (const r of all) await s.runtime.insertLease(r);
    for (const r of all) assert.deepEqual(await s.runtime.getLease(r.lease_id), r);
    const b = await s.runtime.getLease('ls_b');
    assert.equal(b?.simulated, true);
    assert.equal((await s.runtime.getLease('ls_a'))?.simulated, false);
    assert.equal(await s.runtime.getLease('ls_missing'), null);
    assert.equal(await s.runtime.getLease('LS_A'), null, 'ids are case-sensitive');
    // A handle that is not an object, or a history that is not an array, is refused before SQL.
    await assert.rejects(s.runtime.insertLease(lease('ls_d', { handle: [] as never })), TypeError);
    await assert.rejects(s.runtime.insertLease(lease('ls_d', { history: {} as never })), TypeError);
    assert.equal(await s.runtime.getLease('ls_d'), null);
  });

  test('duplicate lease', async (s) => {
    const first = lease('ls_a');
    await s.runtime.insertLease(first);
    await assert.rejects(s.runtime.insertLease(lease('ls_a', { state: 'running', version: 2 })), (err) => {
      assert.ok(err instanceof DuplicateError, `expected a DuplicateError, got ${String(err)}`);
      assert.equal(err.entity, 'lease');
      assert.equal(err.id, 'ls_a');
      assert.ok(err.cause, 'the driver error is kept as the cause');
      return true;
    });
    assert.deepEqual(await s.runtime.getLease('ls_a'), first);
  });

  test('lease compare-and-set', async (s) => {
    await s.runtime.insertLease(lease('ls_a'));
    await s.runtime.insertLease(lease('ls_b'));
    const next = lease('ls_a', {
      state: 'running',
      simulated: true,
      exit_code: 3,
      handle: { agent: 'n1' },
      history: [{ from: 'pending', to: 'running', at: T0 + 5, reason: 'started' }],
      updated_at: T0 + 5,
      version: 99, // ignored: the store sets expected + 1
    });
    const done = await s.runtime.updateLease(next, 1);
    assert.deepEqual(done, { kind: 'updated', lease: { ...next, version: 2 } });
    assert.deepEqual(await s.runtime.getLease('ls_a'), { ...next, version: 2 });
    // A second writer that read version 1 loses, learns the version, and changes nothing.
    assert.deepEqual(await s.runtime.updateLease(lease('ls_a', { state: 'cancelled' }), 1), {
      kind: 'stale',
      version: 2,
    });
    assert.deepEqual(await s.runtime.updateLease(lease('ls_a'), 3), { kind: 'stale', version: 2 });
    assert.deepEqual(await s.runtime.getLease('ls_a'), { ...next, version: 2 });
    // Reloaded, it wins: 2 → 3. Nulls can be written back.
    const back = lease('ls_a', { state: 'completed', exit_code: null, updated_at: T0 + 9 });
    assert.deepEqual(await s.runtime.updateLease(back, 2), {
      kind: 'updated',
      lease: { ...back, version: 3 },
    });
    assert.deepEqual(await s.runtime.updateLease(lease('ls_missing'), 1), { kind: 'not_found' });
    assert.equal(await s.runtime.getLease('ls_missing'), null, 'an update never inserts');
    assert.deepEqual(await s.runtime.getLease('ls_b'), lease('ls_b'), 'other leases are untouched');
  });

  test('lease filters and paging', async (s) => {
    // created_at falls as the id rises: the order is by id, not by time.
    const rows: [string, string, string, string, string][] = [
      ['ls_1', 'pr_a', 'bk_1', 'vast', 'running'],
      ['ls_2', 'pr_a', 'bk_1', 'lambda', 'completed'],
      ['ls_3', 'pr_b', 'bk_2', 'vast', 'pending'],
      ['ls_4', 'pr_a', 'bk_3', 'vast', 'failed'],
      ['ls_5', 'pr_b', 'bk_2', 'lambda', 'running'],
      ['ls_6', 'pr_a', 'bk_4', 'vast', 'running'],
    ];
    for (const [id, requester, booking_id, provider, state] of rows)
      await s.runtime.insertLease(
        lease(id, { requester, booking_id, provider, state, created_at: T0 - Number(id.slice(3)) }),
      );
    const ids = async (q: Parameters<Store['runtime']['listLeases']>[0]) =>
      (await s.runtime.listLeases(q)).map((r) => r.lease_id);
    assert.deepEqual(await ids({ limit: 10 }), ['ls_6', 'ls_5', 'ls_4', 'ls_3', 'ls_2', 'ls_1']);
    assert.deepEqual(await ids({ requester: 'pr_a', limit: 10 }), ['ls_6', 'ls_4', 'ls_2', 'ls_1']);
    assert.deepEqual(await ids({ booking_id: 'bk_2', limit: 10 }), ['ls_5', 'ls_3']);
    assert.deepEqual(await ids({ provider: 'lambda', limit: 10 }), ['ls_5', 'ls_2']);
    assert.deepEqual(await ids({ states: ['running'], limit: 10 }), ['ls_6', 'ls_5', 'ls_1']);
    assert.deepEqual(await ids({ states: ['pending', 'failed', 'nonesuch'], limit: 10 }), ['ls_4', 'ls_3']);
    // An empty states list is no filter, not "no state".
    assert.deepEqual(await ids({ states: [], limit: 10 }), await ids({ limit: 10 }));
    // Filters combine with AND: pr_a's running leases on vast.
    assert.deepEqual(await ids({ requester: 'pr_a', provider: 'vast', states: ['running'], limit: 10 }), [
      'ls_6',
      'ls_1',
    ]);
    assert.deepEqual(await ids({ requester: 'pr_c', limit: 10 }), []);
    assert.deepEqual(await ids({ requester: 'PR_A', limit: 10 }), [], 'ids are case-sensitive');
    // `before` is a bound, not a stored id: before ls_4 starts at ls_3; before ls_35 does too.
    assert.deepEqual(await ids({ before: 'ls_4', limit: 2 }), ['ls_3', 'ls_2']);
    assert.deepEqual(await ids({ before: 'ls_35', limit: 10 }), ['ls_3', 'ls_2', 'ls_1']);
    assert.deepEqual(await ids({ before: 'ls_1', limit: 10 }), []);
    // Walking pr_a's leases two at a time visits each once.
    const seen: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await ids({ requester: 'pr_a', limit: 2, ...(before ? { before } : {}) });
      if (page.length === 0) break;
      seen.push(...page);
      before = page.at(-1);
    }
    assert.deepEqual(seen, ['ls_6', 'ls_4', 'ls_2', 'ls_1']);
    // Listed records are whole records.
    assert.deepEqual((await s.runtime.listLeases({ booking_id: 'bk_4', limit: 1 }))[0], {
      ...lease('ls_6', { requester: 'pr_a', booking_id: 'bk_4', provider: 'vast', state: 'running' }),
      created_at: T0 - 6,
    });
  });

  test('log numbering', async (s) => {
    const first = await s.runtime.appendLogs('ls_a', [line(1), line(2, { stream: 'stderr' }), line(3)]);
    assert.deepEqual(
      first.map((l) => l.seq),
      [1, 2, 3],
    );
    assert.deepEqual(first[1], { lease_id: 'ls_a', seq: 2, at: T0 + 2, stream: 'stderr', line: 'line 2' });
    // Another lease numbers from 1; an empty append stores nothing and uses no seq.
    assert.deepEqual(
      (await s.runtime.appendLogs('ls_b', [line(9, { stream: 'system' })])).map((l) => l.seq),
      [1],
    );
    assert.deepEqual(await s.runtime.appendLogs('ls_a', []), []);
    const second = await s.runtime.appendLogs('ls_a', [line(4), line(5, { line: '' })]);
    assert.deepEqual(
      second.map((l) => l.seq),
      [4, 5],
    );
    // What appendLogs returned is what was stored, byte for byte (tabs, CR, emoji, empty lines).
    const odd = await s.runtime.appendLogs('ls_a', [line(6, { line: '\tλ 🚀 \r' })]);
    assert.deepEqual(await s.runtime.listLogs('ls_a', { limit: 100 }), [...first, ...second, ...odd]);
  });

  test('concurrent log appends', async (s) => {
    // 20 appends of 3 lines at once: every seq from 1 to 60 once, each call's lines consecutive.
    const calls = await Promise.all(
      Array.from({ length: 20 }, (_, c) =>
        s.runtime.appendLogs(
          'ls_a',
          [0, 1, 2].map((i) => line(c * 3 + i, { line: `call ${c} line ${i}` })),
        ),
      ),
    );
    const seqs = calls.flatMap((ls) => ls.map((l) => l.seq)).sort((a, b) => a - b);
    assert.deepEqual(
      seqs,
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    for (const [c, ls] of calls.entries()) {
      const base = ls[0]!.seq;
      assert.deepEqual(
        ls.map((l) => [l.seq, l.line]),
        [0, 1, 2].map((i) => [base + i, `call ${c} line ${i}`]),
      );
    }
    const stored = await s.runtime.listLogs('ls_a', { limit: 1000 });
    assert.deepEqual(
      stored,
      calls.flat().sort((a, b) => a.seq - b.seq),
    );
  });

  test('log paging', async (s) => {
    await s.runtime.appendLogs(
      'ls_a',
      Array.from({ length: 7 }, (_, i) => line(i)),
    );
    await s.runtime.appendLogs('ls_b', [line(100)]);
    const seqs = async (o: { after?: number; limit: number }) =>
      (await s.runtime.listLogs('ls_a', o)).map((l) => l.seq);
    assert.deepEqual(await seqs({ limit: 3 }), [1, 2, 3]);
    assert.deepEqual(await seqs({ after: 3, limit: 3 }), [4, 5, 6]);
    assert.deepEqual(await seqs({ after: 6, limit: 3 }), [7]);
    assert.deepEqual(await seqs({ after: 7, limit: 3 }), []);
    assert.deepEqual(await seqs({ after: 0, limit: 1 }), [1]);
    assert.deepEqual(await s.runtime.listLogs('ls_missing', { limit: 10 }), []);
    assert.deepEqual((await s.runtime.listLogs('ls_a', { after: 4, limit: 1 }))[0], {
      lease_id: 'ls_a',
      seq: 5,
      ...line(4),
    });
  });

  test('log line limits', async (s) => {
    // 8192 bytes is the most: 4096 × 'é' (2 bytes each) fits, one byte more does not.
    const widest = 'é'.repeat(4096);
    const [stored] = await s.runtime.appendLogs('ls_a', [line(1, { line: widest })]);
    assert.equal(stored?.line, widest);
    await assert.rejects(
      s.runtime.appendLogs('ls_a', [line(2), line(3, { line: `${widest}a` })]),
      RangeError,
    );
    await assert.rejects(s.runtime.appendLogs('ls_a', [line(2, { line: 'a\0b' })]), RangeError);
    // 1000 lines in one call is the most.
    const many = Array.from({ length: 1001 }, (_, i) => line(i));
    await assert.rejects(s.runtime.appendLogs('ls_a', many), RangeError);
    assert.equal((await s.runtime.appendLogs('ls_a', many.slice(0, 1000))).length, 1000);
    // A refused call stored none of its lines: the next seq follows the accepted ones.
    const [next] = await s.runtime.appendLogs('ls_a', [line(5000)]);
    assert.equal(next?.seq, 1002);
  });

  test('outputs put, replace, get, list', async (s) => {
    // 2 MiB in a pattern that repeats only every 251 bytes, so a shifted or cut read shows.
    const big = Buffer.alloc(2 * 1024 * 1024, 0);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const outs = [
      output('ls_a', 'result.json', Buffer.from('{"loss":0.25}\n')),
      output('ls_a', 'empty', Buffer.alloc(0)),
      output('ls_a', 'weights/model.bin', big),
      output('ls_a', 'binary', Buffer.from([0, 255, 0, 10, 13, 0])),
      output('ls_b', 'result.json', Buffer.from('other')),
    ];
    for (const o of outs) await s.runtime.putOutput(o);
    for (const o of outs) {
      const got = await s.runtime.getOutput(o.lease_id, o.name);
      assert.ok(got && Buffer.isBuffer(got.data), `${o.name} reads back as a Buffer`);
      assert.ok(got.data.equals(o.data), `${o.name} is byte-exact`);
      assert.deepEqual(got, o);
    }
    const meta = ({ data: _, ...m }: OutputRecord) => m;
    // By name, in byte order; without the bytes.
    assert.deepEqual(
      await s.runtime.listOutputs('ls_a'),
      [outs[3], outs[1], outs[0], outs[2]].map((o) => meta(o!)),
    );
    // A later upload of the same name replaces it whole, bigger or smaller.
    const again = output('ls_a', 'weights/model.bin', Buffer.from('resumed'), T0 + 60_000);
    await s.runtime.putOutput(again);
    assert.deepEqual(await s.runtime.getOutput('ls_a', 'weights/model.bin'), again);
    assert.deepEqual((await s.runtime.listOutputs('ls_a')).at(-1), meta(again));
    assert.equal((await s.runtime.listOutputs('ls_a')).length, 4);
    assert.deepEqual(await s.runtime.getOutput('ls_b', 'result.json'), outs[4], 'other leases are untouched');
    assert.equal(await s.runtime.getOutput('ls_a', 'missing'), null);
    assert.equal(await s.runtime.getOutput('ls_c', 'result.json'), null);
    assert.deepEqual(await s.runtime.listOutputs('ls_c'), []);
    // `bytes` that is not the data's length is refused, and nothing changes.
    await assert.rejects(s.runtime.putOutput({ ...outs[0]!, bytes: 3 }), RangeError);
    assert.deepEqual(await s.runtime.getOutput('ls_a', 'result.json'), outs[0]);
  });

  test('lease runtime limits out of range', async (s) => {
    await s.runtime.insertLease(lease('ls_a'));
    await s.runtime.appendLogs('ls_a', [line(1)]);
    for (const limit of [0, -1, 1.5, 1001, Number.NaN, Number.POSITIVE_INFINITY]) {
      await assert.rejects(s.runtime.listLeases({ limit }), RangeError, `listLeases limit ${limit}`);
      await assert.rejects(s.runtime.listLogs('ls_a', { limit }), RangeError, `listLogs limit ${limit}`);
    }
    for (const limit of [1, 1000]) {
      assert.equal((await s.runtime.listLeases({ limit })).length, 1);
      assert.equal((await s.runtime.listLogs('ls_a', { limit })).length, 1);
    }
  });

  test('lease runtime on a closed store', async (s) => {
    await s.close(); // the harness closes again: close is idempotent
    const r = s.runtime;
    await assert.rejects(r.insertLease(lease('ls_a')));
    await assert.rejects(r.getLease('ls_a'));
    await assert.rejects(r.updateLease(lease('ls_a'), 1));
    await assert.rejects(r.listLeases({ limit: 1 }));
    await assert.rejects(r.appendLogs('ls_a', [line(1)]));
    await assert.rejects(r.listLogs('ls_a', { limit: 1 }));
    await assert.rejects(r.putOutput(output('ls_a', 'x', Buffer.from('x'))));
    await assert.rejects(r.getOutput('ls_a', 'x'));
    await assert.rejects(r.listOutputs('ls_a'));
  });
}
