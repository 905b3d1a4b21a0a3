import { Type } from '@sinclair/typebox';
import { LATENCY_BANDS, PROVIDER_TYPES, SORTS } from '../glossary.js';

/**
 * Query parameters of the discovery endpoints, for the OpenAPI document and the SDK. The market's
 * parser (market/query.ts) is the validator: it names the offending parameter in a problem+json;
 * a test keeps the two lists equal.
 */
const csv = (description: string) => Type.Optional(Type.String({ description }));
const enumDoc = (xs: readonly string[], description: string) =>
  Type.Optional(Type.String({ description: `${description} One of: ${xs.join(', ')}.` }));

export const NodesQueryProperties = {
  resource_type: csv(
    'A class (GPU_A, GPU_B, GPU_C, CPU), a profile (GPU_TYPE_A), an alias (TYPE_A) or a GPU model in any spelling; comma-separated for several.',
  ),
  gpu_model: csv('GPU model in any spelling (H100, h100-sxm, "NVIDIA H100 80GB HBM3"); comma-separated.'),
  min_gpu_count: Type.Optional(Type.String({ description: 'Minimum GPUs per node (integer ≥ 0).' })),
  min_memory_gb: Type.Optional(
    Type.String({ description: 'GB. GPU memory per GPU for GPU offers; host memory for CPU offers.' }),
  ),
  max_price: Type.Optional(
    Type.String({ description: 'USD per GPU-hour for GPU offers; USD per node-hour for CPU-only offers.' }),
  ),
  latency_band: enumDoc(LATENCY_BANDS, 'Offers in this band or a better one.'),
  near: Type.Optional(
    Type.String({
      description:
        'A region name (any provider) or "lat,lon" that bands and distances are measured from. Default: the gateway location (us-east-1).',
    }),
  ),
  provider: csv(
    'Provider name(s), or a placeholder of the spec (marketplace_a…) meaning the cheapest provider of that type.',
  ),
  provider_type: enumDoc(PROVIDER_TYPES, 'Provider type(s), comma-separated.'),
  region: csv('Region name(s), comma-separated.'),
  interruptible: Type.Optional(Type.String({ description: 'true or false.' })),
  min_reliability: Type.Optional(
    Type.String({ description: '0..1: probability a node runs an hour uninterrupted.' }),
  ),
  min_fp16_tflops: Type.Optional(Type.String({ description: 'Dense FP16 tensor TFLOPS per GPU.' })),
  min_available: Type.Optional(
    Type.String({
      description: 'Nodes rentable now, at least (integer ≥ 0, default 1; 0 also lists sold-out offers).',
    }),
  ),
  sort: enumDoc(SORTS, 'Order of results (default price_asc).'),
  limit: Type.Optional(Type.String({ description: '1..1000, default 50.' })),
  cursor: Type.Optional(Type.String({ description: 'Opaque cursor from next_cursor.' })),
};
export const NodesQuery = Type.Object(NodesQueryProperties);

export const DiscoverQuery = Type.Object({
  gpu_hours: Type.Optional(
    Type.String({ description: 'Reference GPU-hours of work (normalised to reference_profile). Default 1.' }),
  ),
  reference_profile: Type.Optional(
    Type.String({ description: 'Profile the work is measured on (default GPU_TYPE_A).' }),
  ),
  workload_kind: Type.Optional(
    Type.String({
      description: 'training (dense FP16, default), inference (memory bandwidth) or general (FP32).',
    }),
  ),
  deadline_hours: Type.Optional(
    Type.String({ description: 'Only options that finish within this many hours.' }),
  ),
  ...NodesQueryProperties,
});

export const PriceHistoryQuery = Type.Object({
  resource_type: Type.Optional(Type.String({ description: 'Class, profile or model.' })),
  provider_type: Type.Optional(Type.String()),
  since: Type.Optional(Type.String({ description: 'RFC 3339 time or seconds ago (e.g. 3600).' })),
});
