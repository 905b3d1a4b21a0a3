import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { openSqliteStore } from '../storage/sqlite/index.js';
import type { Store } from '../storage/store.js';
import { ManualClock } from '../util/clock.js';
import { postgresSuites } from './postgres/testing.js';
import { type Cmd, cmdArb, depositMicros, smallMicros, T0 } from './property-model.js';
import { Run, type Stats } from './property-run.js';

/**
 * Model-based property test of the ledger (the model, generators and checks are in
 * property-model.ts): random sequences of deposits, bookings, cancels, token usage, market moves
 * and settlement on the real service over a real store keep every invariant. SQLite in memory,
 * then PostgreSQL (fresh schema per run).
 */

async function property(
  open: () => Promise<Store>,
  numRuns: number,
  seed: number,
  endOnFailure: boolean,
): Promise<Stats> {
  const stats: Stats = {};
  await fc.assert(
    fc.asyncProperty(
      // Each principal starts with some money (or none); Carol is always short of it.
      fc.tuple(
        fc.option(depositMicros, { freq: 4 }),
        fc.option(depositMicros, { freq: 4 }),
        fc.option(smallMicros, { freq: 4 }),
      ),
      fc.array(cmdArb, { minLength: 5, maxLength: 40, size: 'max' }),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      async (initial, cmds, idSeed) => {
        const store = await open();
        try {
          const r = new Run(store, idSeed, stats);
          const funding: Cmd[] = initial.flatMap((micros, p) =>
            micros === null ? [] : [{ k: 'deposit' as const, p, micros }],
          );
          for (const c of [...funding, ...cmds]) {
            await r.exec(c);
            await r.check();
          }
        } finally {
          await store.close();
        }
      },
    ),
    { numRuns, seed, endOnFailure },
  );
  return stats;
}

/** Every outcome the property is meant to exercise, reached by the seeded runs. */
const REACHED = [
  'book 201',
  'book 402',
  'book 409',
  'became active',
  'became completed',
  'became cancelled',
  'became overdrawn',
];

// PostgreSQL first: its reachability check must not wait behind the SQLite runs' busy event loop.
await postgresSuites('ledger property on PostgreSQL', (pg) => {
  describe('ledger property on PostgreSQL', () => {
    it('keeps every invariant (a fresh schema per run)', async (t) => {
      const stats = await property(
        async () => {
          const s = pg.open({ clock: new ManualClock(T0), poolSize: 2 });
          await s.migrate();
          return s;
        },
        10,
        20260106,
        true,
      );
      t.diagnostic(JSON.stringify(stats));
    });
  });
});

describe('ledger property: random deposits, bookings, cancels and settlement keep every invariant', () => {
  it('on SQLite (in memory)', async (t) => {
    const stats = await property(
      async () => {
        const s = openSqliteStore({ path: ':memory:', clock: new ManualClock(T0) });
        await s.migrate();
        return s;
      },
      200,
      20260105,
      false,
    );
    t.diagnostic(JSON.stringify(stats));
    for (const k of REACHED)
      assert.ok((stats[k] ?? 0) > 0, `the runs reached "${k}": ${JSON.stringify(stats)}`);
  });
});
