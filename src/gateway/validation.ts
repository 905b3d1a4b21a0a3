import { createHash } from 'node:crypto';
import { decodeJws } from '../identity/jws.js';
import type { Outcome } from '../ledger/bookings.js';
import type { SpendLimit } from '../ledger/budgets.js';
import type { BookingRecord } from '../ledger/store.js';
import { type Problem, problem } from '../protocol/problem.js';
import type { Receipt } from '../runtime/proof-fields.js';
import { type RunSpec, runRequest } from '../runtime/run-spec.js';
import type { LeaseRuntimeRecord, ValidationRecord } from '../storage/store.js';
import type { FailoverDeps } from './failover.js';
import type { Caller, LeaseRuntime } from './runtime.js';

/**
 * Result validation (issue 6, part 7). A booking with `validation: {replicas: k, referee?}` runs
 * its work on k distinct providers: the booked lease and k − 1 replicas, each a booking of its own
 * made for the requester (key `replica:<lease>:<n>`). When every run has its verified receipt their
 * results are compared (exit code and every output's digest):
 *
 * - all agree: each is paid for its proven time;
 * - they disagree: a referee run on a provider the requester trusts (`referee`, else a node agent
 *   that is up and took no part) decides; a run that disagrees with the referee is not paid, its
 *   node's reliability drops, and the record stays as a dispute (`GET /disputes`).
 *
 * Until the decision, no run of the group is paid: the runtime moves each lease as its receipt
 * arrives, but its end is only told to the ledger here.
 */

export const REPLICA_KEY = 'replica:';
export const REFEREE_KEY = 'referee:';
const DISPUTE_STATES = ['refereeing', 'resolved', 'unresolved'];
/** How long a group waits for a replica or a referee to become bookable before it is unresolved. */
const PATIENCE_MS = 60_000;

export interface ValidationDeps {
  failover: FailoverDeps;
  /** Node agents that are up and not draining, and providers with lease operations, by name. */
  runners(): string[];
  penalize(provider: string): void;
}

/** The result a run reports, as one comparable digest: exit code and every output's digest, sorted. */
export function resultDigest(r: {
  outputs: { name: string; sha256: string }[] | null;
  exit_code: number | null;
}): string {
  const outs = [...(r.outputs ?? [])]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((o) => `${o.name}:${o.sha256}`);
  return createHash('sha256')
    .update(JSON.stringify([r.exit_code, outs]))
    .digest('hex');
}

/** Called when a booking is made: a validated booking gets its record (its replicas come from the tick). */
export async function onValidatedBooking(
  rt: LeaseRuntime,
  b: BookingRecord,
  key: string | null,
): Promise<void> {
  const v = (b.summary as { validation?: { replicas: number; referee: string | null } }).validation;
  const lease = b.leases[0];
  // A replica or a referee joins its group inside its own booking, before any node can take the
  // lease: a fast run could otherwise finish before the group knows it, and be paid unchecked.
  const join = key?.startsWith(REPLICA_KEY) ? 'replica' : key?.startsWith(REFEREE_KEY) ? 'referee' : null;
  if (join && lease && key) {
    const primary = key
      .slice((join === 'replica' ? REPLICA_KEY : REFEREE_KEY).length)
      .split(':')[0] as string;
    await change(rt, primary, (x) =>
      x.runs.some((r) => r.lease_id === lease.id)
        ? null
        : {
            ...x,
            ...(join === 'referee' ? { state: 'refereeing' } : {}),
            runs: [
              ...x.runs,
              { lease_id: lease.id, provider: lease.provider, role: join, outputs: null, exit_code: null },
            ],
          },
    );
    return;
  }
  if (!v || !lease) return;
  if (await rt.deps.repo.validationForLease(lease.id)) return;
  const now = rt.deps.clock.now();
  await rt.deps.repo
    .insertValidation({
      id: `vd_${lease.id.slice(3)}`,
      requester: b.requester,
      booking_id: b.id,
      lease_id: lease.id,
      replicas_wanted: v.replicas,
      runs: [
        { lease_id: lease.id, provider: lease.provider, role: 'primary', outputs: null, exit_code: null },
      ],
      state: 'running',
      decision: null,
      version: 1,
      created_at: now,
      updated_at: now,
    })
    .catch(() => {});
}

/** Whether a lease's end waits for its group's decision (the runtime then does not pay it yet). */
export async function heldForValidation(rt: LeaseRuntime, leaseId: string): Promise<boolean> {
  const v = await rt.deps.repo.validationForLease(leaseId);
  return v !== null && (v.state === 'running' || v.state === 'refereeing');
}

/** A run of a group sent its verified receipt: record its result. */
export async function recordResult(rt: LeaseRuntime, leaseId: string, receipt: Receipt): Promise<void> {
  await change(rt, leaseId, (v) => ({
    ...v,
    runs: v.runs.map((r) =>
      r.lease_id === leaseId
        ? {
            ...r,
            outputs: receipt.outputs.map((o) => ({ name: o.name, sha256: o.sha256 })),
            exit_code: receipt.exit_status.code,
          }
        : r,
    ),
  }));
}

