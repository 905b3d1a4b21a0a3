import { type TSchema, Type } from '@sinclair/typebox';
import { DEFAULT_REFERENCE_PROFILE, LATENCY_BANDS, PROVIDER_TYPES } from '../glossary.js';

/**
 * POST /orchestrate, for the OpenAPI document and the SDK. planner/request.ts is the validator (it
 * names the offending field of every problem); this schema documents the same body. Units follow
 * the glossary: prices USD per GPU-hour (node-hour for cpu), compute_hours reference GPU-hours.
 */
const lit = (xs: readonly string[]) => Type.Union(xs.map((x) => Type.Literal(x)));
const opt = <T extends TSchema>(t: T) => Type.Optional(t);
const num = (description: string, extra: Record<string, number> = {}) =>
  opt(Type.Number({ description, ...extra }));
const int = (description: string, minimum = 1) => opt(Type.Integer({ description, minimum }));
const names = (description: string) => opt(Type.Array(Type.String({ minLength: 1 }), { description }));

export const WORKLOAD_TYPES = [
  'batch_processing',
  'training',
  'inference',
  'large_model_serve',
  'cpu',
] as const;
export const INTERCONNECTS = ['optional', 'preferred', 'required'] as const;
export const INTERRUPTIBLE_POLICIES = ['allow', 'deny', 'prefer'] as const;

export const OrchestrateWorkload = Type.Object(
  {
    type: lit(WORKLOAD_TYPES),
    compute_hours: num(
      'Reference GPU-hours of work on reference_profile (vCPU-hours for cpu). Required except for large_model_serve, where it is the hours to serve (default 24).',
      { exclusiveMinimum: 0 },
    ),
    memory_gb: num('GPU memory per GPU, GB (host memory per node for cpu).', { exclusiveMinimum: 0 }),
    interconnect: opt(
      Type.Union(
        INTERCONNECTS.map((x) => Type.Literal(x)),
        {
          description:
            'required: multi-GPU nodes whose GPUs share an NVLink/NVSwitch, Infinity Fabric, NeuronLink, ICI or InfiniBand/RoCE-class fabric (a pairwise NVLink bridge or PCIe is not enough). Default optional.',
        },
      ),
    ),
    reference_profile: opt(
      Type.String({
        description: `Profile or model the work is measured on. Default ${DEFAULT_REFERENCE_PROFILE}.`,
      }),
    ),
    gpus_per_node: int('At least this many GPUs per node.'),
    min_nodes: int('Nodes across the plan, at least (default 1).'),
    max_nodes: int('Nodes across the plan, at most.'),
    checkpoint_interval_s: num('Seconds between checkpoints, for the risk model (default 1800).', {
      exclusiveMinimum: 0,
    }),
    requests_per_second: num('large_model_serve: requests per second the endpoints must serve together.', {
      exclusiveMinimum: 0,
    }),
  },
  { additionalProperties: false },
);

