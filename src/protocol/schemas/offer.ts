import { type Static, Type } from '@sinclair/typebox';
import { LATENCY_BANDS, PROVIDER_TYPES, RESOURCE_CLASSES } from '../glossary.js';

const Nullable = <T extends ReturnType<typeof Type.Number>>(t: T) => Type.Union([t, Type.Null()]);
const lit = <T extends readonly string[]>(xs: T) => Type.Union(xs.map((x) => Type.Literal(x)));

export const GpuCapabilities = Type.Object(
  {
    fp16_tflops: Nullable(Type.Number({ description: 'Dense FP16/BF16 tensor TFLOPS per GPU' })),
    fp32_tflops: Nullable(Type.Number()),
    int8_tops: Nullable(Type.Number({ description: 'Dense INT8 tensor TOPS per GPU' })),
    memory_gb: Nullable(Type.Number({ description: 'GPU memory per GPU, GB' })),
    bandwidth_gb_s: Nullable(Type.Number()),
    interconnect: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'GpuCapabilities' },
);

export const Offer = Type.Object(
  {
    id: Type.String({ description: 'Stable across refreshes: provider, sku, region, zone, market' }),
    provider: Type.String(),
    provider_type: lit(PROVIDER_TYPES),
    resource_type: lit(RESOURCE_CLASSES),
    profile: Type.Union([Type.String(), Type.Null()], {
      description: 'Named profile this model is (GPU_TYPE_A, GPU_TYPE_B), else the model name; null for CPU',
    }),
    sku: Type.String(),
    gpu_model: Type.Union([Type.String(), Type.Null()]),
    gpu_count: Type.Number(),
    gpu_memory_gb: Nullable(Type.Number({ description: 'Per GPU' })),
    vcpus: Type.Number(),
    memory_gb: Type.Number({ description: 'Host memory of one node, GB' }),
    price_per_hour: Type.Number({ description: 'USD per node-hour, now' }),
    price_per_gpu_hour: Nullable(Type.Number({ description: 'USD per GPU-hour; null for CPU-only' })),
    list_price_per_hour: Type.Number({ description: 'USD per node-hour as the source lists it' }),
    currency: Type.Literal('USD'),
    interruptible: Type.Boolean(),
    reliability: Type.Number({ minimum: 0, maximum: 1 }),
    region: Type.String(),
    zone: Type.Union([Type.String(), Type.Null()]),
    latency_band: lit(LATENCY_BANDS),
    distance_km: Nullable(
      Type.Number({ description: 'Great-circle km from `near` or the gateway location' }),
    ),
    available: Type.Integer({ description: 'Nodes rentable now' }),
    verification: Type.String(),
    capabilities: Type.Union([GpuCapabilities, Type.Null()]),
    observed_at: Type.String({ format: 'date-time' }),
    simulated: Type.Boolean(),
    data_quality: Type.Array(Type.String()),
  },
  { $id: 'Offer' },
);
export type Offer = Static<typeof Offer>;
