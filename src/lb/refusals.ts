import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROBLEM_TYPES, problem } from '../protocol/problem.js';
import type { Endpoint, EndpointSet } from './endpoints.js';
import type { LbTuning } from './types.js';

/** Why the balancer answered itself instead of an endpoint. */
export interface Refusal {
  kind: 'upstream-unavailable' | 'upstream-error' | 'upstream-timeout';
  detail: string;
  /** Seconds until an endpoint may serve again (503 only). */
  retryAfterS: number | null;
  endpoint: string | null;
}

interface Ctx {
  readonly id: string;
  readonly set: EndpointSet;
  readonly tuning: LbTuning;
}

/**
 * Every endpoint is out: a 503 whose Retry-After is the soonest any endpoint may serve again (the
 * end of its ejection, or the probes an unhealthy one needs to pass), at least one second.
 */
export function allDown(ctx: Ctx, now: number): Refusal {
  const list = ctx.set.list;
  const h = ctx.tuning.health;
  let soonest = Number.POSITIVE_INFINITY;
  for (const ep of list) {
    let wait = 0;
    if (ep.ejectedUntil > now) wait = ep.ejectedUntil - now;
    if (ep.unhealthy) wait = Math.max(wait, h.interval_ms * h.healthy_threshold);
    soonest = Math.min(soonest, wait);
  }
  const retryAfterS = Number.isFinite(soonest) ? Math.max(1, Math.ceil(soonest / 1000)) : 5;
  const detail =
    list.length === 0
      ? `Load balancer ${ctx.id} has no endpoints. Retry after ${retryAfterS} s; its owner's serving booking adds them.`
      : `Every endpoint of load balancer ${ctx.id} is ejected or failing its health checks (${list.length} endpoint${list.length === 1 ? '' : 's'}). Retry after ${retryAfterS} s.`;
  return { kind: 'upstream-unavailable', detail, retryAfterS, endpoint: null };
}

/** A try that failed with nothing left to try (502), or the deadline (504). */
export function refusal(
  kind: 'upstream-error' | 'upstream-timeout',
  ctx: Ctx,
  ep: Endpoint | null,
  err: Error | null,
): Refusal {
  const code = (err as { code?: string } | null)?.code;
  const detail =
    kind === 'upstream-timeout'
      ? `No endpoint of load balancer ${ctx.id} answered within ${ctx.tuning.timeout_ms} ms. Retry, or raise the balancer's timeout_ms for slow requests.`
      : `Endpoint ${ep?.id ?? '?'} of load balancer ${ctx.id} failed (${code ?? err?.message ?? 'error'}) and the request could not be retried. Retry it, with an Idempotency-Key if it is not a GET, so the balancer may retry it for you.`;
  return { kind, detail, retryAfterS: null, endpoint: ep?.id ?? null };
}

/** Writes a refusal as problem+json on a raw (hijacked) response; cuts the connection if headers are out. */
export function writeProblem(req: IncomingMessage, res: ServerResponse, r: Refusal, requestId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({
    ...problem(r.kind, r.detail, r.endpoint ? { endpoint: r.endpoint } : {}),
    instance: req.url,
    request_id: requestId,
  });
  const headers: Record<string, string | number> = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-problem': '1',
    'x-request-id': requestId,
  };
  if (r.retryAfterS !== null) headers['retry-after'] = r.retryAfterS;
  res.writeHead(PROBLEM_TYPES[r.kind].status, headers);
  res.end(body);
}
