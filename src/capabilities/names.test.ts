import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KNOWN_MODELS, resolveModel } from './names.js';
import type { ResolveHints } from './types.js';

describe('resolveModel', () => {
  const cases: Array<[string, string | null, ResolveHints?]> = [
    // H100 SXM in every spelling the catalogs and APIs use.
    ['H100', 'H100'],
    ['H100-80GB', 'H100'],
    ['NVIDIA H100 80GB HBM3', 'H100'],
    ['h100-sxm', 'H100'],
    ['H100_SXM5', 'H100'],
    ['H100-80G-SXM5', 'H100'],
    ['H100-NVLINK', 'H100'],
    ['H100-MEGA', 'H100'],
    ['H100SXM5', 'H100'],
    ['  h100  ', 'H100'],
    // H100 PCIe and NVL.
    ['H100_PCIE', 'H100-PCIe'],
    ['H100 PCIe', 'H100-PCIe'],
    ['NVIDIA H100 PCIe', 'H100-PCIe'],
    ['H100_PCIE_BAREMETAL', 'H100-PCIe'],
    ['H100-80G-PCIe-NVLink', 'H100-PCIe'],
    ['H100-NVL', 'H100-NVL'],
    ['H100_NVL', 'H100-NVL'],
    ['NVIDIA H100 NVL', 'H100-NVL'],
    // Lambda says only "H100" for its PCIe shape; the instance type says PCIe.
    ['H100', 'H100-PCIe', { instance_type: 'gpu_1x_h100_pcie' }],
    ['H100', 'H100', { instance_type: 'gpu_8x_h100_sxm5' }],
    // Vast's H100 NVL listing is "H100" with 95830 MiB ≈ 93.6 GB per GPU.
    ['H100', 'H100-NVL', { instance_type: '1x-H100_NVL-32-65536' }],
    ['H100', 'H100-NVL', { memory_gb: 93.6 }],
    // Azure NCads H100 v5 runs the H100 NVL.
    ['H100', 'H100-NVL', { instance_type: 'Standard_NC40ads_H100_v5' }],
    ['H200', 'H200'],
    ['H200-SXM', 'H200'],
    ['H200 NVL', null],
    // A100: Vast reports both as "A100"; memory decides.
    ['A100', 'A100'],
    ['A100', 'A100-80GB', { memory_gb: 80 }],
    ['A100', 'A100', { memory_gb: 40 }],
    ['A100', 'A100-80GB-PCIe', { memory_gb: 80, instance_type: 'epyc-genoa-a100-pcie_1x12v24gb' }],
    ['A100-80GB', 'A100-80GB'],
    ['A100-80GB-SXM', 'A100-80GB'],
    ['A100_80G_SXM4', 'A100-80GB'],
    ['NVIDIA A100-SXM4-80GB', 'A100-80GB'],
    ['A100-80G-PCIe', 'A100-80GB-PCIe'],
    ['A100_80G_PCIE', 'A100-80GB-PCIe'],
    ['A100-80G-PCIe-NVLink', 'A100-80GB-PCIe'],
    // Workstation and consumer parts.
    ['A6000', 'A6000'],
    ['RTXA6000', 'A6000'],
    ['RTX-A6000', 'A6000'],
    ['RTX A6000', 'A6000'],
    ['NVIDIA RTX A6000', 'A6000'],
    ['A6000_PCIE_LOW_RAM', 'A6000'],
    ['A6000_PCIE_HIGH_PERF', 'A6000'],
    ['RTX6000-Ada', 'RTX6000-Ada'],
    ['RTX6000Ada', 'RTX6000-Ada'],
    ['RTX-6000-Ada', 'RTX6000-Ada'],
    ['RTX6000ADA_PCIE', 'RTX6000-Ada'],
    ['NVIDIA RTX 6000 Ada Generation', 'RTX6000-Ada'],
    ['RTX6000', 'RTX6000'],
    ['Quadro RTX 6000', 'RTX6000'],
    ['RTX 6000', null, { memory_gb: 48 }],
    ['RTXPRO6000', 'RTXPRO6000'],
    ['RTX-PRO-6000', 'RTXPRO6000'],
    ['RTX PRO 6000 96GB', 'RTXPRO6000'],
    ['RTXPro6000', 'RTXPRO6000'],
    ['RTXPRO6000WS', 'RTXPRO6000'],
    ['RTXPRO6000-WK', 'RTXPRO6000'],
    ['RTXPRO6000_PCIE_BAREMETAL', 'RTXPRO6000'],
    ['NVIDIA RTX PRO 6000 Blackwell Server Edition', 'RTXPRO6000'],
    ['RTX PRO 6000 Max-Q', null],
    ['RTX 4090', 'RTX4090'],
    ['GeForce RTX 4090', 'RTX4090'],
    ['NVIDIA GeForce RTX 4090', 'RTX4090'],
    ['4090', 'RTX4090'],
    ['rtx_4090', 'RTX4090'],
    ['RTX 4090 D', null],
    ['RTX5090_PCIE', 'RTX5090'],
    ['RTXA5000', 'A5000'],
    ['RTX-A4000', 'A4000'],
    // Older and other data-centre parts.
    ['Tesla V100-SXM2-16GB', 'V100'],
    ['V100-32GB', 'V100-32GB'],
    ['V100_32G_PCIE', 'V100-32GB'],
    ['V100', 'V100-32GB', { memory_gb: 32 }],
    ['Tesla T4', 'T4'],
    ['T4g', 'T4g'],
    ['A10G', 'A10G'],
    ['A10', 'A10'],
    ['L40S_PCIE', 'L40S'],
    ['L4_PCIE', 'L4'],
    ['AMD Instinct MI300X', 'MI300X'],
    ['Radeon MI25', 'MI25'],
    ['Radeon Pro V520', 'V520'],
    ['Gaudi HL-205', 'Gaudi'],
    ['GAUDI2', 'Gaudi2'],
    ['tpu-v5litepod', 'TPU-v5e'],
    ['tpu-v6e', 'TPU-v6e'],
    // Unknown is null, never a guess.
    ['GPU_Z', null],
    ['H300', null],
    ['', null],
    ['NVIDIA', null],
  ];
  for (const [name, want, hints] of cases) {
    it(`${JSON.stringify(name)}${hints ? ` ${JSON.stringify(hints)}` : ''} → ${want}`, () => {
      assert.equal(resolveModel(name, hints), want);
    });
  }

  it('maps every canonical model name to itself', () => {
    for (const m of KNOWN_MODELS) assert.equal(resolveModel(m), m, m);
  });
});
