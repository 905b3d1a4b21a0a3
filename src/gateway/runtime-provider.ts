import { createHash } from 'node:crypto';
import type { DidSigner } from '../identity/jws.js';
import type { BookingRecord, LeaseRecord } from '../ledger/store.js';
import type { Provider } from '../providers/provider.js';
import { type Checkpoint, checkpointDigest, signCheckpoint, signReceipt } from '../runtime/proof.js';
import type { IdSource } from '../storage/ids.js';
import type { LeaseRuntimeRecord } from '../storage/store.js';
import { endLease, type LeaseRuntime } from './runtime.js';

/**
 * Leases run through a provider's own lease operations (`Provider.leases`: Slurm's sbatch, squeue
 * and scancel; a marketplace adapter with credentials). The gateway launches the work, polls its
 * state, and — since no agent of ours runs on the provider's machines — signs the proofs itself
 * with its own DID: a checkpoint when the provider reports the work running and one at its end
 * (with the usage the provider reported), then the receipt. They verify like a node's, and say
 * whose word they carry: the gateway's, on what the provider reported.
 */

export interface ProviderDriverDeps {
  providers: readonly Provider[];
  /** The offer's SKU and region as the provider knows them, or null when the offer is gone. */
  offerOf(offerId: string): { sku: string; region: string; interruptible: boolean } | null;
  gateway: DidSigner;
  ids: IdSource;
  terminate(rt: LeaseRuntime, r: LeaseRuntimeRecord): Promise<void>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function providerTerminate(providers: readonly Provider[]) {
  return async (_rt: LeaseRuntime, r: LeaseRuntimeRecord) => {
    const ops = providers.find((p) => p.info.name === r.provider)?.leases;
    const id = r.handle.provider_lease_id;
    if (ops && typeof id === 'string') await ops.terminate(id);
  };
}

export async function stepProviderLease(
  rt: LeaseRuntime,
  p: ProviderDriverDeps,
  r: LeaseRuntimeRecord,
  b: BookingRecord,
  l: LeaseRecord,
): Promise<boolean> {
  const ops = p.providers.find((x) => x.info.name === r.provider)?.leases;
  if (!ops) return (await endLease(rt, r, 'failed', `provider ${r.provider} no longer runs leases`)) !== null;
  const run = (b.summary as { run?: Record<string, unknown> }).run;
  if (r.state === 'pending') {
    const offer = p.offerOf(r.offer_id);
    if (!offer) return (await endLease(rt, r, 'failed', `offer ${r.offer_id} is gone`)) !== null;
    try {
      const st = await ops.launch({
        lease_id: r.lease_id,
        offer_sku: offer.sku,
        region: offer.region,
        nodes: l.nodes,
        interruptible: offer.interruptible,
        ...(run ? { run: { ...run, hours: l.hours } } : {}),
      });
      return (
        (await rt.move(r.lease_id, 'provisioning', `${r.provider} accepted it as ${st.provider_lease_id}`, {
          handle: { ...r.handle, provider_lease_id: st.provider_lease_id },
        })) !== null
      );
    } catch (err) {
      return (
        (await endLease(rt, r, 'failed', `${r.provider} refused the launch: ${(err as Error).message}`)) !==
        null
      );
    }
  }
  const id = String(r.handle.provider_lease_id ?? '');
  const st = await ops.status(id);
  const now = rt.deps.clock.now();
  switch (st.state) {
    case 'pending':
    case 'provisioning':
      return false;
    case 'running': {
      if (r.state === 'running') return false;
      await attest(rt, p, r, b, { seq: 0, at: now, cpu: 0 });
      const moved = await rt.move(r.lease_id, 'running', `${r.provider} reports job ${id} running`);
      await rt.deps.progress(r.lease_id, r.booking_id, 'running', now);
      return moved !== null;
    }
    case 'succeeded':
    case 'failed':
    case 'terminated': {
      if (r.state === 'provisioning') {
        await attest(rt, p, r, b, { seq: 0, at: now, cpu: 0 });
        await rt.move(r.lease_id, 'running', `${r.provider} reports job ${id} started`);
        await rt.deps.progress(r.lease_id, r.booking_id, 'running', now);
      }
      const u = await ops.usage(id).catch(() => null);
      const cpu = u && 'cpu_seconds' in u && typeof u.cpu_seconds === 'number' ? u.cpu_seconds : 0;
      const ok = st.state === 'succeeded';
      const exit = ok ? 0 : st.state === 'terminated' ? null : 1;
      const last = await rt.deps.repo.lastCheckpoint(r.lease_id);
      const end = await attest(rt, p, r, b, { seq: (last?.seq ?? -1) + 1, at: now, cpu });
      await sealReceipt(rt, p, r, b, end, { code: exit, reason: st.detail ?? st.state });
      const fresh = (await rt.deps.repo.getLease(r.lease_id)) ?? r;
      return (
        (await endLease(
          rt,
          fresh,
          ok ? 'completed' : st.state === 'terminated' ? 'cancelled' : 'failed',
          `${r.provider} reports job ${id} ${st.state}${st.detail ? `: ${st.detail}` : ''}`,
          { at: now, exit_code: exit },
        )) !== null
      );
    }
    default:
      return false;
  }
}

/** A checkpoint the gateway signs for what the provider reported, appended to the lease's chain. */
async function attest(
  rt: LeaseRuntime,
  p: ProviderDriverDeps,
  r: LeaseRuntimeRecord,
  _b: BookingRecord,
  x: { seq: number; at: number; cpu: number },
): Promise<{ jws: string; c: Checkpoint }> {
  const prev = await rt.deps.repo.lastCheckpoint(r.lease_id);
  const c: Checkpoint = {
    v: 1,
    lease_id: r.lease_id,
    seq: prev ? prev.seq + 1 : 0,
    at: Math.max(Math.floor(x.at / 1000), prev?.at ?? 0),
    cpu_seconds: Math.max(x.cpu, prev?.cpu_seconds ?? 0),
    peak_memory_bytes: prev?.peak_memory_bytes ?? 0,
    outputs_digest: null,
    prev: prev ? prev.digest : null,
    node: p.gateway.did,
  };
  const jws = signCheckpoint(c, p.gateway);
  await rt.deps.repo.appendCheckpoint({
    lease_id: r.lease_id,
    seq: c.seq,
    jws,
    digest: checkpointDigest(jws),
    at: c.at,
    cpu_seconds: c.cpu_seconds,
    peak_memory_bytes: c.peak_memory_bytes,
    received_at: rt.deps.clock.now(),
  });
  return { jws, c };
}

async function sealReceipt(
  rt: LeaseRuntime,
  p: ProviderDriverDeps,
  r: LeaseRuntimeRecord,
  b: BookingRecord,
  end: { jws: string; c: Checkpoint },
  exit: { code: number | null; reason: string },
): Promise<void> {
  if (await rt.deps.repo.receiptForLease(r.lease_id)) return;
  const first = (await rt.deps.repo.listCheckpoints(r.lease_id, { limit: 1 }))[0];
  const manifest = (b.summary as { manifest?: { jws?: string } }).manifest?.jws;
  const jws = signReceipt(
    {
      v: 1,
      lease_id: r.lease_id,
      booking_id: b.id,
      manifest_digest: manifest ? sha256(manifest) : null,
      outputs: [],
      usage: {
        cpu_seconds: end.c.cpu_seconds,
        wall_s: end.c.at - (first?.at ?? end.c.at),
        peak_memory_bytes: end.c.peak_memory_bytes,
      },
      exit_status: { code: exit.code, signal: null, reason: exit.reason },
      checkpoint_head: checkpointDigest(end.jws),
      checkpoints: end.c.seq + 1,
      node: p.gateway.did,
      completed_at: end.c.at,
    },
    p.gateway,
  );
  await rt.deps.repo.putReceipt({
    id: p.ids.next('rc'),
    lease_id: r.lease_id,
    booking_id: b.id,
    node: p.gateway.did,
    jws,
    digest: sha256(jws),
    received_at: rt.deps.clock.now(),
  });
}
