import { RESOURCE_CLASSES, type ResourceClass } from '../protocol/glossary.js';
import { buildAliasTables, resolveProviderPlaceholder } from './aliases.js';
import { buildClassMap, classIn } from './classes.js';
import { resolveModel } from './names.js';
import { loadGpuProfiles, NAMED_PROFILES } from './profiles.js';
import type {
  CapabilityCatalog,
  CapabilityCatalogExtras,
  CapabilityConfig,
  CpuProfile,
  GpuProfile,
  ResolveHints,
  ResourceSelector,
  WorkKind,
} from './types.js';

/**
 * The capability catalog: profiles, classes, aliases and work rates behind one object. Built once
 * by the composition root from config; it reads the spec table at construction and is immutable
 * afterwards, so every caller sees the same answers.
 */

/** The profile figure each work kind is measured in (DESIGN.md "Work is normalised"). */
const WORK_FIGURE: Record<WorkKind, 'fp16_tflops' | 'bandwidth_gb_s' | 'fp32_tflops' | null> = {
  training: 'fp16_tflops',
  batch_processing: 'fp16_tflops',
  // Decode is memory-bound: each token streams the weights once.
  inference: 'bandwidth_gb_s',
  general: 'fp32_tflops',
  // CPU work is measured in vCPU-hours; a GPU does none of it.
  cpu: null,
};

export function createCapabilityCatalog(
  config: CapabilityConfig = {},
): CapabilityCatalog & CapabilityCatalogExtras {
  const classMap = buildClassMap(config.classes, (n) => resolveModel(n));
  const profiles = loadGpuProfiles((m) => classIn(classMap, m), config.specsCsvPath);
  const aliases = buildAliasTables(config.aliases);
  const namedProfiles = new Map(Object.entries(NAMED_PROFILES));

  // The resolver first, so hints still apply to a name that is itself canonical ("H100" on
  // Lambda's gpu_1x_h100_pcie); an exact row name covers rows of a custom table it does not know.
  const canonical = (name: string, hints?: ResolveHints): string | null => {
    const m = resolveModel(name, hints);
    if (m !== null) return profiles.has(m) ? m : null;
    return profiles.has(name) ? name : null;
  };

  const classMembers = (cls: ResourceClass): string[] =>
    [...profiles.values()]
      .filter((p) => p.class === cls)
      .map((p) => p.name)
      .sort();

  /** Everything except aliases; aliases resolve to one of these (never to another alias). */
  const resolveDirect = (value: string): ResourceSelector | null => {
    const upper = value.trim().toUpperCase();
    const cls = RESOURCE_CLASSES.find((c) => c === upper);
    if (cls !== undefined) return { kind: 'class', name: cls, class: cls, models: classMembers(cls) };
    const profileModel = namedProfiles.get(upper);
    if (profileModel !== undefined) return { kind: 'profile', name: upper, models: [profileModel] };
    const model = canonical(value.trim());
    return model === null ? null : { kind: 'model', name: model, models: [model] };
  };

  const resolveResourceType = (value: string): ResourceSelector | null => {
    const target = aliases.query.get(value.trim().toUpperCase());
    return resolveDirect(target ?? value);
  };

  /** A single profile for a profile name, alias or model; a class (several models) is not one. */
  const profile = (name: string): GpuProfile | null => {
    const sel = resolveResourceType(name);
    if (sel === null || sel.kind === 'class') return null;
    return profiles.get(sel.models[0]!) ?? null;
  };

  return {
    profiles,
    namedProfiles,
    classOf: (model) => (model === null ? 'CPU' : classIn(classMap, canonical(model) ?? model)),
    resolveModel: (name, hints) => canonical(name, hints),
    resolveResourceType,
    workRate(model, reference, kind) {
      const figure = WORK_FIGURE[kind];
      if (figure === null) return null;
      const a = profile(model)?.[figure] ?? null;
      const b = profile(reference)?.[figure] ?? null;
      return a === null || b === null ? null : a / b;
    },
    profile,
    classMembers,
    resolveProviderPlaceholder: (name) => resolveProviderPlaceholder(name, aliases.providers),
  };
}

/** The capability of a CPU-only node: its work rate is its vCPU count (vCPU-hours per hour). */
export function cpuProfile(vcpus: number, memory_gb: number): CpuProfile {
  return { name: 'CPU', class: 'CPU', vcpus, memory_gb, cpu_work_rate: vcpus };
}
