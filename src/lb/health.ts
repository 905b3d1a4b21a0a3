import { Client } from 'undici';
import type { Clock } from '../util/clock.js';
import type { Endpoint, EndpointSet } from './endpoints.js';
import type { HealthTuning } from './types.js';

/** What one probe found. `refused`: nothing listens there, which needs no second opinion. */
export type ProbeResult = { ok: true } | { ok: false; refused: boolean; detail: string };
export type Prober = (ep: Endpoint, path: string, timeoutMs: number) => Promise<ProbeResult>;

/**
 * Active health checking: every `interval_ms` each endpoint not already being probed gets a GET of
 * the balancer's `health_check` path on a connection of its own (so a probe never queues behind
 * traffic). `unhealthy_threshold` failed probes in a row take it out of rotation — a refused
 * connection at once — and `healthy_threshold` passes bring it back, ending any ejection too
 * (Envoy's `successful_active_health_check_uneject_host`): a restarted endpoint rejoins within a
 * couple of intervals. Every tick also sweeps ejections that ran out, so their return is reported
 * even with no health path.
 *
 * A dead process is noticed sooner than the next tick: the probe connection, kept alive between
 * probes, is closed by the kernel when the endpoint's process dies, and that closing triggers a
 * probe at once, which finds the port refusing connections.
 */
export class HealthChecker {
  private timer: NodeJS.Timeout | null = null;
  private readonly clients = new Map<Endpoint, Client>();
  private readonly probe: Prober;

  constructor(
    private readonly path: string | null,
    private readonly t: HealthTuning,
    private readonly set: EndpointSet,
    private readonly clock: Clock,
    probe?: Prober,
  ) {
    this.probe = probe ?? ((ep, p, ms) => this.httpProbe(ep, p, ms));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.t.interval_ms);
    this.timer.unref();
    this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.destroy().catch(() => {})));
  }

  /** Drops a removed endpoint's probe connection. */
  forget(ep: Endpoint): void {
    const c = this.clients.get(ep);
    this.clients.delete(ep);
    c?.destroy().catch(() => {});
  }

  tick(): void {
    this.set.sweep(this.clock.now());
    if (this.path === null) return;
    for (const ep of this.set.list) if (!ep.probing) void this.run(ep, this.path);
  }

  private async run(ep: Endpoint, path: string): Promise<void> {
    ep.probing = true;
    let r: ProbeResult;
    try {
      r = await this.probe(ep, path, this.t.timeout_ms);
    } catch (err) {
      r = { ok: false, refused: false, detail: String(err) };
    }
    ep.probing = false;
    ep.lastProbeAt = this.clock.now();
    if (!ep.removed) this.record(ep, r, ep.lastProbeAt);
  }

  /** Applies one probe's result (public for the unit tests). */
  record(ep: Endpoint, r: ProbeResult, now: number): void {
    if (r.ok) {
      ep.probeFailures = 0;
      ep.probePasses++;
      ep.lastProbeError = null;
      if (ep.unhealthy && ep.probePasses >= this.t.healthy_threshold) {
        ep.unhealthy = false;
        ep.ejectedUntil = 0;
        ep.consecutiveFailures = 0;
        this.set.sweep(now);
      }
      return;
    }
    ep.probePasses = 0;
    ep.probeFailures++;
    ep.lastProbeError = r.detail;
    if (!ep.unhealthy && (r.refused || ep.probeFailures >= this.t.unhealthy_threshold)) {
      ep.unhealthy = true;
      this.set.noteDown(ep, 'unhealthy', now);
    }
  }

  /**
   * A probe now, out of turn, but never sooner than a quarter interval after the last one: a health
   * endpoint that closes every connection would otherwise be probed in a loop.
   */
  private probeSoon(ep: Endpoint): void {
    const path = this.path;
    if (this.timer === null || path === null || ep.removed || ep.probing) return;
    const wait = ep.lastProbeAt + this.t.interval_ms / 4 - this.clock.now();
    if (wait <= 0) {
      void this.run(ep, path);
      return;
    }
    setTimeout(() => {
      if (this.timer !== null && !ep.removed && !ep.probing) void this.run(ep, path);
    }, wait).unref();
  }

  private client(ep: Endpoint): Client {
    let c = this.clients.get(ep);
    if (!c) {
      c = new Client(ep.origin, {
        connect: { timeout: this.t.timeout_ms },
        pipelining: 1,
        keepAliveTimeout: Math.max(this.t.interval_ms * 4, 4000),
      });
      c.on('disconnect', () => this.probeSoon(ep));
      this.clients.set(ep, c);
    }
    return c;
  }

  private async httpProbe(ep: Endpoint, path: string, timeoutMs: number): Promise<ProbeResult> {
    const r = await this.httpProbeOnce(ep, path, timeoutMs);
    // A kept-alive connection the endpoint closed just as the probe went out says nothing about
    // the endpoint: ask again on a fresh connection.
    return !r.ok && r.stale ? this.httpProbeOnce(ep, path, timeoutMs) : r;
  }

  private async httpProbeOnce(
    ep: Endpoint,
    path: string,
    timeoutMs: number,
  ): Promise<ProbeResult & { stale?: boolean }> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      const res = await this.client(ep).request({
        method: 'GET',
        path: ep.basePath + path,
        headers: [...ep.extraHeaders],
        signal: ac.signal,
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
      return { ok: false, refused: false, detail: `GET ${path} answered ${res.statusCode}` };
    } catch (err) {
      const code = (err as { code?: string }).code;
      const detail = err instanceof Error ? err.message : String(err);
      return {
        ok: false,
        refused: code === 'ECONNREFUSED',
        stale: code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE',
        detail: code ? `${code}: ${detail}` : detail,
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
