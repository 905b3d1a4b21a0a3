import type { CapabilityCatalog } from '../../capabilities/types.js';
import type { OfferInput } from '../offer.js';
import { ProviderError } from '../provider.js';
import { isObject, VAST_PROVIDER_NAME, type VastMarket } from './client.js';

/**
 * Vast offer rows (`offers[]` of POST /api/v0/bundles/) → OfferInput. Pure: the caller passes the
 * time the rows were fetched and the capability catalog. A row without a field we price or size
 * by is a broken contract, so it is a ProviderError naming the row and the field, never a guess.
 */

/** The fields of one offer row that the gateway reads, checked. */
export interface VastOffer {
  /** `id` (= `ask_contract_id`): the ask to pass to PUT /api/v0/asks/{id}/. */
  id: number;
  gpu_name: string;
  num_gpus: number;
  /** Per-GPU VRAM in MiB; null when absent. */
  gpu_ram_mib: number | null;
  /** The machine's cores, and the share this offer gets. */
  cpu_cores: number | null;
  cpu_cores_effective: number;
  /** Host RAM of the whole machine in MiB. */
  cpu_ram_mib: number;
  /** $/h incl. the `allocated_storage` disk (on-demand). */
  dph_total: number;
  /** Current minimum interruptible bid, $/h for the whole offer (GPUs, no disk); null if absent. */
  min_bid: number | null;
  /** $/h of the allocated disk, billed in both markets. */
  disk_per_hour: number;
  reliability: number;
  verified: boolean;
  geolocation: string | null;
}

export interface VastMapContext {
  /** Epoch ms the rows were fetched. */
  observedAt: number;
  capabilities: CapabilityCatalog;
}

const MIB_PER_GIB = 1024;

function bad(index: number, field: string, why: string): ProviderError {
  const where = field === '' ? `offers[${index}]` : `offers[${index}].${field}`;
  return new ProviderError(VAST_PROVIDER_NAME, `${where} ${why}`, 200);
}

function num(row: Record<string, unknown>, index: number, field: string): number {
  const v = row[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw bad(index, field, v === undefined ? 'is missing' : `is ${JSON.stringify(v)}, not a number`);
  }
  return v;
}

function optNum(row: Record<string, unknown>, field: string): number | null {
  const v = row[field];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Checks one raw row; `market` says whether `min_bid` is required (the bid search prices by it). */
export function parseVastOffer(raw: unknown, index: number, market: VastMarket): VastOffer {
  if (!isObject(raw)) throw bad(index, '', `is ${raw === null ? 'null' : typeof raw}, not an offer object`);
  const id = num(raw, index, 'id');
  const gpuName = raw.gpu_name;
  if (typeof gpuName !== 'string' || gpuName.trim() === '')
    throw bad(index, 'gpu_name', 'is missing or empty');
  const numGpus = num(raw, index, 'num_gpus');
  if (numGpus < 0) throw bad(index, 'num_gpus', `is ${numGpus}, below 0`);
  const dphTotal = num(raw, index, 'dph_total');
  if (dphTotal < 0) throw bad(index, 'dph_total', `is ${dphTotal}, below 0`);
  const minBid = optNum(raw, 'min_bid');
  if (market === 'bid' && minBid === null) throw bad(index, 'min_bid', 'is missing in a bid search');
  const cpuCores = optNum(raw, 'cpu_cores');
  const effective = optNum(raw, 'cpu_cores_effective') ?? cpuCores;
  if (effective === null) throw bad(index, 'cpu_cores_effective', 'and cpu_cores are both missing');
  const reliability = optNum(raw, 'reliability2') ?? optNum(raw, 'reliability');
  if (reliability === null || reliability < 0 || reliability > 1) {
    throw bad(
      index,
      'reliability2',
      `(or reliability) is ${JSON.stringify(raw.reliability2)}, not a number in 0..1`,
    );
  }
  const search = isObject(raw.search) ? raw.search : {};
  const dphBase = optNum(raw, 'dph_base');
  const diskHour = optNum(search, 'diskHour') ?? (dphBase !== null ? Math.max(0, dphTotal - dphBase) : 0);
  return {
    id,
    gpu_name: gpuName.trim(),
    num_gpus: numGpus,
    gpu_ram_mib: optNum(raw, 'gpu_ram'),
    cpu_cores: cpuCores,
    cpu_cores_effective: effective,
    cpu_ram_mib: num(raw, index, 'cpu_ram'),
    dph_total: dphTotal,
    min_bid: minBid,
    disk_per_hour: diskHour,
    reliability,
    verified: raw.verification === 'verified' || raw.verified === true,
    geolocation:
      typeof raw.geolocation === 'string' && raw.geolocation.trim() !== '' ? raw.geolocation : null,
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** One checked row → the OfferInput for the given market (on-demand or interruptible bid). */
export function vastOfferToInput(o: VastOffer, market: VastMarket, ctx: VastMapContext): OfferInput {
  const gpuMemoryGb = o.gpu_ram_mib === null ? null : round2(o.gpu_ram_mib / MIB_PER_GIB);
  const resolved = ctx.capabilities.resolveModel(o.gpu_name, {
    ...(gpuMemoryGb === null ? {} : { memory_gb: gpuMemoryGb }),
    provider: VAST_PROVIDER_NAME,
  });
  const dataQuality: string[] = [];
  // An unknown GPU is still a GPU: keep Vast's name (the market classes it GPU_OTHER) and say so,
  // rather than null, which would make it a CPU offer.
  if (resolved === null) dataQuality.push('gpu_model_unresolved');
  // cpu_ram is the whole machine; the offer gets the effective-core share of it (gpuhunt's rule).
  const ramShare = o.cpu_cores && o.cpu_cores > 0 ? o.cpu_cores_effective / o.cpu_cores : 1;
  // A bid is priced at the current floor (min_bid, GPUs only) plus the same disk charge that
  // dph_total includes, so both markets price the same allocated storage.
  const price = market === 'bid' ? (o.min_bid ?? 0) + o.disk_per_hour : o.dph_total;
  return {
    provider: VAST_PROVIDER_NAME,
    provider_type: 'p2p_marketplace',
    sku: String(o.id),
    gpu_model: resolved ?? o.gpu_name,
    gpu_count: o.num_gpus,
    vcpus: o.cpu_cores_effective,
    memory_gb: round2((o.cpu_ram_mib * ramShare) / MIB_PER_GIB),
    gpu_memory_gb: gpuMemoryGb,
    price_per_hour: price,
    list_price_per_hour: price,
    interruptible: market === 'bid',
    region: o.geolocation ?? 'unknown',
    zone: null,
    // A Vast offer is one machine's ask: one node of this shape.
    available: 1,
    reliability: o.reliability,
    // Vast verifies hosts itself (burn-in and DLPerf benchmarks); unverified hosts only attest.
    verification: o.verified ? 'benchmark_based' : 'provider_attested',
    observed_at: ctx.observedAt,
    simulated: false,
    data_quality: dataQuality,
  };
}

/** Every raw row of one search → OfferInputs; the first malformed row rejects the batch. */
export function mapVastOffers(rows: unknown[], market: VastMarket, ctx: VastMapContext): OfferInput[] {
  return rows.map((raw, i) => vastOfferToInput(parseVastOffer(raw, i, market), market, ctx));
}
