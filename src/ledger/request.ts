import { parseRunSpec, type RunSpec } from '../runtime/run-spec.js';
import type { ParamProblem } from '../server/deps.js';
import type { PaymentModel } from './store.js';

/**
 * POST /book bodies, validated by hand so every problem names its JSON path (`/allocations/1/gpu_hours`).
 * Three forms (issue 4, part 1):
 *
 * - the spec's: `{plan: 'distributed', allocations: [{provider, gpu_hours, gpu_type?, cpu_fallback?,
 *   nodes?}], payment: {method, stream}}`; a provider name (or a spec placeholder such as
 *   `marketplace_a`) resolves to its cheapest eligible offers at booking time;
 * - direct: `{allocations: [{offer_id, nodes, hours}]}`;
 * - from a quote: `{plan_id}`, booked at the plan's quoted prices while it is unexpired.
 */

export interface ProviderAllocation {
  kind: 'provider';
  provider: string;
  gpu_hours: number;
  gpu_type: string | null;
  cpu_fallback: boolean;
  /** Nodes to spread the hours over (default 1). */
  nodes: number;
}

export interface OfferAllocation {
  kind: 'offer';
  offer_id: string;
  nodes: number;
  hours: number;
}

export interface PaymentRequest {
  method: string;
  model: PaymentModel;
  stream: boolean;
  epoch: 'hour' | 'day' | null;
  /** per_token only: an explicit price per million tokens (USD); else derived from the node price. */
  price_per_million_tokens_usd: number | null;
}

export type BookingRequest =
  | {
      form: 'explicit';
      plan: string | null;
      allocations: (ProviderAllocation | OfferAllocation)[];
      payment: PaymentRequest;
      manifest: string | null;
      run: RunSpec | null;
      validation: ValidationRequest | null;
    }
  | {
      form: 'plan';
      plan_id: string;
      payment: PaymentRequest;
      manifest: string | null;
      run: RunSpec | null;
      validation: ValidationRequest | null;
    };

/**
 * Result validation (issue 6, part 7): the run goes to `replicas` distinct providers in all and
 * their results are compared; on disagreement a referee run on `referee` (a provider the requester
 * trusts) decides.
 */
export interface ValidationRequest {
  replicas: number;
  referee: string | null;
}

