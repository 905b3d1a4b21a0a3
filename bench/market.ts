/**
 * Market benchmark: synthetic offer mixes of 100k and 1M offers shaped like the shipped catalogs
 * (providers, types, models, regions, price spreads), index build time, RSS with the largest set
 * loaded, and in-process p50/p99 of six /nodes query shapes (parse + execute + wire objects),
 * against a naive Array.filter + sort over plain objects on the 100k set.
 *
 *   node --expose-gc dist/bench/market.js [sizes…]      (default 100000 1000000)
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createCapabilityCatalog } from '../src/capabilities/index.js';
import { createGeo, parseRegionsCsv } from '../src/market/geo.js';
import { COUNTRIES, SUBDIVISIONS } from '../src/market/geo-centroids.js';
import { createMarket } from '../src/market/market.js';
import { type ParseContext, parseNodesQuery } from '../src/market/query.js';
import { computeSpot } from '../src/market/spot.js';
import { LATENCY_BANDS, type ProviderType } from '../src/protocol/glossary.js';
import type { Offer } from '../src/protocol/schemas/offer.js';
import type { OfferInput } from '../src/providers/offer.js';
import { ManualClock } from '../src/util/clock.js';
import { packagePath } from '../src/util/paths.js';
import { mulberry32, type Rng } from '../src/util/random.js';

/** Model → [low, high] USD per GPU-hour on a marketplace (catalog-like spreads). null = CPU. */
const MODELS: [string | null, number, number, number][] = [
  // model, low, high, weight
  ['H100', 1.8, 3.2, 14],
  ['H200', 2.8, 4.5, 4],
  ['B200', 4.0, 6.5, 2],
  ['A100-80GB', 0.9, 1.9, 10],
  ['A100', 0.7, 1.4, 5],
  ['L40S', 0.7, 1.3, 6],
  ['L4', 0.35, 0.8, 5],
  ['A10G', 0.8, 1.2, 3],
  ['RTX4090', 0.22, 0.6, 18],
  ['RTX3090', 0.12, 0.3, 9],
  ['RTX5090', 0.45, 0.9, 6],
  ['A6000', 0.35, 0.8, 5],
  ['T4', 0.15, 0.45, 4],
  ['V100', 0.25, 0.9, 3],
  [null, 0.04, 1.5, 8],
];
const MODEL_WEIGHT = MODELS.reduce((s, m) => s + m[3], 0);

interface Archetype {
  type: ProviderType;
  share: number;
  /** Price multiplier range over the marketplace spread. */
  mult: [number, number];
  rel: [number, number];
  interruptible: number;
}
const ARCH: Record<string, Archetype> = {
  traditional_cloud: {
    type: 'traditional_cloud',
    share: 0,
    mult: [2.2, 4],
    rel: [0.995, 0.9999],
    interruptible: 0.3,
  },
  p2p_marketplace: {
    type: 'p2p_marketplace',
    share: 0,
    mult: [0.8, 1.2],
    rel: [0.85, 0.995],
    interruptible: 0.5,
  },
  decentralized_compute: {
    type: 'decentralized_compute',
    share: 0,
    mult: [0.9, 1.3],
    rel: [0.9, 0.99],
    interruptible: 0.3,
  },
  decentralized_cloud: {
    type: 'decentralized_cloud',
    share: 0,
    mult: [0.3, 0.8],
    rel: [0.9, 0.99],
    interruptible: 0.2,
  },
  serverless_compute: {
    type: 'serverless_compute',
    share: 0,
    mult: [1.5, 2.2],
    rel: [0.99, 0.999],
    interruptible: 0.2,
  },
};
const PROVIDERS: [string, keyof typeof ARCH, number, 'table' | 'vast' | 'country'][] = [
  ['aws', 'traditional_cloud', 5, 'table'],
  ['gcp', 'traditional_cloud', 4, 'table'],
  ['azure', 'traditional_cloud', 4, 'table'],
  ['lambda', 'traditional_cloud', 2, 'table'],
  ['nebius', 'traditional_cloud', 2, 'table'],
  ['ibm', 'traditional_cloud', 1, 'table'],
  ['vast', 'p2p_marketplace', 10, 'vast'],
  ['vast-eu', 'p2p_marketplace', 6, 'vast'],
  ['runpod', 'p2p_marketplace', 9, 'country'],
  ['tensordock', 'p2p_marketplace', 6, 'vast'],
  ['lium', 'p2p_marketplace', 4, 'country'],
  ['primeintellect', 'p2p_marketplace', 5, 'country'],
  ['shadeform', 'p2p_marketplace', 5, 'table'],
  ['spheron', 'decentralized_compute', 8, 'table'],
  ['ionet', 'decentralized_compute', 8, 'country'],
  ['akash', 'decentralized_cloud', 8, 'country'],
  ['cudo', 'traditional_cloud', 3, 'table'],
  ['hyperstack', 'traditional_cloud', 3, 'country'],
  ['modal', 'serverless_compute', 4, 'country'],
  ['verda', 'traditional_cloud', 3, 'table'],
];
const SHARE = PROVIDERS.reduce((s, p) => s + p[2], 0);

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)] as T;
const between = (rng: Rng, [a, b]: [number, number]) => a + (b - a) * rng.next();

