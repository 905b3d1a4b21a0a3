import type { Endpoint, EndpointSet } from './endpoints.js';
import type { OutlierTuning } from './types.js';

/**
 * Passive outlier detection, as Envoy's: every finished try reports success or failure (a 5xx,
 * a failed connect, a reset, a timeout); `consecutive_failures` in a row eject the endpoint for
 * `base_ejection_ms × 2^level`, capped at `max_ejection_ms`. The level rises with each ejection and
 * falls by one for every `max_ejection_ms` the endpoint then serves without one, so a flapping
 * endpoint stays out longer and longer while one that recovered is soon forgiven.
 *
 * An ejection ends by itself when its time is up (the endpoint gets traffic again and is ejected
 * again on the next run of failures), or sooner when active health checks see it recover.
 */
export class OutlierDetector {
  constructor(
    private readonly t: OutlierTuning,
    private readonly set: EndpointSet,
  ) {}

  success(ep: Endpoint, now: number): void {
    ep.consecutiveFailures = 0;
    if (ep.ejectionLevel > 0 && ep.ejectedUntil <= now && now - ep.servingSince >= this.t.max_ejection_ms) {
      ep.ejectionLevel--;
      ep.servingSince = now;
    }
  }

  /** Records a failed try; true when it ejected the endpoint. */
  failure(ep: Endpoint, now: number): boolean {
    ep.consecutiveFailures++;
    if (ep.consecutiveFailures < this.t.consecutive_failures || ep.ejectedUntil > now) return false;
    if (!this.mayEject(now)) return false;
    this.eject(ep, now);
    return true;
  }

  /** The length of the next ejection of `ep`. */
  nextEjectionMs(ep: Endpoint): number {
    return Math.min(this.t.base_ejection_ms * 2 ** ep.ejectionLevel, this.t.max_ejection_ms);
  }

  eject(ep: Endpoint, now: number): void {
    ep.ejectedUntil = now + this.nextEjectionMs(ep);
    ep.ejectionLevel++;
    ep.ejections++;
    ep.consecutiveFailures = 0;
    this.set.noteDown(ep, 'ejected', now);
  }

  /** At least one endpoint may always be ejected; beyond that, no more than the configured share. */
  private mayEject(now: number): boolean {
    const list = this.set.list;
    let ejected = 0;
    for (const ep of list) if (ep.ejectedUntil > now) ejected++;
    return ejected === 0 || (ejected + 1) * 100 <= this.t.max_ejection_percent * list.length;
  }
}
