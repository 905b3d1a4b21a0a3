import type { Offer } from '../../protocol/schemas/offer.js';

/**
 * Offers for the encoding tests and the size/time measurement: a GPU offer with capabilities and a
 * CPU offer whose nullable fields are all null, alternated.
 */
export function sampleOffers(n: number): Offer[] {
  const out: Offer[] = [];
  for (let i = 0; i < n; i++) out.push(i % 2 === 0 ? gpuOffer(i) : cpuOffer(i));
  return out;
}

function gpuOffer(i: number): Offer {
  return {
    id: `vast:h100-sxm:us-east-1:a:spot:${i}`,
    provider: 'vast',
    provider_type: 'p2p_marketplace',
    resource_type: 'GPU_A',
    profile: 'GPU_TYPE_A',
    sku: `h100_sxm_x${(i % 8) + 1}`,
    gpu_model: 'H100 SXM',
    gpu_count: (i % 8) + 1,
    gpu_memory_gb: 80,
    vcpus: 26,
    memory_gb: 225.5,
    price_per_hour: 2.49 * ((i % 8) + 1),
    price_per_gpu_hour: 2.49,
    list_price_per_hour: 2.99 * ((i % 8) + 1),
    currency: 'USD',
    interruptible: true,
    reliability: 0.987,
    region: 'us-east-1',
    zone: 'us-east-1a',
    latency_band: 'metro',
    distance_km: 212.4,
    available: 3,
    verification: 'benchmark_based',
    capabilities: {
      fp16_tflops: 989,
      fp32_tflops: 67,
      int8_tops: 3958,
      memory_gb: 80,
      bandwidth_gb_s: 3350,
      interconnect: 'NVLink',
    },
    observed_at: '2025-01-02T03:04:05.000Z',
    simulated: false,
    data_quality: ['price:live', 'capacity:estimated'],
  };
}

function cpuOffer(i: number): Offer {
  return {
    id: `aws:c7i.4xlarge:eu-west-1::on_demand:${i}`,
    provider: 'aws',
    provider_type: 'traditional_cloud',
    resource_type: 'CPU',
    profile: null,
    sku: 'c7i.4xlarge',
    gpu_model: null,
    gpu_count: 0,
    gpu_memory_gb: null,
    vcpus: 16,
    memory_gb: 32,
    price_per_hour: 0.714,
    price_per_gpu_hour: null,
    list_price_per_hour: 0.714,
    currency: 'USD',
    interruptible: false,
    reliability: 0.9995,
    region: 'eu-west-1',
    zone: null,
    latency_band: 'global',
    distance_km: null,
    available: 100,
    verification: 'provider_sla',
    capabilities: null,
    observed_at: '2025-01-02T03:04:05.000Z',
    simulated: true,
    data_quality: [],
  };
}

/** A GET /nodes body (NodesResponse) around the offers. */
export function sampleOfferList(n: number) {
  return {
    offers: sampleOffers(n),
    count: n,
    next_cursor: n > 0 ? 'c_50' : null,
    snapshot_at: '2025-01-02T03:04:05.000Z',
    simulated: true,
    units: { price: 'USD per GPU-hour', memory_gb: 'GPU memory per GPU, GB' },
  };
}
