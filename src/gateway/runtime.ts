import { EventEmitter } from 'node:events';
import type { LbRegistry } from '../lb/registry.js';
import type { Outcome } from '../ledger/bookings.js';
import type { LeaseProgress } from '../ledger/service.js';
import type { BookingRecord, LeaseRecord, LedgerStore } from '../ledger/store.js';
import { type Problem, problem } from '../protocol/problem.js';
import type { Provider } from '../providers/provider.js';
import { isTerminal, type RuntimeLeaseState, transition } from '../runtime/lease-states.js';
import { DuplicateError } from '../storage/errors.js';
import type { LeaseRuntimeRecord, RuntimeRepository } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import type { AgentRegistry } from './agents.js';
import { endLease } from './runtime-end.js';
import { type LeaseWire, leaseToWire } from './runtime-wire.js';
import { onValidatedBooking } from './validation.js';

/**
 * The lease runtime (issue 6, part 6): every booked lease gets a record here, driven by what its
 * provider declares it can do.
 *
 * - `agent`: a node agent runs the work (it takes the lease, its first verified checkpoint makes it
 *   running, its verified receipt ends it).
 * - `provider`: the provider's own lease operations (Slurm's sbatch/squeue/scancel; a marketplace
 *   adapter with credentials) launch and watch it (runtime-tick.ts).
 * - `simulated`: capacity that is only modelled walks the same state machine on a seeded modelled
 *   timeline (runtime/simulated.ts), marked `simulated: true`; nothing is signed.
 *
 * Every transition goes through runtime/lease-states.ts, is stored with its reason (compare-and-set
 * on the record's version, so two replicas never both move a lease) and is emitted as an event.
 * The ledger keeps the money: a start or an end is passed on to it (`progress`).
 */

export interface Caller {
  id: string;
  role: string;
}

export interface LeaseRuntimeDeps {
  repo: RuntimeRepository;
  ledger: LedgerStore;
  agents: AgentRegistry;
  /** The gateway's providers, read live (node agents join at run time). */
  providers: readonly Provider[];
  clock: Clock;
  /** Tells the ledger a lease started or ended (LedgerService.leaseProgress). */
  progress: (leaseId: string, bookingId: string, to: LeaseProgress, at: number) => Promise<boolean>;
  /** The load balancers serving leases report to (issue 8); absent: serve runs get none. */
  lb?: LbRegistry | null;
}

export type Driver = 'agent' | 'provider' | 'simulated';

export interface LeaseEvent {
  lease_id: string;
  kind: 'state' | 'log';
  /** For `state`: the transition. */
  state?: string;
  reason?: string;
  at: number;
}

export interface LeaseRuntime {
  /**
   * Creates the runtime records of a booking's leases (idempotent: existing ones are kept). A
   * booking made with the key `failover:<lease id>` replaces that lease (failover.ts).
   */
  onBooked(b: BookingRecord, key?: string | null): Promise<void>;
  /**
   * Moves a lease (guarded by the state machine, stored compare-and-set, emitted). Returns the
   * record after the move, or null when the move is not allowed from its current state.
   */
  move(
    leaseId: string,
    to: RuntimeLeaseState,
    reason: string,
    patch?: Partial<Pick<LeaseRuntimeRecord, 'exit_code' | 'handle' | 'replaced_by'>>,
  ): Promise<LeaseRuntimeRecord | null>;
  /** Changes fields other than the state (a handle, replaced_by), compare-and-set. */
  patch(
    leaseId: string,
    patch: Partial<Pick<LeaseRuntimeRecord, 'handle' | 'replaced_by'>>,
  ): Promise<LeaseRuntimeRecord | null>;
  get(c: Caller, id: string): Promise<Outcome>;
  list(c: Caller, q: Record<string, string | undefined>): Promise<Outcome>;
  cancel(c: Caller, id: string): Promise<Outcome>;
  /** The record when the caller may read it (requester, the lease's node agent, operator). */
  visible(c: Caller, id: string, as: 'reader' | 'node'): Promise<LeaseRuntimeRecord | null>;
  wire(r: LeaseRuntimeRecord): Promise<LeaseWire>;
  /** The runtime attempts of a booking, following replacements into later bookings. */
  attempts(bookingId: string): Promise<LeaseWire[]>;
  events: EventEmitter;
  emit(e: LeaseEvent): void;
  driverOf(provider: string, hasRun: boolean): Driver;
  deps: LeaseRuntimeDeps;
  /** True once the gateway is closing: long polls and log streams end at once. */
  readonly closed: boolean;
  close(): void;
}

/** The Idempotency-Key prefix of a failover's replacement booking: `failover:<lease id>`. */
export const FAILOVER_KEY = 'failover:';

const LIST_STATES = new Set([
  'pending',
  'provisioning',
  'running',
  'completed',
  'failed',
  'preempted',
  'cancelled',
]);
const fail = (p: Problem): Outcome => ({ ok: false, problem: p });
const notFound = (id: string) =>
  fail(problem('not-found', `No lease ${id} for this principal. GET /leases lists yours.`, { param: 'id' }));

