import { type Problem, problem } from '../protocol/problem.js';
import { externalAccount, parseAccountId, providerAccount, requesterAccount } from './accounts.js';
import { type BookingDeps, createBooking, idempotencyMismatch, type Outcome } from './bookings.js';
import { mirrorBudgets, type SpendLimit } from './budgets.js';
import { entriesPage, MAX_LIST } from './entries.js';
import { IDEMPOTENCY_TTL_MS, requestHash } from './idempotency.js';
import { microsToUsd, usdToMicros } from './money.js';
import { settleBooking, type UsageSource } from './settlement.js';
import { isOpenBooking } from './states.js';
import type { BookingRecord, IdempotencyRecord, LedgerStore, Micros } from './store.js';
import { bookingToWire } from './wire.js';

/**
 * The ledger's operations in wire terms (bookings, accounts, credits, verification, settlement).
 * Routes call these and map `Outcome`s to responses; nothing here knows HTTP.
 */

export interface LedgerDeps extends BookingDeps {
  usage: UsageSource;
  /** Operator fee, basis points of what providers are paid. */
  feeBps: number;
}

export interface Caller {
  id: string;
  role: 'operator' | 'requester' | 'provider';
  /** Caveats of the delegated token the caller acts through, one per token in its chain. */
  limits?: readonly SpendLimit[];
}

const fail = (p: Problem): Outcome => ({ ok: false, problem: p });

/** What the runtime tells the ledger about a lease: it started, or how it ended. */
export type LeaseProgress = 'running' | 'completed' | 'failed' | 'cancelled' | 'preempted';

export interface LedgerService {
  book(caller: Caller, body: unknown, key: string | null): Promise<Outcome>;
  get(caller: Caller, id: string): Promise<Outcome>;
  list(caller: Caller, q: { cursor?: string; limit?: number }): Promise<Outcome>;
  cancel(caller: Caller, id: string, key: string | null): Promise<Outcome>;
  account(caller: Caller): Promise<Outcome>;
  transactions(caller: Caller, q: { cursor?: string; limit?: number }): Promise<Outcome>;
  /**
   * The runtime's news about a lease (issue 6): it started running (its usage counts from `at`),
   * or it ended (`completed` or `failed` at `at`). Settlement then pays up to the end and
   * releases the rest. Retries a lost race; false when the lease or booking is unknown or the
   * lease has already ended.
   */
  leaseProgress(leaseId: string, bookingId: string, to: LeaseProgress, at: number): Promise<boolean>;
  /** A provider's account (`prov:<name>`): what it has earned, and its entries, newest first. */
  earnings(provider: string, q: { cursor?: string; limit?: number }): Promise<Outcome>;
  credit(caller: Caller, accountId: string, body: unknown, key: string | null): Promise<Outcome>;
  verify(): Promise<Outcome>;
  /** One settlement pass over every open booking; returns how many bookings changed. */
  settleDue(): Promise<number>;
}

