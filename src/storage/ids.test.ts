import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../util/clock.js';
import { createIdSource, cryptoRandom, idTime, newId } from './ids.js';

const zeros = (n: number) => new Uint8Array(n);
const ones = (n: number) => new Uint8Array(n).fill(0xff);
const fixed = (bytes: number[]) => () => Uint8Array.from(bytes);

describe('newId', () => {
  it('encodes 48 bits of time and 80 random bits in Crockford base32 (the ULID layout)', () => {
    // The ULID spec's example time: 1469918176385 ms → "01ARYZ6S41" (here lower case).
    assert.equal(newId('plan', 1469918176385, zeros), 'plan_01aryz6s410000000000000000');
    assert.equal(newId('plan', 0, ones), 'plan_0000000000zzzzzzzzzzzzzzzz');
    // The largest time, 2^48 - 1, is "7zzzzzzzzz": the first character carries 3 bits (10 × 5 = 50).
    assert.equal(newId('bk', 2 ** 48 - 1, zeros), 'bk_7zzzzzzzzz0000000000000000');
    // Random bytes 0x00..0x09: bits 00000000 00000001 00000010 … read 5 at a time.
    // 00000 00000 00000 10000 00100 00000 11000 00100 | 00000 10100 00011 00000 01110 00000 10000 01001
    assert.equal(newId('x', 0, fixed([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])).slice(12), '000g40r40m30e209');
  });

  it('rejects a bad prefix, a time outside 48 bits, and a short random source', () => {
    for (const p of ['', 'Plan', 'pl_an', '1plan', 'plän']) assert.throws(() => newId(p, 0), RangeError, p);
    for (const t of [-1, 2 ** 48, 1.5, Number.NaN]) assert.throws(() => newId('p', t), RangeError, String(t));
    assert.throws(() => newId('p', 0, zeros.bind(null, 9)), RangeError);
  });

  it('sorts by time as plain strings, whatever the random part', () => {
    const time = fc.integer({ min: 0, max: 2 ** 48 - 1 });
    const rnd = fc.uint8Array({ minLength: 10, maxLength: 10 });
    fc.assert(
      fc.property(time, time, rnd, rnd, (t1, t2, r1, r2) => {
        fc.pre(t1 !== t2);
        const a = newId('plan', t1, () => r1);
        const b = newId('plan', t2, () => r2);
        return t1 < t2 ? a < b : a > b;
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips its time through idTime', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (t) => idTime(newId('plan', t)) === t));
    assert.equal(idTime('plan_01aryz6s41'), null); // too short
    assert.equal(idTime('plan_81aryz6s410000000000000000'), null); // first character > 7
    assert.equal(idTime('plan_01aryz6s41000000000000000u'), null); // u is not Crockford
    assert.equal(idTime('_01aryz6s410000000000000000'), null); // no prefix
  });

  it('gives 100,000 distinct ids within one millisecond from crypto randomness', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(newId('plan', 1_760_000_000_000, cryptoRandom));
    assert.equal(seen.size, 100_000);
  });
});

describe('createIdSource', () => {
  it('is strictly increasing within one millisecond: the random part counts up', () => {
    const clock = new ManualClock(1_760_000_000_000);
    const ids = createIdSource(clock, zeros);
    const a = ids.next('plan');
    const b = ids.next('plan');
    const c = ids.next('plan');
    assert.equal(a.slice(-3), '000');
    assert.equal(b.slice(-3), '001');
    assert.equal(c.slice(-3), '002');
    clock.advance(1);
    const d = ids.next('plan');
    assert.ok(c < d);
    assert.equal(d.slice(-3), '000', 'a new millisecond draws fresh randomness');
  });

  it('stays increasing when the clock steps back, and when the random part wraps', () => {
    const clock = new ManualClock(1_000);
    const ids = createIdSource(clock, ones);
    const a = ids.next('p'); // random part all ones: the next id in this ms would wrap
    clock.set(500);
    const b = ids.next('p');
    assert.ok(a < b);
    assert.equal(idTime(b), 1_001, 'a wrap moves on to the next millisecond');
  });

  it('gives 50,000 strictly increasing ids with real randomness and a frozen clock', () => {
    const ids = createIdSource(new ManualClock(1_760_000_000_000));
    let prev = '';
    for (let i = 0; i < 50_000; i++) {
      const id = ids.next('plan');
      assert.ok(id > prev);
      prev = id;
    }
  });
});
