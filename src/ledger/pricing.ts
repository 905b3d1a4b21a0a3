import type { Offer } from '../protocol/schemas/offer.js';
import { mulDiv, usdToMicros } from './money.js';
import type { OfferAllocation, PaymentRequest, ProviderAllocation } from './request.js';
import type { Micros } from './store.js';

/**
 * Prices a booking's allocations from the market at booking time (or from a stored quote). Pure
 * apart from reading the offer source it is given.
 */

/** What pricing reads from the market (the composition root adapts the market to this). */
export interface OfferSource {
  /** The offer now, with `available` already net of reservations; null when unknown. */
  get(id: string): Offer | null;
  /** The provider's own node count for the offer (what reservations are taken against). */
  supply(id: string): number | null;
  /**
   * A provider's (or a spec placeholder's) offers with at least `minAvailable` nodes free, cheapest
   * per GPU-hour first. `gpuType` filters by class/profile/model; `cpu` asks for CPU offers.
   * `unknown` when the name is neither a provider nor a placeholder, `bad_gpu_type` when the type
   * does not resolve.
   */
  cheapest(q: {
    provider: string;
    gpuType: string | null;
    cpu: boolean;
    minAvailable: number;
    limit: number;
  }): { ok: true; offers: Offer[] } | { ok: false; reason: 'unknown_provider' | 'bad_gpu_type' };
  /** The cheapest on-demand traditional-cloud offer like `o` (same GPU model, or CPU with ≥ its vCPUs). */
  baselineFor(o: Offer): Offer | null;
  /** The workload `run` forms a provider executes (ProviderFeatures.run_kinds); [] when none. */
  runKinds(provider: string): readonly string[];
}

export interface PricedLine {
  offer: Offer;
  nodes: number;
  hours: number;
  /** GPU-hours this line delivers (for a CPU stand-in: the GPU-hours it replaces). */
  gpu_hours: number;
  cpu_fallback: boolean;
  /** What was asked for (`gpu_type`, provider name or placeholder), for the response. */
  asked: { provider: string | null; gpu_type: string | null };
  price_per_node_hour: Micros;
  price_per_million_tokens: Micros | null;
  cost: Micros;
  /** What the same work costs on the cheapest on-demand traditional cloud (null: no comparable offer). */
  baseline_cost: Micros | null;
}

/** Nominal decode throughput used to quote per-token prices from node prices (docs/ledger.md). */
export const NOMINAL_TOKENS_PER_GPU_SECOND = 1000;

/** cost = nodes × hours × price, with hours taken to the micro-hour so rounding happens once. */
export function lineCost(nodes: number, hours: number, pricePerNodeHour: Micros): Micros {
  return mulDiv(nodes * pricePerNodeHour, Math.round(hours * 1_000_000), 1_000_000);
}

export function tokenPrice(o: Offer, pricePerNodeHour: Micros, pay: PaymentRequest): Micros | null {
  if (pay.model !== 'per_token') return null;
  if (pay.price_per_million_tokens_usd !== null) return usdToMicros(pay.price_per_million_tokens_usd);
  // tokens per node-hour = 1,000 tok/s × GPUs (at least 1) × 3,600 s; price per 1M tokens follows.
  const tokensPerHour = NOMINAL_TOKENS_PER_GPU_SECOND * Math.max(1, o.gpu_count) * 3600;
  return Math.max(1, mulDiv(pricePerNodeHour, 1_000_000, Math.round(tokensPerHour)));
}

export type PriceProblem =
  | { kind: 'not_found'; param: string; detail: string }
  | { kind: 'sold_out'; param: string; detail: string; offer_id: string; available: number }
  | { kind: 'unprocessable'; param: string; detail: string };

function baseline(src: OfferSource, o: Offer, gpuHours: number, nodeHours: number): Micros | null {
  const b = src.baselineFor(o);
  if (!b) return null;
  if (o.gpu_count > 0 && b.price_per_gpu_hour !== null) return usdToMicros(b.price_per_gpu_hour * gpuHours);
  return usdToMicros(b.price_per_hour * nodeHours);
}

export function priceOfferLine(
  src: OfferSource,
  a: OfferAllocation,
  i: number,
  pay: PaymentRequest,
): PricedLine | PriceProblem {
  const o = src.get(a.offer_id);
  const param = `/allocations/${i}/offer_id`;
  if (!o)
    return { kind: 'not_found', param, detail: `No offer ${a.offer_id}. Offer ids come from GET /nodes.` };
  if (o.available < a.nodes)
    return {
      kind: 'sold_out',
      param: `/allocations/${i}/nodes`,
      detail: `Offer ${o.id} has ${o.available} node(s) free, ${a.nodes} asked. To fix: ask for fewer nodes or another offer.`,
      offer_id: o.id,
      available: o.available,
    };
  const line = fixedLine(o, a.nodes, a.hours, usdToMicros(o.price_per_hour), pay);
  return { ...line, baseline_cost: baseline(src, o, line.gpu_hours, a.nodes * a.hours) };
}

