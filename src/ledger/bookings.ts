import { type Problem, problem } from '../protocol/problem.js';
import { manifestFor, type RunSpec } from '../runtime/run-spec.js';
import type { IdSource } from '../storage/ids.js';
import type { PlanRepository } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import { escrowAccount, requesterAccount } from './accounts.js';
import { budgetExceeded, budgetsOf, checkLines, mirrorBudgets, type SpendLimit } from './budgets.js';
import { IDEMPOTENCY_TTL_MS, requestHash } from './idempotency.js';
import { mulDiv } from './money.js';
import type { OfferSource, PricedLine } from './pricing.js';
import { priceRequest, reservations } from './quote.js';
import type { RailRegistry } from './rails.js';
import { type BookingRequest, parseBookingRequest } from './request.js';
import { ratePerHour } from './settlement.js';
import type { BookingRecord, IdempotencyRecord, LeaseRecord, LedgerStore, Micros } from './store.js';
import { bookingToWire } from './wire.js';

/**
 * POST /book as a service: parse, price, and create the booking in one store transaction that
 * reserves capacity (all or none), holds funds and records the idempotency key. The HTTP layer only
 * maps the outcome to a response.
 */

export interface BookingDeps {
  store: LedgerStore;
  plans: PlanRepository;
  offers: OfferSource;
  rails: RailRegistry;
  ids: IdSource;
  clock: Clock;
  /** Seconds a streaming hold covers ahead (default 3600). */
  windowS: number;
  /**
   * Verifies a signed workload manifest for `principal` (its DID must have signed it); absent, a
   * booking that carries one is refused (422) rather than stored unchecked.
   */
  verifyManifest?: (
    jws: string,
    principal: string,
  ) => Promise<
    | { ok: true; digest: string; signer: string; manifest?: { run: Record<string, unknown> } }
    | { ok: false; problem: Problem }
  >;
  /** Re-plans a stored quote's request; gives the fresh plan's id (for a 409 when the quote sold out). */
  replan?: (request: unknown, principal: string) => Promise<string | null>;
  /**
   * Told of each booking once it is committed, with the Idempotency-Key it was made with (the
   * lease runtime creates its records from it). Its failure does not undo the booking: the
   * runtime reconciles open bookings at start.
   */
  onBooked?: (b: BookingRecord, key: string | null) => Promise<void>;
}

export type Outcome =
  | { ok: true; status: number; body: unknown; replayed?: boolean }
  | { ok: false; problem: Problem };

const SCOPE = 'POST /book';
/** Budget accounts whose credit limit this process has set, per store. */
const budgetLimitsSet = new WeakMap<LedgerStore, Set<string>>();
const RETRIES = 3;

const fail = (p: Problem): Outcome => ({ ok: false, problem: p });

export function idempotencyMismatch(scope: string): Problem {
  return problem(
    'unprocessable',
    `This Idempotency-Key was used before with a different request${scope ? ` (${scope})` : ''}. To fix: send the same body again, or use a new key.`,
    { param: 'Idempotency-Key' },
  );
}

