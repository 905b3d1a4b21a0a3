import { existsSync, readFileSync } from 'node:fs';
import type { CapabilityCatalog } from '../../capabilities/types.js';
import type { Clock } from '../../util/clock.js';
import { packagePath } from '../../util/paths.js';
import type { ListOffersContext, Provider, ProviderFeatures } from '../provider.js';
import { simulateAll } from '../sim/index.js';
import type { ListedOffer } from '../sim/model.js';
import { CLOUD_NAMES, type CloudName, cloudFacts, isCloudName, vmsFileNames } from './clouds.js';
import {
  type CatalogRow,
  formatCsvError,
  type Parsed,
  parseTable,
  parseVmsCsv,
  type TableRow,
} from './csv.js';
import { gcpOffers } from './gcp.js';
import { rowsToOffers } from './offers.js';
import { type CatalogReport, ReportBuilder } from './quality.js';

export { CLOUD_NAMES, CLOUDS, type CloudName } from './clouds.js';
export { type CsvError, formatCsvError, parseGpuInfo, parseVmsCsv } from './csv.js';
export type { CatalogReport, DropReason, Tally } from './quality.js';
export {
  type RefreshOptions,
  type RefreshResult,
  refreshCatalogs,
  SKYPILOT_CATALOG_BASE,
} from './refresh.js';

export const LEASES_UNSUPPORTED =
  'catalog providers list published prices; they cannot launch (configure the live adapter)';

/** Where a catalog file is read from: the refreshed copy under dataDir wins over the shipped one. */
export interface CatalogLocation {
  dataDir?: string;
}

interface Candidate {
  path: string;
  /** Shown in reports: never a machine path. */
  label: string;
  origin: 'data_dir' | 'shipped';
}

function candidates(cloud: CloudName, names: readonly string[], loc: CatalogLocation): Candidate[] {
  const out: Candidate[] = [];
  for (const origin of ['data_dir', 'shipped'] as const) {
    if (origin === 'data_dir' && !loc.dataDir) continue;
    for (const name of names) {
      const path =
        origin === 'data_dir'
          ? [loc.dataDir!.replace(/\/$/, ''), 'catalogs', cloud, name].join('/')
          : packagePath('data', 'catalogs', cloud, name);
      const label =
        origin === 'data_dir' ? `<dataDir>/catalogs/${cloud}/${name}` : `data/catalogs/${cloud}/${name}`;
      out.push({ path, label, origin });
    }
  }
  return out;
}

/**
 * Reads the first candidate that exists and validates; a rejected data-dir file falls back to the
 * shipped one and the rejection is returned so the report can say so.
 */
function readFirst<T>(
  cands: readonly Candidate[],
  parseFn: (text: string, label: string) => Parsed<T>,
): { value: T; cand: Candidate; rejected: string[] } | { value: null; rejected: string[] } {
  const rejected: string[] = [];
  for (const c of cands) {
    if (!existsSync(c.path)) continue;
    const parsed = parseFn(readFileSync(c.path, 'utf8'), c.label);
    if (parsed.ok) return { value: parsed.value, cand: c, rejected };
    rejected.push(formatCsvError(parsed.error));
  }
  return { value: null, rejected };
}

export interface LoadedCloud {
  cloud: CloudName;
  offers: ListedOffer[];
  report: CatalogReport;
}

export interface LoadOptions extends CatalogLocation {
  capabilities: CapabilityCatalog;
  /** Epoch ms: observed_at of every unmoved price from this load. */
  loaded_at: number;
}