async function change(
  rt: LeaseRuntime,
  leaseId: string,
  f: (v: ValidationRecord) => ValidationRecord | null,
) {
  for (let i = 0; i < 8; i++) {
    const v = await rt.deps.repo.validationForLease(leaseId);
    if (!v) return null;
    const next = f(v);
    if (!next) return v;
    const u = await rt.deps.repo.updateValidation({ ...next, updated_at: rt.deps.clock.now() }, v.version);
    if (u.kind === 'updated') return u.validation;
    if (u.kind === 'not_found') return null;
  }
  return null;
}

/**
 * The tick's work on open groups: book missing replicas, compare results once all are in, book a
 * referee on disagreement, decide once the referee has spoken.
 */
export async function stepValidations(rt: LeaseRuntime, d: ValidationDeps): Promise<void> {
  const open = await rt.deps.repo.listValidations({ states: ['running', 'refereeing'], limit: 1000 });
  for (const v of open) await stepOne(rt, d, v);
}

async function stepOne(rt: LeaseRuntime, d: ValidationDeps, v: ValidationRecord): Promise<void> {
  const b = await rt.deps.ledger.getBooking(v.booking_id);
  if (!b) return;
  const runs = v.runs.filter((r) => r.role !== 'referee');
  if (v.state === 'running' && runs.length < v.replicas_wanted) {
    const n = runs.length;
    // Replicas keep off the referee the requester named: it must stay an outside judge.
    const referee = (b.summary as { validation?: { referee: string | null } }).validation?.referee;
    const exclude = [...v.runs.map((r) => r.provider), ...(referee ? [referee] : [])];
    const lease = await book(d, v, b, `${REPLICA_KEY}${v.lease_id}:${n}`, exclude, null);
    if (lease)
      await change(rt, v.lease_id, (x) => ({
        ...x,
        runs: x.runs.some((r) => r.lease_id === lease.lease_id)
          ? x.runs
          : [...x.runs, { ...lease, role: 'replica', outputs: null, exit_code: null }],
      }));
    // Nodes join and free up: keep trying for a while before giving up on the group.
    else if (rt.deps.clock.now() - v.created_at < PATIENCE_MS) return;
    else
      await decide(
        rt,
        d,
        v,
        'unresolved',
        null,
        `only ${n} of ${v.replicas_wanted} distinct providers could run it`,
      );
    return;
  }
  // A run that ended without a receipt (its node died, it was cancelled) cannot be compared.
  const records = await Promise.all(v.runs.map((r) => rt.deps.repo.getLease(r.lease_id)));
  const lost = v.runs.find((r, i) => r.outputs === null && isOver(records[i] ?? null));
  if (lost)
    return decide(
      rt,
      d,
      v,
      'unresolved',
      null,
      `run ${lost.lease_id} on ${lost.provider} ended without a result`,
    );
  if (v.runs.some((r) => r.outputs === null)) return;
  const digests = runs.map(resultDigest);
  if (v.state === 'running') {
    if (digests.every((x) => x === digests[0]))
      return decide(rt, d, v, 'agreed', digests[0] ?? null, 'every run agreed');
    const want = (b.summary as { validation?: { referee: string | null } }).validation?.referee ?? null;
    const lease = await book(
      d,
      v,
      b,
      `${REFEREE_KEY}${v.lease_id}`,
      v.runs.map((r) => r.provider),
      want,
    );
    if (!lease && rt.deps.clock.now() - v.updated_at < PATIENCE_MS) return;
    if (!lease)
      return decide(rt, d, v, 'unresolved', null, 'the runs disagree and no trusted referee could run it');
    await change(rt, v.lease_id, (x) => ({
      ...x,
      state: 'refereeing',
      runs: x.runs.some((r) => r.lease_id === lease.lease_id)
        ? x.runs
        : [...x.runs, { ...lease, role: 'referee', outputs: null, exit_code: null }],
    }));
    return;
  }
  const referee = v.runs.find((r) => r.role === 'referee');
  if (referee)
    await decide(rt, d, v, 'resolved', resultDigest(referee), `the referee ${referee.provider} decided`);
}

const isOver = (r: LeaseRuntimeRecord | null) =>
  r !== null && ['failed', 'cancelled', 'preempted'].includes(r.state);