function regionsFor(
  kind: 'table' | 'vast' | 'country',
  provider: string,
  table: ReturnType<typeof parseRegionsCsv>,
): string[] {
  if (kind === 'vast')
    return Object.keys(SUBDIVISIONS).map(
      (k) => `${k.slice(3)}, ${k.slice(0, 2)}, ${k[0] === 'U' ? 'NA' : 'EU'}`,
    );
  if (kind === 'country') return Object.keys(COUNTRIES);
  const own = table.filter((r) => r.provider === provider).map((r) => r.region);
  return own.length ? own : table.filter((r) => r.provider === '*').map((r) => r.region);
}

/** Offers of one provider: n of them, seeded. */
export function syntheticOffers(
  provider: string,
  n: number,
  seed: number,
  table: ReturnType<typeof parseRegionsCsv>,
): OfferInput[] {
  const entry = PROVIDERS.find((p) => p[0] === provider) ?? (PROVIDERS[0] as (typeof PROVIDERS)[number]);
  const arch = ARCH[entry[1]] as Archetype;
  const regions = regionsFor(entry[3], provider, table);
  const rng = mulberry32(seed);
  const out: OfferInput[] = new Array(n);
  for (let i = 0; i < n; i++) {
    let w = rng.next() * MODEL_WEIGHT;
    let m = MODELS[0] as (typeof MODELS)[number];
    for (const x of MODELS) {
      w -= x[3];
      if (w <= 0) {
        m = x;
        break;
      }
    }
    const gpu = m[0] !== null;
    const count = gpu ? pick(rng, [1, 1, 1, 2, 4, 8, 8]) : 0;
    const interruptible = rng.next() < arch.interruptible;
    const unit = between(rng, [m[1], m[2]]) * between(rng, arch.mult) * (interruptible ? 0.45 : 1);
    const price = Math.round(unit * Math.max(count, 1) * 1e4) / 1e4;
    out[i] = {
      provider,
      provider_type: arch.type,
      sku: `h${i}`,
      gpu_model: m[0],
      gpu_count: count,
      vcpus: gpu ? 8 * count : pick(rng, [2, 4, 8, 16, 32, 64]),
      memory_gb: gpu ? 64 * count : pick(rng, [4, 16, 32, 64, 128, 256]),
      gpu_memory_gb: null,
      price_per_hour: price,
      list_price_per_hour: price,
      interruptible,
      region: pick(rng, regions),
      zone: null,
      available: Math.floor(rng.next() * 12),
      reliability: Math.round(between(rng, arch.rel) * 1e4) / 1e4,
      verification: arch.type === 'p2p_marketplace' ? 'benchmark_based' : 'catalog_listed',
      observed_at: 1_735_689_600_000,
      simulated: true,
      data_quality: [],
    };
  }
  return out;
}

