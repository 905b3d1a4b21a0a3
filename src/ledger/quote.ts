import { type Problem, problem } from '../protocol/problem.js';
import type { PlanRepository } from '../storage/store.js';
import {
  isProblem,
  type OfferSource,
  type PricedLine,
  type PriceProblem,
  priceOfferLine,
  pricePlanLine,
  priceProviderLine,
  savingsPercent,
} from './pricing.js';
import type { BookingRequest } from './request.js';
import type { Reservation } from './store.js';

/**
 * A parsed booking request priced into lines (from the market, or from a stored quote) with the
 * summary the response carries, and the reservations those lines need. Reads only; books nothing.
 */

export interface QuoteDeps {
  plans: PlanRepository;
  offers: OfferSource;
}

export interface Priced {
  lines: PricedLine[];
  summary: Record<string, unknown>;
}

export async function priceRequest(
  d: QuoteDeps,
  req: BookingRequest,
  skip: ReadonlySet<string>,
  now: number,
  /** Who books: a plan another principal quoted is not found for them (issue 5, isolation). */
  principal: string | null = null,
): Promise<Priced | { problem: Problem; soldOutPlan?: unknown }> {
  const lines: PricedLine[] = [];
  const toProblem = (p: PriceProblem): Problem =>
    p.kind === 'not_found'
      ? problem('not-found', p.detail, { param: p.param })
      : p.kind === 'sold_out'
        ? problem('conflict', `${p.detail} Nothing was booked.`, {
            param: p.param,
            offer_id: p.offer_id || undefined,
            available: p.available,
            code: 'sold_out',
          })
        : problem('unprocessable', p.detail, { param: p.param });
  if (req.form === 'plan') {
    const stored = await d.plans.get(req.plan_id);
    if (!stored || (principal !== null && stored.requester !== null && stored.requester !== principal))
      return {
        problem: problem('not-found', `No plan ${req.plan_id}. Plans come from POST /orchestrate.`, {
          param: '/plan_id',
        }),
      };
    if (now >= stored.expires_at)
      return {
        problem: problem(
          'conflict',
          `Plan ${req.plan_id} expired at ${new Date(stored.expires_at).toISOString()}; its prices no longer hold. To fix: POST /orchestrate again and book the new plan_id.`,
          { param: '/plan_id', code: 'plan_expired' },
        ),
      };
    const plan = stored.plan as {
      allocations?: unknown[];
      savings_percent?: number;
      baseline?: { cost_usd?: number } | null;
    };
    const allocs = (plan.allocations ?? []) as {
      offer_id: string;
      nodes: number;
      hours: number;
      price_per_node_hour_usd: number;
    }[];
    for (const [i, a] of allocs.entries()) {
      const l = pricePlanLine(d.offers, a, i, req.payment);
      if (isProblem(l))
        return { problem: toProblem(l), soldOutPlan: l.kind === 'sold_out' ? stored.request : undefined };
      lines.push(l);
    }
    const baselineUsd = plan.baseline?.cost_usd;
    return {
      lines,
      summary: {
        plan: null,
        total_gpu_hours: r6(lines.reduce((s, l) => s + l.gpu_hours, 0)),
        savings_percent: typeof plan.savings_percent === 'number' ? plan.savings_percent : 0,
        baseline_cost: typeof baselineUsd === 'number' ? Math.round(baselineUsd * 1e6) : null,
        simulated: lines.some((l) => l.offer.simulated),
      },
    };
  }
  for (const [i, a] of req.allocations.entries()) {
    const l =
      a.kind === 'offer'
        ? priceOfferLine(d.offers, a, i, req.payment)
        : priceProviderLine(d.offers, a, i, req.payment, skip);
    if (isProblem(l)) return { problem: toProblem(l) };
    lines.push(l);
  }
  // Several lines on one offer must fit together, not only one by one.
  const want = new Map<string, number>();
  for (const l of lines) want.set(l.offer.id, (want.get(l.offer.id) ?? 0) + l.nodes);
  for (const [id, n] of want) {
    const o = d.offers.get(id);
    if (o && o.available < n)
      return {
        problem: problem(
          'conflict',
          `Offer ${id} has ${o.available} node(s) free; the allocations on it ask for ${n}. Nothing was booked.`,
          {
            param: '/allocations',
            offer_id: id,
            available: o.available,
            code: 'sold_out',
          },
        ),
      };
  }
  const s = savingsPercent(lines);
  return {
    lines,
    summary: {
      plan: req.plan,
      total_gpu_hours: r6(lines.reduce((acc, l) => acc + l.gpu_hours, 0)),
      savings_percent: s.percent,
      baseline_cost: s.baseline,
      simulated: lines.some((l) => l.offer.simulated),
    },
  };
}

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

export function reservations(d: QuoteDeps, lines: readonly PricedLine[]): Reservation[] {
  const m = new Map<string, Reservation>();
  for (const l of lines) {
    const r = m.get(l.offer.id);
    if (r) r.nodes += l.nodes;
    else
      m.set(l.offer.id, {
        offer_id: l.offer.id,
        nodes: l.nodes,
        capacity: d.offers.supply(l.offer.id) ?? l.offer.available,
      });
  }
  return [...m.values()].sort((a, b) => (a.offer_id < b.offer_id ? -1 : 1));
}
