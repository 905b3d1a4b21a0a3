import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProviderType } from '../protocol/glossary.js';
import { buildAliasTables, resolveProviderPlaceholder, SPEC_PLACEHOLDERS } from './aliases.js';
import { validateCapabilityConfig } from './validate.js';

describe('resolveProviderPlaceholder', () => {
  const cases: Array<[string, ProviderType | null]> = [
    // The spec's own names.
    ['marketplace_a', 'p2p_marketplace'],
    ['marketplace_b', 'p2p_marketplace'],
    ['marketplace_c', 'p2p_marketplace'],
    ['marketplace_beta', 'p2p_marketplace'],
    ['network_a', 'decentralized_compute'],
    ['network_b', 'decentralized_compute'],
    ['distributed_network', 'decentralized_compute'],
    ['distributed_gpu_network', 'decentralized_compute'],
    ['peer_network_alpha', 'decentralized_cloud'],
    ['platform_a', 'serverless_compute'],
    ['platform_b', 'serverless_compute'],
    ['serverless_provider', 'serverless_compute'],
    ['cloud_a', 'traditional_cloud'],
    ['traditional_cloud_a', 'traditional_cloud'],
    ['edge_fleet', 'edge'],
    // The stem rule covers more letters and is case-insensitive.
    ['Marketplace_Z', 'p2p_marketplace'],
    ['network_gamma', 'decentralized_compute'],
    // Real provider names and near misses are not placeholders.
    ['vast', null],
    ['lambda', null],
    ['marketplace_ab', null],
    ['networks_a', null],
    ['', null],
  ];
  for (const [name, want] of cases) {
    it(`${JSON.stringify(name)} → ${want}`, () => assert.equal(resolveProviderPlaceholder(name), want));
  }

  it('resolves every placeholder the spec uses', () => {
    for (const n of SPEC_PLACEHOLDERS) assert.notEqual(resolveProviderPlaceholder(n), null, n);
  });

  it('lets config name exact placeholders that win over the stem', () => {
    const t = buildAliasTables({ Cloud_B: 'p2p_marketplace' });
    assert.equal(resolveProviderPlaceholder('cloud_b', t.providers), 'p2p_marketplace');
    assert.equal(resolveProviderPlaceholder('cloud_a', t.providers), 'traditional_cloud');
  });
});

describe('validateCapabilityConfig', () => {
  const cases: Array<[string, unknown, Array<{ path: string; message: RegExp }>]> = [
    ['absent', undefined, []],
    ['empty', {}, []],
    ['valid', { classes: { GPU_A: ['h100-sxm', 'H200'], GPU_B: ['4090'] }, aliases: { FAST: 'GPU_A' } }, []],
    ['not an object', 'GPU_A', [{ path: '(root)', message: /object/ }]],
    ['unknown top key', { clases: {} }, [{ path: 'clases', message: /unknown key/ }]],
    [
      'unknown class',
      { classes: { GPU_D: ['H100'] } },
      [{ path: 'classes.GPU_D', message: /unknown class/ }],
    ],
    [
      'derived class',
      { classes: { GPU_OTHER: ['T4'] } },
      [{ path: 'classes.GPU_OTHER', message: /derived/ }],
    ],
    ['not a list', { classes: { GPU_A: 'H100' } }, [{ path: 'classes.GPU_A', message: /list/ }]],
    ['bad model', { classes: { GPU_A: ['H100', 'GPU_Z'] } }, [{ path: 'classes.GPU_A.1', message: /GPU_Z/ }]],
    [
      'model in two classes',
      { classes: { GPU_A: ['A100'], GPU_C: ['a100'] } },
      [{ path: 'classes.GPU_C.0', message: /already in GPU_A/ }],
    ],
    ['alias to nothing', { aliases: { FAST: 'GPU_Z' } }, [{ path: 'aliases.FAST', message: /neither/ }]],
    [
      'alias shadows a class',
      { aliases: { gpu_a: 'H100' } },
      [{ path: 'aliases.gpu_a', message: /cannot be redefined/ }],
    ],
    ['alias to provider type', { aliases: { my_market: 'p2p_marketplace' } }, []],
  ];
  for (const [label, input, want] of cases) {
    it(label, () => {
      const got = validateCapabilityConfig(input);
      assert.equal(got.length, want.length, JSON.stringify(got));
      want.forEach((w, i) => {
        assert.equal(got[i]?.path, w.path);
        assert.match(got[i]?.message ?? '', w.message);
      });
    });
  }
});
