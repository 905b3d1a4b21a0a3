import type { Outcome } from '../ledger/bookings.js';
import { problem } from '../protocol/problem.js';
import type { Receipt } from '../runtime/proof-fields.js';
import type { LeaseRuntimeRecord } from '../storage/store.js';
import { type Caller, endLease, type LeaseRuntime } from './runtime.js';
import { heldForValidation, recordResult } from './validation.js';

/**
 * The node agent's side of the runtime: which leases it should run (a long poll, so work starts
 * within milliseconds of `/book`), which it should stop, and what its checkpoints and receipt mean
 * for the lease's state.
 */

/** The longest an agent's poll is held open, ms. */
export const MAX_WAIT_MS = 30_000;
/** Resume files travel inline with the assignment up to this many bytes in all. */
const MAX_RESUME_BYTES = 8 * 1024 * 1024;

export async function assignedWork(
  rt: LeaseRuntime,
  c: Caller,
  agent: string,
  waitMs: number,
): Promise<Outcome> {
  const d = rt.deps;
  const a = d.agents.list(null).find((x) => x.name === agent);
  if (!a || (c.role !== 'operator' && a.principal !== c.id))
    return {
      ok: false,
      problem: problem('not-found', `No node agent ${agent} for this principal.`, { param: 'name' }),
    };
  // Waiting is real time whatever clock the gateway keeps (a test's hand-moved clock included).
  const deadline = Date.now() + Math.min(Math.max(0, waitMs), MAX_WAIT_MS);
  for (;;) {
    const body = await collect(rt, agent, a.draining);
    if (body.leases.length > 0 || body.stop.length > 0 || Date.now() >= deadline || rt.closed)
      return { ok: true, status: 200, body: { agent, ...body } };
    // Woken by a booking for this agent on this replica, or re-checked each second (another
    // replica may have taken the booking).
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        rt.events.off(`agent:${agent}`, done);
        rt.events.off('close', done);
        resolve();
      };
      const t = setTimeout(done, Math.min(1000, Math.max(1, deadline - Date.now())));
      rt.events.on(`agent:${agent}`, done);
      rt.events.on('close', done);
    });
  }
}

async function collect(rt: LeaseRuntime, agent: string, draining: boolean) {
  const d = rt.deps;
  const open = await d.repo.listLeases({
    provider: agent,
    states: ['pending', 'provisioning'],
    limit: 1000,
  });
  const leases: Record<string, unknown>[] = [];
  for (const r of open.filter((x) => x.driver === 'agent').reverse()) {
    // A draining agent finishes what it has and takes nothing new.
    if (draining && r.state === 'pending') continue;
    const b = await d.ledger.getBooking(r.booking_id);
    const l = b?.leases.find((x) => x.id === r.lease_id);
    const s = b?.summary as { run?: unknown; manifest?: { jws?: string } } | undefined;
    if (!b || !l || !s?.run) continue;
    const taken =
      r.state === 'pending' ? await rt.move(r.lease_id, 'provisioning', `node ${agent} took the lease`) : r;
    if (!taken) continue;
    leases.push({
      lease_id: r.lease_id,
      booking_id: b.id,
      hours: l.hours,
      run: s.run,
      manifest: s.manifest?.jws ?? null,
      ...(r.handle.resume ? { resume: await resumeFiles(rt, r) } : {}),
    });
  }
  // Leases of this agent that ended while it may still run them (cancelled, failed over).
  const ended = await d.repo.listLeases({
    provider: agent,
    states: ['cancelled', 'failed', 'preempted'],
    limit: 100,
  });
  const since = d.clock.now() - 10 * 60_000;
  const stop = ended.filter((r) => r.driver === 'agent' && r.updated_at >= since).map((r) => r.lease_id);
  return { leases, stop };
}

/** The files a resumed lease starts from: the last outputs its predecessor uploaded. */
async function resumeFiles(rt: LeaseRuntime, r: LeaseRuntimeRecord) {
  const from = String((r.handle.resume as { lease_id: string }).lease_id);
  const last = await rt.deps.repo.lastCheckpoint(from);
  const files: { path: string; sha256: string; content_base64: string }[] = [];
  let total = 0;
  for (const o of await rt.deps.repo.listOutputs(from)) {
    total += o.bytes;
    if (total > MAX_RESUME_BYTES) break;
    const full = await rt.deps.repo.getOutput(from, o.name);
    if (full) files.push({ path: o.name, sha256: o.sha256, content_base64: full.data.toString('base64') });
  }
  return { from_lease: from, checkpoint_seq: last?.seq ?? null, files };
}

/** A verified checkpoint arrived: the first one means the work is running. */
export async function onCheckpoint(
  rt: LeaseRuntime,
  leaseId: string,
  bookingId: string,
  seq: number,
  at: number,
) {
  if (seq !== 0) return;
  const r = await rt.deps.repo.getLease(leaseId);
  if (r?.state === 'pending') await rt.move(leaseId, 'provisioning', 'the node sent its first checkpoint');
  await rt.move(leaseId, 'running', 'first verified checkpoint');
  await rt.deps.progress(leaseId, bookingId, 'running', at);
}

/**
 * A verified receipt's output digests must be those of the outputs the node uploaded: a node that
 * reports other results than it delivered is caught here; its lease fails and it is paid nothing.
 * Returns why the receipt is refused, or null.
 */
export async function refuseOutputs(
  rt: LeaseRuntime,
  leaseId: string,
  receipt: Receipt,
): Promise<string | null> {
  const r = await rt.deps.repo.getLease(leaseId);
  if (!r) return null;
  const stored = new Map((await rt.deps.repo.listOutputs(leaseId)).map((o) => [o.name, o.sha256]));
  const wrong = receipt.outputs.find((o) => stored.has(o.name) && stored.get(o.name) !== o.sha256);
  if (!wrong) return null;
  const detail = `the receipt's digest of output ${wrong.name} is not the digest of the bytes the node uploaded`;
  const ll = (await rt.deps.ledger.getBooking(r.booking_id))?.leases.find((l) => l.id === leaseId);
  await endLease(rt, r, 'failed', `result rejected: ${detail}`, {
    at: ll?.started_at ?? rt.deps.clock.now(),
  });
  return detail;
}

/** A verified receipt was stored: the lease completes (exit 0) or fails, paid up to its end. */
export async function onReceipt(rt: LeaseRuntime, leaseId: string, receipt: Receipt): Promise<void> {
  const r = await rt.deps.repo.getLease(leaseId);
  if (!r) return;
  // A run whose results are being validated waits, running, for its group's decision.
  if (await heldForValidation(rt, leaseId)) return recordResult(rt, leaseId, receipt);
  const code = receipt.exit_status.code;
  const ok = code === 0;
  await endLease(
    rt,
    r,
    ok ? 'completed' : 'failed',
    ok
      ? 'the node sent a verified receipt (exit 0)'
      : `the workload ended: ${receipt.exit_status.reason} (exit ${code ?? receipt.exit_status.signal})`,
    { at: receipt.completed_at * 1000, exit_code: code },
  );
}
