import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuProfile, createCapabilityCatalog } from './catalog.js';
import { DEFAULT_CLASS_MEMBERS } from './classes.js';
import type { WorkKind } from './types.js';

const catalog = createCapabilityCatalog();

describe('workRate', () => {
  const cases: Array<[string, string, WorkKind, number | null]> = [
    // A100 training: 312/989.4 = 0.3153
    ['A100', 'GPU_TYPE_A', 'training', 312 / 989.4],
    // RTX 4090 training: 165.15/989.4 = 0.1669 (dense FP16 with FP32 accumulate, not the display 82)
    ['RTX4090', 'GPU_TYPE_A', 'training', 165.15 / 989.4],
    // batch_processing uses the same figure: B200 2250/989.4 = 2.2741
    ['B200', 'GPU_TYPE_A', 'batch_processing', 2250 / 989.4],
    // RTX 4090 inference: 1008/3350 = 0.3009
    ['RTX4090', 'GPU_TYPE_A', 'inference', 1008 / 3350],
    // H100 PCIe inference: 2048/3350 = 0.6113; spelled as a provider would
    ['H100 PCIe', 'H100', 'inference', 2048 / 3350],
    // A100 general (fp32): 19.5/66.9 = 0.2915
    ['A100', 'GPU_TYPE_A', 'general', 19.5 / 66.9],
    // H100 against GPU_TYPE_B via the alias TYPE_B: 989.4/165.15 = 5.9909
    ['GPU_TYPE_A', 'TYPE_B', 'training', 989.4 / 165.15],
    // The reference against itself: 989.4/989.4 = 1
    ['h100-sxm', 'GPU_TYPE_A', 'training', 1],
    // MI300X training: 1307.4/989.4 = 1.3214
    ['MI300X', 'GPU_TYPE_A', 'training', 1307.4 / 989.4],
    // A10G has no published tensor or bandwidth figure: unknown, not zero
    ['A10G', 'GPU_TYPE_A', 'training', null],
    ['A10G', 'GPU_TYPE_A', 'inference', null],
    // CPU work is not measured on GPUs
    ['H100', 'GPU_TYPE_A', 'cpu', null],
    // A class is several models, not one profile; an unknown name is nothing
    ['GPU_A', 'GPU_TYPE_A', 'training', null],
    ['GPU_Z', 'GPU_TYPE_A', 'training', null],
    ['H100', 'GPU_Z', 'training', null],
  ];
  for (const [model, ref, kind, want] of cases) {
    it(`${model} vs ${ref} (${kind}) = ${want}`, () => {
      assert.equal(catalog.workRate(model, ref, kind), want);
    });
  }
});

describe('resolveResourceType', () => {
  it('accepts a class, case-insensitive', () => {
    const sel = catalog.resolveResourceType('gpu_a');
    assert.equal(sel?.kind, 'class');
    assert.equal(sel?.name, 'GPU_A');
    assert.ok(sel?.models.includes('H100'));
    assert.ok(sel?.models.includes('H200'));
    assert.ok(!sel?.models.includes('RTX4090'));
  });

  it('accepts CPU and GPU_OTHER', () => {
    assert.deepEqual(catalog.resolveResourceType('CPU'), {
      kind: 'class',
      name: 'CPU',
      class: 'CPU',
      models: [],
    });
    const other = catalog.resolveResourceType('GPU_OTHER');
    assert.ok(other?.models.includes('T4'));
    assert.ok(!other?.models.includes('A100'));
  });

  const cases: Array<[string, { kind: string; name: string; models: string[] } | null]> = [
    ['GPU_TYPE_A', { kind: 'profile', name: 'GPU_TYPE_A', models: ['H100'] }],
    ['gpu_type_b', { kind: 'profile', name: 'GPU_TYPE_B', models: ['RTX4090'] }],
    ['TYPE_A', { kind: 'profile', name: 'GPU_TYPE_A', models: ['H100'] }],
    ['TYPE_B', { kind: 'profile', name: 'GPU_TYPE_B', models: ['RTX4090'] }],
    ['h100-sxm', { kind: 'model', name: 'H100', models: ['H100'] }],
    ['NVIDIA GeForce RTX 4090', { kind: 'model', name: 'RTX4090', models: ['RTX4090'] }],
    ['GPU_Z', null],
    ['TYPE_C', null],
    ['', null],
  ];
  for (const [value, want] of cases) {
    it(`${JSON.stringify(value)} → ${want?.kind ?? null}`, () => {
      assert.deepEqual(catalog.resolveResourceType(value), want);
    });
  }
});