export const OrchestrateObjective = Type.Union(
  [
    Type.Literal('cost'),
    Type.Literal('time'),
    Type.Literal('balanced'),
    Type.Object(
      {
        balanced: Type.Number({
          minimum: 0,
          maximum: 1,
          description: 'Weight of cost (1 − weight on time).',
        }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'cost (default): cheapest, then fastest at that cost; time: fastest, then cheapest.' },
);

export const OrchestrateConstraints = Type.Object(
  {
    max_price_per_hour: num('USD per GPU-hour (per node-hour for cpu).', { exclusiveMinimum: 0 }),
    latency_band: opt(lit(LATENCY_BANDS)),
    near: opt(
      Type.String({ description: '"lat,lon", "provider:region" or a region the band is measured from.' }),
    ),
    redundancy: int('At least this many distinct providers (default 1).'),
    deadline_hours: num('Wall-clock hours the work must finish in.', { exclusiveMinimum: 0 }),
    budget_usd: num('Total USD the plan may cost.', { exclusiveMinimum: 0 }),
    min_reliability: num('0..1: P(a node runs one hour uninterrupted).', { minimum: 0, maximum: 1 }),
    interruptible: opt(lit(INTERRUPTIBLE_POLICIES)),
    providers: names(
      'Only these providers; a spec placeholder (marketplace_a, network_b…) means the cheapest provider of its type.',
    ),
    exclude_providers: names('Never these providers.'),
    provider_types: opt(Type.Array(lit(PROVIDER_TYPES))),
    regions: names('Only these regions.'),
    objective: opt(OrchestrateObjective),
  },
  { additionalProperties: false },
);

export const OrchestrateBody = Type.Object(
  {
    requester: opt(Type.String({ minLength: 1 })),
    workload: Type.Union([OrchestrateWorkload, lit(WORKLOAD_TYPES)], {
      description:
        "An object, or the spec's inference form: a bare type with the fields below at the top level.",
    }),
    constraints: opt(OrchestrateConstraints),
    requests_per_second: num("The spec's inference form (same as workload.requests_per_second).", {
      exclusiveMinimum: 0,
    }),
    redundancy: int("The spec's inference form (same as constraints.redundancy)."),
    providers: names("The spec's inference form (same as constraints.providers)."),
  },
  { additionalProperties: false, $id: 'OrchestrateBody' },
);

const money = (description: string) => Type.Number({ description });

export const PlannedAllocationWire = Type.Object(
  {
    provider: Type.String(),
    nodes: Type.Integer(),
    resource_type: Type.String(),
    price: Type.String({ description: '"$0.44/hr": USD per GPU-hour (node-hour for cpu).' }),
    allocation: Type.String({ description: '"60%": share of the work.' }),
    price_per_hour_usd: money('USD per GPU-hour (node-hour for cpu).'),
    price_per_node_hour_usd: money('USD per node-hour.'),
    allocation_fraction: Type.Number(),
    offer_id: Type.String(),
    gpu_model: Type.Union([Type.String(), Type.Null()]),
    gpu_count: Type.Integer(),
    region: Type.String(),
    latency_band: Type.String(),
    hours: Type.Number({ description: 'Wall-clock hours: node_hours / nodes.' }),
    node_hours: Type.Number(),
    work_rate: Type.Number({ description: 'Reference GPU-hours per node-hour, risk included.' }),
    work: Type.Number({ description: 'Reference GPU-hours: node_hours × work_rate.' }),
    cost_usd: money('price_per_node_hour_usd × node_hours.'),
    interruptible: Type.Boolean(),
    reliability: Type.Number(),
  },
  { additionalProperties: true },
);

export const PlanResponseWire = Type.Object(
  {
    plan_id: Type.String(),
    requester: Type.Union([Type.String(), Type.Null()]),
    workload_type: lit(WORKLOAD_TYPES),
    reference_profile: Type.String(),
    work: Type.Number({ description: 'Reference GPU-hours the plan must deliver.' }),
    objective: Type.String(),
    allocations: Type.Array(PlannedAllocationWire),
    total_cost: Type.String({ description: '"$580"' }),
    total_cost_usd: money('Σ allocations.cost_usd'),
    estimated_time: Type.String({ description: '"14 hours"' }),
    estimated_hours: Type.Number({ description: 'max over allocations of hours' }),
    sla: Type.String({ description: '"99.5%": computed (docs/planner.md "SLA")' }),
    sla_percent: Type.Number(),
    sla_horizon_hours: Type.Number(),
    savings_percent: Type.Union([Type.Number(), Type.Null()]),
    baseline: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
    baseline_note: Type.Union([Type.String(), Type.Null()]),
    alternatives: Type.Array(Type.Object({}, { additionalProperties: true })),
    fallbacks: Type.Array(Type.Object({}, { additionalProperties: true })),
    explain: Type.Object({}, { additionalProperties: true }),
    units: Type.Record(Type.String(), Type.String()),
    created_at: Type.String({ format: 'date-time' }),
    expires_at: Type.String({ format: 'date-time' }),
    endpoints: opt(Type.Array(Type.String())),
    load_balancer: opt(Type.String()),
    health_check: opt(Type.String()),
    auto_failover: opt(Type.Boolean()),
  },
  { additionalProperties: true, $id: 'PlanResponse' },
);
