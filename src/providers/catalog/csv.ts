import { parse } from 'csv-parse/sync';

/**
 * Parsing and validation of SkyPilot-format catalogs (`vms.csv`). A malformed file is an expected
 * outcome (a refresh can fetch anything), so it comes back as a value naming file, line and column;
 * the caller keeps its previous catalog. Columns are read by header name: their order differs per file.
 */

export interface CsvError {
  file: string;
  /** 1-based line of the offending record (its last line when a quoted cell spans lines). */
  line: number | null;
  column: string | null;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: CsvError };

export function formatCsvError(e: CsvError): string {
  const where = [e.line !== null ? `line ${e.line}` : null, e.column !== null ? `column ${e.column}` : null]
    .filter((x) => x !== null)
    .join(', ');
  return `${e.file}${where ? ` (${where})` : ''}: ${e.message}`;
}

/** One record of a CSV with its line number; cells by header name. */
export interface TableRow {
  line: number;
  cells: Record<string, string>;
}

export interface Table {
  header: string[];
  rows: TableRow[];
}

/** Parses a headed CSV; every record must have as many cells as the header and `required` headers must exist. */
export function parseTable(text: string, file: string, required: readonly string[]): Parsed<Table> {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
    }) as unknown as typeof records;
  } catch (err) {
    const e = err as { lines?: number; message?: string };
    return { ok: false, error: { file, line: e.lines ?? null, column: null, message: String(e.message) } };
  }
  const first = records[0];
  if (!first) return { ok: false, error: { file, line: 1, column: null, message: 'empty file (no header)' } };
  const header = first.record.map((h) => h.trim());
  for (const col of required) {
    if (!header.includes(col)) {
      return {
        ok: false,
        error: { file, line: 1, column: col, message: `missing required header "${col}"` },
      };
    }
  }
  const rows: TableRow[] = [];
  for (let i = 1; i < records.length; i++) {
    const { record, info } = records[i]!;
    if (record.length !== header.length) {
      const message = `ragged row: ${record.length} cells, header has ${header.length}`;
      return { ok: false, error: { file, line: info.lines, column: null, message } };
    }
    const cells: Record<string, string> = {};
    for (let c = 0; c < header.length; c++) cells[header[c]!] = (record[c] ?? '').trim();
    rows.push({ line: info.lines, cells });
  }
  return { ok: true, value: { header, rows } };
}

/** One validated row of a vms.csv. Numbers are null where the cell is empty. */
export interface CatalogRow {
  line: number;
  instance_type: string;
  accelerator_name: string;
  /** Float in most files ("8.0"); fractional for shared GPUs (Azure 0.167). */
  accelerator_count: number | null;
  vcpus: number | null;
  memory_gib: number | null;
  gpu_info: string;
  price: number | null;
  spot_price: number | null;
  region: string;
  zone: string | null;
  /** Every other column (UpstreamCloudId, Provider, SpheronInstanceType, StorageGiB…). */
  extra: Record<string, string>;
}

export const VMS_REQUIRED = [
  'InstanceType',
  'AcceleratorName',
  'AcceleratorCount',
  'vCPUs',
  'MemoryGiB',
  'Price',
  'SpotPrice',
  'Region',
] as const;

const NUMERIC = ['AcceleratorCount', 'vCPUs', 'MemoryGiB', 'Price', 'SpotPrice'] as const;
const KNOWN = new Set<string>([...VMS_REQUIRED, 'GpuInfo', 'AvailabilityZone']);

/** Parses and validates a SkyPilot vms.csv. Non-numeric or negative numbers are errors, empty cells null. */
export function parseVmsCsv(text: string, file: string): Parsed<CatalogRow[]> {
  const table = parseTable(text, file, VMS_REQUIRED);
  if (!table.ok) return table;
  const out: CatalogRow[] = [];
  for (const { line, cells } of table.value.rows) {
    const nums: Partial<Record<(typeof NUMERIC)[number], number | null>> = {};
    for (const col of NUMERIC) {
      const raw = cells[col] ?? '';
      if (raw === '') {
        nums[col] = null;
        continue;
      }
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0) {
        return {
          ok: false,
          error: { file, line, column: col, message: `not a non-negative number: "${raw}"` },
        };
      }
      nums[col] = n;
    }
    const extra: Record<string, string> = {};
    for (const [k, v] of Object.entries(cells)) if (!KNOWN.has(k)) extra[k] = v;
    out.push({
      line,
      instance_type: cells.InstanceType ?? '',
      accelerator_name: cells.AcceleratorName ?? '',
      accelerator_count: nums.AcceleratorCount ?? null,
      vcpus: nums.vCPUs ?? null,
      memory_gib: nums.MemoryGiB ?? null,
      gpu_info: cells.GpuInfo ?? '',
      price: nums.Price ?? null,
      spot_price: nums.SpotPrice ?? null,
      region: cells.Region ?? '',
      zone: cells.AvailabilityZone ? cells.AvailabilityZone : null,
      extra,
    });
  }
  return { ok: true, value: out };
}

/** What GpuInfo says about the first GPU entry; raw figures, semantics applied by the caller. */
export interface GpuInfoFacts {
  name: string | null;
  count: number | null;
  size_mib: number | null;
  total_mib: number | null;
}

/**
 * GpuInfo is a Python-dict string in most files (single quotes, None), double-quoted JSON in some,
 * and a bare accelerator name in others (IBM, RunPod, Azure): that last case gives null.
 */
export function parseGpuInfo(s: string): GpuInfoFacts | null {
  const t = s.trim();
  if (!t.startsWith('{')) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(t);
  } catch {
    try {
      obj = JSON.parse(
        t
          .replace(/'/g, '"')
          .replace(/\bNone\b/g, 'null')
          .replace(/\bTrue\b/g, 'true')
          .replace(/\bFalse\b/g, 'false'),
      );
    } catch {
      return null;
    }
  }
  if (typeof obj !== 'object' || obj === null) return null;
  const o = obj as Record<string, unknown>;
  const gpus = Array.isArray(o.Gpus) ? (o.Gpus as unknown[]) : [];
  const g = (gpus[0] ?? {}) as Record<string, unknown>;
  const mem = (g.MemoryInfo ?? {}) as Record<string, unknown>;
  // Lium/shadeform/spheron put TotalGpuMemoryInMiB inside the GPU entry instead of beside Gpus.
  const total = o.TotalGpuMemoryInMiB ?? g.TotalGpuMemoryInMiB;
  return {
    name: typeof g.Name === 'string' ? g.Name : null,
    count: num(g.Count),
    size_mib: num(mem.SizeInMiB),
    total_mib: num(total),
  };
}

function num(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