/** A line on a known offer, nodes and hours at a given node-hour price (no baseline yet). */
function fixedLine(o: Offer, nodes: number, hours: number, price: Micros, pay: PaymentRequest): PricedLine {
  return {
    offer: o,
    nodes,
    hours,
    gpu_hours: nodes * hours * o.gpu_count,
    cpu_fallback: false,
    asked: { provider: null, gpu_type: null },
    price_per_node_hour: price,
    price_per_million_tokens: tokenPrice(o, price, pay),
    cost: lineCost(nodes, hours, price),
    baseline_cost: null,
  };
}

/**
 * A provider allocation takes the provider's cheapest offer (per GPU-hour) with `nodes` free and
 * spreads `gpu_hours` over them: hours = gpu_hours / (nodes × GPUs per node). With `cpu_fallback`
 * and no GPU offer free, the cheapest CPU offer stands in, one node-hour per GPU-hour asked.
 * `skip` lists offers a concurrent booking just sold out, so a retry picks the next one.
 */
export function priceProviderLine(
  src: OfferSource,
  a: ProviderAllocation,
  i: number,
  pay: PaymentRequest,
  skip: ReadonlySet<string> = new Set(),
): PricedLine | PriceProblem {
  const p = `/allocations/${i}`;
  const pick = (cpu: boolean) => {
    const r = src.cheapest({
      provider: a.provider,
      gpuType: cpu ? null : a.gpu_type,
      cpu,
      minAvailable: a.nodes,
      limit: skip.size + 5,
    });
    if (!r.ok) return r;
    return {
      ok: true as const,
      offer: r.offers.find((o) => !skip.has(o.id) && (cpu || o.gpu_count > 0)) ?? null,
    };
  };
  const gpu = pick(false);
  if (!gpu.ok)
    return gpu.reason === 'unknown_provider'
      ? {
          kind: 'not_found',
          param: `${p}/provider`,
          detail: `"${a.provider}" is not a provider or a spec placeholder. See GET /providers.`,
        }
      : {
          kind: 'unprocessable',
          param: `${p}/gpu_type`,
          detail: `gpu_type "${a.gpu_type}" is not a class, profile or model. See GET /capabilities.`,
        };
  let offer = gpu.offer;
  let cpuFallback = false;
  if (!offer && a.cpu_fallback) {
    const cpu = pick(true);
    if (cpu.ok && cpu.offer) {
      offer = cpu.offer;
      cpuFallback = true;
    }
  }
  if (!offer)
    return {
      kind: 'sold_out',
      param: `${p}/provider`,
      detail: `${a.provider} has no ${a.gpu_type ?? 'GPU'} offer with ${a.nodes} node(s) free${a.cpu_fallback ? ', and no CPU offer to fall back to' : ''}. To fix: set cpu_fallback, ask for fewer nodes, or name another provider.`,
      offer_id: '',
      available: 0,
    };
  const perNode = cpuFallback ? 1 : offer.gpu_count;
  const hours = Math.ceil((a.gpu_hours / (a.nodes * perNode)) * 1_000_000) / 1_000_000;
  const price = usdToMicros(offer.price_per_hour);
  return {
    offer,
    nodes: a.nodes,
    hours,
    gpu_hours: a.gpu_hours,
    cpu_fallback: cpuFallback,
    asked: { provider: a.provider, gpu_type: a.gpu_type },
    price_per_node_hour: price,
    price_per_million_tokens: tokenPrice(offer, price, pay),
    cost: lineCost(a.nodes, hours, price),
    baseline_cost: baseline(src, offer, a.gpu_hours, a.nodes * hours),
  };
}

/** A quote's allocation booked at its quoted node-hour price (the plan holds prices until it expires). */
export function pricePlanLine(
  src: OfferSource,
  a: { offer_id: string; nodes: number; hours: number; price_per_node_hour_usd: number },
  i: number,
  pay: PaymentRequest,
): PricedLine | PriceProblem {
  const o = src.get(a.offer_id);
  const param = `/plan_id`;
  if (!o)
    return {
      kind: 'sold_out',
      param,
      detail: `Offer ${a.offer_id} of the plan is gone from the market.`,
      offer_id: a.offer_id,
      available: 0,
    };
  if (o.available < a.nodes)
    return {
      kind: 'sold_out',
      param,
      detail: `Offer ${o.id} (allocation ${i}) has ${o.available} node(s) free, the plan needs ${a.nodes}.`,
      offer_id: o.id,
      available: o.available,
    };
  // The plan's own savings figure stands for the booking, so lines carry no baseline.
  return fixedLine(o, a.nodes, a.hours, usdToMicros(a.price_per_node_hour_usd), pay);
}

export function isProblem(x: PricedLine | PriceProblem): x is PriceProblem {
  return 'kind' in x;
}

/** savings_percent against the baseline, one decimal; 0 when no line has a comparable offer. */
export function savingsPercent(lines: readonly PricedLine[]): { percent: number; baseline: Micros | null } {
  let base = 0;
  let cost = 0;
  let any = false;
  for (const l of lines) {
    if (l.baseline_cost === null) {
      base += l.cost;
    } else {
      any = true;
      base += l.baseline_cost;
    }
    cost += l.cost;
  }
  if (!any || base <= 0) return { percent: 0, baseline: any ? base : null };
  return { percent: Math.round(((base - cost) / base) * 1000) / 10, baseline: base };
}