const MODELS: readonly PaymentModel[] = ['per_second', 'per_token', 'per_epoch'];
const MAX_ALLOCATIONS = 64;
const MAX_HOURS = 24 * 366;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseBookingRequest(
  body: unknown,
): { ok: true; value: BookingRequest } | { ok: false; problems: ParamProblem[] } {
  const problems: ParamProblem[] = [];
  const bad = (param: string, detail: string) => problems.push({ param, detail });
  if (!isObj(body)) {
    bad(
      '/',
      'the body must be a JSON object: {plan_id}, {allocations: [...]}, or the spec\'s {plan: "distributed", allocations, payment}',
    );
    return { ok: false, problems };
  }
  const known = new Set([
    'plan',
    'plan_id',
    'allocations',
    'payment',
    'requester',
    'manifest',
    'run',
    'validation',
  ]);
  for (const k of Object.keys(body))
    if (!known.has(k)) bad(`/${k}`, `unknown field "${k}"; allowed: ${[...known].join(', ')}`);
  const payment = parsePayment(body.payment, bad);
  // A signed workload manifest (identity/manifest.ts): its signature is checked by the booking service.
  const manifest = body.manifest === undefined ? null : body.manifest;
  if (
    manifest !== null &&
    (typeof manifest !== 'string' || manifest.length === 0 || manifest.length > 65_536)
  )
    bad('/manifest', 'manifest must be a compact JWS (the signed workload manifest), at most 64 KiB');
  // What to run on the booked leases (runtime/run-spec.ts), checked field by field.
  let run: RunSpec | null = null;
  if (body.run !== undefined) {
    const r = parseRunSpec(body.run, '/run');
    if (r.ok) run = r.value;
    else for (const p of r.problems) bad(p.param, p.detail);
  }
  let validation: ValidationRequest | null = null;
  if (body.validation !== undefined) {
    const v = body.validation;
    if (!isObj(v)) bad('/validation', 'validation must be {replicas: 2..5, referee?: provider}');
    else {
      for (const k of Object.keys(v))
        if (k !== 'replicas' && k !== 'referee')
          bad(`/validation/${k}`, `unknown field "${k}"; allowed: replicas, referee`);
      if (typeof v.replicas !== 'number' || !Number.isInteger(v.replicas) || v.replicas < 2 || v.replicas > 5)
        bad(
          '/validation/replicas',
          'replicas must be a whole number from 2 to 5 (runs on distinct providers, this one included)',
        );
      if (
        v.referee !== undefined &&
        (typeof v.referee !== 'string' || !/^[a-z0-9][a-z0-9_.-]{0,62}$/.test(v.referee))
      )
        bad('/validation/referee', 'referee must be the name of a provider you trust (GET /providers)');
      if (body.run === undefined)
        bad('/validation', 'validation compares the results of a run: give run too');
      validation = {
        replicas: Number(v.replicas),
        referee: typeof v.referee === 'string' ? v.referee : null,
      };
    }
  }

  if (body.plan_id !== undefined) {
    if (typeof body.plan_id !== 'string' || !/^plan_[0-9a-z]{26}$/.test(body.plan_id))
      bad('/plan_id', 'plan_id must be a plan id from POST /orchestrate (plan_…)');
    if (body.allocations !== undefined) bad('/allocations', 'give either plan_id or allocations, not both');
    if (problems.length) return { ok: false, problems };
    return {
      ok: true,
      value: {
        form: 'plan',
        plan_id: body.plan_id as string,
        payment,
        manifest: manifest as string | null,
        run,
        validation,
      },
    };
  }
  if (body.plan !== undefined && typeof body.plan !== 'string')
    bad('/plan', 'plan must be a string such as "distributed"');
  const allocs = body.allocations;
  const out: (ProviderAllocation | OfferAllocation)[] = [];
  if (!Array.isArray(allocs) || allocs.length === 0) {
    bad('/allocations', 'allocations must be a non-empty array (or give plan_id)');
  } else if (allocs.length > MAX_ALLOCATIONS) {
    bad('/allocations', `at most ${MAX_ALLOCATIONS} allocations per booking`);
  } else {
    for (const [i, a] of allocs.entries()) {
      const p = `/allocations/${i}`;
      if (!isObj(a)) {
        bad(p, 'each allocation is an object: {provider, gpu_hours} or {offer_id, nodes, hours}');
        continue;
      }
      if (a.offer_id !== undefined) {
        for (const k of Object.keys(a))
          if (!['offer_id', 'nodes', 'hours'].includes(k))
            bad(`${p}/${k}`, `unknown field "${k}" in an {offer_id, nodes, hours} allocation`);
        if (typeof a.offer_id !== 'string' || a.offer_id.length === 0 || a.offer_id.length > 200)
          bad(`${p}/offer_id`, 'offer_id must be an offer id from GET /nodes');
        const nodes = posInt(a.nodes ?? 1, `${p}/nodes`, bad);
        const hours = posNum(a.hours, `${p}/hours`, bad, MAX_HOURS);
        out.push({ kind: 'offer', offer_id: String(a.offer_id), nodes, hours });
        continue;
      }
      for (const k of Object.keys(a))
        if (!['provider', 'gpu_hours', 'gpu_type', 'cpu_fallback', 'nodes'].includes(k))
          bad(
            `${p}/${k}`,
            `unknown field "${k}"; an allocation is {provider, gpu_hours, gpu_type?, cpu_fallback?, nodes?} or {offer_id, nodes, hours}`,
          );
      if (typeof a.provider !== 'string' || a.provider.trim() === '')
        bad(
          `${p}/provider`,
          'provider must be a provider name from GET /providers or a spec placeholder (marketplace_a…)',
        );
      const gpuHours = posNum(a.gpu_hours, `${p}/gpu_hours`, bad, 1e7);
      if (a.gpu_type !== undefined && (typeof a.gpu_type !== 'string' || a.gpu_type.trim() === ''))
        bad(`${p}/gpu_type`, 'gpu_type must be a class, profile or model name (GPU_A, TYPE_B, H100…)');
      if (a.cpu_fallback !== undefined && typeof a.cpu_fallback !== 'boolean')
        bad(`${p}/cpu_fallback`, 'cpu_fallback must be true or false');
      const nodes = posInt(a.nodes ?? 1, `${p}/nodes`, bad);
      out.push({
        kind: 'provider',
        provider: String(a.provider ?? '').trim(),
        gpu_hours: gpuHours,
        gpu_type: typeof a.gpu_type === 'string' ? a.gpu_type.trim() : null,
        cpu_fallback: a.cpu_fallback === true,
        nodes,
      });
    }
  }
  if (problems.length) return { ok: false, problems };
  return {
    ok: true,
    value: {
      form: 'explicit',
      plan: typeof body.plan === 'string' ? body.plan : null,
      allocations: out,
      payment,
      manifest: manifest as string | null,
      run,
      validation,
    },
  };
}

