/**
 * The retry budget (Finagle's RetryBudget): over a sliding window, retries may be at most
 * `ratio × requests + minPerS × window seconds`. A fleet that fails every request is then sent
 * about 1.2× its normal traffic, not 3× (one request, two retries), and a balancer that is quiet
 * can still retry a few requests. The window is ten buckets, each a tenth of it long.
 */
export class RetryBudget {
  private readonly requests: Float64Array;
  private readonly retries: Float64Array;
  private readonly bucketMs: number;
  /** Index of the bucket that began at `epoch × bucketMs`. */
  private epoch = -1;
  private sumRequests = 0;
  private sumRetries = 0;

  constructor(
    private readonly ratio: number,
    private readonly minPerS: number,
    private readonly windowMs: number,
    private readonly buckets = 10,
  ) {
    this.requests = new Float64Array(buckets);
    this.retries = new Float64Array(buckets);
    this.bucketMs = windowMs / buckets;
  }

  /** Counts a first try. */
  request(now: number): void {
    this.roll(now);
    this.requests[this.epoch % this.buckets]! += 1;
    this.sumRequests++;
  }

  /** Takes one retry from the budget; false when none is left (the caller gives up instead). */
  tryRetry(now: number): boolean {
    this.roll(now);
    const allowed = this.ratio * this.sumRequests + (this.minPerS * this.windowMs) / 1000;
    if (this.sumRetries + 1 > allowed) return false;
    this.retries[this.epoch % this.buckets]! += 1;
    this.sumRetries++;
    return true;
  }

  /** What is left now, for the status page. */
  remaining(now: number): number {
    this.roll(now);
    const allowed = this.ratio * this.sumRequests + (this.minPerS * this.windowMs) / 1000;
    return Math.max(0, Math.floor(allowed - this.sumRetries));
  }

  /** Drops the buckets that fell out of the window. */
  private roll(now: number): void {
    const e = Math.floor(now / this.bucketMs);
    if (e === this.epoch) return;
    if (this.epoch < 0 || e - this.epoch >= this.buckets || e < this.epoch) {
      this.requests.fill(0);
      this.retries.fill(0);
      this.sumRequests = 0;
      this.sumRetries = 0;
    } else {
      for (let k = this.epoch + 1; k <= e; k++) {
        const i = k % this.buckets;
        this.sumRequests -= this.requests[i]!;
        this.sumRetries -= this.retries[i]!;
        this.requests[i] = 0;
        this.retries[i] = 0;
      }
    }
    this.epoch = e;
  }
}