describe('classes', () => {
  it('puts every default member in its class and the rest in GPU_OTHER', () => {
    for (const [cls, members] of Object.entries(DEFAULT_CLASS_MEMBERS)) {
      for (const m of members) assert.equal(catalog.classOf(m.model), cls, m.model);
    }
    assert.equal(catalog.classOf('T4'), 'GPU_OTHER');
    assert.equal(catalog.classOf('GPU_Z'), 'GPU_OTHER');
    assert.equal(catalog.classOf(null), 'CPU');
    // Spellings work too.
    assert.equal(catalog.classOf('NVIDIA H100 PCIe'), 'GPU_A');
  });

  it('gives each profile its class', () => {
    assert.equal(catalog.profiles.get('RTX4090')?.class, 'GPU_B');
    assert.equal(catalog.profiles.get('A100-80GB')?.class, 'GPU_C');
    assert.equal(catalog.profiles.get('L4')?.class, 'GPU_OTHER');
  });

  it('lets config replace a class list; moved models leave their old class', () => {
    const c = createCapabilityCatalog({ classes: { GPU_B: ['RTX 4090', 'L4', 'A100'] } });
    assert.deepEqual(c.classMembers('GPU_B'), ['A100', 'L4', 'RTX4090']);
    assert.equal(c.classOf('A100'), 'GPU_B');
    // Dropped from the overridden GPU_B list → no class.
    assert.equal(c.classOf('RTX3090'), 'GPU_OTHER');
    // Classes not overridden keep their defaults.
    assert.equal(c.classOf('A100-80GB'), 'GPU_C');
    assert.equal(c.classOf('H100'), 'GPU_A');
    assert.equal(c.profiles.get('L4')?.class, 'GPU_B');
  });

  it('an empty override empties the class', () => {
    const c = createCapabilityCatalog({ classes: { GPU_C: [] } });
    assert.deepEqual(c.classMembers('GPU_C'), []);
    assert.equal(c.classOf('A100'), 'GPU_OTHER');
    assert.deepEqual(c.resolveResourceType('GPU_C')?.models, []);
  });
});

describe('catalog resolveModel', () => {
  it('applies hints even to a canonical name (Lambda PCIe, Vast A100 80 GB)', () => {
    assert.equal(catalog.resolveModel('H100', { instance_type: 'gpu_1x_h100_pcie' }), 'H100-PCIe');
    assert.equal(catalog.resolveModel('A100', { memory_gb: 80, provider: 'vast' }), 'A100-80GB');
    assert.equal(catalog.resolveModel('GPU_Z'), null);
  });
});

describe('config aliases', () => {
  const c = createCapabilityCatalog({
    aliases: { FAST: 'GPU_A', cheap_gpu: 'rtx 3090', my_market: 'p2p_marketplace' },
  });

  it('adds query aliases', () => {
    assert.equal(c.resolveResourceType('fast')?.name, 'GPU_A');
    assert.deepEqual(c.resolveResourceType('CHEAP_GPU')?.models, ['RTX3090']);
    assert.equal(c.resolveResourceType('TYPE_A')?.name, 'GPU_TYPE_A');
  });

  it('adds provider placeholders when the target is a provider type', () => {
    assert.equal(c.resolveProviderPlaceholder('my_market'), 'p2p_marketplace');
    assert.equal(c.resolveProviderPlaceholder('marketplace_beta'), 'p2p_marketplace');
    assert.equal(c.resolveResourceType('my_market'), null);
  });
});

describe('profile', () => {
  it('finds one profile by display name, alias or spelling', () => {
    assert.equal(catalog.profile('GPU_TYPE_B')?.name, 'RTX4090');
    assert.equal(catalog.profile('TYPE_A')?.name, 'H100');
    assert.equal(catalog.profile('H100_SXM5')?.name, 'H100');
    assert.equal(catalog.profile('GPU_A'), null);
  });
});

describe('cpuProfile', () => {
  it('measures CPU work in vCPU-hours', () => {
    // 16 vCPUs do 16 vCPU-hours per node-hour.
    assert.deepEqual(cpuProfile(16, 64), {
      name: 'CPU',
      class: 'CPU',
      vcpus: 16,
      memory_gb: 64,
      cpu_work_rate: 16,
    });
  });
});
