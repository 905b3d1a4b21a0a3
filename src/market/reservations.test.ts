import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OfferInput } from '../providers/offer.js';
import { type DiscoverQuery, parseDiscoverQuery } from './discover.js';
import { encodeOfferId, hash64, offerKey } from './ids.js';
import type { Market, PriceTick } from './market.js';
import { providerStats } from './provider-stats.js';
import { newMarket, offer, q } from './testing.js';

const idOf = (o: OfferInput) => {
  const h = hash64(offerKey(o.provider, o.sku, o.region, o.zone, o.interruptible));
  return encodeOfferId(h.hi, h.lo);
};

// H100 at $2.49 is the cheapest traditional GPU_A offer; P5 is 8 × H100 at $5/GPU-hour.
const H100 = offer({ provider: 'lambda', sku: 'h100', price_per_hour: 2.49, available: 4 });
const P5 = offer({ provider: 'aws', sku: 'p5', gpu_count: 8, price_per_hour: 40, available: 2 });
const CPU = offer({
  provider: 'aws',
  sku: 'm7i',
  gpu_model: null,
  gpu_count: 0,
  vcpus: 32,
  price_per_hour: 1.6,
  available: 10,
});
const A = idOf(H100);
const B = idOf(P5);
const C = idOf(CPU);
const GONE = 'of_0000000000000'; // a well-formed id of no offer in the snapshot

const build = () => newMarket({ lambda: [H100], aws: [P5, CPU] });
const stats = (m: Market) => providerStats(m.snapshot(), m.env, m.location);

/** `available` of every offer as each read path sees it. */
function views(m: Market, ctx: ReturnType<typeof build>['ctx']) {
  const byId = (offers: { id: string; available: number }[]) =>
    Object.fromEntries(offers.map((o) => [o.id, o.available]));
  return {
    query: byId(m.query(q(ctx, 'min_available=0&limit=100')).offers),
    get: Object.fromEntries([A, B, C].map((id) => [id, m.get(id)?.available])),
    availableOffers: byId(m.availableOffers(0)),
  };
}

