import { readFileSync } from 'node:fs';
import type { TSchema } from '@sinclair/typebox';
import { OrchestrateConstraints, OrchestrateWorkload } from '../protocol/schemas/orchestrate.js';
import type { ComputeMdClient, PlanWire } from '../sdk/client.js';
import { ComputeMdError } from '../sdk/errors.js';
import type { Io } from './commands.js';
import { savings, table, usd } from './table.js';

/**
 * `computemd plan`: POST /orchestrate from flags, a JSON file, or both (flags win). The flags are
 * the body's own fields in kebab-case, read from the protocol schema — `--compute-hours` is
 * workload.compute_hours, `--max-price-per-hour` is constraints.max_price_per_hour — so the CLI
 * cannot drift from the API. A value of the wrong kind is a usage error naming the flag.
 */
const kebab = (k: string) => k.replaceAll('_', '-');
const props = (s: TSchema) => (s as unknown as { properties: Record<string, TSchema> }).properties;

export const WORKLOAD_FLAGS = Object.keys(props(OrchestrateWorkload)).map(kebab);
export const CONSTRAINT_FLAGS = Object.keys(props(OrchestrateConstraints)).map(kebab);
/** Every flag of `plan`; `--type` is workload.type. */
export const PLAN_FLAGS = [...new Set([...WORKLOAD_FLAGS, ...CONSTRAINT_FLAGS, 'requester'])];

type Converted = { ok: true; value: unknown } | { ok: false; error: string };

/** A flag's text as its field's JSON type: number, integer, list, or string (enums checked here). */
function convert(flag: string, raw: string, s: TSchema): Converted {
  const schema = s as unknown as {
    type?: string;
    anyOf?: { const?: unknown; type?: string }[];
    items?: { anyOf?: { const?: unknown }[] };
    minimum?: number;
    exclusiveMinimum?: number;
  };
  const bad = (what: string) => ({
    ok: false as const,
    error: `--${flag}: ${what} (got ${JSON.stringify(raw)})`,
  });
  if (schema.type === 'number' || schema.type === 'integer') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) return bad('must be a number');
    if (schema.type === 'integer' && !Number.isInteger(n)) return bad('must be a whole number');
    if (schema.exclusiveMinimum !== undefined && !(n > schema.exclusiveMinimum))
      return bad(`must be greater than ${schema.exclusiveMinimum}`);
    if (schema.minimum !== undefined && n < schema.minimum) return bad(`must be at least ${schema.minimum}`);
    return { ok: true, value: n };
  }
  if (schema.type === 'array') {
    const list = raw.split(',').map((x) => x.trim());
    if (list.some((x) => x === '')) return bad('a comma-separated list with no empty entries');
    const allowed = schema.items?.anyOf?.map((a) => a.const).filter((c) => typeof c === 'string');
    const wrong = allowed?.length ? list.find((x) => !allowed.includes(x)) : undefined;
    if (wrong !== undefined) return bad(`${wrong} is not one of ${allowed?.join(', ')}`);
    return { ok: true, value: list };
  }
  if (flag === 'objective') {
    // cost | time | balanced | balanced:0.7 (the weight on cost)
    const m = /^balanced:(0(\.\d+)?|1(\.0+)?)$/.exec(raw);
    if (m) return { ok: true, value: { balanced: Number(m[1]) } };
    if (['cost', 'time', 'balanced'].includes(raw)) return { ok: true, value: raw };
    return bad('must be cost, time, balanced or balanced:W with W from 0 to 1');
  }
  const consts = schema.anyOf?.map((a) => a.const).filter((c) => typeof c === 'string');
  if (consts?.length && !consts.includes(raw)) return bad(`must be one of ${consts.join(', ')}`);
  return { ok: true, value: raw };
}

/** The /orchestrate body, or a usage error (a string naming the flag). */
export function planBody(
  values: Record<string, unknown>,
  file: string | undefined,
): Record<string, unknown> | string {
  let body: Record<string, unknown> = {};
  if (file) {
    try {
      body = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      return `--file: cannot read JSON from ${file}: ${(err as Error).message}`;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return `--file: ${file} must hold a JSON object`;
  }
  const groups: [string, Record<string, TSchema>][] = [
    ['workload', props(OrchestrateWorkload)],
    ['constraints', props(OrchestrateConstraints)],
  ];
  for (const [group, fields] of groups) {
    const into: Record<string, unknown> =
      typeof body[group] === 'object' && body[group] !== null ? { ...(body[group] as object) } : {};
    for (const [key, schema] of Object.entries(fields)) {
      const raw = values[kebab(key)];
      if (typeof raw !== 'string') continue;
      const c = convert(kebab(key), raw, schema);
      if (!c.ok) return c.error;
      into[key] = c.value;
    }
    if (Object.keys(into).length > 0) body[group] = into;
  }
  if (typeof values.requester === 'string') body.requester = values.requester;
  if (body.workload === undefined)
    return 'give the workload: --type T --compute-hours H [--memory-gb G …], or a JSON file (computemd plan BODY.json)';
  return body;
}

/** A body field the gateway named ("constraints.max_price_per_hour", "/workload/type") as its flag. */
export function flagOf(param: string | undefined): string | null {
  if (!param) return null;
  const last = param
    .split(/[./]/)
    .filter((s) => s !== '' && !/^\d+$/.test(s))
    .at(-1);
  return last && PLAN_FLAGS.includes(kebab(last)) ? `--${kebab(last)}` : null;
}

export async function cmdPlan(
  client: ComputeMdClient,
  values: Record<string, unknown>,
  file: string | undefined,
  json: boolean,
  io: Io,
): Promise<number> {
  const body = planBody(values, file);
  if (typeof body === 'string') {
    io.err(`error: ${body}`);
    return 2;
  }
  let plan: PlanWire;
  try {
    plan = await client.orchestrate(body);
  } catch (err) {
    if (!(err instanceof ComputeMdError) || err.status === 0) throw err;
    const flag = flagOf(err.problem.param as string | undefined);
    io.err(`error: ${flag ? `${flag}: ` : ''}${err.problem.detail}`);
    return 1;
  }
  if (json) {
    io.out(JSON.stringify(plan, null, 2));
    return 0;
  }
  const vs = savings(plan.savings_percent);
  io.out(
    `${plan.plan_id}: ${usd(plan.total_cost_usd)} over ${plan.estimated_hours.toFixed(2)} hours, SLA ${plan.sla}${vs ? `, ${vs}` : ''}`,
  );
  io.out(
    table(
      ['PROVIDER', 'NODES', 'GPU', 'PRICE', 'SHARE', 'HOURS', 'COST', 'OFFER'],
      plan.allocations.map((a) => [
        a.provider,
        a.nodes,
        a.gpu_model ?? a.resource_type,
        a.price,
        a.allocation,
        a.hours.toFixed(2),
        usd(a.cost_usd),
        a.offer_id,
      ]),
    ),
  );
  io.out(`quote valid until ${plan.expires_at}; book it with: computemd book --plan ${plan.plan_id}`);
  return 0;
}
