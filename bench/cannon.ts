import autocannon from 'autocannon';

/**
 * The autocannon options and result fields the request-list benchmarks use (bench/autocannon.d.ts
 * declares only the simple form): several requests, each built per call by `setupRequest`.
 */
export interface AcRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: AcRequest) => AcRequest;
}

export type Cannon = (o: {
  url: string;
  duration: number;
  connections: number;
  pipelining: number;
  requests: AcRequest[];
}) => Promise<{
  latency: { p50: number; p99: number };
  statusCodeStats?: Record<string, { count: number | string }>;
  errors: number;
  timeouts: number;
  duration: number;
}>;

export const cannon = autocannon as unknown as Cannon;
