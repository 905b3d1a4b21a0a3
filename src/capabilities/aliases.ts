import { isProviderType, type ProviderType } from '../protocol/glossary.js';

/**
 * Two alias tables.
 *
 * Query aliases: the spec's client code writes `gpu_type: 'TYPE_B'` for the display profile
 * GPU_TYPE_B; an alias maps such a word to a class, profile or model name.
 *
 * Provider placeholders: the spec's examples name providers that do not exist ("marketplace_beta",
 * "network_b"). Each names a provider TYPE by its stem; the market later picks the cheapest
 * provider of that type. The rule is: lower-case the name, drop one trailing `_<letter>` or
 * `_<greek letter>` suffix, and look the stem up in PLACEHOLDER_STEMS. So "marketplace_c" and
 * "marketplace_gamma" work as well as the spec's own names.
 */

export const DEFAULT_QUERY_ALIASES: Readonly<Record<string, string>> = {
  TYPE_A: 'GPU_TYPE_A',
  TYPE_B: 'GPU_TYPE_B',
};

/** Stem → provider type. Longer stems are listed as their own entries ("peer_network" ≠ "network"). */
export const PLACEHOLDER_STEMS: Readonly<Record<string, ProviderType>> = {
  marketplace: 'p2p_marketplace',
  network: 'decentralized_compute',
  distributed_network: 'decentralized_compute',
  distributed_gpu_network: 'decentralized_compute',
  peer_network: 'decentralized_cloud',
  platform: 'serverless_compute',
  serverless_provider: 'serverless_compute',
  cloud: 'traditional_cloud',
  traditional_cloud: 'traditional_cloud',
  edge_fleet: 'edge',
};

/** The placeholder names the spec itself uses (documentation and tests; the rule covers more). */
export const SPEC_PLACEHOLDERS: readonly string[] = [
  'marketplace_a',
  'marketplace_b',
  'marketplace_c',
  'marketplace_beta',
  'network_a',
  'network_b',
  'distributed_network',
  'distributed_gpu_network',
  'peer_network_alpha',
  'platform_a',
  'platform_b',
  'serverless_provider',
  'cloud_a',
  'traditional_cloud_a',
  'edge_fleet',
];

const SUFFIX = /_(?:[a-z]|alpha|beta|gamma|delta|epsilon)$/;

/**
 * A spec placeholder provider name → the provider type it names, or null when it is not one (a
 * real provider's name, say). `overrides` (from config aliases whose value is a provider type)
 * are exact names and win over the stem rule.
 */
export function resolveProviderPlaceholder(
  name: string,
  overrides: Readonly<Record<string, ProviderType>> = {},
): ProviderType | null {
  const key = name.trim().toLowerCase();
  const exact = overrides[key];
  if (exact !== undefined) return exact;
  const direct = PLACEHOLDER_STEMS[key];
  if (direct !== undefined) return direct;
  const stem = key.replace(SUFFIX, '');
  return stem === key ? null : (PLACEHOLDER_STEMS[stem] ?? null);
}

export interface AliasTables {
  /** Upper-cased query word → target (class, profile, alias-free model spelling). */
  query: ReadonlyMap<string, string>;
  /** Lower-cased exact placeholder name → provider type (config additions only). */
  providers: Readonly<Record<string, ProviderType>>;
}

/**
 * Defaults merged with config aliases. A config value that is a provider type adds a provider
 * placeholder; any other value adds (or replaces) a query alias. Validity of query targets is
 * checked by validateCapabilityConfig, which can resolve them.
 */
export function buildAliasTables(config: Readonly<Record<string, string>> = {}): AliasTables {
  const query = new Map(Object.entries(DEFAULT_QUERY_ALIASES).map(([k, v]) => [k.toUpperCase(), v] as const));
  const providers: Record<string, ProviderType> = {};
  for (const [k, v] of Object.entries(config)) {
    if (isProviderType(v)) providers[k.trim().toLowerCase()] = v;
    else query.set(k.trim().toUpperCase(), v);
  }
  return { query, providers };
}
