import type { FastifyInstance, FastifyReply } from 'fastify';
import { invalidParams, problem } from '../../protocol/problem.js';
import { Offer } from '../../protocol/schemas/offer.js';
import { DiscoverQuery, NodesQuery } from '../../protocol/schemas/queries.js';
import {
  DiscoverResponse,
  NodesResponse,
  ProviderEntry,
  ProvidersResponse,
} from '../../protocol/schemas/responses.js';
import type { GatewayDeps, ParamProblem } from '../deps.js';
import { sendProblem } from '../problems.js';

export function badParams(reply: FastifyReply, problems: ParamProblem[]): FastifyReply {
  const unknown = problems.every((p) => /unknown/i.test(p.detail));
  return sendProblem(
    reply,
    invalidParams(
      problems.map((p) => ({ name: p.param, reason: p.detail })),
      unknown ? 'unknown-parameter' : 'invalid-parameter',
    ),
  );
}

const UNITS = {
  price:
    'USD per GPU-hour (price_per_gpu_hour, max_price); USD per node-hour for CPU-only offers and price_per_hour',
  memory_gb:
    'gpu_memory_gb and the min_memory_gb filter: GPU memory per GPU; memory_gb: host memory per node',
};

/** GET /nodes, /nodes/:id, /discover, /providers, /providers/:name: the spec's discovery calls. */
export function discoveryRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const d = deps.discovery;
  app.get(
    '/nodes',
    {
      schema: {
        summary: 'Find offers across all providers',
        description:
          "The spec's discovery call, e.g. /nodes?resource_type=GPU_A&max_price=2.50&latency_band=metro. Prices are USD per GPU-hour (node-hour for CPU-only offers). Unknown or malformed parameters are 400 problem+json naming the parameter.",
        tags: ['discovery'],
        querystring: NodesQuery,
        response: { 200: NodesResponse },
      },
    },
    async (req, reply) => {
      const r = d.nodes(req.query as Record<string, unknown>);
      if (!r.ok) return badParams(reply, r.problems);
      const { offers, next_cursor, snapshot_at } = r.value;
      return {
        offers,
        count: offers.length,
        next_cursor,
        snapshot_at,
        simulated: offers.some((o) => o.simulated),
        units: UNITS,
      };
    },
  );

  app.get(
    '/nodes/:id',
    {
      schema: {
        summary: 'One offer by id',
        tags: ['discovery'],
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: { 200: Offer },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const o = d.node(id);
      if (!o)
        return sendProblem(
          reply,
          problem('not-found', `No offer ${id}. Offer ids come from GET /nodes.`, { param: 'id' }),
        );
      return o;
    },
  );

  app.get(
    '/discover',
    {
      schema: {
        summary: 'Options that could deliver N reference GPU-hours',
        description:
          "The spec's /discover?gpu_hours=1000&min_memory_gb=24&max_price=1.00&sort=price_asc. gpu_hours are reference GPU-hours on reference_profile (default GPU_TYPE_A, the H100 SXM); each option says how many hours that takes on its hardware (work normalised by dense FP16 for training, memory bandwidth for inference) and what it costs in total.",
        tags: ['discovery'],
        querystring: DiscoverQuery,
        response: { 200: DiscoverResponse },
      },
    },
    async (req, reply) => {
      const r = d.discover(req.query as Record<string, unknown>);
      if (!r.ok) return badParams(reply, r.problems);
      return { ...r.value, simulated: r.value.options.some((o) => o.offer.simulated) };
    },
  );

  app.get(
    '/providers',
    {
      schema: {
        summary: 'The provider directory',
        description:
          'Every connected provider with the fields the spec shows for its type, computed from its live offers (available_resources, resource_types, price_range per GPU-hour, payment, latency_band, interruptible, verification, regions), whether it is simulated, and its health.',
        tags: ['discovery'],
        response: { 200: ProvidersResponse },
      },
    },
    async () => ({
      endpoint: '/providers' as const,
      unified_access: true as const,
      providers: d.providers(),
    }),
  );

  app.get(
    '/providers/:name',
    {
      schema: {
        summary: 'One provider',
        tags: ['discovery'],
        params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        response: { 200: ProviderEntry },
      },
    },
    async (req, reply) => {
      const { name } = req.params as { name: string };
      const p = d.providers().find((x) => x.name === name);
      if (!p) {
        return sendProblem(
          reply,
          problem('not-found', `No provider "${name}". GET /providers lists them.`, { param: 'name' }),
        );
      }
      return p;
    },
  );
}