export function createLedgerService(d: LedgerDeps): LedgerService {
  const store = d.store;
  const free = async (id: string): Promise<Micros> => {
    const a = await store.getAccount(id);
    return a ? a.balance + a.credit_limit : 0;
  };
  /** What a booking's requester can still commit: its account, capped by each budget of the booking. */
  const available = async (b: BookingRecord): Promise<Micros> => {
    let n = await free(requesterAccount(b.requester));
    for (const budget of b.payment.budgets ?? []) n = Math.min(n, await free(budget));
    return Math.max(0, n);
  };

  /** Re-reads and recomputes on a lost race (another settle or a cancel moved the version). */
  async function settleOne(
    b0: BookingRecord,
    reason: 'tick' | 'cancel',
    idem?: IdempotencyRecord | null,
    deferOverdraw = false,
  ): Promise<BookingRecord | null | 'deferred'> {
    let b: BookingRecord | null = b0;
    for (let i = 0; i < 5 && b; i++) {
      const u = settleBooking(b, {
        now: d.clock.now(),
        usage: d.usage,
        feeBps: d.feeBps,
        available: await available(b),
        windowS: d.windowS,
        txId: d.ids.next('tx'),
        reason,
      });
      if (!u) return b;
      // Another booking settled later in the same pass may return money to this requester.
      if (deferOverdraw && u.status === 'overdrawn') return 'deferred';
      if (idem) u.idempotency = idem;
      if (u.transaction) u.transaction = mirrorBudgets(u.transaction, b.requester, b.payment.budgets);
      const r = await store.applyBookingUpdate(u);
      if (r.kind === 'updated') return r.booking;
      if (r.kind === 'not_found') return null;
      b = await store.getBooking(b.id);
      if (!b || !isOpenBooking(b.status)) return b;
    }
    return b;
  }

  const visible = (c: Caller, b: BookingRecord | null) =>
    b !== null && (c.role === 'operator' || b.requester === c.id);
  const notFound = (id: string) =>
    fail(
      problem('not-found', `No booking ${id} for this principal. GET /bookings lists yours.`, {
        param: 'id',
      }),
    );

  return {
    book: (c, body, key) => createBooking(d, c.id, body, key, c.limits ?? []),

    async get(c, id) {
      const b = await store.getBooking(id);
      if (!visible(c, b)) return notFound(id);
      return { ok: true, status: 200, body: bookingToWire(b as BookingRecord) };
    },

    async list(c, q) {
      const limit = q.limit ?? 20;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST)
        return fail(
          problem('invalid-parameter', `limit must be a whole number from 1 to ${MAX_LIST}`, {
            param: 'limit',
          }),
        );
      if (q.cursor !== undefined && !/^bk_[0-9a-z]{26}$/.test(q.cursor))
        return fail(
          problem('invalid-parameter', 'cursor must be the next_cursor of a previous page', {
            param: 'cursor',
          }),
        );
      const rows = await store.listBookings(c.id, {
        ...(q.cursor ? { before: q.cursor } : {}),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return {
        ok: true,
        status: 200,
        body: {
          bookings: page.map(bookingToWire),
          next_cursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
        },
      };
    },

    async cancel(c, id, key) {
      const now = d.clock.now();
      const scope = `POST /bookings/${id}/cancel`;
      const hash = requestHash({});
      if (key) {
        const prior = await store.getIdempotency(c.id, key, now);
        if (prior)
          return prior.scope === scope
            ? { ok: true, status: prior.status, body: prior.response, replayed: true }
            : fail(idempotencyMismatch(prior.scope));
      }
      const b = await store.getBooking(id);
      if (!visible(c, b)) return notFound(id);
      const booking = b as BookingRecord;
      if (booking.status === 'cancelled') return { ok: true, status: 200, body: bookingToWire(booking) };
      if (!isOpenBooking(booking.status))
        return fail(
          problem(
            'conflict',
            `Booking ${id} is ${booking.status}; only pending or active bookings can be cancelled.`,
            {
              param: 'id',
              status_now: booking.status,
            },
          ),
        );
      const after = await settleOne(booking, 'cancel');
      if (!after || after === 'deferred') return notFound(id);
      const body = bookingToWire(after);
      if (key)
        await store.putIdempotency({
          principal: c.id,
          key,
          scope,
          request_hash: hash,
          status: 200,
          response: body,
          created_at: now,
          expires_at: now + IDEMPOTENCY_TTL_MS,
        });
      return { ok: true, status: 200, body };
    },

    async account(c) {
      const a = await store.getAccount(requesterAccount(c.id));
      const e = await store.getAccount(`escrow:${c.id}`);
      return {
        ok: true,
        status: 200,
        body: {
          id: requesterAccount(c.id),
          principal: c.id,
          balance_usd: microsToUsd(a?.balance ?? 0),
          held_usd: microsToUsd(e?.balance ?? 0),
          credit_limit_usd: microsToUsd(a?.credit_limit ?? 0),
          currency: 'USD',
        },
      };
    },

    transactions: (c, q) => entriesPage(store, requesterAccount(c.id), q),

    async leaseProgress(leaseId, bookingId, to, at) {
      for (let i = 0; i < 5; i++) {
        const b = await store.getBooking(bookingId);
        const l = b?.leases.find((x) => x.id === leaseId);
        if (!b || !l || !isOpenBooking(b.status)) return false;
        if (l.state !== 'pending' && l.state !== 'running') return false;
        if (to === 'running' && l.state === 'running' && l.started_at !== null) return true;
        if (to !== 'running' && l.ended_at !== null) return true;
        let change: NonNullable<Parameters<LedgerStore['applyBookingUpdate']>[0]['leases']>[number];
        if (to === 'running') change = { id: leaseId, state: 'running', started_at: at };
        else if (l.started_at === null)
          // It never started: nothing is owed; its capacity and its share of the hold go back.
          change = {
            id: leaseId,
            state: to === 'cancelled' ? 'cancelled' : to === 'preempted' ? 'stopped' : 'failed',
            ended_at: at,
          };
        // An end is recorded as `ended_at` on a lease still running: the next settlement pass
        // pays the time up to it and completes the lease (settlement.ts).
        else change = { id: leaseId, state: 'running', ended_at: Math.max(at, l.started_at) };
        const r = await store.applyBookingUpdate({
          booking_id: b.id,
          expected_version: b.version,
          at: d.clock.now(),
          ...(b.status === 'pending' && change.state === 'running' ? { status: 'active' as const } : {}),
          leases: [change],
          transaction: null,
        });
        if (r.kind === 'updated') return true;
        if (r.kind !== 'stale') return false;
      }
      return false;
    },

    async earnings(provider, q) {
      const a = await store.getAccount(providerAccount(provider));
      const page = await entriesPage(store, providerAccount(provider), q);
      if (!page.ok) return page;
      return {
        ok: true,
        status: 200,
        body: {
          id: providerAccount(provider),
          provider,
          balance_usd: microsToUsd(a?.balance ?? 0),
          currency: 'USD',
          ...(page.body as Record<string, unknown>),
        },
      };
    },

    async credit(c, accountId, body, key) {
      if (c.role !== 'operator')
        return fail(problem('forbidden', 'Only the operator may credit accounts. Use the admin token.'));
      if (!key)
        return fail(
          problem(
            'invalid-parameter',
            "Credits need an Idempotency-Key header: it is the credits rail's transaction id, so a retried credit is never applied twice.",
            {
              param: 'Idempotency-Key',
            },
          ),
        );
      const account = accountId.includes(':') ? accountId : requesterAccount(accountId);
      const parsed = parseAccountId(account);
      if (parsed?.kind !== 'requester' || !/^[A-Za-z0-9_.-]{1,128}$/.test(parsed.owner))
        return fail(
          problem('invalid-parameter', 'id must be a principal id (pr_…) or a requester account (req:pr_…)', {
            param: 'id',
          }),
        );
      const amt = (body as { amount_usd?: unknown } | null)?.amount_usd;
      const extra =
        body && typeof body === 'object'
          ? Object.keys(body).filter((k) => k !== 'amount_usd' && k !== 'memo')
          : [];
      if (extra.length)
        return fail(
          problem('invalid-body', `unknown field "${extra[0]}"; the body is {amount_usd, memo?}`, {
            param: `/${extra[0]}`,
          }),
        );
      if (typeof amt !== 'number' || !Number.isFinite(amt) || amt <= 0 || amt > 1e9)
        return fail(
          problem('invalid-body', 'amount_usd must be a number > 0 and ≤ 1,000,000,000', {
            param: '/amount_usd',
          }),
        );
      const micros = usdToMicros(amt);
      if (micros <= 0)
        return fail(
          problem('invalid-body', 'amount_usd is less than one micro-dollar', { param: '/amount_usd' }),
        );
      const memo =
        typeof (body as { memo?: unknown }).memo === 'string'
          ? String((body as { memo: string }).memo).slice(0, 200)
          : 'credit';
      const txId = d.ids.next('tx');
      const r = await store.deposit(
        {
          id: txId,
          kind: 'deposit',
          at: d.clock.now(),
          booking_id: null,
          memo,
          postings: [
            { account: externalAccount('credits'), amount: -micros },
            { account, amount: micros },
          ],
        },
        { rail: 'credits', external_ref: `${c.id}:${key}`, credit_to: account },
      );
      if (r.kind === 'conflict') return fail(idempotencyMismatch('POST /accounts/:id/credit'));
      return {
        ok: true,
        status: r.kind === 'created' ? 201 : 200,
        body: {
          account,
          transaction_id: r.kind === 'created' ? txId : r.tx_id,
          amount_usd: microsToUsd(micros),
          balance_usd: microsToUsd(r.balance),
          rail: 'credits',
          replayed: r.kind === 'replayed',
        },
        replayed: r.kind === 'replayed',
      };
    },

    async verify() {
      const v = await store.verify();
      return { ok: true, status: 200, body: v };
    },

    async settleDue() {
      let changed = 0;
      let after: string | undefined;
      // A booking about to be overdrawn waits until the rest of the pass has settled: a booking
      // that ends later in the pass may release its requester's unused hold and fund this one.
      const deferred: BookingRecord[] = [];
      for (;;) {
        const page = await store.listOpenBookings(200, after);
        if (page.length === 0) break;
        for (const b of page) {
          const out = await settleOne(b, 'tick', null, true);
          if (out === 'deferred') deferred.push(b);
          else if (out && out.version !== b.version) changed++;
        }
        after = page.at(-1)?.id;
        if (page.length < 200) break;
      }
      for (const b0 of deferred) {
        const b = await store.getBooking(b0.id);
        if (!b || !isOpenBooking(b.status)) continue;
        const out = await settleOne(b, 'tick');
        if (out && out !== 'deferred' && out.version !== b.version) changed++;
      }
      return changed;
    },
  };
}