export function createLeaseRuntime(d: LeaseRuntimeDeps): LeaseRuntime {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const emit = (e: LeaseEvent) => {
    events.emit(e.lease_id, e);
    events.emit('*', e);
  };
  const isAgent = (name: string) => d.agents.list(null).some((a) => a.name === name);

  function driverOf(provider: string, hasRun: boolean): Driver {
    if (isAgent(provider)) return 'agent';
    const p = d.providers.find((x) => x.info.name === provider);
    if (hasRun && p?.leases && p.features.run_kinds.length > 0) return 'provider';
    return 'simulated';
  }

  async function cas(
    leaseId: string,
    change: (r: LeaseRuntimeRecord) => LeaseRuntimeRecord | null,
  ): Promise<LeaseRuntimeRecord | null> {
    for (let i = 0; i < 8; i++) {
      const r = await d.repo.getLease(leaseId);
      if (!r) return null;
      const next = change(r);
      if (!next) return null;
      const u = await d.repo.updateLease({ ...next, updated_at: d.clock.now() }, r.version);
      if (u.kind === 'updated') return u.lease;
      if (u.kind === 'not_found') return null;
    }
    throw new Error(`lease ${leaseId}: too many concurrent updates`);
  }

  async function ledgerLease(r: LeaseRuntimeRecord): Promise<LeaseRecord | null> {
    const b = await d.ledger.getBooking(r.booking_id);
    return b?.leases.find((l) => l.id === r.lease_id) ?? null;
  }

  let closed = false;
  const rt: LeaseRuntime = {
    deps: d,
    events,
    get closed() {
      return closed;
    },
    close() {
      closed = true;
      events.emit('close');
    },
    emit,
    driverOf,

    async onBooked(b, key) {
      const s = b.summary as {
        run?: { kind?: string; checkpoint?: { resumable?: boolean }; serve?: { health_check: string } };
      };
      // A server's leases share one load balancer: the booking's, or the one of the lease replaced.
      let lbId: string | null = null;
      if (s.run?.serve && d.lb) {
        const prior = key?.startsWith(FAILOVER_KEY)
          ? await d.repo.getLease(key.slice(FAILOVER_KEY.length))
          : null;
        lbId = typeof prior?.handle.lb === 'string' ? prior.handle.lb : `lb_${b.id.slice(3)}`;
        if (!d.lb.get(lbId))
          d.lb.create({
            id: lbId,
            owner: b.requester,
            endpoints: [],
            health_check: s.run.serve.health_check,
          });
      }
      const now = d.clock.now();
      const replaces = key?.startsWith(FAILOVER_KEY)
        ? await d.repo.getLease(key.slice(FAILOVER_KEY.length))
        : null;
      const opts: { attempt?: number; replaces?: string; resume: boolean } = replaces
        ? {
            attempt: replaces.attempt + 1,
            replaces: replaces.lease_id,
            resume: s.run?.checkpoint?.resumable === true,
          }
        : { resume: false };
      // Validation groups first: a lease must be in its group before a node can take it.
      await onValidatedBooking(rt, b, key ?? null);
      for (const l of b.leases) {
        if (await d.repo.getLease(l.id)) continue;
        const driver = driverOf(l.provider, s.run !== undefined);
        const rec: LeaseRuntimeRecord = {
          lease_id: l.id,
          booking_id: b.id,
          requester: b.requester,
          provider: l.provider,
          offer_id: l.offer_id,
          driver,
          state: 'pending',
          simulated: driver === 'simulated',
          run_kind: s.run?.kind ?? null,
          attempt: opts.attempt ?? 1,
          replaces: opts.replaces ?? null,
          replaced_by: null,
          exit_code: null,
          handle: {
            ...(driver === 'agent' ? { agent: l.provider } : {}),
            ...(opts.resume && opts.replaces ? { resume: { lease_id: opts.replaces } } : {}),
            ...(lbId ? { lb: lbId } : {}),
          },
          history: [],
          version: 1,
          created_at: now,
          updated_at: now,
        };
        try {
          await d.repo.insertLease(rec);
          emit({
            lease_id: l.id,
            kind: 'state',
            state: 'pending',
            reason: replaces ? `booked to replace ${replaces.lease_id}` : 'booked',
            at: now,
          });
          if (driver === 'agent') events.emit(`agent:${l.provider}`, l.id);
        } catch (err) {
          if (!(err instanceof DuplicateError)) throw err;
        }
      }
    },

    async move(leaseId, to, reason, patch = {}) {
      const at = d.clock.now();
      const moved = await cas(leaseId, (r) => {
        const t = transition(r.state as RuntimeLeaseState, to, at, reason);
        if (!t.ok) return null;
        return { ...r, ...patch, state: to, history: [...r.history, t.transition] };
      });
      if (moved) emit({ lease_id: leaseId, kind: 'state', state: to, reason, at });
      // A lease that ended serves no more: out of its balancer (a replacement joins it).
      if (moved && isTerminal(to) && typeof moved.handle.lb === 'string')
        d.lb?.get(moved.handle.lb)?.remove(leaseId);
      return moved;
    },

    patch: (leaseId, patch) => cas(leaseId, (r) => ({ ...r, ...patch })),

    async visible(c, id, as) {
      const r = await d.repo.getLease(id);
      if (!r) return null;
      if (c.role === 'operator') return r;
      if (as === 'reader' && r.requester === c.id) return r;
      const agent = d.agents.list(null).find((a) => a.name === r.provider);
      return agent && agent.principal === c.id ? r : null;
    },

    async wire(r) {
      const [l, last, receipt, outputs] = await Promise.all([
        ledgerLease(r),
        d.repo.lastCheckpoint(r.lease_id),
        d.repo.receiptForLease(r.lease_id),
        d.repo.listOutputs(r.lease_id),
      ]);
      return leaseToWire(r, l, {
        checkpoints: last ? last.seq + 1 : 0,
        last_checkpoint_at: last?.at ?? null,
        receipt_id: receipt?.id ?? null,
        outputs: outputs.map((o) => ({ name: o.name, sha256: o.sha256, bytes: o.bytes })),
      });
    },

    async get(c, id) {
      const r = await rt.visible(c, id, 'reader');
      if (!r) return notFound(id);
      return { ok: true, status: 200, body: await rt.wire(r) };
    },

    async list(c, q) {
      const limit = q.limit === undefined ? 50 : /^\d{1,4}$/.test(q.limit) ? Number(q.limit) : Number.NaN;
      if (!(limit >= 1 && limit <= 200))
        return fail(
          problem('invalid-parameter', 'limit must be a whole number from 1 to 200', { param: 'limit' }),
        );
      const states = q.state ? q.state.split(',') : [];
      const bad = states.find((s) => !LIST_STATES.has(s));
      if (bad !== undefined)
        return fail(
          problem(
            'invalid-parameter',
            `state: ${bad} is not a lease state (${[...LIST_STATES].join(', ')})`,
            {
              param: 'state',
            },
          ),
        );
      if (q.cursor !== undefined && !/^ls_[0-9a-z]{26}$/.test(q.cursor))
        return fail(
          problem('invalid-parameter', 'cursor must be the next_cursor of a previous page', {
            param: 'cursor',
          }),
        );
      if (q.booking_id !== undefined && !/^bk_[0-9a-z]{26}$/.test(q.booking_id))
        return fail(
          problem('invalid-parameter', 'booking_id must be a booking id (bk_…)', { param: 'booking_id' }),
        );
      const rows = await d.repo.listLeases({
        ...(c.role === 'operator' ? {} : { requester: c.id }),
        ...(q.booking_id ? { booking_id: q.booking_id } : {}),
        ...(states.length ? { states } : {}),
        ...(q.cursor ? { before: q.cursor } : {}),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return {
        ok: true,
        status: 200,
        body: {
          leases: await Promise.all(page.map((r) => rt.wire(r))),
          next_cursor: rows.length > limit ? (page.at(-1)?.lease_id ?? null) : null,
        },
      };
    },

    async cancel(c, id) {
      const r = await rt.visible(c, id, 'reader');
      if (!r || (c.role !== 'operator' && r.requester !== c.id)) return notFound(id);
      if (r.state === 'cancelled') return { ok: true, status: 200, body: await rt.wire(r) };
      if (isTerminal(r.state as RuntimeLeaseState))
        return fail(
          problem(
            'conflict',
            `Lease ${id} is ${r.state}; only pending, provisioning or running leases can be cancelled.`,
            {
              param: 'id',
              state_now: r.state,
            },
          ),
        );
      const moved = await endLease(
        rt,
        r,
        'cancelled',
        `cancelled by ${c.role === 'operator' ? 'the operator' : 'the requester'}`,
      );
      const now = moved ?? (await d.repo.getLease(id));
      return { ok: true, status: 200, body: await rt.wire(now as LeaseRuntimeRecord) };
    },

    async attempts(bookingId) {
      const out: LeaseWire[] = [];
      const seen = new Set<string>();
      let queue = await d.repo.listLeases({ booking_id: bookingId, limit: 1000 });
      while (queue.length > 0) {
        const next: LeaseRuntimeRecord[] = [];
        for (const r of queue.sort((a, b) => (a.lease_id < b.lease_id ? -1 : 1))) {
          if (seen.has(r.lease_id)) continue;
          seen.add(r.lease_id);
          out.push(await rt.wire(r));
          if (r.replaced_by && !seen.has(r.replaced_by)) {
            const n = await d.repo.getLease(r.replaced_by);
            if (n) next.push(n);
          }
        }
        queue = next;
      }
      return out;
    },
  };
  return rt;
}

export { endLease, progressFor } from './runtime-end.js';