describe('reservations', () => {
  type Step = [Record<string, number>, 'replace' | 'patch'];
  const cases: { name: string; steps: Step[]; want: Record<string, number> }[] = [
    { name: 'none', steps: [], want: { [A]: 4, [B]: 2, [C]: 10 } },
    { name: 'patch lowers', steps: [[{ [A]: 1, [C]: 3 }, 'patch']], want: { [A]: 3, [B]: 2, [C]: 7 } },
    { name: 'all reserved', steps: [[{ [A]: 4 }, 'patch']], want: { [A]: 0, [B]: 2, [C]: 10 } },
    {
      name: 'over-reservation clamps at 0',
      steps: [[{ [B]: 9 }, 'patch']],
      want: { [A]: 4, [B]: 0, [C]: 10 },
    },
    {
      name: 'patch 0 removes',
      steps: [
        [{ [A]: 1, [B]: 1 }, 'patch'],
        [{ [A]: 0 }, 'patch'],
      ],
      want: { [A]: 4, [B]: 1, [C]: 10 },
    },
    {
      name: 'patch keeps ids it does not name',
      steps: [
        [{ [A]: 1 }, 'replace'],
        [{ [B]: 2 }, 'patch'],
      ],
      want: { [A]: 3, [B]: 0, [C]: 10 },
    },
    {
      name: 'replace drops ids it does not name',
      steps: [
        [{ [A]: 1, [B]: 1 }, 'replace'],
        [{ [C]: 5 }, 'replace'],
      ],
      want: { [A]: 4, [B]: 2, [C]: 5 },
    },
    {
      name: 'bad figures count as 0',
      steps: [[{ [A]: -3, [B]: Number.NaN, [C]: 2.7 }, 'patch']],
      want: { [A]: 4, [B]: 2, [C]: 8 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { market, ctx } = build();
      for (const [map, mode] of c.steps) market.applyReservations(new Map(Object.entries(map)), mode);
      const v = views(market, ctx);
      assert.deepEqual(v.query, c.want, 'query');
      assert.deepEqual(v.get, c.want, 'get');
      assert.deepEqual(v.availableOffers, c.want, 'availableOffers');
      // The provider's own figure never moves.
      assert.deepEqual(
        [A, B, C].map((id) => market.supply(id)),
        [4, 2, 10],
      );
      const s = stats(market);
      const want = (id: string) => c.want[id] as number;
      assert.equal(s.get('lambda')?.available_nodes, want(A));
      assert.equal(s.get('aws')?.available_nodes, want(B) + want(C));
      assert.equal(s.get('aws')?.available_gpus, want(B) * 8);
      assert.equal(s.get('aws')?.available_vcpus, want(B) * 16 + want(C) * 32);
    });
  }

  it('filters min_available (and the default of 1) on the reduced figure', () => {
    const { market, ctx } = build();
    market.applyReservations(new Map([[A, 2]]), 'replace');
    const ids = (qs: string) => market.query(q(ctx, qs)).offers.map((o) => o.id);
    assert.ok(!ids('min_available=3').includes(A));
    assert.ok(ids('min_available=2').includes(A));
    market.applyReservations(new Map([[A, 4]]), 'patch');
    assert.ok(!ids('').includes(A), 'sold out: hidden by default');
    assert.ok(ids('min_available=0').includes(A));
    assert.deepEqual(
      market
        .availableOffers(1)
        .map((o) => o.id)
        .sort(),
      ids('').sort(),
    );
  });

  it('discover measures delivery against the reduced figure', () => {
    const { market, ctx } = build();
    const discover = (qs: string) => {
      const r = parseDiscoverQuery(Object.fromEntries(new URLSearchParams(qs)), ctx);
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      return market.discover(r.query as DiscoverQuery);
    };
    // 100 reference GPU-hours on H100s (rate 1): 100 node-hours on H100, 12.5 on P5.
    const before = discover('gpu_hours=100&deadline_hours=40&min_available=0');
    const h100 = before.options.find((o) => o.offer.id === A);
    assert.equal(h100?.available, 4);
    assert.equal(h100?.nodes_needed, 3);
    assert.equal(h100?.can_deliver, true);
    assert.equal(h100?.hours_with_all_available, 25);

    market.applyReservations(new Map([[A, 2]]), 'replace');
    const after = discover('gpu_hours=100&deadline_hours=40&min_available=0');
    assert.ok(!after.options.some((o) => o.offer.id === A), 'cannot finish by the deadline on 2 nodes');
    assert.ok(after.excluded.some((e) => e.reason === 'cannot_finish_by_deadline'));
    const open = discover('gpu_hours=100&min_available=0').options.find((o) => o.offer.id === A);
    assert.equal(open?.available, 2);
    assert.equal(open?.hours_with_all_available, 50);
    assert.equal(open?.offer.available, 2);
  });

  it('a refresh re-applies the map; ids not in the snapshot are kept for later', () => {
    const { market, ctx } = build();
    market.applyReservations(
      new Map([
        [A, 1],
        [B, 1],
        [GONE, 3],
      ]),
      'replace',
    );
    // lambda reports more capacity; aws is untouched (its rows are carried over).
    market.replaceOffers(new Map([['lambda', [{ ...H100, available: 6 }]]]));
    assert.equal(market.get(A)?.available, 5);
    assert.equal(market.supply(A), 6);
    assert.equal(market.get(B)?.available, 1);
    assert.equal(market.supply(B), 2);
    // The offer leaves and comes back: its reservation still holds.
    market.replaceOffers(new Map([['lambda', []]]));
    assert.equal(market.get(A), null);
    assert.equal(market.supply(A), null);
    assert.equal(market.reservedNodes(A), 1);
    market.replaceOffers(new Map([['lambda', [H100]]]));
    assert.equal(market.get(A)?.available, 3);
    assert.equal(market.reservedNodes(GONE), 3);
    assert.equal(market.supply(GONE), null);
    const listed = market.query(q(ctx, 'min_available=0&limit=100')).offers;
    assert.deepEqual(listed.map((o) => o.available).sort(), [1, 10, 3]);
  });

  it('moves the epoch only when the map changes', () => {
    const { market } = build();
    const e0 = market.reservationEpoch();
    market.applyReservations(new Map([[A, 0]]), 'patch');
    market.applyReservations(new Map(), 'replace');
    assert.equal(market.reservationEpoch(), e0);
    market.applyReservations(new Map([[GONE, 1]]), 'patch');
    const e1 = market.reservationEpoch();
    assert.ok(e1 > e0);
    market.applyReservations(new Map([[GONE, 1]]), 'replace');
    assert.equal(market.reservationEpoch(), e1);
    market.applyReservations(new Map([[A, 1]]), 'replace');
    assert.ok(market.reservationEpoch() > e1);
  });

  it('spot prices and their ticks follow offers that sell out or free up', () => {
    const { market } = build();
    const ticks: PriceTick[] = [];
    market.onTick((t) => ticks.push(t));
    const s0 = market.spotPrices();
    assert.equal(s0.traditional?.GPU_A, 2.49);
    market.applyReservations(new Map([[A, 1]]), 'patch');
    assert.equal(market.spotPrices(), s0, 'still available: the cached figures stand');
    market.applyReservations(new Map([[A, 4]]), 'patch');
    assert.equal(ticks.length, 0, 'nothing recomputed on the booking path');
    assert.equal(market.spotPrices().traditional?.GPU_A, 5);
    assert.deepEqual(
      ticks.map((t) => t.kind === 'aggregate' && [t.resource_type, t.price, t.previous]),
      [['GPU_A', 5, 2.49]],
    );
    market.applyReservations(new Map(), 'replace');
    assert.equal(market.spotPrices().traditional?.GPU_A, 2.49);
    assert.equal(ticks.length, 2);
  });

  it('provider price bounds skip sold-out offers', () => {
    const { market } = build();
    assert.equal(stats(market).get('aws')?.price_min, 5);
    market.applyReservations(new Map([[B, 2]]), 'patch');
    // Nothing of aws's GPUs left: the bounds fall back to every GPU offer.
    assert.equal(stats(market).get('aws')?.price_min, 5);
    assert.equal(stats(market).get('aws')?.available_gpus, 0);
    market.applyReservations(new Map([[A, 4]]), 'patch');
    assert.equal(stats(market).get('lambda')?.available_nodes, 0);
  });
});
