import type { ResolveHints } from './types.js';

/**
 * GPU name normalisation. Providers spell one part many ways ("H100_SXM5", "NVIDIA H100 80GB HBM3",
 * "h100-sxm"); the market needs one canonical model per part so prices and capabilities compare.
 * The rule: tokenise, drop vendor and marketing words, pull out memory ("80GB") and form-factor
 * ("PCIe", "SXM5", "NVL") tokens, join the rest into a compact base and look it up. The form
 * factor, memory and hints then pick the variant only where the variants' figures differ (H100
 * SXM/PCIe/NVL, A100 40/80 GB, V100 16/32 GB). Anything not in the table is null: a wrong model
 * would misprice work, an unknown one is only left out.
 */

/** Words that name a vendor or product line, not a part ("NVIDIA GeForce RTX 4090"). */
const VENDOR_WORDS = new Set([
  'NVIDIA',
  'AMD',
  'INTEL',
  'HABANA',
  'GOOGLE',
  'CLOUD',
  'AWS',
  'AMAZON',
  'GEFORCE',
  'QUADRO',
  'TESLA',
  'RADEON',
  'INSTINCT',
]);

/** Words that say nothing about which chip it is (host flavour, edition, memory technology). */
const NOISE_WORDS = new Set([
  'BAREMETAL',
  'HIGH',
  'PERF',
  'LOW',
  'RAM',
  'WS',
  'WK',
  'WORKSTATION',
  'SERVER',
  'EDITION',
  'GENERATION',
  'BLACKWELL',
  'HBM2',
  'HBM2E',
  'HBM3',
  'HBM3E',
  'GDDR6',
  'GDDR6X',
  'GDDR7',
  'TENSOR',
  'CORE',
  'GPU',
]);

/** Form-factor words. MEGA is GCP's a3-megagpu (H100 SXM); NVLINK on its own means SXM boards. */
const FORM_WORDS = new Set(['PCIE', 'SXM', 'SXM2', 'SXM3', 'SXM4', 'SXM5', 'NVL', 'NVLINK', 'MEGA']);
const FORM_SUFFIX = /^(.*\d)(PCIE|SXM\d?|NVLINK|NVL)$/;

/** Canonical model → compact spellings (after dropping vendor, noise, memory and form words). */
const SPELLINGS: Record<string, readonly string[]> = {
  H100: ['H100'],
  H200: ['H200'],
  B200: ['B200'],
  B300: ['B300'],
  GH200: ['GH200'],
  A100: ['A100'],
  A800: ['A800'],
  A40: ['A40'],
  A30: ['A30'],
  A16: ['A16'],
  A10: ['A10'],
  A10G: ['A10G'],
  L40S: ['L40S'],
  L40: ['L40'],
  L4: ['L4'],
  T4: ['T4'],
  T4g: ['T4G'],
  V100: ['V100'],
  P100: ['P100'],
  P4: ['P4'],
  K80: ['K80'],
  M60: ['M60'],
  A6000: ['A6000', 'RTXA6000'],
  A5000: ['A5000', 'RTXA5000'],
  A4500: ['A4500', 'RTXA4500'],
  A4000: ['A4000', 'RTXA4000'],
  RTX6000: ['RTX6000'],
  'RTX6000-Ada': ['RTX6000ADA', '6000ADA'],
  'RTX5880-Ada': ['RTX5880ADA', '5880ADA'],
  'RTX4000-Ada': ['RTX4000ADA', '4000ADA'],
  'RTX2000-Ada': ['RTX2000ADA', '2000ADA'],
  RTXPRO6000: ['RTXPRO6000', 'PRO6000', 'RTXPRO6000WS', 'RTXPRO6000WK', 'RTXPRO6000BLACKWELL'],
  RTXPRO4500: ['RTXPRO4500', 'PRO4500'],
  RTXPRO4000: ['RTXPRO4000', 'PRO4000'],
  RTX5090: ['RTX5090', '5090'],
  RTX4090: ['RTX4090', '4090'],
  RTX3090: ['RTX3090', '3090'],
  RTX3060: ['RTX3060', '3060'],
  RTX4060: ['RTX4060', '4060'],
  RTX4070: ['RTX4070', '4070'],
  RTX5070: ['RTX5070', '5070'],
  P4000: ['P4000'],
  M4000: ['M4000'],
  MI300X: ['MI300X'],
  MI355X: ['MI355X'],
  MI250: ['MI250'],
  MI25: ['MI25'],
  V520: ['V520', 'PROV520'],
  Gaudi2: ['GAUDI2', 'HL225'],
  Gaudi: ['GAUDI', 'GAUDI1', 'GAUDIHL205', 'HL205'],
  Inferentia: ['INFERENTIA', 'INFERENTIA1'],
  Inferentia2: ['INFERENTIA2'],
  Trainium: ['TRAINIUM', 'TRAINIUM1'],
  Trainium2: ['TRAINIUM2'],
  'TPU-v2': ['TPUV2'],
  'TPU-v3': ['TPUV3'],
  'TPU-v4': ['TPUV4', 'TPUV4POD'],
  'TPU-v5e': ['TPUV5E', 'TPUV5LITE', 'TPUV5LITEPOD'],
  'TPU-v5p': ['TPUV5P'],
  'TPU-v6e': ['TPUV6E'],
};