export const QUERY_SHAPES: Record<string, Record<string, string>> = {
  spec_gpu_a_metro: { resource_type: 'GPU_A', max_price: '2.50', latency_band: 'metro' },
  no_filters_price_asc: { sort: 'price_asc', limit: '50' },
  rtx4090_interruptible: { gpu_model: 'RTX4090', interruptible: 'true' },
  p2p_mem40_perf_per_dollar: {
    provider_type: 'p2p_marketplace',
    min_memory_gb: '40',
    sort: 'perf_per_dollar_desc',
  },
  near_eu_west_1_regional: { near: 'eu-west-1', latency_band: 'regional' },
  reliability_099_desc: { min_reliability: '0.99', sort: 'reliability_desc' },
};
/** Not a bar: an unindexed filter that matches nothing walks every row (the worst case). */
export const WORST_SHAPES: Record<string, Record<string, string>> = {
  worst_unindexed_no_match_full_scan: { min_fp16_tflops: '5000' },
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const gc = () => (globalThis as { gc?: () => void }).gc?.();
/** Full GC, then a turn of the event loop (ArrayBuffer memory is released after the sweep), then GC again. */
async function settle(): Promise<void> {
  gc();
  await new Promise((r) => setTimeout(r, 100));
  gc();
}
const rssMb = () => round(process.memoryUsage().rss / 2 ** 20, 1);

function time(fn: () => unknown, iterations: number): { p50_ms: number; p99_ms: number; mean_ms: number } {
  for (let i = 0; i < Math.min(50, iterations); i++) fn(); // warm-up
  const t: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return {
    p50_ms: round(percentile(t, 0.5), 4),
    p99_ms: round(percentile(t, 0.99), 4),
    mean_ms: round(t.reduce((a, b) => a + b, 0) / t.length, 4),
  };
}

/** The naive baseline: plain objects, Array.filter + sort, for the spec query. */
function naiveSpecQuery(all: Offer[]): Offer[] {
  const rank = (b: string) => (LATENCY_BANDS as readonly string[]).indexOf(b);
  const metro = rank('metro');
  return all
    .filter(
      (o) =>
        o.resource_type === 'GPU_A' &&
        (o.price_per_gpu_hour ?? o.price_per_hour) <= 2.5 &&
        rank(o.latency_band) <= metro,
    )
    .sort((a, b) => (a.price_per_gpu_hour ?? 0) - (b.price_per_gpu_hour ?? 0) || (a.id < b.id ? -1 : 1))
    .slice(0, 50);
}

export async function runMarketBench(opts: { sizes: number[]; iterations?: number }): Promise<object> {
  const table = parseRegionsCsv(readFileSync(packagePath('data', 'regions.csv'), 'utf8'));
  const capabilities = createCapabilityCatalog();
  const geo = createGeo(table);
  const iterations = opts.iterations ?? 1000;
  const results: Record<string, unknown>[] = [];
  let baseline: Record<string, unknown> | null = null;
  // Largest first, so its RSS is measured in a process nothing else has grown yet.
  for (const size of [...opts.sizes].sort((a, b) => b - a)) {
    await settle();
    const rssBefore = rssMb();
    const market = createMarket({ capabilities, geo, clock: new ManualClock(1_735_689_600_000) });
    let genMs = 0;
    const updates = new Map<string, () => OfferInput[]>();
    PROVIDERS.forEach(([name, , share], k) => {
      const n = Math.round((size * share) / SHARE);
      updates.set(name, () => {
        const s = performance.now();
        const offers = syntheticOffers(name, n, 1000 + k, table);
        genMs += performance.now() - s;
        return offers;
      });
    });
    const t0 = performance.now();
    const snap = market.replaceOffers(updates);
    const buildMs = performance.now() - t0 - genMs;
    await settle();
    const rssLoaded = rssMb();
    const ctx: ParseContext = { capabilities, geo, knownProviders: market.knownProviders() };
    const queries: Record<string, unknown> = {};
    for (const [name, raw] of Object.entries({ ...QUERY_SHAPES, ...WORST_SHAPES })) {
      const parsed = parseNodesQuery(raw, ctx);
      if (!parsed.ok) throw new Error(`${name}: ${JSON.stringify(parsed.problems)}`);
      const once = market.query(parsed.query);
      queries[name] = {
        ...time(
          () => {
            const p = parseNodesQuery(raw, ctx);
            return p.ok ? market.query(p.query) : null;
          },
          name in WORST_SHAPES ? 100 : iterations,
        ),
        returned: once.offers.length,
        matched_estimate: once.matched_estimate,
      };
    }
    const spot = time(() => computeSpot(market.snapshot(), market.env), 5);
    const row: Record<string, unknown> = {
      offers: snap.n,
      build_ms: round(buildMs, 1),
      generate_ms: round(genMs, 1),
      rss_mb_loaded: rssLoaded,
      rss_mb_before: rssBefore,
      spot_prices_compute_ms: spot.p50_ms,
      queries,
    };
    if (baseline === null && size <= 100_000) {
      // Materialise every offer as a plain object once (not timed), then time the naive scan.
      const s = market.snapshot();
      const all: Offer[] = [];
      for (let c = null as string | null, more = true; more; ) {
        const page = market.query({ sort: 'price_asc', limit: 1000, ...(c ? { cursor: c } : {}) });
        all.push(...page.offers);
        c = page.next_cursor;
        more = c !== null;
      }
      const naive = time(() => naiveSpecQuery(all), 30);
      const indexed = (queries.spec_gpu_a_metro as { p50_ms: number }).p50_ms;
      baseline = {
        offers: all.length,
        snapshot_offers: s.n,
        naive_filter_sort: naive,
        indexed_p50_ms: indexed,
        speedup_p50: round(naive.p50_ms / Math.max(indexed, 1e-6), 1),
      };
      all.length = 0;
    }
    results.push(row);
    market.replaceOffers(new Map([...updates.keys()].map((k) => [k, []])));
  }
  return {
    bench: 'market',
    node: process.version,
    gc_exposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    iterations,
    sizes: results,
    baseline_naive_100k: baseline,
    bars: { p99_ms_1m: 5, rss_mb_1m: 400 },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((x) => x > 0);
  runMarketBench({ sizes: sizes.length ? sizes : [100_000, 1_000_000] }).then((r) =>
    console.log(JSON.stringify(r, null, 2)),
  );
}
