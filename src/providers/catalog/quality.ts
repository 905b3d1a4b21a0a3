import type { CloudName } from './clouds.js';

/**
 * Known-bad row rules (catalogs README, "Known quirks"). Each rule is a pure function of a row's
 * prices; what it drops or corrects is said twice: as a flag on the offer (`data_quality`) and as a
 * count with examples in the cloud's load report.
 */

/** Why a row (or one of its two prices) yields no offer. */
export type DropReason =
  | 'no_price'
  | 'placeholder_price'
  | 'missing_region'
  | 'unknown_accelerator'
  | 'missing_accelerator_count'
  | 'spot_above_on_demand'
  | 'spot_zero_means_none'
  | 'duplicate_offer'
  | 'gcp_accelerator_price_low'
  | 'gcp_flat_low_unverified'
  | 'gcp_no_accelerator_row'
  | 'gcp_host_unpaired';

export interface Tally {
  count: number;
  /** Up to three examples: "file:line sku region". */
  examples: string[];
}

export interface CatalogReport {
  cloud: string;
  files: Array<{ path: string; origin: 'data_dir' | 'shipped'; rows: number }>;
  rows: number;
  offers: number;
  dropped: Partial<Record<DropReason, Tally>>;
  /** Figures replaced from a second source (price_corrected:gcp_cyclenerd, gpu_memory_from_profile…). */
  corrected: Record<string, Tally>;
  /** Kept but marked (spot_at_cap…). */
  flagged: Record<string, Tally>;
  /** Rows folded together without any data problem (AWS per-AZ on-demand rows, GCP zones…). */
  merged: Record<string, number>;
  /** Set when no file of this cloud could be loaded (or a data-dir file was rejected). */
  error: string | null;
  load_ms: number;
}

const MAX_EXAMPLES = 3;

function bump(t: Record<string, Tally>, key: string, example: string): void {
  const cur = t[key] ?? { count: 0, examples: [] };
  cur.count++;
  if (cur.examples.length < MAX_EXAMPLES) cur.examples.push(example);
  t[key] = cur;
}

export class ReportBuilder {
  readonly report: CatalogReport;
  constructor(cloud: string) {
    this.report = {
      cloud,
      files: [],
      rows: 0,
      offers: 0,
      dropped: {},
      corrected: {},
      flagged: {},
      merged: {},
      error: null,
      load_ms: 0,
    };
  }
  drop(reason: DropReason, example: string): void {
    bump(this.report.dropped as Record<string, Tally>, reason, example);
  }
  /** Records an offer's flags: `*_corrected:*` and `gpu_memory_from_*` count as corrections. */
  flags(flags: readonly string[], example: string): void {
    for (const f of flags) {
      if (f.startsWith('price_source:')) continue;
      const corrected = f.includes('corrected') || f.startsWith('gpu_memory_from_');
      bump(corrected ? this.report.corrected : this.report.flagged, f, example);
    }
  }
  merge(what: string, n = 1): void {
    this.report.merged[what] = (this.report.merged[what] ?? 0) + n;
  }
}

export interface RowPrices {
  price: number | null;
  spot_price: number | null;
  accelerator_count: number | null;
}

export interface PriceVerdict {
  on_demand: number | null;
  spot: number | null;
  on_demand_flags: string[];
  spot_flags: string[];
  dropped: DropReason[];
}

/**
 * Mithril lists $1.00 per GPU-hour for H100 and H200 alike (1.0 for 1x, 8.0 for 8x, spot equal):
 * far below any real H100/H200 price, so both prices are placeholders.
 */
export function isPlaceholderPrice(cloud: CloudName, r: RowPrices): boolean {
  if (cloud !== 'mithril' || r.price === null) return false;
  return r.accelerator_count !== null && r.accelerator_count > 0 && r.price === r.accelerator_count;
}

/**
 * The price rules. `ceiling` is the on-demand price of the same node when the row itself has none
 * (PrimeIntellect `…__SPOT` and Spheron `-spot` types have a separate on-demand twin).
 */
export function judgePrices(cloud: CloudName, r: RowPrices, ceiling: number | null = null): PriceVerdict {
  const v: PriceVerdict = { on_demand: null, spot: null, on_demand_flags: [], spot_flags: [], dropped: [] };
  if (isPlaceholderPrice(cloud, r)) {
    v.dropped.push('placeholder_price');
    return v;
  }
  v.on_demand = r.price !== null && r.price > 0 ? r.price : null;
  if (r.spot_price !== null && r.spot_price > 0) v.spot = r.spot_price;
  // Vast writes 0.00 in every SpotPrice cell: "no spot offer", not a free one.
  else if (r.spot_price === 0) v.dropped.push('spot_zero_means_none');
  if (v.on_demand === null && v.spot === null) {
    v.dropped.push('no_price');
    return v;
  }
  const cap = v.on_demand ?? ceiling;
  if (v.spot !== null && cap !== null) {
    if (v.spot > cap) {
      // RunPod v7 L40S: spot 0.86 against on-demand 0.43, most likely swapped; neither is trusted
      // as a spot price, the on-demand offer stays and says so.
      v.dropped.push('spot_above_on_demand');
      v.spot = null;
      if (v.on_demand !== null) v.on_demand_flags.push('spot_dropped:above_on_demand');
    } else if (v.spot === cap) {
      // AWS p5.48xlarge use1-az1 55.04/55.04, Azure ND96isr_H200_v5: the spot market is at its cap.
      v.spot_flags.push('spot_at_cap');
    }
  }
  return v;
}

/** The on-demand twin of a spot-only type: `x__SPOT` → `x`, `n3-A100x1-spot__CANADA-1` → `n3-A100x1__CANADA-1`. */
export function spotTwinSku(sku: string): string | null {
  if (/__SPOT$/i.test(sku)) return sku.replace(/__SPOT$/i, '');
  if (/-spot(?=__|$)/i.test(sku)) return sku.replace(/-spot(?=__|$)/i, '');
  return null;
}
