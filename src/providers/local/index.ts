import type { CapabilityCatalog } from '../../capabilities/types.js';
import type { Clock } from '../../util/clock.js';
import type { OfferInput } from '../offer.js';
import type { ListOffersContext, Provider } from '../provider.js';
import {
  type ExecFn,
  execFileFn,
  type HostFacts,
  hostFacts,
  LOCAL_PROVIDER_NAME,
  probeGpus,
} from './client.js';
import { localOffers } from './offers.js';

export { LOCAL_PROVIDER_NAME, parseNvidiaSmi } from './client.js';

export interface LocalProviderOptions {
  clock: Clock;
  capabilities: CapabilityCatalog;
  /** USD per node-hour; default 0 (it is your own machine). */
  pricePerHour?: number;
  /** Default 'local'. */
  region?: string;
  /** Runs nvidia-smi; injectable so tests can feed sample output. */
  exec?: ExecFn;
  /** Reads CPUs and memory; injectable for tests, default the real OS. */
  host?: () => HostFacts;
}

/** This host as a real provider: its CPUs, memory and NVIDIA GPUs, read live on each refresh. */
export function createLocalProvider(opts: LocalProviderOptions): Provider {
  const exec = opts.exec ?? execFileFn();
  const readHost = opts.host ?? hostFacts;
  const host = readHost();

  const provider = {
    info: {
      name: LOCAL_PROVIDER_NAME,
      type: 'edge',
      description:
        'This host, read from the OS and nvidia-smi. Figures are as the OS reports them (provider_attested) ' +
        'until the node agent measures them by benchmark.',
      payment: [],
      verification: 'provider_attested',
      simulated: false,
      source: 'this host: os.cpus(), os.totalmem(), nvidia-smi --query-gpu=name,memory.total',
      extra: {
        platform: host.platform,
        arch: host.arch,
        ...(host.cpu_model ? { cpu_model: host.cpu_model } : {}),
      },
    },
    features: {
      interruptible: false,
      multi_node: false,
      stop_resume: false,
      attestation: false,
      run_kinds: [],
      unsupported: {
        leases: 'the node agent (issue 6) executes work; the in-process local provider lists capacity only',
        interruptible: 'your own host is never preempted, so there is no interruptible market for it',
        multi_node: 'the local provider is this one host; more hosts join through their own node agents',
        stop_resume: 'no leases here, so nothing to stop or resume',
        attestation: 'no hardware attestation of this host yet',
      },
    },
    refresh_interval_s: 60,

    async listOffers(_ctx: ListOffersContext): Promise<OfferInput[]> {
      const observedAt = opts.clock.now();
      const probe = await probeGpus(exec);
      return localOffers(readHost(), probe, {
        observedAt,
        capabilities: opts.capabilities,
        pricePerHour: opts.pricePerHour ?? 0,
        region: opts.region ?? 'local',
      });
    },

    leases: null,
  } satisfies Provider;
  return provider;
}
