export {
  buildAliasTables,
  DEFAULT_QUERY_ALIASES,
  PLACEHOLDER_STEMS,
  resolveProviderPlaceholder,
  SPEC_PLACEHOLDERS,
} from './aliases.js';
export { cpuProfile, createCapabilityCatalog } from './catalog.js';
export {
  buildClassMap,
  CONFIGURABLE_CLASSES,
  type ConfigurableClass,
  DEFAULT_CLASS_MEMBERS,
} from './classes.js';
export { KNOWN_MODELS, resolveModel } from './names.js';
export {
  defaultSpecsCsvPath,
  NAMED_PROFILES,
  parseGpuSpecs,
  SPEC_DISPLAY_NOTE,
  SPEC_DISPLAY_PROFILES,
  type SpecDisplayProfile,
} from './profiles.js';
export type * from './types.js';
export { validateCapabilityConfig } from './validate.js';
