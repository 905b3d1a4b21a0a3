import { createHash } from 'node:crypto';
import type { Outcome } from '../ledger/bookings.js';
import { type Problem, problem } from '../protocol/problem.js';
import { isTerminal, type RuntimeLeaseState } from '../runtime/lease-states.js';
import { MAX_LOG_LINE_BYTES, MAX_LOG_LINES_PER_APPEND } from '../storage/lease-checks.js';
import type { LogLine, NewLogLine } from '../storage/store.js';
import type { Caller, LeaseRuntime } from './runtime.js';

/**
 * A lease's logs and outputs. The node agent sends its work's stdout and stderr in batches
 * (`POST /leases/:id/logs`) and uploads each declared output (`PUT /leases/:id/outputs/:name`, at
 * the end, and at each checkpoint when the run is resumable so a failover can resume from it).
 * The requester reads the logs live (`GET /leases/:id/logs`, Server-Sent Events) and the outputs
 * by name; an output's bytes are checked against the receipt's digest when the receipt arrives.
 */

export const MAX_LINE_BYTES = MAX_LOG_LINE_BYTES;
export const MAX_LINES_PER_POST = MAX_LOG_LINES_PER_APPEND;
export const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

const fail = (p: Problem): Outcome => ({ ok: false, problem: p });
const notFound = (id: string) =>
  fail(problem('not-found', `No lease ${id} for this principal. GET /leases lists yours.`, { param: 'id' }));

/** Cuts a line to at most MAX_LINE_BYTES of UTF-8 without splitting a character. */
export function cutLine(raw: string): string {
  // PostgreSQL text cannot hold NUL; the store refuses it, so it is replaced here.
  const s = raw.replaceAll('\0', '\uFFFD');
  if (Buffer.byteLength(s) <= MAX_LINE_BYTES) return s;
  let out = Buffer.from(s).subarray(0, MAX_LINE_BYTES).toString('utf8');
  while (Buffer.byteLength(out) > MAX_LINE_BYTES || out.endsWith('\uFFFD')) out = out.slice(0, -1);
  return out;
}

export async function appendLogs(rt: LeaseRuntime, c: Caller, id: string, body: unknown): Promise<Outcome> {
  const r = await rt.visible(c, id, 'node');
  if (!r || (c.role !== 'operator' && r.driver !== 'agent')) return notFound(id);
  const lines = (body as { lines?: unknown } | null)?.lines;
  if (!Array.isArray(lines) || lines.length === 0 || lines.length > MAX_LINES_PER_POST)
    return fail(
      problem('invalid-body', `/lines: must be an array of 1 to ${MAX_LINES_PER_POST} log lines`, {
        param: '/lines',
      }),
    );
  const now = rt.deps.clock.now();
  const out: NewLogLine[] = [];
  for (const [i, l] of lines.entries()) {
    const x = l as { stream?: unknown; line?: unknown; at?: unknown };
    if (typeof l !== 'object' || l === null || typeof x.line !== 'string')
      return fail(
        problem('invalid-body', `/lines/${i}/line: must be a string`, { param: `/lines/${i}/line` }),
      );
    if (x.stream !== 'stdout' && x.stream !== 'stderr' && x.stream !== 'system')
      return fail(
        problem('invalid-body', `/lines/${i}/stream: must be stdout, stderr or system`, {
          param: `/lines/${i}/stream`,
        }),
      );
    const at =
      typeof x.at === 'number' && Number.isFinite(x.at) && Math.abs(x.at - now) < 86_400_000 ? x.at : now;
    out.push({ at: Math.round(at), stream: x.stream, line: cutLine(x.line.replace(/\r?\n$/, '')) });
  }
  const stored = await rt.deps.repo.appendLogs(id, out);
  rt.emit({ lease_id: id, kind: 'log', at: now });
  return {
    ok: true,
    status: 201,
    body: { lease_id: id, first_seq: stored[0]?.seq ?? null, count: stored.length },
  };
}

export async function putOutput(
  rt: LeaseRuntime,
  c: Caller,
  id: string,
  name: string,
  data: Buffer,
): Promise<Outcome> {
  const r = await rt.visible(c, id, 'node');
  if (!r || (c.role !== 'operator' && r.driver !== 'agent')) return notFound(id);
  const b = await rt.deps.ledger.getBooking(r.booking_id);
  const declared = (
    (b?.summary as { run?: { outputs?: string[] } } | undefined)?.run?.outputs ?? []
  ).includes(name);
  if (!declared)
    return fail(
      problem('invalid-parameter', `name: ${name} is not one of the run's declared outputs`, {
        param: 'name',
      }),
    );
  if (data.length > MAX_OUTPUT_BYTES)
    return fail(
      problem(
        'payload-too-large',
        `An output may be at most ${MAX_OUTPUT_BYTES} bytes; archive and split larger results.`,
        {
          param: 'body',
        },
      ),
    );
  const sha256 = createHash('sha256').update(data).digest('hex');
  await rt.deps.repo.putOutput({
    lease_id: id,
    name,
    sha256,
    bytes: data.length,
    data,
    stored_at: rt.deps.clock.now(),
  });
  return { ok: true, status: 201, body: { lease_id: id, name, sha256, bytes: data.length } };
}

