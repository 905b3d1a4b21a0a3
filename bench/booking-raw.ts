/** The raw-store side of the booking bench: the statements a booking makes, without HTTP. */
import { randomBytes } from 'node:crypto';
import { escrowAccount, externalAccount, requesterAccount } from '../src/ledger/accounts.js';
import { IDEMPOTENCY_TTL_MS, requestHash } from '../src/ledger/idempotency.js';
import { lineCost } from '../src/ledger/pricing.js';
import type { BookingRecord, NewBooking } from '../src/ledger/store.js';
import { bookingToWire } from '../src/ledger/wire.js';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { createIdSource, type Store } from '../src/storage/index.js';
import type { Load } from './booking.js';
import { quantile, round } from './stats.js';

const OPERATOR = 'pr_operator';
export const HOURS = 0.01;

/** The NewBooking the service builds for `{allocations: [{offer_id, nodes: 1, hours}]}` (bookings.ts). */
export function newBooking(
  ids: ReturnType<typeof createIdSource>,
  o: Offer,
  key: string,
  now: number,
): NewBooking {
  const principal = OPERATOR;
  const id = ids.next('bk');
  const price = Math.round(o.price_per_hour * 1e6);
  const cost = lineCost(1, HOURS, price);
  const gpuHours = round(o.gpu_count * HOURS, 6);
  const booking: BookingRecord = {
    id,
    requester: principal,
    status: 'pending',
    version: 1,
    created_at: now,
    updated_at: now,
    plan_id: null,
    payment: { method: 'credits', model: 'per_second', stream: false, epoch_s: 1, rail: 'credits' },
    total_cost: cost,
    settled: 0,
    held: cost,
    summary: {
      plan: null,
      total_gpu_hours: gpuHours,
      savings_percent: 0,
      baseline_cost: cost,
      simulated: o.simulated,
    },
    leases: [
      {
        id: ids.next('ls'),
        booking_id: id,
        idx: 0,
        offer_id: o.id,
        provider: o.provider,
        nodes: 1,
        hours: HOURS,
        gpus_per_node: o.gpu_count,
        price_per_node_hour: price,
        price_per_million_tokens: null,
        cost,
        settled: 0,
        state: 'pending',
        started_at: now,
        ended_at: null,
        detail: {
          resource_type: o.resource_type,
          gpu_model: o.gpu_model,
          gpu_type: null,
          asked_provider: null,
          gpu_hours: gpuHours,
          cpu_fallback: false,
          region: o.region,
          interruptible: o.interruptible,
        },
      },
    ],
  };
  const body = { allocations: [{ offer_id: o.id, nodes: 1, hours: HOURS }] };
  return {
    booking,
    reservations: [{ offer_id: o.id, nodes: 1, capacity: o.available }],
    hold: {
      id: ids.next('tx'),
      kind: 'hold',
      at: now,
      booking_id: id,
      memo: `hold for ${id}`,
      postings: [
        { account: requesterAccount(principal), amount: -cost },
        { account: escrowAccount(principal), amount: cost },
      ],
    },
    idempotency: {
      principal,
      key,
      scope: 'POST /book',
      request_hash: requestHash(body),
      status: 201,
      response: bookingToWire(booking),
      created_at: now,
      expires_at: now + IDEMPOTENCY_TTL_MS,
    },
  };
}

export async function rawLoad(
  store: Store,
  slot: () => Offer,
  seconds: number,
  callers: number,
): Promise<Load> {
  const ids = createIdSource({ now: () => Date.now() });
  const tag = randomBytes(4).toString('hex');
  let n = 0;
  const failed: Record<string, number> = {};
  const lat: number[] = [];
  let created = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const s = performance.now();
      const now = Date.now();
      const key = `raw-${tag}-${n++}`;
      const nb = newBooking(ids, slot(), key, now);
      if (await store.ledger.getIdempotency(OPERATOR, key, now)) throw new Error(`key ${key} seen twice`);
      const r = await store.ledger.createBooking(nb);
      lat.push(performance.now() - s);
      if (r.kind === 'created') created++;
      else failed[r.kind] = (failed[r.kind] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: callers }, worker));
  const secs = (performance.now() - t0) / 1000;
  return {
    seconds: round(secs, 2),
    bookings_per_s: Math.round(created / secs),
    created,
    p50_ms: round(quantile(lat, 0.5), 2),
    p99_ms: round(quantile(lat, 0.99), 2),
    failed,
  };
}

/** $10M to the operator, as `POST /accounts/pr_operator/credit` would. */
export async function fund(store: Store): Promise<void> {
  const to = requesterAccount(OPERATOR);
  const postings = [
    { account: externalAccount('credits'), amount: -1e13 },
    { account: to, amount: 1e13 },
  ];
  const id = createIdSource({ now: () => Date.now() }).next('tx');
  const tx = { id, kind: 'deposit' as const, at: Date.now(), booking_id: null, memo: 'bench', postings };
  const r = await store.ledger.deposit(tx, { rail: 'credits', external_ref: `bench-${id}`, credit_to: to });
  if (r.kind !== 'created') throw new Error(`raw store deposit: ${r.kind}`);
}
