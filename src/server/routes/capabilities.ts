import type { FastifyInstance } from 'fastify';
import type { CapabilityCatalog } from '../../capabilities/types.js';
import { LATENCY_BAND_RTT, RESOURCE_CLASSES } from '../../protocol/glossary.js';
import { CapabilitiesResponse } from '../../protocol/schemas/responses.js';

export interface CapabilitiesDeps {
  capabilities: CapabilityCatalog;
  /** The spec's display table (GPU_TYPE_A / GPU_TYPE_B exactly as the spec shows them). */
  displayProfiles: Record<string, Record<string, unknown>>;
  aliases: Record<string, string>;
  /** Models that have at least one offer in the market now. */
  offeredModels(): Set<string>;
}

/** GET /capabilities: the spec's shape, plus every offered model's canonical dense profile. */
export function capabilitiesRoutes(app: FastifyInstance, deps: CapabilitiesDeps): void {
  app.get(
    '/capabilities',
    {
      schema: {
        summary: 'Normalised performance profiles and latency bands',
        description:
          'resource_profiles has the spec display profiles GPU_TYPE_A and GPU_TYPE_B (figures as the spec shows them, with the canonical model each stands for) and the canonical dense profile of every model offered. Work normalisation uses the canonical figures.',
        tags: ['discovery'],
        response: { 200: CapabilitiesResponse },
      },
    },
    async () => {
      const profiles: Record<string, Record<string, unknown>> = {};
      for (const [name, display] of Object.entries(deps.displayProfiles)) profiles[name] = display;
      const offered = deps.offeredModels();
      for (const [name, p] of deps.capabilities.profiles) {
        if (!offered.has(name)) continue;
        profiles[name] = {
          fp16_tflops: p.fp16_tflops,
          fp16_tflops_sparse: p.fp16_tflops_sparse,
          fp32_tflops: p.fp32_tflops,
          int8_tops: p.int8_tops,
          int8_tops_sparse: p.int8_tops_sparse,
          memory_gb: p.memory_gb,
          bandwidth_gb_s: p.bandwidth_gb_s,
          interconnect: p.interconnect,
          vendor: p.vendor,
          class: p.class,
          missing: p.missing,
          source: p.source,
        };
      }
      const classes: Record<string, string[]> = {};
      for (const c of RESOURCE_CLASSES) classes[c] = [];
      for (const [name, p] of deps.capabilities.profiles) classes[p.class]?.push(name);
      return {
        endpoint: '/capabilities' as const,
        description: 'Normalized performance metrics',
        resource_profiles: profiles,
        latency_bands: { ...LATENCY_BAND_RTT },
        classes,
        aliases: deps.aliases,
        units: {
          fp16_tflops: 'dense FP16/BF16 tensor TFLOPS per GPU',
          int8_tops: 'dense INT8 tensor TOPS per GPU',
          memory_gb: 'GPU memory per GPU, GB',
          bandwidth_gb_s: 'GPU memory bandwidth, GB/s',
        },
      };
    },
  );
}