export async function getOutput(
  rt: LeaseRuntime,
  c: Caller,
  id: string,
  name: string,
): Promise<{ ok: true; data: Buffer; sha256: string } | { ok: false; problem: Problem }> {
  const r = await rt.visible(c, id, 'reader');
  if (!r) return { ok: false, problem: (notFound(id) as { problem: Problem }).problem };
  const o = await rt.deps.repo.getOutput(id, name);
  if (!o)
    return {
      ok: false,
      problem: problem(
        'not-found',
        `Lease ${id} has no output ${name} (yet). GET /leases/${id} lists its outputs.`,
        {
          param: 'name',
        },
      ),
    };
  return { ok: true, data: o.data, sha256: o.sha256 };
}

/**
 * The lease's log as a stream of events: every stored line after `after`, then (with `follow`)
 * new lines and state changes as they happen, until the lease ends and its last lines are out.
 * `write` returns false when the client went away.
 */
export async function streamLogs(
  rt: LeaseRuntime,
  id: string,
  o: {
    after: number;
    follow: boolean;
    write: (event: string, data: unknown) => boolean;
    closed: Promise<void>;
  },
): Promise<void> {
  let last = o.after;
  let open = true;
  void o.closed.then(() => {
    open = false;
  });
  const drain = async () => {
    for (;;) {
      const page: LogLine[] = await rt.deps.repo.listLogs(id, { after: last, limit: 1000 });
      for (const l of page) {
        if (
          !o.write('log', { seq: l.seq, at: new Date(l.at).toISOString(), stream: l.stream, line: l.line })
        ) {
          open = false;
          return;
        }
        last = l.seq;
      }
      if (page.length < 1000) return;
    }
  };
  await drain();
  if (!o.follow) {
    const r = await rt.deps.repo.getLease(id);
    o.write('end', { state: r?.state ?? null });
    return;
  }
  let wake: () => void = () => {};
  const onEvent = (e: { kind: string; state?: string; reason?: string; at: number }) => {
    if (e.kind === 'state')
      o.write('state', { state: e.state, reason: e.reason, at: new Date(e.at).toISOString() });
    wake();
  };
  const onClose = () => wake();
  rt.events.on(id, onEvent);
  rt.events.on('close', onClose);
  try {
    while (open && !rt.closed) {
      await drain();
      const r = await rt.deps.repo.getLease(id);
      if (!r || isTerminal(r.state as RuntimeLeaseState)) {
        await drain();
        o.write('end', { state: r?.state ?? null });
        return;
      }
      // Woken by an event on this replica, or re-read each second (another replica may hold the
      // node's connection).
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  } finally {
    rt.events.off(id, onEvent);
    rt.events.off('close', onClose);
  }
}

/**
 * A node agent reports where a serving lease listens (`POST /leases/:id/endpoint {url}`): the
 * lease's balancer starts sending it requests (its health checks decide when it is ready).
 */
export async function setEndpoint(rt: LeaseRuntime, c: Caller, id: string, body: unknown): Promise<Outcome> {
  const r = await rt.visible(c, id, 'node');
  if (!r || (c.role !== 'operator' && r.driver !== 'agent')) return notFound(id);
  const url = (body as { url?: unknown } | null)?.url;
  let ok = false;
  try {
    const u = new URL(String(url));
    ok = typeof url === 'string' && url.length <= 2048 && (u.protocol === 'http:' || u.protocol === 'https:');
  } catch {}
  if (!ok)
    return fail(
      problem('invalid-body', '/url: must be the http(s) URL the server listens on', { param: '/url' }),
    );
  if (typeof r.handle.lb !== 'string')
    return fail(problem('conflict', `Lease ${id} does not serve: its run has no serve.`, { param: 'id' }));
  if (isTerminal(r.state as RuntimeLeaseState))
    return fail(
      problem('conflict', `Lease ${id} is ${r.state}; it serves no more.`, {
        param: 'id',
        state_now: r.state,
      }),
    );
  await rt.patch(id, { handle: { ...r.handle, endpoint: url as string } });
  const b = rt.deps.lb?.get(r.handle.lb);
  if (b) {
    b.remove(id);
    b.add({ id, url: url as string, lease_id: id });
  }
  return {
    ok: true,
    status: 200,
    body: { lease_id: id, endpoint: url, load_balancer: `/lb/${r.handle.lb}` },
  };
}