async function book(
  d: ValidationDeps,
  v: ValidationRecord,
  b: BookingRecord,
  key: string,
  exclude: string[],
  only: string | null,
): Promise<{ lease_id: string; provider: string } | null> {
  const l = b.leases.find((x) => x.id === v.lease_id);
  const s = b.summary as { run?: RunSpec; manifest?: { jws?: string }; limits?: SpendLimit[] };
  if (!l || !s.run) return null;
  const runners = new Set(d.runners());
  const offers = d.failover
    .alternatives({ offer_id: l.offer_id, provider: l.provider, run_kind: s.run.kind, resource_type: null })
    .filter((id) => {
      const p = d.failover.providerOf(id);
      return p !== null && runners.has(p) && !exclude.includes(p) && (only === null || p === only);
    });
  for (const offerId of offers) {
    const out = await d.failover.book(
      { id: b.requester, role: 'requester', limits: s.limits ?? [] },
      {
        allocations: [{ offer_id: offerId, nodes: l.nodes, hours: l.hours }],
        payment: { method: b.payment.method, model: b.payment.model, stream: b.payment.stream },
        run: runRequest(s.run),
        ...(s.manifest?.jws ? { manifest: s.manifest.jws } : {}),
      },
      key,
    );
    if (out.ok) {
      const lease = (out.body as { allocations?: { lease_id?: string; provider?: string }[] })
        .allocations?.[0];
      if (lease?.lease_id && lease.provider) return { lease_id: lease.lease_id, provider: lease.provider };
    }
  }
  return null;
}

/** Records the decision and tells the ledger how each run ended: paid for proven time, or not at all. */
async function decide(
  rt: LeaseRuntime,
  d: ValidationDeps,
  v: ValidationRecord,
  state: 'agreed' | 'resolved' | 'unresolved',
  accepted: string | null,
  detail: string,
): Promise<void> {
  const losers =
    accepted === null ? [] : v.runs.filter((r) => r.outputs !== null && resultDigest(r) !== accepted);
  const done = await change(rt, v.lease_id, (x) =>
    x.state === state
      ? null
      : { ...x, state, decision: { accepted, losers: losers.map((r) => r.provider), detail } },
  );
  if (!done) return;
  for (const r of v.runs) {
    const rec = await rt.deps.repo.getLease(r.lease_id);
    // Runs wait in `running` with their receipt stored; one that ended otherwise was settled then.
    if (rec?.state !== 'running' || r.outputs === null) continue;
    const b = await rt.deps.ledger.getBooking(rec.booking_id);
    const l = b?.leases.find((x) => x.id === r.lease_id);
    if (losers.some((x) => x.lease_id === r.lease_id)) {
      d.penalize(r.provider);
      await rt.move(
        r.lease_id,
        'failed',
        `result validation: its results disagree with the accepted ones (${detail})`,
        {
          exit_code: r.exit_code,
        },
      );
      await rt.deps.progress(r.lease_id, rec.booking_id, 'failed', l?.started_at ?? rt.deps.clock.now());
      continue;
    }
    const receipt = await rt.deps.repo.receiptForLease(r.lease_id);
    const at = receipt
      ? (decodeJws(receipt.jws).payload as Receipt).completed_at * 1000
      : rt.deps.clock.now();
    const to = r.exit_code === 0 ? 'completed' : 'failed';
    await rt.move(r.lease_id, to, `result validation: ${state} (${detail}); exit ${r.exit_code ?? 'none'}`, {
      exit_code: r.exit_code,
    });
    await rt.deps.progress(r.lease_id, rec.booking_id, to, at);
  }
}

export async function listDisputes(
  rt: LeaseRuntime,
  c: Caller,
  q: Record<string, string | undefined>,
): Promise<Outcome> {
  const limit = q.limit === undefined ? 50 : /^\d{1,4}$/.test(q.limit) ? Number(q.limit) : Number.NaN;
  if (!(limit >= 1 && limit <= 200))
    return fail(
      problem('invalid-parameter', 'limit must be a whole number from 1 to 200', { param: 'limit' }),
    );
  if (q.cursor !== undefined && !/^vd_[0-9a-z]{26}$/.test(q.cursor))
    return fail(
      problem('invalid-parameter', 'cursor must be the next_cursor of a previous page', { param: 'cursor' }),
    );
  const rows = await rt.deps.repo.listValidations({
    ...(c.role === 'operator' ? {} : { requester: c.id }),
    states: DISPUTE_STATES,
    ...(q.cursor ? { before: q.cursor } : {}),
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  return {
    ok: true,
    status: 200,
    body: {
      disputes: page.map(disputeToWire),
      next_cursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
    },
  };
}

export async function getDispute(rt: LeaseRuntime, c: Caller, id: string): Promise<Outcome> {
  const v = /^vd_[0-9a-z]{26}$/.test(id) ? await rt.deps.repo.getValidation(id) : null;
  if (!v || (c.role !== 'operator' && v.requester !== c.id))
    return fail(
      problem('not-found', `No dispute ${id} for this principal. GET /disputes lists yours.`, {
        param: 'id',
      }),
    );
  return { ok: true, status: 200, body: disputeToWire(v) };
}

function disputeToWire(v: ValidationRecord) {
  return {
    id: v.id,
    booking_id: v.booking_id,
    lease_id: v.lease_id,
    state: v.state,
    replicas: v.replicas_wanted,
    runs: v.runs.map((r) => ({ ...r, result_digest: r.outputs === null ? null : resultDigest(r) })),
    decision: v.decision,
    created_at: new Date(v.created_at).toISOString(),
    updated_at: new Date(v.updated_at).toISOString(),
  };
}

const fail = (p: Problem): Outcome => ({ ok: false, problem: p });
