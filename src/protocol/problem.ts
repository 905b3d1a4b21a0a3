/**
 * RFC 9457 problem details. Every error the gateway returns has a stable `type` URI from this
 * table, a human `detail` that ends with what to do about it, and the offending parameter or
 * field when there is one. The HTTP layer (server/problem.ts) maps to these in one place.
 */
export const PROBLEM_BASE = 'https://computemd.dev/problems/';

export const PROBLEM_TYPES = {
  'invalid-parameter': { status: 400, title: 'Invalid parameter' },
  'unknown-parameter': { status: 400, title: 'Unknown parameter' },
  'invalid-body': { status: 400, title: 'Invalid request body' },
  unauthorized: { status: 401, title: 'Authentication required' },
  'invalid-token': { status: 401, title: 'Invalid token' },
  'token-expired': { status: 401, title: 'Token expired' },
  'token-not-yet-valid': { status: 401, title: 'Token not yet valid' },
  'token-revoked': { status: 401, title: 'Token revoked' },
  'payment-required': { status: 402, title: 'Insufficient funds' },
  forbidden: { status: 403, title: 'Not allowed' },
  'insufficient-capability': { status: 403, title: 'The token does not grant this' },
  'caveat-max-spend-usd': { status: 403, title: "Exceeds the token's max_spend_usd" },
  'caveat-max-price-per-hour': { status: 403, title: "Exceeds the token's max_price_per_hour" },
  'caveat-providers': { status: 403, title: "Outside the token's providers" },
  'caveat-provider-types': { status: 403, title: "Outside the token's provider_types" },
  'caveat-resource-types': { status: 403, title: "Outside the token's resource_types" },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'not-acceptable': { status: 406, title: 'Not acceptable' },
  conflict: { status: 409, title: 'Conflict' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  infeasible: { status: 422, title: 'No plan satisfies the constraints' },
  'invalid-signature': { status: 422, title: 'Signature does not verify' },
  unprocessable: { status: 422, title: 'Unprocessable request' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal error' },
  'upstream-error': { status: 502, title: 'The endpoint failed' },
  unavailable: { status: 503, title: 'Service unavailable' },
  'upstream-unavailable': { status: 503, title: 'No endpoint is serving' },
  'upstream-timeout': { status: 504, title: 'The endpoint did not answer in time' },
} as const;
export type ProblemKind = keyof typeof PROBLEM_TYPES;

export interface InvalidParam {
  name: string;
  reason: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  /** The first offending parameter or body field (query key, or a JSON pointer into the body). */
  param?: string;
  /** Every offending parameter, as RFC 9457's example extension does. */
  invalid_params?: InvalidParam[];
  [ext: string]: unknown;
}

export function problem(kind: ProblemKind, detail: string, ext: Partial<Problem> = {}): Problem {
  const t = PROBLEM_TYPES[kind];
  return { type: PROBLEM_BASE + kind, title: t.title, status: t.status, detail, ...ext };
}

/** An expected failure that the HTTP layer turns into problem+json (STYLE.md 9). */
export class ProblemError extends Error {
  constructor(
    public readonly problem: Problem,
    options?: { cause?: unknown },
  ) {
    super(problem.detail, options);
    this.name = 'ProblemError';
  }
}

export function invalidParams(params: InvalidParam[], kind: ProblemKind = 'invalid-parameter'): Problem {
  const first = params[0];
  const detail =
    params.length === 1 && first
      ? first.reason.includes(first.name)
        ? first.reason
        : `${first.name}: ${first.reason}`
      : `${params.length} parameters are invalid: ${params.map((p) => p.name).join(', ')}`;
  return problem(kind, detail, { param: first?.name, invalid_params: params });
}
