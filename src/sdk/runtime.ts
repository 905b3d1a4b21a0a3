import type { CreateOptions, Query } from './core.js';
import { ComputeMdError } from './errors.js';
import { IdentityApi } from './identity.js';
import type { Page } from './ledger.js';
import type {
  AgentWire,
  AssignedLease,
  BalancerStatusWire,
  CheckpointList,
  CheckpointWire,
  DisputeWire,
  EarningsResponse,
  LeaseList,
  LeaseLogEvent,
  LeaseState,
  LeaseWire,
  ReceiptWire,
} from './types.js';

const enc = encodeURIComponent;

/**
 * Leases as they run (state, logs, outputs, cancel), their proofs (checkpoints, receipts), and the
 * node-agent side (register, heartbeat, work, sending proofs and logs).
 */
export class RuntimeApi extends IdentityApi {
  leases(q?: Page & { booking_id?: string; state?: LeaseState | string }): Promise<LeaseList> {
    return this.get('/leases', { ...q });
  }
  /** Every lease matching `q`, following next_cursor page by page. */
  async *leasesAll(q: { booking_id?: string; state?: string } = {}): AsyncGenerator<LeaseWire> {
    let cursor: string | null = null;
    do {
      const page: LeaseList = await this.leases({ ...q, limit: 100, ...(cursor ? { cursor } : {}) });
      yield* page.leases;
      cursor = page.next_cursor;
    } while (cursor);
  }
  lease(id: string): Promise<LeaseWire> {
    return this.get(`/leases/${enc(id)}`);
  }
  cancelLease(id: string, opts: CreateOptions = {}): Promise<LeaseWire> {
    return this.create(`/leases/${enc(id)}/cancel`, {}, opts);
  }