const BASE_BY_SPELLING: ReadonlyMap<string, string> = new Map(
  Object.entries(SPELLINGS).flatMap(([model, spellings]) => spellings.map((s) => [s, model] as const)),
);

/** Every canonical model the resolver can return (each must have a row in gpu-specs.csv). */
export const KNOWN_MODELS: readonly string[] = [
  ...Object.keys(SPELLINGS),
  'H100-PCIe',
  'H100-NVL',
  'A100-80GB',
  'A100-80GB-PCIe',
  'V100-32GB',
];

/**
 * Instance types that name a variant the GPU name hides. Azure calls its NCads H100 v5 GPU "H100",
 * but the series runs the H100 NVL (94 GB) per Azure's size documentation.
 */
const INSTANCE_VARIANTS: ReadonlyArray<{ base: string; pattern: RegExp; model: string }> = [
  { base: 'H100', pattern: /^standard_ncc?\d+adi?s_h100_v5$/i, model: 'H100-NVL' },
];

interface Parsed {
  base: string;
  forms: Set<string>;
  /** GPU memory per GPU from the name ("80GB"), else from the hints. */
  memory_gb: number | null;
  instanceWords: Set<string>;
  instanceType: string;
}

/** Picks the variant where one base name covers parts with different figures; null if ambiguous. */
const VARIANTS: Record<string, (p: Parsed) => string | null> = {
  H100: (p) => {
    const nvl =
      p.forms.has('NVL') || p.instanceWords.has('nvl') || (p.memory_gb !== null && p.memory_gb >= 90);
    if (nvl) return 'H100-NVL';
    if (p.forms.has('PCIE') || p.instanceWords.has('pcie')) return 'H100-PCIe';
    return 'H100';
  },
  // The H200 NVL is a lower-power part with other figures; we have no row for it.
  H200: (p) => (p.forms.has('NVL') ? null : 'H200'),
  // Vast reports both A100s as "A100"; memory (name or hint) tells them apart.
  A100: (p) => {
    if (p.memory_gb === null || p.memory_gb < 60) return 'A100';
    return p.forms.has('PCIE') || p.instanceWords.has('pcie') ? 'A100-80GB-PCIe' : 'A100-80GB';
  },
  V100: (p) => (p.memory_gb !== null && p.memory_gb >= 30 ? 'V100-32GB' : 'V100'),
  // "RTX 6000" is the 24 GB Quadro RTX 6000; with more memory it could be the Ada, the A6000 or the
  // RTX PRO 6000, so it is left unresolved rather than guessed.
  RTX6000: (p) => (p.memory_gb !== null && p.memory_gb > 30 ? null : 'RTX6000'),
};

function words(s: string): string[] {
  return s.split(/[^A-Za-z0-9]+/).filter((w) => w.length > 0);
}

function parse(name: string, hints: ResolveHints): Parsed | null {
  // "80 GB", "80G", "80GiB" → one memory word; the lookbehind keeps "T4G" and "A10G" intact.
  const text = name.replace(/(?<![A-Za-z0-9])(\d+)\s*(GIB|GB|G)(?![A-Za-z0-9])/gi, ' $1GB ');
  const forms = new Set<string>();
  const base: string[] = [];
  let memory: number | null = null;
  for (const raw of words(text)) {
    const w = raw.toUpperCase();
    const mem = /^(\d+)GB$/.exec(w);
    if (mem) memory = Number(mem[1]);
    else if (VENDOR_WORDS.has(w) || NOISE_WORDS.has(w)) continue;
    else if (FORM_WORDS.has(w)) forms.add(w);
    else {
      const split = FORM_SUFFIX.exec(w);
      if (split) {
        base.push(split[1]!);
        forms.add(split[2]!);
      } else base.push(w);
    }
  }
  if (base.length === 0) return null;
  const instanceType = hints.instance_type ?? '';
  return {
    base: base.join(''),
    forms,
    memory_gb: memory ?? hints.memory_gb ?? null,
    instanceWords: new Set(words(instanceType.toLowerCase())),
    instanceType,
  };
}

/**
 * Any provider's spelling of a GPU (+hints) → canonical model, or null when the name is not a
 * known part. Case, spaces, dashes and underscores do not matter; vendor prefixes are dropped.
 * `hints.instance_type` and `hints.memory_gb` (per GPU) disambiguate names that cover several parts.
 */
export function resolveModel(name: string, hints: ResolveHints = {}): string | null {
  const p = parse(name, hints);
  if (p === null) return null;
  const model = BASE_BY_SPELLING.get(p.base);
  if (model === undefined) return null;
  for (const iv of INSTANCE_VARIANTS) {
    if (iv.base === model && iv.pattern.test(p.instanceType)) return iv.model;
  }
  const variant = VARIANTS[model];
  return variant ? variant(p) : model;
}
