import assert from 'node:assert/strict';
import type { Store } from '../../storage/store.js';
import { escrowAccount, externalAccount, requesterAccount } from '../accounts.js';
import type {
  BookingRecord,
  DepositResult,
  IdempotencyRecord,
  LeaseRecord,
  NewBooking,
  NewTransaction,
  Reservation,
} from '../store.js';

/** Fixed ids, times and money for the ledger suite: it is about storage, not id generation or pricing. */

export const T0 = 1_760_000_000_000; // 2025-10-09T08:53:20Z
export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;
export const USD = 1_000_000;

export const ALICE = 'pr_alice';
export const BOB = 'pr_bob';
export const EXT = externalAccount('credits');
export const REQ_A = requesterAccount(ALICE);
export const ESC_A = escrowAccount(ALICE);

/** Raw SQL run on the backend's own connection; tables and columns as in both schemas. */
export type Corrupt = (store: Store, sql: string) => Promise<void>;

export type Case = (s: Store, corrupt?: Corrupt) => Promise<void>;

/** The balance of an account, 0 when it does not exist (a rolled-back posting may or may not leave it). */
export async function balance(s: Store, id: string): Promise<number> {
  return (await s.ledger.getAccount(id))?.balance ?? 0;
}

export function tx(
  id: string,
  postings: [string, number][],
  over: Partial<NewTransaction> = {},
): NewTransaction {
  return {
    id,
    kind: 'adjust',
    at: T0,
    booking_id: null,
    memo: `test ${id}`,
    postings: postings.map(([account, amount]) => ({ account, amount })),
    ...over,
  };
}

/** Credits `amount` from the credits rail to the principal; the external reference is the tx id. */
export function deposit(
  s: Store,
  id: string,
  principal: string,
  amount: number,
  ref = id,
): Promise<DepositResult> {
  const to = requesterAccount(principal);
  return s.ledger.deposit(
    tx(
      id,
      [
        [EXT, -amount],
        [to, amount],
      ],
      { kind: 'deposit' },
    ),
    { rail: 'credits', external_ref: ref, credit_to: to },
  );
}

export interface LeaseSpec {
  offer: string;
  nodes: number;
  hours: number;
  /** Micros per node-hour. */
  price: number;
  provider?: string;
}

export interface BookingOptions {
  requester?: string;
  at?: number;
  /** What the hold moves into escrow; default the whole cost (not streaming). */
  held?: number;
  /** The market's capacity figure per offer; default 10 nodes each. */
  capacity?: Record<string, number>;
  idempotency?: IdempotencyRecord | null;
  stream?: boolean;
}

/**
 * A booking as the booking code would build it: leases `ls_<id>_<i>` in pending, one reservation
 * per offer (nodes summed), and a hold `tx_hold_<id>` requester → escrow for `held`.
 */
export function newBooking(id: string, specs: LeaseSpec[], o: BookingOptions = {}): NewBooking {
  const requester = o.requester ?? ALICE;
  const at = o.at ?? T0;
  const leases: LeaseRecord[] = specs.map((l, idx) => ({
    id: `ls_${id}_${idx}`,
    booking_id: id,
    idx,
    offer_id: l.offer,
    provider: l.provider ?? 'vast',
    nodes: l.nodes,
    hours: l.hours,
    gpus_per_node: 0.5,
    price_per_node_hour: l.price,
    price_per_million_tokens: null,
    cost: Math.round(l.nodes * l.hours * l.price),
    settled: 0,
    state: 'pending',
    started_at: null,
    ended_at: null,
    detail: { resource_type: 'gpu', region: 'eu-west', tags: ['a', 'b'], nested: { x: 1.25 } },
  }));
  const total = leases.reduce((s, l) => s + l.cost, 0);
  const held = o.held ?? total;
  const byOffer = new Map<string, number>();
  for (const l of leases) byOffer.set(l.offer_id, (byOffer.get(l.offer_id) ?? 0) + l.nodes);
  const reservations: Reservation[] = [...byOffer].map(([offer_id, nodes]) => ({
    offer_id,
    nodes,
    capacity: o.capacity?.[offer_id] ?? 10,
  }));
  const booking: BookingRecord = {
    id,
    requester,
    status: 'pending',
    version: 1,
    created_at: at,
    updated_at: at,
    plan_id: `plan_${id}`,
    payment: {
      method: 'STABLE_COIN',
      model: 'per_second',
      stream: o.stream ?? false,
      epoch_s: 1,
      rail: 'credits',
    },
    total_cost: total,
    settled: 0,
    held,
    summary: { savings_usd: 1.5, baseline: { provider: 'aws' }, gpu_hours: 3 },
    leases,
  };
  const hold =
    held === 0
      ? null
      : tx(
          `tx_hold_${id}`,
          [
            [requesterAccount(requester), -held],
            [escrowAccount(requester), held],
          ],
          { kind: 'hold', booking_id: id, at },
        );
  return { booking, reservations, hold, idempotency: o.idempotency ?? null };
}

/** Creates the booking and fails the test unless it was created; returns the stored record. */
export async function book(s: Store, nb: NewBooking): Promise<BookingRecord> {
  const r = await s.ledger.createBooking(nb);
  assert.equal(r.kind, 'created', `createBooking ${nb.booking.id}: ${JSON.stringify(r)}`);
  return (r as { booking: BookingRecord }).booking;
}

export function idem(key: string, over: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  return {
    principal: ALICE,
    key,
    scope: 'POST /book',
    request_hash: 'a'.repeat(64),
    status: 201,
    response: { booking_id: 'bk_first', total_cost_usd: 9 },
    created_at: T0,
    expires_at: T0 + DAY,
    ...over,
  };
}

export const reservedOf = async (s: Store, ids?: string[]) =>
  Object.fromEntries(await s.ledger.reserved(ids));

/** Waits for `cond`: capacity listeners may be called after the write resolves (PostgreSQL NOTIFY). */
export async function eventually(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function assertVerified(s: Store): Promise<void> {
  const v = await s.ledger.verify();
  assert.deepEqual(v, { ok: true, violations: [] });
}