  /**
   * A lease's log lines and state changes as they arrive (Server-Sent Events). Without `follow`
   * the stream holds what was logged so far; with it the stream stays open until the lease ends
   * (an `end` event) or `signal` aborts. `after`: only lines after that seq (to resume).
   */
  async *leaseLogs(
    id: string,
    opts: { follow?: boolean; after?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<LeaseLogEvent> {
    const q: Query = {
      ...(opts.follow ? { follow: 'true' } : {}),
      ...(opts.after ? { after: opts.after } : {}),
    };
    for await (const ev of this.events(`/leases/${enc(id)}/logs`, q, opts.signal)) {
      if (ev.event === 'error') {
        // The gateway's stream failed after it began: say so rather than end as if complete.
        const detail = String(
          (JSON.parse(ev.data) as { detail?: unknown }).detail ?? 'the log stream failed',
        );
        throw new ComputeMdError(500, {
          type: 'about:blank',
          title: 'Log stream failed',
          status: 500,
          detail,
        });
      }
      if (ev.event !== 'log' && ev.event !== 'state' && ev.event !== 'end') continue;
      const data = JSON.parse(ev.data) as Record<string, unknown>;
      yield { ...data, event: ev.event } as LeaseLogEvent;
      if (ev.event === 'end') return;
    }
  }
  /** The bytes of an output the lease's node uploaded; compare their SHA-256 with the receipt's. */
  async leaseOutput(id: string, name: string): Promise<Uint8Array> {
    const res = await this.send('GET', `/leases/${enc(id)}/outputs/${enc(name)}`, undefined, {
      headers: { accept: 'application/octet-stream' },
      retrySafe: true,
    });
    return new Uint8Array(await res.arrayBuffer());
  }

  /** A lease's checkpoints in order (one page); see checkpointsAll for the whole chain. */
  checkpoints(id: string, q: { after?: string | number; limit?: number } = {}): Promise<CheckpointList> {
    return this.get(`/leases/${enc(id)}/checkpoints`, { ...q });
  }
  /** The whole chain, page by page, as the node signed it: what verifyCheckpointChain takes. */
  async checkpointsAll(id: string): Promise<{ node: string | null; checkpoints: CheckpointWire[] }> {
    const out: CheckpointWire[] = [];
    let node: string | null = null;
    let after: string | null = null;
    do {
      const page: CheckpointList = await this.checkpoints(id, { limit: 1000, ...(after ? { after } : {}) });
      node = page.node;
      out.push(...page.checkpoints);
      after = page.next_after;
    } while (after);
    return { node, checkpoints: out };
  }
  /** A lease's receipt, once its node sent it (404 NotFoundError before). */
  leaseReceipt(id: string): Promise<ReceiptWire> {
    return this.get(`/leases/${enc(id)}/receipt`);
  }
  receipt(id: string): Promise<ReceiptWire> {
    return this.get(`/receipts/${enc(id)}`);
  }

  /** Result validations whose runs disagreed, newest first. */
  disputes(q?: Page): Promise<{ disputes: DisputeWire[]; next_cursor: string | null }> {
    return this.get('/disputes', { ...q });
  }
  dispute(id: string): Promise<DisputeWire> {
    return this.get(`/disputes/${enc(id)}`);
  }

  // ---- inference load balancers (the `load_balancer` of a large_model_serve booking) ---------

  lbStatus(id: string): Promise<BalancerStatusWire> {
    return this.get(`/lb/${enc(id)}/status`);
  }
  /**
   * A request through load balancer `id` to its endpoints (`path` as the endpoint serves it, e.g.
   * "/v1/completions"), with failover. The endpoint's answer comes back as it is; only the
   * gateway's own refusals (no healthy endpoint, not yours) throw.
   */
  lbFetch(
    id: string,
    path: string,
    init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const method = init.method ?? 'GET';
    return this.send(method, `/lb/${enc(id)}${path.startsWith('/') ? path : `/${path}`}`, undefined, {
      headers: { accept: '*/*', ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body }),
      retrySafe: method === 'GET' || method === 'HEAD',
    });
  }

  // ---- node agents (a token with compute/provide) -------------------------------------------

  /** Registers a node agent: `registration` is the compact JWS its DID signed. */
  registerAgent(registration: string): Promise<AgentWire> {
    return this.request('POST', '/agents', undefined, { registration });
  }
  heartbeat(name: string, body: { draining?: boolean } = {}): Promise<AgentWire> {
    return this.request('POST', `/agents/${enc(name)}/heartbeat`, undefined, body);
  }
  agents(): Promise<{ agents: AgentWire[] }> {
    return this.get('/agents');
  }
  earnings(name: string, q?: Page): Promise<EarningsResponse> {
    return this.get(`/agents/${enc(name)}/earnings`, { ...q });
  }
  /**
   * The leases a node agent should run now, and those it should stop. `waitS` (≤ 30) holds the
   * request until there is work, so a booked lease reaches its node at once.
   */
  assignedLeases(
    name: string,
    waitS?: number,
  ): Promise<{ agent: string; leases: AssignedLease[]; stop: string[] }> {
    return this.get(`/agents/${enc(name)}/leases`, waitS === undefined ? undefined : { wait: waitS });
  }
  postCheckpoint(leaseId: string, jws: string): Promise<{ lease_id: string; seq: number; digest: string }> {
    return this.request('POST', `/leases/${enc(leaseId)}/checkpoints`, undefined, { checkpoint: jws });
  }
  postReceipt(
    leaseId: string,
    jws: string,
  ): Promise<{ receipt_id: string; lease_id: string; digest: string }> {
    return this.request('POST', `/leases/${enc(leaseId)}/receipt`, undefined, { receipt: jws });
  }
  /** A node agent appends log lines of a lease it runs (`at`: epoch ms, default now). */
  postLogs(
    leaseId: string,
    lines: { stream: 'stdout' | 'stderr' | 'system'; line: string; at?: number }[],
  ): Promise<{ lease_id: string; first_seq: number | null; count: number }> {
    return this.request('POST', `/leases/${enc(leaseId)}/logs`, undefined, { lines });
  }
  /** A node agent reports where a serving lease listens (its load balancer takes it in). */
  postEndpoint(
    leaseId: string,
    url: string,
  ): Promise<{ lease_id: string; endpoint: string; load_balancer: string }> {
    return this.request('POST', `/leases/${enc(leaseId)}/endpoint`, undefined, { url });
  }
  /** A node agent uploads an output of a lease it runs. */
  async putOutput(
    leaseId: string,
    name: string,
    bytes: Uint8Array,
  ): Promise<{ lease_id: string; name: string; sha256: string; bytes: number }> {
    const res = await this.send('PUT', `/leases/${enc(leaseId)}/outputs/${enc(name)}`, undefined, {
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
      retrySafe: true,
    });
    return (await res.json()) as { lease_id: string; name: string; sha256: string; bytes: number };
  }
}
