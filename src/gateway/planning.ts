import type { CapabilityCatalog, CapabilityCatalogExtras } from '../capabilities/index.js';
import type { Geo, Market } from '../market/index.js';
import { createPlanner, parseOrchestrate } from '../planner/index.js';
import type { Solver } from '../planner/milp/index.js';
import type { PlanningApi } from '../server/deps.js';
import type { IdSource, Store } from '../storage/index.js';
import type { Clock } from '../util/clock.js';

export interface PlanningDeps {
  market: Market;
  capabilities: CapabilityCatalog & CapabilityCatalogExtras;
  geo: Geo;
  solver: Solver;
  store: Store;
  ids: IdSource;
  clock: Clock;
  quoteTtlMs?: number;
}

/**
 * POST /orchestrate and GET /plans/:id in wire terms: parse, take the market's available offers
 * (bands measured from the request's `near`), plan, store the quote. The planner never touches the
 * market or the store itself (DESIGN.md: the planner is pure).
 */
export function createPlanningApi(d: PlanningDeps): PlanningApi {
  const planner = createPlanner({
    capabilities: d.capabilities,
    solver: d.solver,
    clock: d.clock,
    newId: () => d.ids.next('plan'),
    ...(d.quoteTtlMs !== undefined ? { quoteTtlMs: d.quoteTtlMs } : {}),
  });
  return {
    async orchestrate(body, principal) {
      const parsed = parseOrchestrate(body, {
        capabilities: d.capabilities,
        geo: d.geo,
        knownProviders: d.market.knownProviders(),
      });
      if (!parsed.ok) return { ok: false, problems: parsed.problems };
      const req = parsed.value;
      if (principal && req.requester === null) req.requester = principal.id;
      const offers = d.market.availableOffers(1, req.constraints.near ?? undefined);
      const out = await planner.plan(req, offers);
      if (!out.ok) return { ok: false, infeasible: out.infeasible as never };
      const plan = out.plan as unknown as Record<string, unknown>;
      await d.store.plans.insert({
        id: String(plan.plan_id),
        // The owner: the principal that asked (others get 404), or null for an anonymous quote,
        // which anyone holding its random id may read and book. The body's own `requester`
        // label stays in the stored request and plan.
        requester: principal?.id ?? null,
        created_at: Date.parse(String(plan.created_at)),
        expires_at: Date.parse(String(plan.expires_at)),
        request: body,
        plan,
      });
      return { ok: true, plan: { ...plan, status: 'active' } };
    },
    async getPlan(id, caller) {
      const stored = await d.store.plans.get(id);
      if (!stored) return null;
      if (stored.requester !== null && caller?.role !== 'operator' && stored.requester !== caller?.id)
        return null;
      const status = d.clock.now() < stored.expires_at ? 'active' : 'expired';
      return { ...(stored.plan as Record<string, unknown>), status };
    },
  };
}
