import type { ResourceClass } from '../protocol/glossary.js';

/**
 * Default class membership. The spec's classes are tiers a buyer asks for without naming a part:
 * GPU_A flagship data-centre, GPU_B 24 GB-class consumer/prosumer, GPU_C previous-generation (or
 * below-flagship) data-centre. Each assignment carries its reason; docs/capabilities.md lists them.
 * Models in no class are GPU_OTHER, CPU-only offers are CPU. Config can replace any class's list.
 */

export type ConfigurableClass = 'GPU_A' | 'GPU_B' | 'GPU_C';
export const CONFIGURABLE_CLASSES: readonly ConfigurableClass[] = ['GPU_A', 'GPU_B', 'GPU_C'];

export interface ClassMember {
  model: string;
  reason: string;
}

export const DEFAULT_CLASS_MEMBERS: Readonly<Record<ConfigurableClass, readonly ClassMember[]>> = {
  // Rule: Hopper/Blackwell data-centre parts and AMD CDNA3+ Instinct, all with >= 80 GB HBM.
  GPU_A: [
    { model: 'H100', reason: 'the spec profile GPU_TYPE_A itself (H100 SXM5)' },
    { model: 'H100-PCIe', reason: 'same Hopper die and 80 GB HBM, lower clocks and PCIe' },
    { model: 'H100-NVL', reason: 'Hopper, 94 GB HBM3, bridged pairs' },
    { model: 'H200', reason: 'Hopper with 141 GB HBM3e' },
    { model: 'GH200', reason: 'H100 GPU on the Grace superchip' },
    { model: 'B200', reason: 'Blackwell flagship' },
    { model: 'B300', reason: 'Blackwell Ultra flagship' },
    { model: 'MI300X', reason: "AMD's H100-class part (CDNA3, 192 GB HBM3)" },
    { model: 'MI355X', reason: 'AMD CDNA4, 288 GB HBM3E' },
  ],
  // Rule: consumer or workstation cards with 24-32 GB of GPU memory, Ampere or newer.
  GPU_B: [
    { model: 'RTX4090', reason: 'the spec profile GPU_TYPE_B itself' },
    { model: 'RTX3090', reason: 'previous consumer flagship, 24 GB' },
    { model: 'RTX5090', reason: 'next consumer flagship, 32 GB; at least a 4090 in every figure' },
    { model: 'A5000', reason: 'Ampere workstation card with 24 GB, sold in the same marketplaces' },
  ],
  // Rule: data-centre parts a generation behind, or below the flagship tier, with tensor cores and
  // >= 16 GB; low-power inference cards (T4, L4, A16) stay out so they do not set GPU_C's price.
  GPU_C: [
    { model: 'A100', reason: 'Ampere flagship, 40 GB' },
    { model: 'A100-80GB', reason: 'Ampere flagship, 80 GB' },
    { model: 'A100-80GB-PCIe', reason: 'Ampere flagship, 80 GB PCIe' },
    { model: 'A800', reason: 'export variant of the A100 80GB PCIe' },
    { model: 'V100', reason: 'Volta flagship, 16 GB' },
    { model: 'V100-32GB', reason: 'Volta flagship, 32 GB' },
    { model: 'A40', reason: 'Ampere data-centre, 48 GB' },
    { model: 'A30', reason: 'Ampere data-centre, 24 GB HBM2' },
    { model: 'A10', reason: 'Ampere data-centre, 24 GB; V100-class tensor throughput' },
    { model: 'A10G', reason: "AWS's A10 variant, 24 GB" },
    { model: 'L40', reason: 'Ada data-centre, 48 GB GDDR6, no NVLink: below the flagship tier' },
    { model: 'L40S', reason: 'Ada data-centre, 48 GB GDDR6, A100-class FP16: below the flagship tier' },
    { model: 'MI250', reason: 'AMD CDNA2, the generation before MI300X' },
  ],
};

/**
 * Model → class under the defaults with `overrides` applied. An override REPLACES that class's
 * list; a model named there leaves any other class, so classes never overlap. `resolve` maps the
 * config's spellings to canonical models; names it cannot resolve are skipped here and reported
 * by validateCapabilityConfig.
 */
export function buildClassMap(
  overrides: Partial<Record<ConfigurableClass, readonly string[]>> = {},
  resolve: (name: string) => string | null = (n) => n,
): Map<string, ConfigurableClass> {
  const map = new Map<string, ConfigurableClass>();
  for (const cls of CONFIGURABLE_CLASSES) {
    if (overrides[cls] !== undefined) continue;
    for (const m of DEFAULT_CLASS_MEMBERS[cls]) map.set(m.model, cls);
  }
  for (const cls of CONFIGURABLE_CLASSES) {
    for (const name of overrides[cls] ?? []) {
      const model = resolve(name);
      if (model !== null) map.set(model, cls);
    }
  }
  return map;
}

/** A model's class in `map`; null means a CPU-only offer. */
export function classIn(map: ReadonlyMap<string, ConfigurableClass>, model: string | null): ResourceClass {
  if (model === null) return 'CPU';
  return map.get(model) ?? 'GPU_OTHER';
}