function parsePayment(v: unknown, bad: (p: string, d: string) => void): PaymentRequest {
  const pay: PaymentRequest = {
    method: 'credits',
    model: 'per_second',
    stream: false,
    epoch: null,
    price_per_million_tokens_usd: null,
  };
  if (v === undefined) return pay;
  if (!isObj(v)) {
    bad('/payment', "payment must be an object such as {method: 'STABLE_COIN', stream: true}");
    return pay;
  }
  for (const k of Object.keys(v))
    if (!['method', 'stream', 'model', 'epoch', 'price_per_million_tokens_usd'].includes(k))
      bad(
        `/payment/${k}`,
        `unknown field "${k}"; payment is {method, stream, model, epoch, price_per_million_tokens_usd}`,
      );
  if (v.method !== undefined) {
    if (typeof v.method !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(v.method))
      bad('/payment/method', 'method must be a payment method name such as STABLE_COIN or credits');
    else pay.method = v.method;
  }
  if (v.stream !== undefined) {
    if (typeof v.stream !== 'boolean') bad('/payment/stream', 'stream must be true or false');
    else pay.stream = v.stream;
  }
  if (v.model !== undefined) {
    if (!MODELS.includes(v.model as PaymentModel))
      bad('/payment/model', `model must be one of ${MODELS.join(', ')}`);
    else pay.model = v.model as PaymentModel;
  }
  if (v.epoch !== undefined) {
    if (v.epoch !== 'hour' && v.epoch !== 'day') bad('/payment/epoch', 'epoch must be "hour" or "day"');
    else if (pay.model !== 'per_epoch') bad('/payment/epoch', 'epoch applies to model "per_epoch" only');
    else pay.epoch = v.epoch;
  }
  if (pay.model === 'per_epoch' && pay.epoch === null) pay.epoch = 'hour';
  if (v.price_per_million_tokens_usd !== undefined) {
    if (pay.model !== 'per_token')
      bad('/payment/price_per_million_tokens_usd', 'applies to model "per_token" only');
    else
      pay.price_per_million_tokens_usd = posNum(
        v.price_per_million_tokens_usd,
        '/payment/price_per_million_tokens_usd',
        bad,
        1e6,
      );
  }
  return pay;
}

function posNum(v: unknown, p: string, bad: (p: string, d: string) => void, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max) {
    bad(p, `${p.split('/').pop()} must be a number > 0 and ≤ ${max}`);
    return 1;
  }
  return v;
}

function posInt(v: unknown, p: string, bad: (p: string, d: string) => void): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 10_000) {
    bad(p, `${p.split('/').pop()} must be a whole number from 1 to 10000`);
    return 1;
  }
  return v;
}