export async function createBooking(
  d: BookingDeps,
  principal: string,
  body: unknown,
  key: string | null,
  /** The caveats of the delegated token that books, one per token in its chain (budgets.ts). */
  limits: readonly SpendLimit[] = [],
): Promise<Outcome> {
  const now = d.clock.now();
  const hash = requestHash(body);
  if (key) {
    // Fast path; the create transaction re-checks atomically, so a race cannot double-book.
    const prior = await d.store.getIdempotency(principal, key, now);
    if (prior) return replayOf(prior, hash);
  }
  const parsed = parseBookingRequest(body);
  if (!parsed.ok) {
    const first = parsed.problems[0];
    return fail(
      problem(
        'invalid-body',
        parsed.problems.length === 1 && first
          ? `${first.param}: ${first.detail}`
          : `${parsed.problems.length} fields are invalid`,
        {
          param: first?.param,
          invalid_params: parsed.problems.map((p) => ({ name: p.param, reason: p.detail })),
        },
      ),
    );
  }
  const req = parsed.value;
  const rail = d.rails.railFor(req.payment.method);
  if (!rail)
    return fail(
      problem(
        'unprocessable',
        `Payment method "${req.payment.method}" is not accepted here. Accepted: ${d.rails.methods().join(', ')}.`,
        {
          param: '/payment/method',
          accepted_methods: d.rails.methods(),
        },
      ),
    );

  let manifest: { digest: string; signer: string; jws: string } | null = null;
  if (req.manifest !== null) {
    if (!d.verifyManifest)
      return fail(
        problem('unprocessable', 'This gateway cannot verify workload manifests.', { param: '/manifest' }),
      );
    const v = await d.verifyManifest(req.manifest, principal);
    if (!v.ok) return fail(v.problem);
    // The signature pins what runs: a run sent beside the manifest must be the one it signed.
    if (req.run && v.manifest && !sameJson(v.manifest.run, manifestRun(req.run)))
      return fail(
        problem(
          'unprocessable',
          'The run does not match the run the manifest signs. Sign a manifest for this run (manifestFor).',
          {
            param: '/run',
          },
        ),
      );
    manifest = { digest: v.digest, signer: v.signer, jws: req.manifest };
  }

  const skip = new Set<string>();
  for (let attempt = 0; ; attempt++) {
    const priced = await priceRequest(d, req, skip, now, principal);
    if ('problem' in priced) {
      if (priced.soldOutPlan && d.replan) {
        const fresh = await d.replan(priced.soldOutPlan, principal).catch(() => null);
        if (fresh) priced.problem.fresh_plan_id = fresh;
      }
      return fail(priced.problem);
    }
    const refused = checkLines(priced.lines, limits) ?? runnable(d, req, priced.lines);
    if (refused) return fail(refused);
    const budgets = budgetsOf(limits);
    // The cap is the budget account's credit limit, set once per token and process (setting it
    // again, as another replica may, is harmless: a token's cap never changes).
    const set = budgetLimitsSet.get(d.store) ?? new Set<string>();
    budgetLimitsSet.set(d.store, set);
    for (const b of budgets) {
      if (set.has(b.account)) continue;
      await d.store.setCreditLimit(b.account, b.limit);
      set.add(b.account);
    }
    // The manifest is kept whole: node agents verify it again before anything runs (issue 6).
    const summary = {
      ...priced.summary,
      ...(manifest ? { manifest } : {}),
      ...(req.run ? { run: req.run } : {}),
      ...(req.validation ? { validation: req.validation } : {}),
      // The token's caveats, kept so a failover's replacement booking is bounded by the same ones.
      ...(limits.length > 0 ? { limits } : {}),
    };
    const booking = buildBooking(d, principal, req, priced.lines, summary, rail.name, now);
    if (budgets.length > 0) booking.payment.budgets = budgets.map((b) => b.account);
    const response = bookingToWire(booking);
    const idem: IdempotencyRecord | null = key
      ? {
          principal,
          key,
          scope: SCOPE,
          request_hash: hash,
          status: 201,
          response,
          created_at: now,
          expires_at: now + IDEMPOTENCY_TTL_MS,
        }
      : null;
    const r = await d.store.createBooking({
      booking,
      reservations: reservations(d, priced.lines),
      hold:
        booking.held > 0
          ? mirrorBudgets(
              {
                id: d.ids.next('tx'),
                kind: 'hold',
                at: now,
                booking_id: booking.id,
                memo: `hold for ${booking.id}`,
                postings: [
                  { account: requesterAccount(principal), amount: -booking.held },
                  { account: escrowAccount(principal), amount: booking.held },
                ],
              },
              principal,
              booking.payment.budgets,
            )
          : null,
      idempotency: idem,
    });
    switch (r.kind) {
      case 'created':
        await d.onBooked?.(r.booking, key).catch(() => {});
        return { ok: true, status: 201, body: bookingToWire(r.booking) };
      case 'replay':
        return r.status === 201 || r.status === 200
          ? { ok: true, status: r.status, body: r.response, replayed: true }
          : fail(r.response as Problem);
      case 'idempotency_mismatch':
        return fail(idempotencyMismatch(r.scope));
      case 'insufficient_funds': {
        const budget = budgets.find((b) => b.account === r.account);
        if (budget) return fail(budgetExceeded(budget, r.needed, r.balance));
        return fail(
          problem(
            'payment-required',
            `The booking needs a hold of $${(r.needed / 1e6).toFixed(2)}; the account has $${(r.balance / 1e6).toFixed(2)} free${r.credit_limit ? ` and $${(r.credit_limit / 1e6).toFixed(2)} credit` : ''}. To fix: add credit (POST /accounts/:id/credit) or book less.`,
            { param: '/allocations', needed_usd: r.needed / 1e6, balance_usd: r.balance / 1e6 },
          ),
        );
      }
      case 'sold_out': {
        // Provider-named allocations move to the next cheapest offer; offer ids and plans do not.
        const movable =
          req.form === 'explicit' &&
          priced.lines.some((l) => l.offer.id === r.offer_id && l.asked.provider !== null);
        if (movable && attempt < RETRIES) {
          skip.add(r.offer_id);
          continue;
        }
        const p = problem(
          'conflict',
          `Offer ${r.offer_id} has ${r.available} node(s) free, ${r.requested} asked: another booking took them first. Nothing was booked. To fix: book again (GET /nodes shows what is free).`,
          {
            param: req.form === 'plan' ? '/plan_id' : '/allocations',
            offer_id: r.offer_id,
            available: r.available,
            code: 'sold_out',
          },
        );
        if (req.form === 'plan' && d.replan) {
          const stored = await d.plans.get(req.plan_id);
          const fresh = stored ? await d.replan(stored.request, principal).catch(() => null) : null;
          if (fresh) p.fresh_plan_id = fresh;
        }
        return fail(p);
      }
      default: {
        const never: never = r;
        throw new Error(`unexpected createBooking result ${JSON.stringify(never)}`);
      }
    }
  }
}

