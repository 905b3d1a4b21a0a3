import { readFileSync } from 'node:fs';
import type { ComputeMdClient } from '../sdk/client.js';
import type { Io } from './commands.js';
import { table } from './table.js';

/** `computemd book|bookings|cancel|account|credit|ledger verify`: the ledger from a terminal. */

export interface BookFlags {
  file?: string;
  plan?: string;
  offer?: string;
  nodes?: string;
  hours?: string;
  method?: string;
  stream?: boolean;
  key?: string;
}

/** The body from --file (JSON), --plan, or --offer/--nodes/--hours; a string is a usage error. */
export function bookBody(f: BookFlags): Record<string, unknown> | string {
  const payment = {
    ...(f.method ? { method: f.method } : {}),
    ...(f.stream ? { stream: true } : {}),
  };
  const withPay = (b: Record<string, unknown>) => (Object.keys(payment).length ? { ...b, payment } : b);
  if (f.file) {
    try {
      return JSON.parse(readFileSync(f.file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      return `--file: cannot read JSON from ${f.file}: ${(err as Error).message}`;
    }
  }
  if (f.plan) return withPay({ plan_id: f.plan });
  if (f.offer) {
    const nodes = f.nodes === undefined ? 1 : Number(f.nodes);
    const hours = Number(f.hours);
    if (!Number.isInteger(nodes) || nodes < 1) return `--nodes: must be a whole number ≥ 1 (got ${f.nodes})`;
    if (!(hours > 0)) return `--hours: must be a number > 0 (got ${f.hours})`;
    return withPay({ allocations: [{ offer_id: f.offer, nodes, hours }] });
  }
  return 'give --plan PLAN_ID, --offer OFFER_ID --hours H [--nodes N], or --file BODY.json';
}

const usd = (n: number) => `$${n.toFixed(2)}`;

export async function cmdBook(client: ComputeMdClient, f: BookFlags, json: boolean, io: Io): Promise<number> {
  const body = bookBody(f);
  if (typeof body === 'string') {
    io.err(`error: ${body}`);
    return 2;
  }
  const b = await client.book(body, f.key ? { idempotencyKey: f.key } : {});
  if (json) {
    io.out(JSON.stringify(b, null, 2));
    return 0;
  }
  io.out(
    `booked ${b.booking_id} (${b.status}): ${b.total_gpu_hours} GPU-hours, ${usd(b.total_cost)}, savings ${b.savings_percent}%`,
  );
  io.out(`payment ${b.payment.method} on ${b.payment.rail}, held ${usd(b.payment.held_usd)}`);
  io.out(
    table(
      ['LEASE', 'PROVIDER', 'NODES', 'HOURS', 'PRICE', 'COST', 'STATE'],
      b.allocations.map((a) => [
        a.lease_id,
        a.provider,
        String(a.nodes),
        String(a.hours),
        a.price,
        usd(a.cost_usd),
        a.state,
      ]),
    ),
  );
  return 0;
}

export async function cmdBookings(client: ComputeMdClient, json: boolean, io: Io): Promise<number> {
  const r = await client.bookings({ limit: 100 });
  if (json) {
    io.out(JSON.stringify(r, null, 2));
    return 0;
  }
  io.out(
    table(
      ['BOOKING', 'STATUS', 'GPU-H', 'COST', 'SETTLED', 'HELD', 'CREATED'],
      r.bookings.map((b) => [
        b.booking_id,
        b.status,
        String(b.total_gpu_hours),
        usd(b.total_cost),
        usd(b.settled_usd),
        usd(b.held_usd),
        b.created_at,
      ]),
    ),
  );
  return 0;
}

export async function cmdCancel(
  client: ComputeMdClient,
  id: string | undefined,
  json: boolean,
  io: Io,
): Promise<number> {
  if (!id) {
    io.err('error: usage: computemd cancel BOOKING_ID');
    return 2;
  }
  const b = await client.cancelBooking(id);
  io.out(
    json
      ? JSON.stringify(b, null, 2)
      : `${b.booking_id} ${b.status}: paid ${usd(b.settled_usd)} of ${usd(b.total_cost)}`,
  );
  return 0;
}

export async function cmdAccount(client: ComputeMdClient, json: boolean, io: Io): Promise<number> {
  const a = await client.account();
  io.out(
    json
      ? JSON.stringify(a, null, 2)
      : `${a.id}: balance ${usd(a.balance_usd)}, held ${usd(a.held_usd)}, credit limit ${usd(a.credit_limit_usd)}`,
  );
  return 0;
}

export async function cmdCredit(
  client: ComputeMdClient,
  id: string | undefined,
  amount: string | undefined,
  key: string | undefined,
  json: boolean,
  io: Io,
): Promise<number> {
  const n = Number(amount);
  if (!id || amount === undefined || !(n > 0)) {
    io.err('error: usage: computemd credit PRINCIPAL_ID --amount USD [--key IDEMPOTENCY_KEY]');
    return 2;
  }
  const r = await client.credit(id, n, key ? { idempotencyKey: key } : {});
  io.out(
    json
      ? JSON.stringify(r, null, 2)
      : `${r.account}: +${usd(r.amount_usd)} → balance ${usd(r.balance_usd)}${r.replayed ? ' (replayed)' : ''}`,
  );
  return 0;
}

/** Exit 0 when every invariant holds, 1 when any is violated (each printed). */
export async function cmdLedgerVerify(client: ComputeMdClient, json: boolean, io: Io): Promise<number> {
  const r = await client.verifyLedger();
  if (json) io.out(JSON.stringify(r, null, 2));
  else if (r.ok) io.out('ledger ok: every invariant holds');
  else for (const v of r.violations) io.out(`${v.code} ${v.subject}: ${v.detail}`);
  return r.ok ? 0 : 1;
}
