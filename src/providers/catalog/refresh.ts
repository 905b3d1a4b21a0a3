import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { CapabilityCatalog } from '../../capabilities/types.js';
import { packagePath } from '../../util/paths.js';
import { CLOUD_NAMES, type CloudName, isCloudName, vmsFileNames } from './clouds.js';
import { type CatalogRow, formatCsvError, parseVmsCsv } from './csv.js';
import { normaliseRegion } from './offers.js';

/**
 * Refreshing the catalogs from the live SkyPilot catalog (or a local mirror). A new file replaces the
 * current one only when it parses, validates and is not much smaller; the write is atomic (tmp +
 * rename), so a reader never sees half a file. Quality rules run at load time, so they apply to
 * refreshed files as they do to shipped ones.
 */

/** The public SkyPilot catalog (schema v8, the newest the upstream README calls current). */
export const SKYPILOT_CATALOG_BASE =
  'https://raw.githubusercontent.com/skypilot-org/skypilot-catalog/master/catalogs/v8';

export interface RefreshOptions {
  /** http(s) URL base or a local directory holding `<cloud>/vms.csv`. Default SKYPILOT_CATALOG_BASE. */
  from?: string;
  /** Refreshed files go to `<dataDir>/catalogs/<cloud>/vms.csv`. */
  dataDir: string;
  clouds?: string[];
  fetch?: typeof fetch;
  capabilities: CapabilityCatalog;
  /** Per-download limit; default 30 s. */
  timeout_ms?: number;
}

export interface RefreshResult {
  cloud: string;
  status: 'updated' | 'unchanged' | 'kept';
  /** Why a cloud was kept (download failed, invalid file, too small), else null. */
  reason: string | null;
  source: string;
  /** Usable rows of the catalog in force before / of the downloaded file. */
  valid_rows_before: number;
  valid_rows_after: number | null;
}

/** Rows that can yield an offer: a region, a positive price, and a GPU the capability catalog knows (or none). */
export function countValidRows(cloud: string, rows: readonly CatalogRow[], caps: CapabilityCatalog): number {
  let n = 0;
  for (const r of rows) {
    if (normaliseRegion(r.region) === '') continue;
    if (!((r.price ?? 0) > 0 || (r.spot_price ?? 0) > 0)) continue;
    if (r.accelerator_name !== '' && caps.resolveModel(r.accelerator_name, { provider: cloud }) === null)
      continue;
    n++;
  }
  return n;
}

/** The catalog file now in force: the data-dir copy when it validates, else the shipped one. */
function currentValidRows(
  cloud: CloudName,
  dataDir: string,
  caps: CapabilityCatalog,
): { rows: number; text: string | null } {
  const dirs = [`${dataDir.replace(/\/$/, '')}/catalogs/${cloud}`, packagePath('data', 'catalogs', cloud)];
  for (const dir of dirs) {
    for (const name of vmsFileNames(cloud)) {
      const path = `${dir}/${name}`;
      if (!existsSync(path)) continue;
      const text = readFileSync(path, 'utf8');
      const parsed = parseVmsCsv(text, `${cloud}/${name}`);
      if (parsed.ok)
        return { rows: countValidRows(cloud, parsed.value, caps), text: dir === dirs[0] ? text : null };
    }
  }
  return { rows: 0, text: null };
}

async function download(
  from: string,
  cloud: string,
  fetchFn: typeof fetch,
  timeoutMs: number,
): Promise<{ ok: true; text: string; source: string } | { ok: false; reason: string; source: string }> {
  const base = from.replace(/\/$/, '');
  const source = `${base}/${cloud}/vms.csv`;
  if (/^https?:\/\//.test(base)) {
    try {
      const res = await fetchFn(source, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return { ok: false, reason: `HTTP ${res.status} from ${source}`, source };
      return { ok: true, text: await res.text(), source };
    } catch (err) {
      return { ok: false, reason: `download failed: ${(err as Error).message}`, source };
    }
  }
  if (!existsSync(source)) return { ok: false, reason: `not found: ${source}`, source };
  return { ok: true, text: readFileSync(source, 'utf8'), source };
}

let tmpCounter = 0;

/** Writes via a temporary file in the same directory and a rename, so the swap is atomic. */
export function writeAtomic(path: string, text: string): void {
  const dir = path.slice(0, path.lastIndexOf('/'));
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${++tmpCounter}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Downloads, validates and installs each cloud's vms.csv; one result per cloud, never throws for a bad source. */
export async function refreshCatalogs(opts: RefreshOptions): Promise<RefreshResult[]> {
  const from = opts.from ?? SKYPILOT_CATALOG_BASE;
  const fetchFn = opts.fetch ?? fetch;
  const clouds = (opts.clouds ?? CLOUD_NAMES).filter(isCloudName);
  return Promise.all(
    clouds.map(async (cloud): Promise<RefreshResult> => {
      const before = currentValidRows(cloud, opts.dataDir, opts.capabilities);
      const got = await download(from, cloud, fetchFn, opts.timeout_ms ?? 30_000);
      const kept = (reason: string, after: number | null = null): RefreshResult => ({
        cloud,
        status: 'kept',
        reason,
        source: got.source,
        valid_rows_before: before.rows,
        valid_rows_after: after,
      });
      if (!got.ok) return kept(got.reason);
      const parsed = parseVmsCsv(got.text, got.source);
      if (!parsed.ok) return kept(`invalid file: ${formatCsvError(parsed.error)}`);
      const after = countValidRows(cloud, parsed.value, opts.capabilities);
      if (after === 0) return kept('no usable rows', after);
      if (after * 2 < before.rows) {
        return kept(`much smaller: ${after} usable rows against ${before.rows} now (under half)`, after);
      }
      const result = {
        cloud,
        reason: null,
        source: got.source,
        valid_rows_before: before.rows,
        valid_rows_after: after,
      };
      if (before.text === got.text) return { ...result, status: 'unchanged' };
      writeAtomic(`${opts.dataDir.replace(/\/$/, '')}/catalogs/${cloud}/vms.csv`, got.text);
      return { ...result, status: 'updated' };
    }),
  );
}