function replayOf(prior: IdempotencyRecord, hash: string): Outcome {
  if (prior.scope !== SCOPE || prior.request_hash !== hash) return fail(idempotencyMismatch(prior.scope));
  return prior.status < 300
    ? { ok: true, status: prior.status, body: prior.response, replayed: true }
    : fail(prior.response as Problem);
}

function epochSeconds(req: BookingRequest): number {
  const p = req.payment;
  if (p.model === 'per_epoch') return p.epoch === 'day' ? 86_400 : 3600;
  return p.model === 'per_token' ? 60 : 1;
}

function buildBooking(
  d: BookingDeps,
  principal: string,
  req: BookingRequest,
  lines: readonly PricedLine[],
  summary: Record<string, unknown>,
  rail: string,
  now: number,
): BookingRecord {
  const id = d.ids.next('bk');
  const leases: LeaseRecord[] = lines.map((l, idx) => ({
    id: d.ids.next('ls'),
    booking_id: id,
    idx,
    offer_id: l.offer.id,
    provider: l.offer.provider,
    nodes: l.nodes,
    hours: l.hours,
    gpus_per_node: l.cpu_fallback ? 0 : l.offer.gpu_count,
    price_per_node_hour: l.price_per_node_hour,
    price_per_million_tokens: l.price_per_million_tokens,
    cost: l.cost,
    settled: 0,
    state: 'pending',
    // A lease that runs work on a provider that executes it (a node agent, Slurm) starts counting
    // at its first verified checkpoint (issue 6); capacity that is only rented counts from booking.
    started_at: req.run ? null : now,
    ended_at: null,
    detail: {
      resource_type: l.cpu_fallback ? 'CPU' : l.offer.resource_type,
      gpu_model: l.cpu_fallback ? null : l.offer.gpu_model,
      gpu_type: l.asked.gpu_type,
      asked_provider: l.asked.provider,
      gpu_hours: l.gpu_hours,
      cpu_fallback: l.cpu_fallback,
      region: l.offer.region,
      interruptible: l.offer.interruptible,
      // Work that runs is paid on proof: verified checkpoints meter it, and nothing is posted to
      // the provider before its verified receipt or the lease's proven end (settlement.ts).
      payment_condition: req.run ? 'attestation_receipt' : 'none',
    },
  }));
  const total = leases.reduce((s, l) => s + l.cost, 0);
  const b: BookingRecord = {
    id,
    requester: principal,
    status: 'pending',
    version: 1,
    created_at: now,
    updated_at: now,
    plan_id: req.form === 'plan' ? req.plan_id : null,
    payment: {
      method: req.payment.method,
      model: req.payment.model,
      stream: req.payment.stream,
      epoch_s: epochSeconds(req),
      rail,
    },
    total_cost: total,
    settled: 0,
    held: 0,
    summary,
    leases,
  };
  b.held = holdFor(b, d.windowS);
  return b;
}

/**
 * Without streaming the whole cost is held at booking. Streaming holds the first window (the
 * rate × window, at least one epoch, at most the total) and tops it up as the work runs.
 */
export function holdFor(b: BookingRecord, windowS: number): Micros {
  if (!b.payment.stream) return b.total_cost;
  const rate = ratePerHour(b);
  const window = mulDiv(rate, Math.max(windowS, b.payment.epoch_s), 3600);
  return Math.min(b.total_cost, window);
}

/** A booking that carries `run` goes only to providers that execute that form (ProviderFeatures.run_kinds). */
function runnable(d: BookingDeps, req: BookingRequest, lines: readonly PricedLine[]): Problem | null {
  if (!req.run) return null;
  for (const [i, l] of lines.entries()) {
    const kinds = d.offers.runKinds(l.offer.provider);
    if (!kinds.includes(req.run.kind))
      return problem(
        'unprocessable',
        `Allocation ${i} is on ${l.offer.provider}, which ${kinds.length ? `runs only ${kinds.join(', ')}` : 'rents capacity but runs no workloads'}; this run is a ${req.run.kind}. To fix: book a provider that executes it (node agents run commands and WASM, Slurm runs commands), or book without run.`,
        { param: `/allocations/${i}`, run_kind: req.run.kind, provider: l.offer.provider },
      );
  }
  return null;
}

/** The run as a manifest carries it (runtime/run-spec.ts manifestFor). */
function manifestRun(run: RunSpec): Record<string, unknown> {
  return manifestFor(run, { requester: '', iat: 0, nonce: '' }).run;
}

/** Deep equality of JSON values, key order aside. */
function sameJson(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}
