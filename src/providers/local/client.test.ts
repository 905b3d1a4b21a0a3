import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NVIDIA_SMI_ARGS, parseNvidiaSmi, probeGpus } from './client.js';

describe('parseNvidiaSmi', () => {
  const cases: Array<[string, string, Array<{ name: string; memory_mib: number | null }>]> = [
    ['empty output', '', []],
    ['one GPU', 'NVIDIA GeForce RTX 4090, 24564\n', [{ name: 'NVIDIA GeForce RTX 4090', memory_mib: 24564 }]],
    [
      'eight H100s',
      'NVIDIA H100 80GB HBM3, 81559\n'.repeat(8),
      Array.from({ length: 8 }, () => ({ name: 'NVIDIA H100 80GB HBM3', memory_mib: 81559 })),
    ],
    [
      'mixed models, CRLF and blank lines',
      'NVIDIA GeForce RTX 3090, 24576\r\n\r\nNVIDIA A100-SXM4-40GB, 40960\r\n',
      [
        { name: 'NVIDIA GeForce RTX 3090', memory_mib: 24576 },
        { name: 'NVIDIA A100-SXM4-40GB', memory_mib: 40960 },
      ],
    ],
    ['memory not available', 'NVIDIA T4, [N/A]\n', [{ name: 'NVIDIA T4', memory_mib: null }]],
    [
      'a comma in the name: memory is the last field',
      'Odd, GPU, 8192',
      [{ name: 'Odd, GPU', memory_mib: 8192 }],
    ],
  ];
  for (const [name, out, want] of cases) {
    it(name, () => assert.deepEqual(parseNvidiaSmi(out), want));
  }
});

describe('probeGpus', () => {
  it('runs nvidia-smi with the documented query', async () => {
    let seen: string[] = [];
    await probeGpus(async (file, args) => {
      seen = [file, ...args];
      return { stdout: '' };
    });
    assert.deepEqual(seen, ['nvidia-smi', ...NVIDIA_SMI_ARGS]);
  });

  it('no nvidia-smi (ENOENT) is no GPUs, not an error', async () => {
    const probe = await probeGpus(async () => {
      throw Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' });
    });
    assert.deepEqual(probe, { gpus: [] });
  });

  it('a failing nvidia-smi is no GPUs with the reason', async () => {
    const probe = await probeGpus(async () => {
      throw Object.assign(new Error('Command failed: NVIDIA-SMI has failed\nmore'), { code: 9 });
    });
    assert.deepEqual(probe.gpus, []);
    assert.match(probe.error ?? '', /NVIDIA-SMI has failed/);
  });
});
