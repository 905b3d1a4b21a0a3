import { type DidResolver, decodeJws } from '../identity/jws.js';
import type { Outcome } from '../ledger/bookings.js';
import type { LeaseProgress } from '../ledger/service.js';
import type { BookingRecord, LedgerStore } from '../ledger/store.js';
import { type Problem, problem } from '../protocol/problem.js';
import {
  type Checkpoint,
  checkpointDigest,
  ProofError,
  receiptDigest,
  verifyCheckpoint,
  verifyReceipt,
} from '../runtime/proof.js';
import { DuplicateError } from '../storage/errors.js';
import type { IdSource } from '../storage/ids.js';
import type { RuntimeRepository } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import type { AgentRecord, AgentRegistry } from './agents.js';
import type { LeaseRuntime } from './runtime.js';
import { assignedWork, onCheckpoint, onReceipt, refuseOutputs } from './runtime-agents.js';

/**
 * Proof of compute at the gateway (issue 6, parts 4 and 5): a node agent sends each checkpoint of
 * a lease as it signs it, and the receipt at the end. The gateway verifies each on arrival against
 * the agent's DID and the chain stored so far (runtime/proof.ts), stores it, and serves it back as
 * the node signed it, so anyone can verify it offline with the node's did:key.
 *
 * - Only the principal that registered the lease's node agent may send its proofs (or the
 *   operator). Anyone else, like anyone without a right to see the lease, gets 404: existence is
 *   not leaked.
 * - A checkpoint that does not follow the stored chain (a resend, a gap, a fork) is 409; a bad
 *   signature or another node's key is 422 `invalid-signature`; a malformed one is 400.
 * - A lease has one receipt; it must agree with the stored chain (head, count, usage).
 */

export interface Caller {
  id: string;
  role: string;
}

export interface LeaseProofs {
  addCheckpoint(c: Caller, leaseId: string, jws: unknown): Promise<Outcome>;
  checkpoints(c: Caller, leaseId: string, q: { after?: string; limit?: string }): Promise<Outcome>;
  addReceipt(c: Caller, leaseId: string, jws: unknown): Promise<Outcome>;
  receipt(c: Caller, id: string): Promise<Outcome>;
  /** The receipt of a lease, once there is one. */
  leaseReceipt(c: Caller, leaseId: string): Promise<Outcome>;
  /** The leases a node agent should run: pending leases on it whose booking carries a run. */
  assigned(c: Caller, agent: string, waitMs?: number): Promise<Outcome>;
}

export interface LeaseProofsDeps {
  runtime: RuntimeRepository;
  ledger: LedgerStore;
  agents: AgentRegistry;
  resolveDid: DidResolver;
  clock: Clock;
  ids: IdSource;
  /** Tells the ledger a lease started or ended (LedgerService.leaseProgress). */
  /** The lease runtime: it moves lease states on checkpoints and receipts and assigns work. */
  leases?: LeaseRuntime;
  progress?: (leaseId: string, bookingId: string, to: LeaseProgress, at: number) => Promise<boolean>;
}

const fail = (p: Problem): Outcome => ({ ok: false, problem: p });
const notFound = (what: string) =>
  fail(problem('not-found', `No ${what} for this principal.`, { param: 'id' }));

function proofProblem(err: ProofError, param: string): Problem {
  const ext = { param, reason: err.code, ...(err.index !== undefined ? { index: err.index } : {}) };
  switch (err.code) {
    case 'bad_signature':
    case 'wrong_signer':
      return problem('invalid-signature', `${err.message}.`, ext);
    case 'out_of_order':
    case 'broken_chain':
    case 'time_backwards':
    case 'usage_decreasing':
    case 'wrong_lease':
      return problem(
        'conflict',
        `${err.message}. The stored chain stands; send the checkpoint that follows it.`,
        ext,
      );
    default:
      return problem('invalid-body', `${param}: ${err.message}`, {
        ...ext,
        ...(err.problems
          ? { invalid_params: err.problems.map((p) => ({ name: p.param, reason: p.detail })) }
          : {}),
      });
  }
}

