import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { packagePath } from '../util/paths.js';
import { createCapabilityCatalog } from './catalog.js';
import { KNOWN_MODELS } from './names.js';
import { NAMED_PROFILES, parseGpuSpecs, SPEC_DISPLAY_NOTE, SPEC_DISPLAY_PROFILES } from './profiles.js';

const catalog = createCapabilityCatalog();

/**
 * AcceleratorName values in the shipped catalogs that deliberately resolve to nothing, with the
 * reason. Empty: every shipped name has a model and a spec row.
 */
const UNRESOLVABLE: Readonly<Record<string, string>> = {};

function catalogCsvFiles(): string[] {
  const root = packagePath('data', 'catalogs');
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(`${root}/${d.name}`)
        .filter((f) => f.endsWith('.csv'))
        .map((f) => `${root}/${d.name}/${f}`),
    );
}

describe('gpu-specs.csv', () => {
  it('has a row for every model the resolver can return', () => {
    for (const m of KNOWN_MODELS) assert.ok(catalog.profiles.has(m), `no spec row for ${m}`);
  });

  it('has no row the resolver cannot reach', () => {
    for (const name of catalog.profiles.keys()) assert.equal(catalog.resolveModel(name), name, name);
  });

  it('keeps the seed H100 figures (the canonical GPU_TYPE_A)', () => {
    const h100 = catalog.profiles.get('H100')!;
    assert.deepEqual(
      [h100.fp16_tflops, h100.fp32_tflops, h100.memory_gb, h100.bandwidth_gb_s, h100.int8_tops_sparse],
      [989.4, 66.9, 80, 3350, 3957.8],
    );
    assert.deepEqual(h100.missing, []);
    assert.equal(h100.class, 'GPU_A');
  });

  it('lists null figures in missing', () => {
    const a10g = catalog.profiles.get('A10G')!;
    assert.equal(a10g.fp16_tflops, null);
    assert.ok(a10g.missing.includes('fp16_tflops'));
    assert.ok(a10g.missing.includes('bandwidth_gb_s'));
    assert.ok(!a10g.missing.includes('memory_gb'));
  });

  it('never lists a sparse figure below its dense one', () => {
    for (const p of catalog.profiles.values()) {
      if (p.fp16_tflops !== null && p.fp16_tflops_sparse !== null)
        assert.ok(p.fp16_tflops_sparse >= p.fp16_tflops, p.name);
      if (p.int8_tops !== null && p.int8_tops_sparse !== null)
        assert.ok(p.int8_tops_sparse >= p.int8_tops, p.name);
    }
  });

  it('names a source on every row', () => {
    for (const p of catalog.profiles.values()) assert.ok(p.source.length > 10, p.name);
  });
});

describe('parseGpuSpecs', () => {
  const header =
    'model,vendor,memory_gb,bandwidth_gb_s,fp32_tflops,fp16_tflops_dense,fp16_tflops_sparse,int8_tops_dense,int8_tops_sparse,interconnect,source\n';
  const other = () => 'GPU_OTHER' as const;

  it('reads empty cells as null', () => {
    const p = parseGpuSpecs(`${header}X1,ACME,16,,,,,,,,"a datasheet"\n`, other).get('X1')!;
    assert.equal(p.memory_gb, 16);
    assert.equal(p.interconnect, null);
    assert.equal(p.missing.length, 6);
  });

  it('rejects a malformed table (shipped data, so a bug)', () => {
    assert.throws(() => parseGpuSpecs(`${header}X1,ACME,lots,,,,,,,,s\n`, other), /memory_gb/);
    assert.throws(() => parseGpuSpecs(`${header}X1,A,1,,,,,,,,s\nX1,A,1,,,,,,,,s\n`, other), /duplicate/);
    assert.throws(() => parseGpuSpecs('model,vendor\nX1,A\n', other), /missing column/);
  });
});

describe('shipped catalogs', () => {
  it('every non-empty AcceleratorName resolves to a model with a spec row', () => {
    const files = catalogCsvFiles();
    assert.ok(files.length >= 20, `found only ${files.length} catalog files`);
    const failures: string[] = [];
    let checked = 0;
    for (const file of files) {
      const rows = parse(readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<
        string,
        string
      >[];
      for (const row of rows) {
        const name = row.AcceleratorName?.trim();
        if (!name || name in UNRESOLVABLE) continue;
        checked++;
        // With and without the instance type: the name alone must resolve, hints only refine.
        for (const hints of [{}, { instance_type: row.InstanceType ?? '' }]) {
          const model = catalog.resolveModel(name, hints);
          if (model === null || !catalog.profiles.has(model)) {
            failures.push(`${file.split('/catalogs/')[1]}: ${name} ${JSON.stringify(hints)}`);
          }
        }
      }
    }
    assert.ok(checked > 5000, `checked only ${checked} rows`);
    assert.deepEqual([...new Set(failures)], []);
  });
});

describe('display profiles', () => {
  it('maps the spec names to canonical models', () => {
    assert.deepEqual(NAMED_PROFILES, { GPU_TYPE_A: 'H100', GPU_TYPE_B: 'RTX4090' });
    assert.equal(catalog.namedProfiles.get('GPU_TYPE_A'), 'H100');
  });

  it('shows the spec table as written, with the dense/sparse note', () => {
    assert.deepEqual(SPEC_DISPLAY_PROFILES.GPU_TYPE_A, {
      fp16_tflops: 989,
      fp32_tflops: 67,
      int8_tops: 3958,
      memory_gb: 80,
      bandwidth_gb_s: 3350,
      interconnect: 'HighSpeed_900GB/s',
      typical_price: '$2.49/hr',
    });
    assert.deepEqual(SPEC_DISPLAY_PROFILES.GPU_TYPE_B, {
      fp16_tflops: 82,
      fp32_tflops: 82,
      int8_tops: 660,
      memory_gb: 24,
      bandwidth_gb_s: 1008,
      interconnect: 'Standard_64GB/s',
      typical_price: '$0.44/hr',
    });
    assert.match(SPEC_DISPLAY_NOTE, /sparsity/);
    assert.match(SPEC_DISPLAY_NOTE, /non-tensor/);
  });
});
