import { join } from 'node:path';
import type { CapabilityCatalog } from '../capabilities/types.js';
import type { GatewayConfig } from '../config/schema.js';
import type { Clock } from '../util/clock.js';
import { type CatalogProviders, createCatalogProviders } from './catalog/index.js';
import { createLocalProvider } from './local/index.js';
import type { Provider } from './provider.js';
import { createSlurmProvider } from './slurm/index.js';
import { createVastProvider } from './vast/index.js';

/**
 * The one explicit map of provider adapters (STYLE.md 5): every adapter is wired here from the
 * configuration, never through import side effects.
 */
export interface ProviderSet {
  providers: Provider[];
  /** The catalog providers' handle (reports, reload after a refresh); null when disabled. */
  catalogs: CatalogProviders | null;
}

export interface RegistryDeps {
  config: GatewayConfig;
  capabilities: CapabilityCatalog;
  clock: Clock;
  fetch?: typeof fetch;
}

export function buildProviders({ config, capabilities, clock, fetch: fetchImpl }: RegistryDeps): ProviderSet {
  const out: Provider[] = [];
  const p = config.providers;
  const vast =
    p.vast.enabled && p.vast.api_key
      ? createVastProvider({
          apiKey: p.vast.api_key,
          ...(p.vast.base_url ? { baseUrl: p.vast.base_url } : {}),
          ...(fetchImpl ? { fetch: fetchImpl } : {}),
          clock,
          capabilities,
          cacheTtlMs: p.vast.cache_ttl_s * 1000,
        })
      : null;
  let catalogs: CatalogProviders | null = null;
  if (p.catalog.enabled) {
    // The live Vast adapter supersedes the catalog snapshot of Vast: both are named "vast", and a
    // live offer list is strictly better than a published one.
    const clouds = p.catalog.clouds ?? undefined;
    catalogs = createCatalogProviders({
      capabilities,
      dataDir: config.data_dir,
      seed: config.seed,
      clock,
      ...(clouds ? { clouds } : {}),
    });
    for (const c of catalogs.providers) if (!(vast && c.info.name === 'vast')) out.push(c);
  }
  if (vast) out.push(vast);
  if (p.local.enabled)
    out.push(createLocalProvider({ clock, capabilities, pricePerHour: p.local.price_per_hour }));
  if (p.slurm.enabled)
    out.push(
      createSlurmProvider({
        clock,
        capabilities,
        workRoot: p.slurm.work_root ?? join(config.data_dir, 'slurm'),
        pricePerNodeHour: p.slurm.price_per_node_hour,
        ...(p.slurm.region ? { region: p.slurm.region } : {}),
        ...(p.slurm.slurm_conf ? { slurmConf: p.slurm.slurm_conf } : {}),
        ...(p.slurm.bin_dir ? { binDir: p.slurm.bin_dir } : {}),
      }),
    );
  return { providers: out, catalogs };
}
