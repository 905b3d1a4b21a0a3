import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import type { Clock } from '../util/clock.js';
import type { Endpoint, EndpointSet } from './endpoints.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { OutlierDetector } from './outlier.js';
import type { Picker } from './picker.js';
import { allDown, type Refusal, refusal, writeProblem } from './refusals.js';
import type { RetryBudget } from './retry-budget.js';
import type { LbTuning } from './types.js';

/** What the proxy needs from its balancer. */
export interface ProxyContext {
  readonly id: string;
  readonly set: EndpointSet;
  readonly picker: Picker;
  readonly outlier: OutlierDetector;
  readonly budget: RetryBudget;
  readonly tuning: LbTuning;
  readonly clock: Clock;
  readonly newRequestId: () => string;
  readonly counters: { requests: number; retries: number; unavailable: number; timeouts: number };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Errors raised before a request could reach the endpoint: retrying them is safe for any method. */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

class Cancelled extends Error {
  constructor(readonly why: 'retry' | 'deadline' | 'client') {
    super(`cancelled: ${why}`);
  }
}

/**
 * One try of a request on one endpoint, as an undici dispatch handler (the raw handler API: no
 * header object, no stream object per response). A try that was cancelled (for a retry, a deadline
 * or a client gone) ignores whatever undici still reports.
 */
class Attempt implements Dispatcher.DispatchHandler {
  abort: ((err?: Error) => void) | null = null;
  /** undici's resume, for when the client's socket drains. */
  resume: (() => void) | null = null;
  cancelled: Cancelled | null = null;
  settled = false;
  constructor(
    readonly p: ProxiedRequest,
    readonly ep: Endpoint,
    readonly startedAt: number,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.cancelled) abort(this.cancelled);
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    if (this.cancelled) return false;
    if (status < 200) return true; // 1xx: informational, the final answer follows
    return this.p.headers(this, status, raw, resume);
  }

  onData(chunk: Buffer): boolean {
    return this.cancelled ? false : this.p.data(chunk, this);
  }

  onComplete(): void {
    if (!this.cancelled) this.p.complete(this);
  }

  onError(err: Error): void {
    this.p.error(this, err);
  }

  cancel(why: Cancelled['why']): void {
    if (this.cancelled) return;
    this.cancelled = new Cancelled(why);
    this.abort?.(this.cancelled);
  }
}

/**
 * One client request through the balancer: picks an endpoint, forwards, retries what is safe on
 * another endpoint, and answers with a problem when nothing can answer. Idempotent requests (GET,
 * HEAD, OPTIONS, or carrying `Idempotency-Key`) are retried on a failed connection, a reset or a
 * 5xx; any request is retried when it never reached the endpoint (connection refused). Only a
 * request whose body is held (none, or at most `body_buffer_bytes`) can be sent twice.
 */
