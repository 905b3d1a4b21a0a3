/** One generated run of the ledger's property test: executes commands and checks the model's invariants. */
import assert from 'node:assert/strict';
import { createIdSource, type RandomSource } from '../storage/ids.js';
import type { Store } from '../storage/store.js';
import { ManualClock } from '../util/clock.js';
import {
  escrowAccount,
  externalAccount,
  FEES_ACCOUNT,
  providerAccount,
  requesterAccount,
} from './accounts.js';
import { mulDiv, usdToMicros } from './money.js';
import { lineCost } from './pricing.js';
import { type Cmd, FixedMarket, OFFERS, OPERATOR, PRINCIPALS, PROVIDERS, T0 } from './property-model.js';
import { createRailRegistry } from './rails.js';
import { createLedgerService, type LedgerService } from './service.js';
import { elapsedUsage, TokenMeter } from './settlement.js';
import { isOpenBooking, isReservingLease } from './states.js';
import type { BookingRecord, BookingStatus, Micros } from './store.js';

/** Deterministic id randomness, so a failing seed reproduces exactly. */
function seededRandom(seed: number): RandomSource {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

// ---------------------------------------------------------------- one run

interface Booked {
  id: string;
  requester: string;
  body: Record<string, unknown>;
  key: string | null;
  status: BookingStatus;
  settled: Micros;
}

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;

/** What the generated runs reached (book outcomes, status changes), so a test can show it covers them. */
export type Stats = Record<string, number>;

export class Run {
  readonly clock = new ManualClock(T0);
  readonly market = new FixedMarket();
  readonly meter = new TokenMeter();
  readonly service: LedgerService;
  readonly bookings: Booked[] = [];
  readonly deposits: { p: string; micros: number; key: string }[] = [];
  readonly deposited = new Map<string, number>(PRINCIPALS.map((p) => [p, 0]));
  /** Per offer, the largest provider figure any successful booking reserved against. */
  readonly capacityBooked = new Map<string, number>();
  private n = 0;

  constructor(
    readonly store: Store,
    seed: number,
    private readonly stats: Stats,
  ) {
    this.service = createLedgerService({
      store: store.ledger,
      plans: store.plans,
      offers: this.market,
      rails: createRailRegistry(),
      ids: createIdSource(this.clock, seededRandom(seed)),
      clock: this.clock,
      windowS: 3600,
      feeBps: 100,
      usage: elapsedUsage(this.meter),
    });
  }

  private stat(k: string): void {
    this.stats[k] = (this.stats[k] ?? 0) + 1;
  }

  private async balance(id: string): Promise<number> {
    return (await this.store.ledger.getAccount(id))?.balance ?? 0;
  }

  async exec(c: Cmd): Promise<void> {
    await this.market.sync(this.store);
    switch (c.k) {
      case 'deposit': {
        const p = PRINCIPALS[c.p]!;
        const key = `dep-${++this.n}`;
        const before = await this.balance(requesterAccount(p));
        const r = await this.service.credit(OPERATOR, p, { amount_usd: c.micros / 1e6 }, key);
        assert.ok(r.ok && r.status === 201, JSON.stringify(r));
        assert.equal(await this.balance(requesterAccount(p)), before + c.micros);
        this.deposits.push({ p, micros: c.micros, key });
        this.deposited.set(p, (this.deposited.get(p) ?? 0) + c.micros);
        return;
      }
      case 'replayDeposit': {
        const d = this.deposits[c.idx % Math.max(1, this.deposits.length)];
        if (!d) return;
        const before = await this.balance(requesterAccount(d.p));
        const amount = c.otherAmount ? d.micros + 1 : d.micros;
        const r = await this.service.credit(OPERATOR, d.p, { amount_usd: amount / 1e6 }, d.key);
        if (c.otherAmount) assert.ok(!r.ok && r.problem.status === 422, JSON.stringify(r));
        else assert.ok(r.ok && r.status === 200 && r.replayed === true, JSON.stringify(r));
        assert.equal(await this.balance(requesterAccount(d.p)), before, 'a replayed credit moves nothing');
        return;
      }
      case 'book':
        return this.book(c);
      case 'replayBook': {
        const keyed = this.bookings.filter((b) => b.key !== null);
        const b = keyed[c.idx % Math.max(1, keyed.length)];
        if (!b) return;
        const before = await this.store.ledger.getBooking(b.id);
        const bal = await this.balance(requesterAccount(b.requester));
        const r = await this.service.book({ id: b.requester, role: 'requester' }, b.body, b.key);
        assert.ok(r.ok && r.status === 201 && r.replayed === true, JSON.stringify(r));
        assert.equal((r.body as Json).booking_id, b.id);
        assert.deepEqual(await this.store.ledger.getBooking(b.id), before, 'a replay changes nothing');
        assert.equal(await this.balance(requesterAccount(b.requester)), bal);
        return;
      }
      case 'cancel': {
        const b = this.bookings[c.idx % Math.max(1, this.bookings.length)];
        if (!b) return;
        const before = await this.store.ledger.getBooking(b.id);
        assert.ok(before);
        const caller = c.asOther ? PRINCIPALS.find((p) => p !== b.requester)! : b.requester;
        const r = await this.service.cancel({ id: caller, role: 'requester' }, b.id, null);
        if (c.asOther) {
          assert.ok(!r.ok && r.problem.status === 404, JSON.stringify(r));
          assert.deepEqual(
            await this.store.ledger.getBooking(b.id),
            before,
            "another principal's cancel changes nothing",
          );
          return;
        }
        if (before.status === 'cancelled') {
          assert.ok(r.ok && r.status === 200 && (r.body as Json).status === 'cancelled');
          assert.deepEqual(
            await this.store.ledger.getBooking(b.id),
            before,
            'cancelling a cancelled booking changes nothing',
          );
        } else if (!isOpenBooking(before.status)) {
          assert.ok(!r.ok && r.problem.status === 409, JSON.stringify(r));
          assert.deepEqual(await this.store.ledger.getBooking(b.id), before);
        } else {
          assert.ok(r.ok && r.status === 200, JSON.stringify(r));
          // Cancelling pays the time used; when the funds cannot cover it the booking is overdrawn.
          assert.ok(['cancelled', 'overdrawn'].includes((r.body as Json).status), JSON.stringify(r.body));
        }
        return;
      }
      case 'tokens': {
        const b = this.bookings[c.idx % Math.max(1, this.bookings.length)];
        if (!b) return;
        const rec = await this.store.ledger.getBooking(b.id);
        for (const l of rec?.leases ?? []) this.meter.add(l.id, c.n);
        return;
      }
      case 'supply':
        // The market moves: the provider's figure may fall below what is reserved (docs/ledger.md).
        this.market.supplies.set(OFFERS[c.offer]!.offer.id, c.n);
        return;
      case 'advance': {
        this.clock.advance(c.ms);
        await this.service.settleDue();
        // More passes at the same instant pay nothing more and end nothing more. They may still top
        // up a streaming hold with money a booking later in the first pass released.
        const paid = await this.paidView();
        let passes = 0;
        while ((await this.service.settleDue()) > 0)
          assert.ok(++passes <= this.bookings.length, 'settlement passes at one instant settle down');
        assert.deepEqual(
          await this.paidView(),
          paid,
          'a second pass at the same instant pays and ends nothing',
        );
        return;
      }
      default: {
        const never: never = c;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  }

  private async book(c: Extract<Cmd, { k: 'book' }>): Promise<void> {
    const p = PRINCIPALS[c.p]!;
    const { offer: o } = OFFERS[c.offer]!;
    const model = c.model.startsWith('per_epoch') ? 'per_epoch' : c.model;
    const payment: Json = { method: 'credits', stream: c.stream, model };
    if (c.model === 'per_epoch_day') payment.epoch = 'day';
    const body = { allocations: [{ offer_id: o.id, nodes: c.nodes, hours: c.hours }], payment };
    const key = c.keyed ? `book-${++this.n}` : null;

    // What the booking must cost and hold, computed here independently of the service.
    const price = usdToMicros(o.price_per_hour);
    const cost = lineCost(c.nodes, c.hours, price);
    const epochS =
      c.model === 'per_epoch_day'
        ? 86_400
        : c.model === 'per_epoch_hour'
          ? 3600
          : c.model === 'per_token'
            ? 60
            : 1;
    const hold = c.stream ? Math.min(cost, mulDiv(c.nodes * price, Math.max(3600, epochS), 3600)) : cost;
    const free = this.market.free(o.id);
    const balance = await this.balance(requesterAccount(p));
    const capacity = this.market.supplies.get(o.id) ?? 0;

    const r = await this.service.book({ id: p, role: 'requester' }, body, key);
    this.stat(r.ok ? 'book 201' : `book ${r.problem.status}`);
    if (c.nodes > free) {
      assert.ok(!r.ok && r.problem.status === 409 && r.problem.code === 'sold_out', JSON.stringify(r));
      return;
    }
    if (hold > balance) {
      assert.ok(!r.ok && r.problem.status === 402, `hold ${hold} > balance ${balance}: ${JSON.stringify(r)}`);
      return;
    }
    assert.ok(
      r.ok && r.status === 201,
      `free ${free}, hold ${hold} ≤ balance ${balance}: ${JSON.stringify(r)}`,
    );
    const id = (r.body as Json).booking_id as string;
    const rec = await this.store.ledger.getBooking(id);
    assert.ok(rec);
    assert.equal(rec.total_cost, cost);
    assert.equal(rec.held, hold);
    assert.equal(rec.payment.epoch_s, epochS);
    assert.equal(await this.balance(requesterAccount(p)), balance - hold);
    this.capacityBooked.set(o.id, Math.max(this.capacityBooked.get(o.id) ?? 0, capacity));
    this.bookings.push({ id, requester: p, body, key, status: rec.status, settled: 0 });
    const reserved = (await this.store.ledger.reserved([o.id])).get(o.id) ?? 0;
    assert.ok(reserved <= capacity, `offer ${o.id}: ${reserved} reserved, capacity ${capacity}`);
  }

  /** What has been paid out and which bookings and leases have ended. */
  private async paidView(): Promise<unknown> {
    const earned: Record<string, number> = { fees: await this.balance(FEES_ACCOUNT) };
    for (const pr of PROVIDERS) earned[pr] = await this.balance(providerAccount(pr));
    const bookings = [];
    for (const b of this.bookings) {
      const r = await this.store.ledger.getBooking(b.id);
      bookings.push(
        r && { status: r.status, settled: r.settled, leases: r.leases.map((l) => [l.state, l.settled]) },
      );
    }
    return { earned, bookings };
  }

  private accountIds(): string[] {
    return [
      ...PRINCIPALS.flatMap((p) => [requesterAccount(p), escrowAccount(p)]),
      ...PROVIDERS.map(providerAccount),
      FEES_ACCOUNT,
      externalAccount('credits'),
    ];
  }

  /** The invariants, checked after every command. */
  async check(): Promise<void> {
    const v = await this.store.ledger.verify();
    assert.deepEqual(v, { ok: true, violations: [] });

    const total = [...this.deposited.values()].reduce((s, x) => s + x, 0);
    let inside = 0;
    for (const a of this.accountIds()) if (a !== externalAccount('credits')) inside += await this.balance(a);
    assert.equal(inside, total, 'money inside the ledger = everything deposited');
    assert.equal(
      await this.balance(externalAccount('credits')),
      0 - total || 0,
      'the credits rail is minus the deposits',
    );

    const records: BookingRecord[] = [];
    for (const b of this.bookings) {
      const rec = await this.store.ledger.getBooking(b.id);
      assert.ok(rec, `booking ${b.id} exists`);
      records.push(rec);
    }
    let settled = 0;
    for (const p of PRINCIPALS) {
      const mine = records.filter((r) => r.requester === p);
      const held = mine.reduce((s, r) => s + r.held, 0);
      const paid = mine.reduce((s, r) => s + r.settled, 0);
      settled += paid;
      const req = await this.balance(requesterAccount(p));
      assert.ok(req >= 0, `${p} balance ${req} below zero`);
      assert.equal(await this.balance(escrowAccount(p)), held, `${p} escrow = its bookings' holds`);
      assert.equal(req + held + paid, this.deposited.get(p), `${p}: balance + held + paid = deposited`);
    }
    let earned = await this.balance(FEES_ACCOUNT);
    for (const pr of PROVIDERS) earned += await this.balance(providerAccount(pr));
    assert.equal(earned, settled, 'providers and fees received exactly what bookings settled');

    const reserving = new Map<string, number>();
    for (const [i, rec] of records.entries()) {
      const b = this.bookings[i]!;
      assert.ok(rec.held >= 0);
      assert.ok(rec.settled >= b.settled, `booking ${rec.id}: settled went down`);
      if (!isOpenBooking(b.status))
        assert.equal(rec.status, b.status, `booking ${rec.id} left final status ${b.status}`);
      if (rec.status !== b.status) this.stat(`became ${rec.status}`);
      b.settled = rec.settled;
      b.status = rec.status;
      if (rec.payment.model !== 'per_token')
        assert.ok(rec.settled <= rec.total_cost, `booking ${rec.id} settled past its cost`);
      if (isOpenBooking(rec.status)) {
        for (const l of rec.leases)
          assert.ok(isReservingLease(l.state), `open booking ${rec.id} has lease ${l.state}`);
      } else {
        assert.equal(rec.held, 0, `${rec.status} booking ${rec.id} still holds ${rec.held}`);
        for (const l of rec.leases)
          assert.ok(!isReservingLease(l.state), `${rec.status} booking ${rec.id} has lease ${l.state}`);
      }
      if (rec.status === 'completed' && rec.payment.model !== 'per_token')
        assert.equal(rec.settled, rec.total_cost, `completed booking ${rec.id} paid its whole cost`);
      for (const l of rec.leases)
        if (isReservingLease(l.state)) reserving.set(l.offer_id, (reserving.get(l.offer_id) ?? 0) + l.nodes);
    }
    const reserved = await this.store.ledger.reserved();
    for (const { offer: o } of OFFERS) {
      const r = reserved.get(o.id) ?? 0;
      assert.equal(r, reserving.get(o.id) ?? 0, `offer ${o.id}: reserved = nodes of open leases`);
      assert.ok(
        r <= (this.capacityBooked.get(o.id) ?? 0),
        `offer ${o.id}: ${r} reserved beyond any capacity booked against`,
      );
    }
  }
}
