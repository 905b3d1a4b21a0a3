import { type ComputeMdClient, type LeaseWire, TERMINAL_LEASE_STATES } from '../sdk/client.js';
import type { Io } from './commands.js';
import { table, usd } from './table.js';

/** `computemd leases [ID] [--watch]`: leases as they run, with progress bars when watched. */

export interface LeasesFlags {
  'booking-id'?: string;
  state?: string;
  limit?: string;
  cursor?: string;
  watch?: boolean;
  'interval-s'?: string;
}

export interface Screen {
  /** True on a terminal: each frame repaints the screen instead of following the last. */
  tty: boolean;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Resolves when the user interrupts (Ctrl-C). */
  interrupted: Promise<void>;
}

const BAR = 20;

/** `[#######.............]  35%`: a fraction of a fixed width, clamped to 0..1. */
export function bar(fraction: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const n = Math.round(f * BAR);
  return `[${'#'.repeat(n)}${'.'.repeat(BAR - n)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

/** Seconds as h:mm:ss. */
export function clock(s: number): string {
  const t = Math.max(0, Math.floor(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
}

/**
 * One lease's progress: time used of the time booked (to now while it runs, to its end after),
 * checkpoints so far, and cost paid so far of the cost booked.
 */
export function progressRow(l: LeaseWire, now: number): (string | number)[] {
  const booked = (l.hours ?? 0) * 3600;
  const started = l.started_at ? Date.parse(l.started_at) : null;
  const ended = l.ended_at ? Date.parse(l.ended_at) : null;
  const used = started === null ? 0 : ((ended ?? now) - started) / 1000;
  const time = started === null ? `${'-'.repeat(BAR + 7)}` : bar(booked > 0 ? used / booked : 1);
  return [
    l.id,
    l.provider,
    l.state,
    time,
    `${clock(used)}/${clock(booked)}`,
    l.checkpoints,
    `${usd(l.settled_usd)}/${usd(l.cost_usd)}`,
  ];
}

const HEADERS = ['LEASE', 'PROVIDER', 'STATE', 'TIME', 'USED/BOOKED', 'CKPTS', 'PAID/COST'];

export function leasesFrame(leases: LeaseWire[], now: number): string {
  if (leases.length === 0) return 'no leases';
  return table(
    HEADERS,
    leases.map((l) => progressRow(l, now)),
  );
}

/** One lease in full: its row, outputs, receipt and every state change with its reason. */
export function leaseDetail(l: LeaseWire, now: number): string {
  const lines = [leasesFrame([l], now)];
  lines.push(
    `booking ${l.booking_id}, offer ${l.offer_id}, driver ${l.driver}${l.simulated ? ' (simulated)' : ''}, run ${l.run_kind ?? 'none'}`,
  );
  if (l.exit_code !== null) lines.push(`exit code ${l.exit_code}`);
  if (l.receipt_id) lines.push(`receipt ${l.receipt_id} (computemd receipts verify ${l.receipt_id})`);
  for (const o of l.outputs) lines.push(`output ${o.name} ${o.bytes} B sha256 ${o.sha256}`);
  for (const h of l.history) lines.push(`${h.at}  ${h.from} → ${h.to}  ${h.reason}`);
  return lines.join('\n');
}

const ended = (l: LeaseWire) => TERMINAL_LEASE_STATES.includes(l.state);

export async function cmdLeases(
  client: ComputeMdClient,
  id: string | undefined,
  f: LeasesFlags,
  json: boolean,
  io: Io,
  screen: Screen,
): Promise<number> {
  const interval = f['interval-s'] === undefined ? 2 : Number(f['interval-s']);
  if (!(interval >= 0.2 && interval <= 3600)) {
    io.err(`error: --interval-s: seconds between refreshes, 0.2 to 3600 (got ${f['interval-s']})`);
    return 2;
  }
  if (f.limit !== undefined && !/^\d+$/.test(f.limit)) {
    io.err(`error: --limit: must be a whole number (got ${f.limit})`);
    return 2;
  }
  const fetchAll = async (): Promise<{ leases: LeaseWire[]; next_cursor: string | null }> =>
    id
      ? { leases: [await client.lease(id)], next_cursor: null }
      : client.leases({
          ...(f['booking-id'] ? { booking_id: f['booking-id'] } : {}),
          ...(f.state ? { state: f.state } : {}),
          ...(f.cursor ? { cursor: f.cursor } : {}),
          limit: f.limit === undefined ? 20 : Number(f.limit),
        });
  const render = (r: { leases: LeaseWire[]; next_cursor: string | null }) =>
    id && r.leases[0]
      ? leaseDetail(r.leases[0], screen.now())
      : `${leasesFrame(r.leases, screen.now())}${r.next_cursor ? `\n(more: --cursor ${r.next_cursor})` : ''}`;
  if (!f.watch) {
    const r = await fetchAll();
    io.out(json ? JSON.stringify(id ? r.leases[0] : r, null, 2) : render(r));
    return 0;
  }
  // Watching: repaint until every lease shown has ended, or the user interrupts.
  let stop = false;
  void screen.interrupted.then(() => {
    stop = true;
  });
  for (;;) {
    const r = await fetchAll();
    if (json) io.out(JSON.stringify(id ? r.leases[0] : r));
    else io.out(`${screen.tty ? '\x1b[H\x1b[2J' : ''}${render(r)}\n`);
    if (stop) return 130;
    if (r.leases.length > 0 && r.leases.every(ended)) return 0;
    await Promise.race([screen.sleep(interval * 1000), screen.interrupted]);
    if (stop) return 130;
  }
}
