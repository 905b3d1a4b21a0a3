import { ComputeMdError } from '../sdk/client.js';
import type { ComputeMdClient, Query } from '../sdk/index.js';
import { money, table } from './table.js';

/** Filter flags of `nodes` and `discover`: each mirrors a query parameter in kebab-case. */
export const FILTER_FLAGS = [
  'resource-type',
  'gpu-model',
  'min-gpu-count',
  'min-memory-gb',
  'max-price',
  'latency-band',
  'near',
  'provider',
  'provider-type',
  'region',
  'interruptible',
  'min-reliability',
  'min-fp16-tflops',
  'min-available',
  'sort',
  'limit',
  'cursor',
] as const;
export const DISCOVER_FLAGS = ['gpu-hours', 'reference-profile', 'workload-kind', 'deadline-hours'] as const;

export const toParam = (flag: string) => flag.replaceAll('-', '_');
export const toFlag = (param: string) => `--${param.replaceAll('_', '-')}`;

export function queryFrom(values: Record<string, unknown>, flags: readonly string[]): Query {
  const q: Query = {};
  for (const f of flags) {
    const v = values[f];
    if (typeof v === 'string') q[toParam(f)] = v;
  }
  return q;
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export async function cmdNodes(client: ComputeMdClient, q: Query, json: boolean, io: Io): Promise<number> {
  const res = await client.nodes(q);
  if (json) {
    io.out(JSON.stringify(res, null, 2));
    return 0;
  }
  io.out(
    table(
      [
        'ID',
        'PROVIDER',
        'TYPE',
        'CLASS',
        'GPU',
        'N',
        '$/GPU-H',
        '$/NODE-H',
        'REGION',
        'BAND',
        'AVAIL',
        'SPOT',
      ],
      res.offers.map((o) => [
        o.id,
        o.provider,
        o.provider_type,
        o.resource_type,
        o.gpu_model ?? `${o.vcpus} vCPU`,
        o.gpu_count,
        money(o.price_per_gpu_hour, 3),
        money(o.price_per_hour, 3),
        o.region,
        o.latency_band,
        o.available,
        o.interruptible ? 'yes' : 'no',
      ]),
    ),
  );
  io.out(
    `${res.count} offers${res.next_cursor ? ` (more: --cursor ${res.next_cursor})` : ''}${res.simulated ? '; availability and spot movement are simulated' : ''}`,
  );
  return 0;
}

export async function cmdDiscover(client: ComputeMdClient, q: Query, json: boolean, io: Io): Promise<number> {
  const res = await client.discover(q);
  if (json) {
    io.out(JSON.stringify(res, null, 2));
    return 0;
  }
  io.out(`${res.gpu_hours} reference GPU-hours on ${res.reference_profile} (${res.workload_kind}):`);
  io.out(
    table(
      ['ID', 'PROVIDER', 'GPU', 'RATE', 'GPU-H', '$/GPU-H', 'TOTAL', 'AVAIL', 'OK'],
      res.options.map((o) => [
        o.offer.id,
        o.offer.provider,
        o.offer.gpu_model,
        o.work_rate.toFixed(3),
        o.gpu_hours_on_hardware.toFixed(1),
        money(o.offer.price_per_gpu_hour, 3),
        money(o.total_cost_usd),
        o.available,
        o.can_deliver ? 'yes' : 'no',
      ]),
    ),
  );
  return 0;
}

export async function cmdProviders(client: ComputeMdClient, json: boolean, io: Io): Promise<number> {
  const res = await client.providers();
  if (json) {
    io.out(JSON.stringify(res, null, 2));
    return 0;
  }
  io.out(
    table(
      ['PROVIDER', 'TYPE', 'GPUS', 'CLASSES', 'PRICE (PER GPU-H)', 'BAND', 'REGIONS', 'HEALTH', 'SIM'],
      res.providers.map((p) => [
        p.name,
        p.type,
        p.available_resources,
        p.resource_types.join(','),
        p.price_range,
        p.latency_band,
        p.regions,
        p.health.status,
        p.simulated ? 'yes' : 'no',
      ]),
    ),
  );
  return 0;
}

export async function cmdCatalogRefresh(
  client: ComputeMdClient,
  body: { from?: string; clouds?: string[] },
  json: boolean,
  io: Io,
): Promise<number> {
  const res = await client.refreshCatalog(body);
  if (json) {
    io.out(JSON.stringify(res, null, 2));
    return 0;
  }
  io.out(`from ${res.from}`);
  io.out(
    table(
      ['CLOUD', 'STATUS', 'DETAIL'],
      res.clouds.map((c) => {
        const x = c as { cloud: string; status: string; reason?: string; rows?: number };
        return [x.cloud, x.status, String(x.reason ?? x.rows ?? '')];
      }),
    ),
  );
  // A cloud kept (refused file) is an answer, not a failure: the table says why.
  return 0;
}

/** Prints an API error the way every command does: the problem's detail, the flag it names. */
export function reportError(err: unknown, io: Io): number {
  if (err instanceof ComputeMdError) {
    const param = err.problem.param;
    io.err(`error: ${param ? `${toFlag(String(param))}: ` : ''}${err.problem.detail}`);
    return err.status === 0 ? 3 : 1;
  }
  throw err;
}
