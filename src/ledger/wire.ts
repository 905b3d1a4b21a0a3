import { iso } from '../util/clock.js';
import { microsToUsd } from './money.js';
import type { BookingRecord, LeaseRecord } from './store.js';

/**
 * A booking as the wire shows it. The spec's client code prints `booking.total_gpu_hours`,
 * `booking.total_cost` and `booking.savings_percent`, so those are numbers (USD, percent); display
 * strings carry a numeric sibling named with its unit (DESIGN.md "Protocol decisions").
 */
export interface BookingWire {
  booking_id: string;
  status: string;
  plan: string | null;
  plan_id: string | null;
  requester: string;
  created_at: string;
  updated_at: string;
  total_gpu_hours: number;
  total_cost: number;
  total_cost_usd: number;
  currency: 'USD';
  savings_percent: number;
  baseline_cost_usd: number | null;
  settled_usd: number;
  held_usd: number;
  allocations: AllocationWire[];
  payment: {
    method: string;
    model: string;
    stream: boolean;
    epoch_s: number;
    rail: string;
    held_usd: number;
    settled_usd: number;
  };
  simulated: boolean;
  run_kind: 'command' | 'wasm' | 'image' | null;
  /** The signed workload manifest the booking carries, or null. */
  manifest: { digest: string; signer: string } | null;
}

export interface AllocationWire {
  lease_id: string;
  provider: string;
  offer_id: string;
  resource_type: string;
  gpu_model: string | null;
  gpu_type: string | null;
  nodes: number;
  hours: number;
  gpu_hours: number;
  /** "$0.44/hr": USD per GPU-hour (node-hour for CPU). */
  price: string;
  price_per_hour_usd: number;
  price_per_node_hour_usd: number;
  price_per_million_tokens_usd: number | null;
  cost_usd: number;
  settled_usd: number;
  state: string;
  cpu_fallback: boolean;
  region: string;
  interruptible: boolean;
  started_at: string | null;
  ended_at: string | null;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
const money = (x: number) => `$${x < 1 ? x.toFixed(3).replace(/0$/, '') : x.toFixed(2)}/hr`;

export function leaseToWire(l: LeaseRecord): AllocationWire {
  const d = l.detail as Record<string, unknown>;
  const perNode = microsToUsd(l.price_per_node_hour);
  const gpus = l.gpus_per_node;
  const perUnit = gpus > 0 ? round6(perNode / gpus) : perNode;
  return {
    lease_id: l.id,
    provider: l.provider,
    offer_id: l.offer_id,
    resource_type: String(d.resource_type ?? ''),
    gpu_model: (d.gpu_model as string | null) ?? null,
    gpu_type: (d.gpu_type as string | null) ?? null,
    nodes: l.nodes,
    hours: l.hours,
    gpu_hours: Number(d.gpu_hours ?? l.nodes * l.hours * gpus),
    price: money(perUnit),
    price_per_hour_usd: perUnit,
    price_per_node_hour_usd: perNode,
    price_per_million_tokens_usd:
      l.price_per_million_tokens === null ? null : microsToUsd(l.price_per_million_tokens),
    cost_usd: microsToUsd(l.cost),
    settled_usd: microsToUsd(l.settled),
    state: l.state,
    cpu_fallback: d.cpu_fallback === true,
    region: String(d.region ?? ''),
    interruptible: d.interruptible === true,
    started_at: l.started_at === null ? null : iso(l.started_at),
    ended_at: l.ended_at === null ? null : iso(l.ended_at),
  };
}

export function bookingToWire(b: BookingRecord): BookingWire {
  const s = b.summary as Record<string, unknown>;
  const total = microsToUsd(b.total_cost);
  return {
    booking_id: b.id,
    status: b.status,
    plan: (s.plan as string | null) ?? null,
    plan_id: b.plan_id,
    requester: b.requester,
    created_at: iso(b.created_at),
    updated_at: iso(b.updated_at),
    total_gpu_hours: Number(s.total_gpu_hours ?? 0),
    total_cost: total,
    total_cost_usd: total,
    currency: 'USD',
    savings_percent: Number(s.savings_percent ?? 0),
    baseline_cost_usd: typeof s.baseline_cost === 'number' ? microsToUsd(s.baseline_cost) : null,
    settled_usd: microsToUsd(b.settled),
    held_usd: microsToUsd(b.held),
    allocations: b.leases.map(leaseToWire),
    payment: {
      method: b.payment.method,
      model: b.payment.model,
      stream: b.payment.stream,
      epoch_s: b.payment.epoch_s,
      rail: b.payment.rail,
      held_usd: microsToUsd(b.held),
      settled_usd: microsToUsd(b.settled),
    },
    simulated: s.simulated === true,
    run_kind: runKind(s.run),
    manifest: isManifest(s.manifest) ? { digest: s.manifest.digest, signer: s.manifest.signer } : null,
  };
}

function isManifest(v: unknown): v is { digest: string; signer: string } {
  return typeof v === 'object' && v !== null && typeof (v as { digest?: unknown }).digest === 'string';
}

function runKind(v: unknown): 'command' | 'wasm' | 'image' | null {
  const k = typeof v === 'object' && v !== null ? (v as { kind?: unknown }).kind : null;
  return k === 'command' || k === 'wasm' || k === 'image' ? k : null;
}
