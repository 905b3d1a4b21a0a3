import { savings, table, usd } from '../cli/table.js';
import type { BookingWire, LeaseWire, PlanWire } from '../sdk/client.js';

/** The human-readable half of tool results: short, exact about money, naming the next step. */

const savingsText = (s: number | null | undefined) =>
  s === null || s === undefined ? '' : `; ${savings(s)}`;

/** A plan in a few lines: what it books, what it costs, when the quote expires. */
export function planText(p: PlanWire): string {
  const rows = p.allocations.map((a) => [
    a.provider,
    a.nodes,
    a.gpu_model ?? a.resource_type,
    a.price,
    a.allocation,
    a.hours.toFixed(2),
    usd(a.cost_usd),
  ]);
  return [
    `Plan ${p.plan_id}: ${usd(p.total_cost_usd)} over ${p.estimated_time}, SLA ${p.sla}${savingsText(p.savings_percent)}.`,
    table(['PROVIDER', 'NODES', 'GPU', 'PRICE', 'SHARE', 'HOURS', 'COST'], rows),
    `A quote until ${p.expires_at}; nothing is spent until book_plan.`,
  ].join('\n');
}

export function bookingText(b: BookingWire): string {
  const rows = b.allocations.map((a) => [
    a.lease_id,
    a.provider,
    a.nodes,
    a.hours,
    a.price,
    usd(a.cost_usd),
    a.state,
  ]);
  return [
    `Booked ${b.booking_id} (${b.status}): ${b.total_gpu_hours} GPU-hours for ${usd(b.total_cost)}${savingsText(b.savings_percent)}; held ${usd(b.held_usd)} (${b.payment.method} on ${b.payment.rail}).`,
    table(['LEASE', 'PROVIDER', 'NODES', 'HOURS', 'PRICE', 'COST', 'STATE'], rows),
    'Follow it with get_lease and get_lease_logs; cancel_lease stops it and releases what is unspent.',
  ].join('\n');
}

export function leaseText(l: LeaseWire): string {
  const parts = [
    `${l.id} (${l.provider}, booking ${l.booking_id}): ${l.state}${l.simulated ? ' (simulated)' : ''}`,
    `started ${l.started_at ?? '-'}, ended ${l.ended_at ?? '-'}; ${l.checkpoints} checkpoints${l.last_checkpoint_at ? `, last at ${l.last_checkpoint_at}` : ''}`,
    `cost ${usd(l.cost_usd)}, paid so far ${usd(l.settled_usd)}`,
  ];
  if (l.exit_code !== null) parts.push(`exit code ${l.exit_code}`);
  if (l.receipt_id) parts.push(`receipt ${l.receipt_id}`);
  if (l.outputs.length) parts.push(`outputs ${l.outputs.map((o) => o.name).join(', ')}`);
  const last = l.history.at(-1);
  if (last) parts.push(`last change ${last.from} → ${last.to} at ${last.at}: ${last.reason}`);
  return parts.join('; ');
}
