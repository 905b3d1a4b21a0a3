import type { LaunchRequest, LeaseOps, LeaseState, LeaseStatus } from '../provider.js';
import { ProviderError } from '../provider.js';
import { isObject, VAST_PROVIDER_NAME, type VastClient, type VastCreateBody } from './client.js';

/**
 * Lease operations on Vast: launch = accept an ask (PUT /asks/{id}/), status and usage =
 * show_instance, terminate = destroy_instance. The runtime (issue 6) is the only caller.
 */

/** What `LaunchRequest.run` may carry for Vast. Only `image` is required (here or as a default). */
export interface VastRunSpec {
  image?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Container ports to expose (`-p N:N`). */
  ports?: number[];
  disk_gb?: number;
  onstart?: string;
  /** Bid for an interruptible lease, $/h for the whole offer; default the offer's current min_bid. */
  bid_price_per_hour?: number;
}

export interface VastLeaseDeps {
  client: VastClient;
  /** The current minimum bid of an offer (from the last bid search), or null when unknown. */
  minBidFor(sku: string): number | null;
  defaultImage?: string;
  defaultDiskGb?: number;
}

const fail = (message: string, status?: number) => new ProviderError(VAST_PROVIDER_NAME, message, status);

/** Vast's `actual_status` values (show_instance.yaml); `null` means still provisioning. */
const ACTUAL_STATUSES = [
  'created',
  'loading',
  'running',
  'stopped',
  'frozen',
  'exited',
  'rebooting',
  'unknown',
  'offline',
] as const;
type VastActualStatus = (typeof ACTUAL_STATUSES)[number];

function assertNever(x: never): never {
  throw new Error(`unhandled Vast status ${String(x)}`);
}

/**
 * One show_instance object (or null: Vast no longer knows it) → our lease state. Vast does not
 * report a container's exit code, so `exited` is `succeeded` with a detail saying so; the runtime
 * checks the job's own result. An unrecognised status is a broken contract → ProviderError.
 */
export function vastLeaseState(inst: Record<string, unknown> | null): { state: LeaseState; detail?: string } {
  if (inst === null) return { state: 'terminated', detail: 'Vast no longer lists the instance' };
  if (inst.cur_state === 'unloaded')
    return { state: 'terminated', detail: 'instance destroyed (cur_state=unloaded)' };
  const msg = typeof inst.status_msg === 'string' ? inst.status_msg : undefined;
  const actual = inst.actual_status;
  if (actual === null || actual === undefined)
    return { state: 'provisioning', detail: msg ?? 'waiting for the host' };
  if (typeof actual !== 'string' || !(ACTUAL_STATUSES as readonly string[]).includes(actual)) {
    throw fail(`show_instance gave an unrecognised actual_status ${JSON.stringify(actual)}`, 200);
  }
  const s = actual as VastActualStatus;
  switch (s) {
    case 'created':
      // dstack's failure signal: the container never started.
      if (msg?.includes('OCI runtime create failed')) return { state: 'failed', detail: msg };
      return { state: 'provisioning', detail: msg ?? 'container created' };
    case 'loading':
    case 'rebooting':
      return { state: 'provisioning', detail: msg ?? s };
    case 'running':
      return { state: 'running' };
    case 'exited':
      return {
        state: 'succeeded',
        detail: `container exited; Vast reports no exit code (${msg ?? 'no message'})`,
      };
    case 'stopped':
      // Interrupted/outbid: Vast stops the instance and intends it stopped (dstack's rule).
      if (
        inst.intended_status === 'stopped' &&
        inst.cur_state === 'stopped' &&
        inst.next_state === 'stopped'
      ) {
        return { state: 'failed', detail: 'interrupted: the instance was outbid or stopped by Vast' };
      }
      return { state: 'pending', detail: msg ?? 'stopped, waiting for the host to start it' };
    case 'frozen':
      return { state: 'pending', detail: msg ?? 'frozen (paused in memory)' };
    case 'unknown':
      // No heartbeat for a while: usually transient, so not a failure yet; the runtime's own
      // health checks decide when to fail over.
      return { state: 'running', detail: 'no heartbeat from the host (actual_status=unknown)' };
    case 'offline':
      return { state: 'failed', detail: 'the host disconnected from Vast (actual_status=offline)' };
    default:
      return assertNever(s);
  }
}