class ProxiedRequest {
  private readonly tried: Endpoint[] = [];
  private readonly idempotent: boolean;
  private replayable = true;
  private body: Buffer | Readable | null = null;
  private upstreamHeaders: string[];
  private current: Attempt | null = null;
  private deadline: NodeJS.Timeout | null = null;
  private answered = false;
  private finished = false;
  private readonly method: string;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly path: string,
    private readonly requestId: string,
    private readonly done: () => void,
  ) {
    this.method = req.method ?? 'GET';
    this.idempotent = SAFE_METHODS.has(this.method) || req.headers['idempotency-key'] !== undefined;
    this.upstreamHeaders = upstreamRequestHeaders(req.rawHeaders, {
      requestId,
      clientIp: req.socket?.remoteAddress,
      proto: (req.socket as TLSSocket | undefined)?.encrypted ? 'https' : 'http',
      extra: [],
    });
  }

  start(): void {
    const now = this.ctx.clock.now();
    this.ctx.counters.requests++;
    this.ctx.budget.request(now);
    this.deadline = setTimeout(() => this.timedOut(), this.ctx.tuning.timeout_ms);
    this.res.once('close', () => this.clientClosed());
    const h = this.req.headers;
    const length = h['content-length'] === undefined ? null : Number(h['content-length']);
    const hasBody =
      length !== null
        ? length > 0
        : h['transfer-encoding'] !== undefined ||
          (this.req.httpVersionMajor === 2 && !SAFE_METHODS.has(this.method));
    if (!hasBody) {
      this.next(now);
      return;
    }
    if (length !== null && length <= this.ctx.tuning.retry.body_buffer_bytes) {
      const chunks: Buffer[] = [];
      this.req.on('data', (c: Buffer) => chunks.push(c));
      this.req.once('end', () => {
        this.body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        this.next(this.ctx.clock.now());
      });
      this.req.once('error', () => this.finish());
      return;
    }
    // Large or unsized: streamed through a pass-through, so a failed upstream destroys that and not
    // the client's connection (which still gets its 502).
    const pt = new PassThrough();
    this.req.pipe(pt);
    this.body = pt;
    this.replayable = false;
    this.next(now);
  }

  /** Sends the request to an endpoint, or answers that none can take it. */
  private next(now: number): void {
    if (this.answered) return;
    const ep = this.ctx.picker.pick(this.ctx.set.list, now, this.tried);
    if (!ep) {
      this.refuse(allDown(this.ctx, now));
      return;
    }
    this.send(ep);
  }

  private send(ep: Endpoint): void {
    const a = new Attempt(this, ep, performance.now());
    this.current = a;
    this.tried.push(ep);
    ep.outstanding++;
    ep.requests++;
    const headers =
      ep.extraHeaders.length === 0
        ? this.upstreamHeaders
        : upstreamRequestHeaders(this.req.rawHeaders, {
            requestId: this.requestId,
            clientIp: this.req.socket?.remoteAddress,
            proto: (this.req.socket as TLSSocket | undefined)?.encrypted ? 'https' : 'http',
            extra: ep.extraHeaders,
          });
    (ep.pool as Dispatcher).dispatch(
      {
        path: ep.basePath + this.path,
        method: this.method as Dispatcher.HttpMethod,
        headers,
        body: this.body,
        headersTimeout: 0,
        bodyTimeout: this.ctx.tuning.body_idle_timeout_ms,
      },
      a,
    );
  }

  /** Whether a failed try may be tried again elsewhere: returns the next endpoint, budget taken. */
  private retryTarget(now: number, notSent: boolean): Endpoint | null {
    if (!this.replayable || (!this.idempotent && !notSent)) return null;
    if (this.tried.length >= this.ctx.tuning.retry.max_attempts || this.answered) return null;
    const ep = this.ctx.picker.pick(this.ctx.set.list, now, this.tried);
    if (!ep || !this.ctx.budget.tryRetry(now)) return null;
    this.ctx.counters.retries++;
    return ep;
  }

  headers(a: Attempt, status: number, raw: Buffer[], resume: () => void): boolean {
    if (status >= 500) {
      const now = this.ctx.clock.now();
      const retry = this.retryTarget(now, false);
      if (retry) {
        this.settle(a, false, now);
        a.cancel('retry');
        this.send(retry);
        return false;
      }
    }
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
    this.answered = true;
    this.res.writeHead(status, clientResponseHeaders(raw, this.requestId));
    a.resume = resume;
    return true;
  }

  data(chunk: Buffer, a: Attempt): boolean {
    if (this.res.write(chunk)) return true;
    if (a.resume) this.res.once('drain', a.resume);
    return false;
  }

  complete(a: Attempt): void {
    const now = this.ctx.clock.now();
    this.settle(a, this.res.statusCode < 500, now);
    this.res.end();
    this.finish();
  }

  error(a: Attempt, err: Error): void {
    const now = this.ctx.clock.now();
    if (a.cancelled) {
      // Cancelled for a retry: already settled. For a deadline or a gone client: not the endpoint's
      // fault unless the deadline passed, which counts as a failure.
      if (a.cancelled.why !== 'retry') this.settle(a, a.cancelled.why === 'client' ? null : false, now);
      return;
    }
    this.settle(a, false, now);
    if (this.answered) {
      // Headers are out: the client can only learn of the failure by a cut connection.
      this.res.destroy(err);
      this.finish();
      return;
    }
    const code = (err as { code?: string }).code ?? '';
    const retry = this.retryTarget(now, NOT_SENT.has(code));
    if (retry) {
      this.send(retry);
      return;
    }
    const list = this.ctx.set.list;
    const anyServing = list.some((ep) => ep.serving(now));
    this.refuse(anyServing ? refusal('upstream-error', this.ctx, a.ep, err) : allDown(this.ctx, now));
  }

  /** Records a finished try on its endpoint: true success, false failure, null neither. */
  private settle(a: Attempt, ok: boolean | null, now: number): void {
    if (a.settled) return;
    a.settled = true;
    const ep = a.ep;
    ep.outstanding--;
    ep.latency.observe(performance.now() - a.startedAt);
    if (ok === true) this.ctx.outlier.success(ep, now);
    else if (ok === false) {
      ep.errors++;
      this.ctx.outlier.failure(ep, now);
    }
  }

  private timedOut(): void {
    this.deadline = null;
    if (this.answered) return;
    this.ctx.counters.timeouts++;
    const a = this.current;
    this.refuse(refusal('upstream-timeout', this.ctx, a?.ep ?? null, null));
    a?.cancel('deadline');
  }

  private clientClosed(): void {
    if (this.finished) return;
    this.current?.cancel('client');
    this.finish();
  }

  private refuse(r: Refusal): void {
    if (this.answered) return;
    this.answered = true;
    if (r.kind === 'upstream-unavailable') this.ctx.counters.unavailable++;
    writeProblem(this.req, this.res, r, this.requestId);
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
    this.done();
  }
}

/** Forwards one request; resolves once it is answered (or the client is gone). Never rejects. */
export function forward(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  upstreamPath: string,
  requestId: string,
): Promise<void> {
  return new Promise((resolve) =>
    new ProxiedRequest(ctx, req, res, upstreamPath, requestId, resolve).start(),
  );
}