export function createLeaseProofs(d: LeaseProofsDeps): LeaseProofs {
  /** The lease, its booking and its node agent, when the caller may see them; null otherwise. */
  async function find(
    c: Caller,
    leaseId: string,
    as: 'node' | 'reader',
  ): Promise<{ booking: BookingRecord; agent: AgentRecord | null } | null> {
    const bookingId = await d.ledger.leaseBooking(leaseId);
    if (!bookingId) return null;
    const booking = await d.ledger.getBooking(bookingId);
    const lease = booking?.leases.find((l) => l.id === leaseId);
    if (!booking || !lease) return null;
    const agent = d.agents.list(null).find((a) => a.name === lease.provider) ?? null;
    const isNode = agent !== null && agent.principal === c.id;
    const ok = c.role === 'operator' || isNode || (as === 'reader' && booking.requester === c.id);
    return ok ? { booking, agent } : null;
  }

  /**
   * A lease whose node agent is not registered now: 404 while its agent may still register again
   * (a gateway restart forgets agents until their next heartbeat), 409 when no agent runs it.
   */
  async function notOnAgent(leaseId: string, what: string): Promise<Outcome> {
    const r = await d.leases?.deps.repo.getLease(leaseId);
    if (r?.driver === 'agent')
      return fail(
        problem(
          'not-found',
          `The node agent ${r.provider} of lease ${leaseId} is not registered now; it registers again with its next heartbeat.`,
          {
            param: 'id',
          },
        ),
      );
    return fail(
      problem('conflict', `Lease ${leaseId} is not on a node agent: only node agents send ${what}.`, {
        param: 'id',
      }),
    );
  }

  async function chain(leaseId: string): Promise<string[]> {
    const out: string[] = [];
    for (let after: number | undefined; ; ) {
      const page = await d.runtime.listCheckpoints(leaseId, {
        ...(after !== undefined ? { after } : {}),
        limit: 1000,
      });
      out.push(...page.map((c) => c.jws));
      if (page.length < 1000) return out;
      after = page.at(-1)?.seq;
    }
  }

  return {
    async addCheckpoint(c, leaseId, jws) {
      const found = await find(c, leaseId, 'node');
      if (!found) return notFound(`lease ${leaseId}`);
      if (!found.agent) return notOnAgent(leaseId, 'checkpoints');
      if (typeof jws !== 'string' || jws.length === 0 || jws.length > 65_536)
        return fail(
          problem('invalid-body', '/checkpoint: must be the compact JWS the node signed', {
            param: '/checkpoint',
          }),
        );
      const last = await d.runtime.lastCheckpoint(leaseId);
      const prev = last ? { jws: last.jws, checkpoint: decodeJws(last.jws).payload as Checkpoint } : null;
      let cp: Checkpoint;
      try {
        cp = await verifyCheckpoint(jws, d.resolveDid, { lease_id: leaseId, node: found.agent.did, prev });
      } catch (err) {
        // The seq the chain expects next, so a node resending after a lost reply knows to move on.
        if (err instanceof ProofError)
          return fail({ ...proofProblem(err, '/checkpoint'), expected_seq: last ? last.seq + 1 : 0 });
        throw err;
      }
      const digest = checkpointDigest(jws);
      try {
        await d.runtime.appendCheckpoint({
          lease_id: leaseId,
          seq: cp.seq,
          jws,
          digest,
          at: cp.at,
          cpu_seconds: cp.cpu_seconds,
          peak_memory_bytes: cp.peak_memory_bytes,
          received_at: d.clock.now(),
        });
      } catch (err) {
        if (err instanceof DuplicateError)
          return fail(
            problem(
              'conflict',
              `Checkpoint ${cp.seq} of lease ${leaseId} was stored first by another request.`,
              { param: '/checkpoint', reason: 'out_of_order' },
            ),
          );
        throw err;
      }
      // The first checkpoint is the workload's start: usage counts from it, not from the booking.
      if (d.leases) await onCheckpoint(d.leases, leaseId, found.booking.id, cp.seq, cp.at * 1000);
      else if (cp.seq === 0) await d.progress?.(leaseId, found.booking.id, 'running', cp.at * 1000);
      return { ok: true, status: 201, body: { lease_id: leaseId, seq: cp.seq, digest } };
    },

    async checkpoints(c, leaseId, q) {
      const found = await find(c, leaseId, 'reader');
      if (!found) return notFound(`lease ${leaseId}`);
      const limit = q.limit === undefined ? 100 : /^\d+$/.test(q.limit) ? Number(q.limit) : Number.NaN;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        return fail(
          problem('invalid-parameter', 'limit must be a whole number from 1 to 1000', { param: 'limit' }),
        );
      if (q.after !== undefined && !/^\d{1,9}$/.test(q.after))
        return fail(problem('invalid-parameter', 'after must be a checkpoint seq', { param: 'after' }));
      const rows = await d.runtime.listCheckpoints(leaseId, {
        ...(q.after !== undefined ? { after: Number(q.after) } : {}),
        limit,
      });
      return {
        ok: true,
        status: 200,
        body: {
          lease_id: leaseId,
          node: found.agent?.did ?? null,
          checkpoints: rows.map((r) => ({
            seq: r.seq,
            at: new Date(r.at * 1000).toISOString(),
            cpu_seconds: r.cpu_seconds,
            peak_memory_bytes: r.peak_memory_bytes,
            digest: r.digest,
            jws: r.jws,
          })),
          next_after: rows.length === limit ? String(rows.at(-1)?.seq) : null,
        },
      };
    },

    async addReceipt(c, leaseId, jws) {
      const found = await find(c, leaseId, 'node');
      if (!found) return notFound(`lease ${leaseId}`);
      if (!found.agent) return notOnAgent(leaseId, 'receipts');
      if (typeof jws !== 'string' || jws.length === 0 || jws.length > 65_536)
        return fail(
          problem('invalid-body', '/receipt: must be the compact JWS the node signed', { param: '/receipt' }),
        );
      if (await d.runtime.receiptForLease(leaseId))
        return fail(problem('conflict', `Lease ${leaseId} already has its receipt.`, { param: '/receipt' }));
      try {
        const r = await verifyReceipt(jws, d.resolveDid, {
          node: found.agent.did,
          lease_id: leaseId,
          checkpoints: await chain(leaseId),
        });
        if (d.leases) {
          const refused = await refuseOutputs(d.leases, leaseId, r);
          if (refused)
            return fail(
              problem(
                'unprocessable',
                `/receipt: ${refused}. The lease has failed and its node is not paid.`,
                {
                  param: '/receipt',
                  reason: 'output_mismatch',
                },
              ),
            );
        }
        const id = d.ids.next('rc');
        await d.runtime.putReceipt({
          id,
          lease_id: leaseId,
          booking_id: found.booking.id,
          node: r.node,
          jws,
          digest: receiptDigest(jws),
          received_at: d.clock.now(),
        });
        // The verified receipt ends the lease: settlement pays up to its end and releases the rest.
        if (d.leases) await onReceipt(d.leases, leaseId, r);
        else {
          const ended = r.exit_status.code === 0 ? 'completed' : 'failed';
          await d.progress?.(leaseId, found.booking.id, ended, r.completed_at * 1000);
        }
        return {
          ok: true,
          status: 201,
          body: { receipt_id: id, lease_id: leaseId, digest: receiptDigest(jws) },
        };
      } catch (err) {
        if (err instanceof ProofError) return fail(proofProblem(err, '/receipt'));
        if (err instanceof DuplicateError)
          return fail(
            problem('conflict', `Lease ${leaseId} already has its receipt.`, { param: '/receipt' }),
          );
        throw err;
      }
    },

    async leaseReceipt(c, leaseId) {
      if (!(await find(c, leaseId, 'reader'))) return notFound(`lease ${leaseId}`);
      const r = await d.runtime.receiptForLease(leaseId);
      return r ? this.receipt(c, r.id) : notFound(`receipt for lease ${leaseId} yet`);
    },

    async assigned(c, agent, waitMs = 0) {
      if (d.leases) return assignedWork(d.leases, c, agent, waitMs);
      const a = d.agents.list(null).find((x) => x.name === agent);
      if (!a || (c.role !== 'operator' && a.principal !== c.id)) return notFound(`node agent ${agent}`);
      const work: Record<string, unknown>[] = [];
      for (let after: string | undefined; ; ) {
        const page = await d.ledger.listOpenBookings(200, after);
        for (const b of page) {
          const s = b.summary as { run?: unknown; manifest?: { jws?: string } };
          if (!s.run) continue;
          for (const l of b.leases)
            if (l.provider === agent && l.state === 'pending')
              work.push({
                lease_id: l.id,
                booking_id: b.id,
                hours: l.hours,
                run: s.run,
                manifest: s.manifest?.jws ?? null,
              });
        }
        if (page.length < 200) break;
        after = page.at(-1)?.id;
      }
      return { ok: true, status: 200, body: { agent, leases: work } };
    },

    async receipt(c, id) {
      const r = await d.runtime.getReceipt(id);
      if (!r || !(await find(c, r.lease_id, 'reader'))) return notFound(`receipt ${id}`);
      return {
        ok: true,
        status: 200,
        body: {
          id: r.id,
          lease_id: r.lease_id,
          booking_id: r.booking_id,
          node: r.node,
          digest: r.digest,
          received_at: new Date(r.received_at).toISOString(),
          jws: r.jws,
          verify: `A compact JWS (typ computemd-receipt+jws) signed by ${r.node}: verify it offline with that did:key.`,
        },
      };
    },
  };
}
