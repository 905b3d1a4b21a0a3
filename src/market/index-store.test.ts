import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OfferInput } from '../providers/offer.js';
import type { Cursor } from './cursor.js';
import { decodeOfferId, encodeOfferId, hash64, offerKey } from './ids.js';
import { newMarket, offer } from './testing.js';
import { type RowList, walk } from './walk.js';

describe('offer ids', () => {
  it('round-trip and stay stable', () => {
    const table: [number, number][] = [
      [0, 0],
      [0xffffffff, 0xffffffff],
      [0x12345678, 0x9abcdef0],
    ];
    for (const [hi, lo] of table) {
      const id = encodeOfferId(hi, lo);
      assert.match(id, /^of_[0-9a-hjkmnp-tv-z]{13}$/);
      assert.deepEqual(decodeOfferId(id), { hi, lo });
    }
    const a = hash64(offerKey('aws', 'p5', 'us-east-1', null, false));
    assert.deepEqual(a, hash64(offerKey('aws', 'p5', 'us-east-1', null, false)));
    assert.notDeepEqual(a, hash64(offerKey('aws', 'p5', 'us-east-1', null, true)));
    assert.equal(decodeOfferId('of_zzzzzzzzzzzzz'), null); // first digit carries only 4 bits
    assert.equal(decodeOfferId('of_0000000000!00'), null);
  });
});

describe('snapshot walk', () => {
  const many: OfferInput[] = [];
  const models = ['RTX4090', 'A100-80GB', 'H100', 'L4'];
  for (let i = 0; i < 300; i++) {
    // Prices repeat every 7 offers so (key, id) ties are common.
    many.push(
      offer({
        provider: 'p',
        sku: `s${i}`,
        gpu_model: models[i % 4] as string,
        price_per_hour: 1 + (i % 7) / 10,
      }),
    );
  }
  const { market } = newMarket({ p: many });
  const snap = market.snapshot();
  const env = market.env;
  const isWanted = (r: number) =>
    ['RTX4090', 'L4'].includes(env.modelName(snap.cols.model[r] as number) as string);

  it('drops duplicate ids, keeping the first', () => {
    const { market: m } = newMarket({
      p: [
        offer({ provider: 'p', sku: 'x', price_per_hour: 1 }),
        offer({ provider: 'p', sku: 'x', price_per_hour: 9 }),
      ],
    });
    assert.equal(m.snapshot().n, 1);
    assert.equal(m.snapshot().duplicatesDropped, 1);
    assert.equal(m.query({ sort: 'price_asc', limit: 5 }).offers[0]?.price_per_hour, 1);
  });

  for (const [reverse, seqSwitch] of [
    [false, undefined],
    [true, undefined],
    [false, 5], // switches to the sequential pass after 5 rows visited
    [true, 5],
  ] as const) {
    it(`merging posting lists equals filtering the permutation, page by page (reverse=${reverse}, seqSwitch=${seqSwitch})`, () => {
      const post = snap.postings.price.model;
      const lists: RowList[] = ['RTX4090', 'L4'].map((m) => {
        const c = env.models.find(m);
        return { items: post.items, lo: post.offsets[c] as number, hi: post.offsets[c + 1] as number };
      });
      const full: RowList[] = [{ items: snap.perm.price, lo: 0, hi: snap.n }];
      const base = { key: 'price' as const, reverse, keyBound: -1, pass: isWanted, want: 1e9, seqSwitch };
      const expected = walk(snap, full, { ...base, cursor: null, seqSwitch: undefined }).rows;
      assert.equal(expected.length, 150); // 300 offers, half RTX4090 or L4
      const got: number[] = [];
      let cursor: Cursor | null = null;
      for (;;) {
        const page = walk(snap, lists, { ...base, cursor, want: 16 }).rows;
        got.push(...page);
        if (page.length < 16) break;
        const last = page[page.length - 1] as number;
        cursor = {
          sort: 'price_asc',
          key: snap.keys.price[last] as number,
          hi: snap.cols.idHi[last] as number,
          lo: snap.cols.idLo[last] as number,
        };
      }
      assert.deepEqual(got, expected);
    });
  }
});
