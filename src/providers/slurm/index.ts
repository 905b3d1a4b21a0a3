import type { CapabilityCatalog } from '../../capabilities/types.js';
import type { Clock } from '../../util/clock.js';
import type { OfferInput } from '../offer.js';
import type { ListOffersContext, Provider } from '../provider.js';
import { createSlurmClient, SLURM_PROVIDER_NAME, type SlurmClient, type SlurmExec } from './client.js';
import { createSlurmLeases, type SlurmLeaseOps } from './leases.js';
import { slurmOffers } from './offers.js';

export { SLURM_PROVIDER_NAME, type SlurmExec } from './client.js';
export type { SlurmLeaseUsage, SlurmRunSpec } from './leases.js';

export interface SlurmProviderOptions {
  clock: Clock;
  capabilities: CapabilityCatalog;
  /**
   * Parent of the per-lease work dirs (batch script, output.log). It must be on a filesystem the
   * compute nodes mount at the same path, since the job runs there.
   */
  workRoot: string;
  /** Default 'slurm'; set one per cluster when there are several. */
  name?: string;
  /** USD per node-hour; default 0 (the site's own allocation; the operator sets a price). */
  pricePerNodeHour?: number;
  /** Where the cluster is, for latency and region filters; default 'on-prem'. */
  region?: string;
  /** SLURM_CONF for every command; default the gateway's environment. */
  slurmConf?: string;
  /** Directory of sinfo, sbatch…; default PATH. */
  binDir?: string;
  /** Per-command limit in ms; default 20,000. */
  timeoutMs?: number;
  /** Runs the commands; injectable so tests can feed captured output. */
  exec?: SlurmExec;
}

export interface SlurmProvider extends Provider {
  leases: SlurmLeaseOps;
  /** The client, for health checks (`ping`) and tests. */
  client: SlurmClient;
}

/** A Slurm cluster as a provider: partitions' node shapes from sinfo, leases as batch jobs. */
export function createSlurmProvider(opts: SlurmProviderOptions): SlurmProvider {
  const name = opts.name ?? SLURM_PROVIDER_NAME;
  const client = createSlurmClient({
    name,
    ...(opts.slurmConf ? { slurmConf: opts.slurmConf } : {}),
    ...(opts.binDir ? { binDir: opts.binDir } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.exec ? { exec: opts.exec } : {}),
  });

  const provider = {
    info: {
      name,
      type: 'edge',
      description:
        'A Slurm cluster: one offer per partition and node shape from sinfo; leases are whole nodes run as batch jobs.',
      payment: [],
      verification: 'provider_attested',
      simulated: false,
      source: `sinfo/sbatch/squeue/scontrol with SLURM_CONF=${opts.slurmConf ?? process.env.SLURM_CONF ?? '(default)'}`,
    },
    features: {
      interruptible: false,
      multi_node: true,
      stop_resume: false,
      attestation: false,
      run_kinds: ['command'],
      unsupported: {
        interruptible:
          'preemption is a site policy sinfo does not show; leases are ordinary batch jobs, not preemptible ones',
        stop_resume:
          'Slurm can suspend and requeue a job (scontrol suspend/requeue), but this adapter does not call it',
        attestation: 'Slurm reports the hardware slurmd registered; nothing attests it',
        sandbox:
          'jobs run as the Slurm user with the node’s network and filesystems: run.network=false is not ' +
          'enforced, run.inputs are not staged (refused) and run.outputs are not digested',
      },
    },
    refresh_interval_s: 60,

    async listOffers(_ctx: ListOffersContext): Promise<OfferInput[]> {
      const nodes = await client.sinfo();
      return slurmOffers(nodes, {
        provider: name,
        observedAt: opts.clock.now(),
        capabilities: opts.capabilities,
        pricePerNodeHour: opts.pricePerNodeHour ?? 0,
        region: opts.region ?? 'on-prem',
      });
    },

    leases: createSlurmLeases({ name, client, workRoot: opts.workRoot }),
    client,
  } satisfies SlurmProvider;
  return provider;
}