/** LaunchRequest.run → a checked VastRunSpec (ProviderError for a wrong shape: caller's mistake). */
export function parseRunSpec(run: unknown): VastRunSpec {
  if (run === undefined || run === null) return {};
  if (!isObject(run)) throw fail('launch: run must be an object like {"image": "...", "args": [...]}');
  const spec: VastRunSpec = {};
  if (run.image !== undefined) {
    if (typeof run.image !== 'string' || run.image === '') throw fail('launch: run.image must be a string');
    spec.image = run.image;
  }
  if (run.args !== undefined) {
    if (!Array.isArray(run.args) || !run.args.every((a) => typeof a === 'string')) {
      throw fail('launch: run.args must be an array of strings');
    }
    spec.args = run.args;
  }
  if (run.env !== undefined) {
    if (!isObject(run.env) || !Object.values(run.env).every((v) => typeof v === 'string')) {
      throw fail('launch: run.env must map names to strings');
    }
    spec.env = run.env as Record<string, string>;
  }
  if (run.ports !== undefined) {
    if (!Array.isArray(run.ports) || !run.ports.every((p) => Number.isInteger(p) && p > 0 && p < 65536)) {
      throw fail('launch: run.ports must be an array of port numbers');
    }
    spec.ports = run.ports;
  }
  for (const k of ['disk_gb', 'bid_price_per_hour'] as const) {
    const v = run[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0)) throw fail(`launch: run.${k} must be a positive number`);
    spec[k] = v;
  }
  if (run.onstart !== undefined) {
    if (typeof run.onstart !== 'string') throw fail('launch: run.onstart must be a string');
    spec.onstart = run.onstart;
  }
  return spec;
}

/** Vast's documented env form: Docker flags, `-e K=V -p 8000:8000`. No quoting exists in it. */
export function envFlags(env: Record<string, string>, ports: number[]): string {
  const flags: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      throw fail(`launch: env name ${JSON.stringify(k)} is not a valid name`);
    if (/\s/.test(v))
      throw fail(`launch: env ${k} contains whitespace, which Vast's "-e K=V" form cannot carry`);
    flags.push(`-e ${k}=${v}`);
  }
  for (const p of ports) flags.push(`-p ${p}:${p}`);
  return flags.join(' ');
}

/** The PUT /asks/{id}/ body for a launch request (pure; `bid` null means on-demand). */
export function buildCreateBody(
  req: LaunchRequest,
  spec: VastRunSpec,
  deps: VastLeaseDeps,
  bid: number | null,
): VastCreateBody {
  const image = spec.image ?? deps.defaultImage;
  if (!image) throw fail('launch: no image. To fix: pass run.image (a Docker image) or set a default image');
  return {
    client_id: 'me',
    image,
    disk: spec.disk_gb ?? deps.defaultDiskGb ?? 20,
    label: `computemd-${req.lease_id}`,
    runtype: 'args',
    args: spec.args ?? null,
    env: envFlags(spec.env ?? {}, spec.ports ?? []),
    onstart: spec.onstart ?? null,
    price: bid,
    // On-demand: fail rather than queue when the machine is taken; a bid must be allowed to wait.
    cancel_unavail: bid === null,
    target_state: 'running',
  };
}

export function createVastLeases(deps: VastLeaseDeps): LeaseOps {
  const { client } = deps;

  async function status(providerLeaseId: string): Promise<LeaseStatus> {
    const inst = await client.showInstance(providerLeaseId);
    return { provider_lease_id: providerLeaseId, ...vastLeaseState(inst) };
  }

  return {
    async launch(req) {
      if (req.nodes !== 1) {
        throw fail(
          `launch: a Vast offer is one machine; asked for ${req.nodes} nodes. To fix: book one lease per node`,
        );
      }
      const spec = parseRunSpec(req.run);
      let bid: number | null = null;
      if (req.interruptible) {
        bid = spec.bid_price_per_hour ?? deps.minBidFor(req.offer_sku);
        if (bid === null) {
          throw fail(
            `launch: no current min_bid known for offer ${req.offer_sku}. To fix: pass run.bid_price_per_hour`,
          );
        }
      }
      const res = await client.createInstance(req.offer_sku, buildCreateBody(req, spec, deps, bid));
      if (res.new_contract === null) {
        throw fail(
          `launch: Vast did not create an instance for offer ${req.offer_sku} (${res.msg ?? 'no message'})`,
        );
      }
      const id = String(res.new_contract);
      // success=false with a contract: a bid below the current price, created stopped (dstack).
      if (!res.success)
        return { provider_lease_id: id, state: 'pending', detail: res.msg ?? 'bid too low; stopped' };
      return { provider_lease_id: id, state: 'provisioning' };
    },

    status,

    async terminate(providerLeaseId) {
      await client.destroyInstance(providerLeaseId);
      return { provider_lease_id: providerLeaseId, state: 'terminated' };
    },

    async usage(providerLeaseId) {
      const inst = await client.showInstance(providerLeaseId);
      if (inst === null)
        throw fail(`usage: Vast no longer lists instance ${providerLeaseId}; use the last reading`, 404);
      // `duration` is the instance's run time in seconds; uptime_mins is the coarser fallback.
      const secs =
        typeof inst.duration === 'number'
          ? inst.duration
          : typeof inst.uptime_mins === 'number'
            ? inst.uptime_mins * 60
            : null;
      if (secs === null)
        throw fail(`usage: instance ${providerLeaseId} reports neither duration nor uptime_mins`, 200);
      return { provider_lease_id: providerLeaseId, node_seconds: secs };
    },
  };
}
