import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { ResourceClass } from '../protocol/glossary.js';
import { packagePath } from '../util/paths.js';
import type { GpuProfile } from './types.js';

/**
 * GPU profiles: data/gpu-specs.csv (documented in data/gpu-specs.md) read into GpuProfiles. The
 * table is shipped data, so a malformed row is a bug in the package and throws; a missing figure is
 * normal and becomes null plus an entry in `missing`.
 */

/** The figures of one row, in the profile's field names, in the CSV's column order. */
const FIGURES = [
  ['memory_gb', 'memory_gb'],
  ['bandwidth_gb_s', 'bandwidth_gb_s'],
  ['fp32_tflops', 'fp32_tflops'],
  ['fp16_tflops', 'fp16_tflops_dense'],
  ['fp16_tflops_sparse', 'fp16_tflops_sparse'],
  ['int8_tops', 'int8_tops_dense'],
  ['int8_tops_sparse', 'int8_tops_sparse'],
] as const;

type FigureField = (typeof FIGURES)[number][0];

const REQUIRED_COLUMNS = ['model', 'vendor', 'interconnect', 'source', ...FIGURES.map(([, col]) => col)];

export function defaultSpecsCsvPath(): string {
  return packagePath('data', 'gpu-specs.csv');
}

/**
 * Parses the spec table. `classOf` gives each model its class under the current configuration
 * (profiles carry it so a listing needs no second lookup).
 */
export function parseGpuSpecs(
  csvText: string,
  classOf: (model: string) => ResourceClass,
  origin = 'gpu-specs.csv',
): Map<string, GpuProfile> {
  const records = parse(csvText, { columns: true, skip_empty_lines: true, trim: true }) as Record<
    string,
    string
  >[];
  const header = records[0] ? Object.keys(records[0]) : [];
  const absent = REQUIRED_COLUMNS.filter((c) => !header.includes(c));
  if (absent.length > 0) throw new Error(`${origin}: missing column(s) ${absent.join(', ')}`);

  const out = new Map<string, GpuProfile>();
  records.forEach((rec, i) => {
    const where = `${origin} row ${i + 2}`;
    const name = rec.model ?? '';
    if (name === '') throw new Error(`${where}: empty model`);
    if (out.has(name)) throw new Error(`${where}: duplicate model ${name}`);
    const figures = {} as Record<FigureField, number | null>;
    const missing: string[] = [];
    for (const [field, column] of FIGURES) {
      const cell = rec[column] ?? '';
      if (cell === '') {
        figures[field] = null;
        missing.push(field);
        continue;
      }
      const n = Number(cell);
      if (!Number.isFinite(n) || n <= 0)
        throw new Error(`${where}: ${column} is not a positive number: ${cell}`);
      figures[field] = n;
    }
    out.set(name, {
      name,
      vendor: rec.vendor ?? '',
      ...figures,
      interconnect: rec.interconnect ? rec.interconnect : null,
      class: classOf(name),
      source: rec.source ?? '',
      missing,
    });
  });
  return out;
}

/** Reads and parses a spec table from disk (the shipped one unless a path is given). */
export function loadGpuProfiles(
  classOf: (model: string) => ResourceClass,
  path: string = defaultSpecsCsvPath(),
): Map<string, GpuProfile> {
  return parseGpuSpecs(readFileSync(path, 'utf8'), classOf, path.split('/').pop());
}

/**
 * The spec's named display profiles → canonical model. GPU_TYPE_A's figures are the H100 SXM5's
 * (989 dense FP16, 80 GB, 3350 GB/s), GPU_TYPE_B's the RTX 4090's (24 GB, 1008 GB/s).
 */
export const NAMED_PROFILES: Readonly<Record<string, string>> = {
  GPU_TYPE_A: 'H100',
  GPU_TYPE_B: 'RTX4090',
};

export interface SpecDisplayProfile {
  fp16_tflops: number;
  fp32_tflops: number;
  int8_tops: number;
  memory_gb: number;
  bandwidth_gb_s: number;
  interconnect: string;
  typical_price: string;
}

/** GET /capabilities `resource_profiles`, exactly as the spec shows it. */
export const SPEC_DISPLAY_PROFILES: Readonly<Record<'GPU_TYPE_A' | 'GPU_TYPE_B', SpecDisplayProfile>> = {
  GPU_TYPE_A: {
    fp16_tflops: 989,
    fp32_tflops: 67,
    int8_tops: 3958,
    memory_gb: 80,
    bandwidth_gb_s: 3350,
    interconnect: 'HighSpeed_900GB/s',
    typical_price: '$2.49/hr',
  },
  GPU_TYPE_B: {
    fp16_tflops: 82,
    fp32_tflops: 82,
    int8_tops: 660,
    memory_gb: 24,
    bandwidth_gb_s: 1008,
    interconnect: 'Standard_64GB/s',
    typical_price: '$0.44/hr',
  },
};

/** Goes out next to SPEC_DISPLAY_PROFILES so no client mistakes them for normalisation figures. */
export const SPEC_DISPLAY_NOTE =
  'resource_profiles are the spec display figures, shown as written. Work normalisation uses the ' +
  'canonical dense profiles instead (GPU_TYPE_A = H100 SXM: 989.4 dense FP16 tensor TFLOPS, ' +
  '66.9 FP32; GPU_TYPE_B = RTX 4090: 165.15 dense FP16 tensor TFLOPS with FP32 accumulate). ' +
  "GPU_TYPE_B's fp16 82 is the 4090's non-tensor FP16 rate, and GPU_TYPE_A's int8 3958 is the " +
  'with-sparsity figure (dense INT8 is 1978.9).';
