import { type Static, Type } from '@sinclair/typebox';
import { LATENCY_BANDS, PROVIDER_TYPES } from '../glossary.js';
import { Offer } from './offer.js';

/**
 * Response bodies of the discovery API: the single source for the OpenAPI document, the server's
 * serializers and the SDK's types. Open objects (`additionalProperties: true`) are those whose
 * detail may grow; the fields listed are the contract.
 */
const open = { additionalProperties: true } as const;
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);
const lit = <T extends readonly string[]>(xs: T) => Type.Union(xs.map((x) => Type.Literal(x)));

export const NodesResponse = Type.Object(
  {
    offers: Type.Array(Offer),
    count: Type.Integer({ description: 'Offers in this page' }),
    next_cursor: Type.Union([Type.String(), Type.Null()]),
    snapshot_at: Type.String({ format: 'date-time', description: 'When the market snapshot was built' }),
    simulated: Type.Boolean({ description: 'True when any offer on this page is partly modelled' }),
    units: Type.Object({ price: Type.String(), memory_gb: Type.String() }),
  },
  { $id: 'NodesResponse' },
);
export type NodesResponse = Static<typeof NodesResponse>;

export const DiscoverOption = Type.Object(
  {
    offer: Offer,
    work_rate: Type.Number({ description: 'Reference GPU-hours one GPU-hour on this hardware does' }),
    gpu_hours_on_hardware: Type.Number(),
    node_hours: Type.Number(),
    total_cost_usd: Type.Number(),
    total_cost: Type.String({ description: 'Display form, e.g. "$580"' }),
    available: Type.Integer(),
    can_deliver: Type.Boolean(),
  },
  open,
);
export const DiscoverResponse = Type.Object(
  {
    gpu_hours: Type.Number({ description: 'Reference GPU-hours requested' }),
    reference_profile: Type.String(),
    workload_kind: Type.String(),
    unit: Type.String(),
    options: Type.Array(DiscoverOption),
    count: Type.Integer(),
    next_cursor: Type.Union([Type.String(), Type.Null()]),
    excluded: Type.Record(Type.String(), Type.Integer(), { description: 'Offers left out, by reason' }),
    simulated: Type.Boolean(),
  },
  { ...open, $id: 'DiscoverResponse' },
);
export type DiscoverResponse = Static<typeof DiscoverResponse>;

export const ProviderHealth = Type.Object(
  {
    status: Type.Union([
      Type.Literal('ok'),
      Type.Literal('degraded'),
      Type.Literal('down'),
      Type.Literal('pending'),
    ]),
    last_refresh_at: Type.Union([Type.String(), Type.Null()]),
    last_success_at: Type.Union([Type.String(), Type.Null()]),
    last_error: Type.Union([Type.String(), Type.Null()]),
    consecutive_failures: Type.Integer(),
  },
  open,
);

export const ProviderEntry = Type.Object(
  {
    name: Type.String(),
    type: lit(PROVIDER_TYPES),
    description: Type.String(),
    available_resources: Type.Integer({ description: 'GPUs rentable now (vCPUs for CPU-only providers)' }),
    resource_types: Type.Array(Type.String()),
    price_range: Type.Union([Type.String(), Type.Null()], {
      description: 'Display form, "$0.79-2.49/hr" (per GPU-hour)',
    }),
    price_min_per_gpu_hour: NullableNumber,
    price_max_per_gpu_hour: NullableNumber,
    payment: Type.Array(Type.String()),
    latency_band: Type.Union([lit(LATENCY_BANDS), Type.Null()], {
      description: 'Best band among its offers',
    }),
    interruptible: Type.Boolean(),
    verification: Type.String(),
    regions: Type.Integer(),
    region_names: Type.Array(Type.String()),
    offers: Type.Integer(),
    hosts: Type.Integer({ description: 'Distinct node shapes × places listed' }),
    cpu_cores: Type.Integer({ description: 'vCPUs rentable now' }),
    simulated: Type.Boolean(),
    health: ProviderHealth,
    features: Type.Object({}, open),
    source: Type.String(),
  },
  { ...open, $id: 'ProviderEntry' },
);
export type ProviderEntry = Static<typeof ProviderEntry>;

export const ProvidersResponse = Type.Object(
  {
    endpoint: Type.Literal('/providers'),
    unified_access: Type.Literal(true),
    providers: Type.Array(ProviderEntry),
  },
  { $id: 'ProvidersResponse' },
);
export type ProvidersResponse = Static<typeof ProvidersResponse>;

export const CapabilitiesResponse = Type.Object(
  {
    endpoint: Type.Literal('/capabilities'),
    description: Type.String(),
    resource_profiles: Type.Record(Type.String(), Type.Object({}, open)),
    latency_bands: Type.Record(Type.String(), Type.String()),
    classes: Type.Record(Type.String(), Type.Array(Type.String())),
    aliases: Type.Record(Type.String(), Type.String()),
  },
  { ...open, $id: 'CapabilitiesResponse' },
);
export type CapabilitiesResponse = Static<typeof CapabilitiesResponse>;

const ClassPrices = Type.Object(
  { GPU_A: NullableNumber, GPU_B: NullableNumber, GPU_C: NullableNumber },
  open,
);
export const SpotPricesResponse = Type.Object(
  {
    traditional: ClassPrices,
    p2p_market: ClassPrices,
    decentralized_cloud: ClassPrices,
    decentralized_compute: ClassPrices,
    serverless_compute: ClassPrices,
    edge: ClassPrices,
    unit: Type.String(),
    as_of: Type.String(),
    detail: Type.Object({}, open),
    simulated: Type.Boolean(),
  },
  { ...open, $id: 'SpotPricesResponse' },
);
export type SpotPricesResponse = Static<typeof SpotPricesResponse>;

export const PriceTick = Type.Object(
  {
    kind: Type.Union([Type.Literal('aggregate'), Type.Literal('offer')], {
      description:
        'aggregate: the lowest USD/GPU-hour of a provider type × class moved (spot_key, provider_type, resource_type, price, previous); offer: one offer moved (id, provider, resource_type, price_per_hour, previous)',
    }),
    at: Type.String({ format: 'date-time' }),
  },
  open,
);
export type PriceTick = Static<typeof PriceTick>;

export const PriceHistoryResponse = Type.Object(
  {
    resource_type: Type.Union([Type.String(), Type.Null()]),
    since: Type.String(),
    unit: Type.String(),
    series: Type.Array(Type.Object({}, open)),
  },
  { ...open, $id: 'PriceHistoryResponse' },
);
export type PriceHistoryResponse = Static<typeof PriceHistoryResponse>;

export const HealthResponse = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
    version: Type.String(),
    uptime_s: Type.Number(),
    offers: Type.Integer(),
    providers: Type.Object({ ok: Type.Integer(), total: Type.Integer() }),
    did: Type.Optional(Type.String({ description: "The gateway's own DID (did:key, Ed25519)" })),
  },
  { $id: 'HealthResponse' },
);
export type HealthResponse = Static<typeof HealthResponse>;

export const RefreshResponse = Type.Object(
  {
    from: Type.String(),
    clouds: Type.Array(Type.Object({ cloud: Type.String(), status: Type.String() }, open)),
  },
  { ...open, $id: 'RefreshResponse' },
);
export type RefreshResponse = Static<typeof RefreshResponse>;