/** Loads one cloud's catalog: parse, validate, apply the quality rules. Never throws for bad data. */
export function loadCloud(cloud: CloudName, opts: LoadOptions): LoadedCloud {
  const t0 = performance.now();
  const rb = new ReportBuilder(cloud);
  const vms = readFirst(candidates(cloud, vmsFileNames(cloud), opts), parseVmsCsv);
  const errors = [...vms.rejected];
  let offers: ListedOffer[] = [];
  if (vms.value === null) {
    errors.push(`no valid vms.csv for ${cloud}`);
  } else {
    const file = vms.cand.label;
    rb.report.files.push({ path: file, origin: vms.cand.origin, rows: vms.value.length });
    const ctx = { cloud, capabilities: opts.capabilities, loaded_at: opts.loaded_at, file, report: rb };
    if (cloud === 'gcp') {
      const cyc = readFirst(candidates(cloud, ['cyclenerd_gpu_vms.csv'], opts), parseVmsCsv);
      const check = readFirst(candidates(cloud, ['price_check_skypilot_vs_cyclenerd.csv'], opts), (t, l) =>
        parseTable(t, l, ['AcceleratorName', 'Region', 'SkyPilotGpuPricePerGpu', 'Verdict']),
      );
      errors.push(...cyc.rejected, ...check.rejected);
      const cycRows: CatalogRow[] = cyc.value ?? [];
      const checkRows: TableRow[] = check.value?.rows ?? [];
      if (cyc.value)
        rb.report.files.push({ path: cyc.cand.label, origin: cyc.cand.origin, rows: cycRows.length });
      if (check.value) {
        rb.report.files.push({ path: check.cand.label, origin: check.cand.origin, rows: checkRows.length });
      }
      offers = gcpOffers({
        vms: vms.value,
        cyclenerd: cycRows,
        check: checkRows,
        ctx,
        cyclenerdFile: cyc.value ? cyc.cand.label : 'cyclenerd_gpu_vms.csv',
      });
    } else {
      offers = rowsToOffers(vms.value, ctx);
    }
  }
  const r = rb.report;
  r.rows = r.files.reduce((n, f) => n + f.rows, 0);
  r.offers = offers.length;
  r.error = errors.length > 0 ? errors.join('; ') : null;
  r.load_ms = Math.round((performance.now() - t0) * 10) / 10;
  return { cloud, offers, report: r };
}

export interface CatalogProvider extends Provider {
  /** The load report of this cloud's catalog: files, rows, offers, what was dropped or corrected. */
  report(): CatalogReport;
}

export interface CatalogProvidersOptions {
  capabilities: CapabilityCatalog;
  /** Refreshed catalogs live under `<dataDir>/catalogs/<cloud>/`; they win over the shipped files. */
  dataDir?: string;
  seed: number;
  clock: Clock;
  /** Subset of clouds; default every shipped cloud. Names that are not catalog clouds are ignored. */
  clouds?: string[];
}

export interface CatalogProviders {
  providers: CatalogProvider[];
  reports(): CatalogReport[];
  /**
   * Re-reads the catalogs (after a refresh). A cloud whose files no longer load keeps its previous
   * offers; its report says why.
   */
  reload(): CatalogReport[];
}

function makeProvider(cloud: CloudName, seed: number, initial: LoadedCloud) {
  const facts = cloudFacts(cloud);
  let state = initial;
  const features: ProviderFeatures = {
    interruptible: false,
    multi_node: facts.multi_node,
    stop_resume: facts.stop_resume,
    attestation: false,
    run_kinds: [],
    unsupported: {},
  };
  const setFeatures = (): void => {
    features.interruptible = state.offers.some((o) => o.interruptible);
    features.unsupported = { leases: LEASES_UNSUPPORTED, attestation: 'no attestation in a price catalog' };
    if (!features.interruptible) {
      features.unsupported.interruptible = `the ${cloud} catalog lists no usable spot prices`;
    }
  };
  setFeatures();
  const provider = {
    info: {
      name: cloud,
      type: facts.type,
      description: facts.description,
      payment: [...facts.payment],
      verification: facts.verification,
      simulated: true,
      source: facts.source,
      ...(facts.extra ? { extra: { ...facts.extra } } : {}),
    },
    features,
    async listOffers(ctx: ListOffersContext) {
      return simulateAll(state.offers, ctx.now, seed);
    },
    leases: null,
    refresh_interval_s: 60,
    report: () => state.report,
  } satisfies Provider & CatalogProvider;
  const replace = (next: LoadedCloud): void => {
    if (next.offers.length === 0 && state.offers.length > 0) {
      // Nothing loadable now: keep serving the previous catalog, and say so.
      state = {
        ...state,
        report: { ...state.report, error: `reload kept previous catalog: ${next.report.error}` },
      };
      return;
    }
    state = next;
    setFeatures();
  };
  return { provider, replace };
}

/** One simulated catalog provider per cloud of the snapshot. Loads synchronously, once. */
export function createCatalogProviders(opts: CatalogProvidersOptions): CatalogProviders {
  const wanted = opts.clouds ?? CLOUD_NAMES;
  const clouds = wanted.filter(isCloudName);
  const load = (cloud: CloudName): LoadedCloud =>
    loadCloud(cloud, {
      capabilities: opts.capabilities,
      loaded_at: opts.clock.now(),
      ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    });
  const made = clouds.map((c) => makeProvider(c, opts.seed, load(c)));
  const reports = (): CatalogReport[] => made.map((m) => m.provider.report());
  return {
    providers: made.map((m) => m.provider),
    reports,
    reload() {
      for (const [i, m] of made.entries()) m.replace(load(clouds[i]!));
      return reports();
    },
  };
}
