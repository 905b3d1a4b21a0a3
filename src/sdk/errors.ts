import type { Problem } from '../protocol/problem.js';

/**
 * A problem+json answer (or a transport failure) as a typed error: `problem.param` names the field,
 * `kind` is the stable last segment of the problem's `type` ('caveat-max-spend-usd', 'not-found'…).
 * Subclasses let a caller branch with `instanceof` on what it can act on; every one is a
 * ComputeMdError, so a single catch still sees them all.
 */
export class ComputeMdError extends Error {
  constructor(
    public readonly status: number,
    public readonly problem: Problem,
  ) {
    super(problem.detail || problem.title);
    this.name = 'ComputeMdError';
  }

  /** 'about:blank' for a non-problem answer; 'unreachable' when no answer came at all. */
  get kind(): string {
    if (this.status === 0) return 'unreachable';
    const t = this.problem.type;
    return t.startsWith('https://') ? (t.split('/').at(-1) ?? t) : t;
  }
}

/** Nothing answered: the gateway is down, the URL is wrong, or the connection dropped. */
export class UnreachableError extends ComputeMdError {
  override name = 'UnreachableError';
}
/** 400/422 for a field the gateway names in `problem.param` (and `invalid_params`). */
export class InvalidRequestError extends ComputeMdError {
  override name = 'InvalidRequestError';
}
/** 401: no token, or one that is malformed, expired or revoked. */
export class AuthenticationError extends ComputeMdError {
  override name = 'AuthenticationError';
}
/** 403: the token does not grant this, or one of its caveats (max_spend_usd…) forbids it. */
export class ForbiddenError extends ComputeMdError {
  override name = 'ForbiddenError';
}
/** 402: the account cannot cover the hold. */
export class PaymentRequiredError extends ComputeMdError {
  override name = 'PaymentRequiredError';
}
export class NotFoundError extends ComputeMdError {
  override name = 'NotFoundError';
}
/** 409: sold out, an expired plan, a state that forbids the change. */
export class ConflictError extends ComputeMdError {
  override name = 'ConflictError';
}
/** 422 `infeasible`: no plan satisfies the constraints; the problem names the binding one. */
export class InfeasibleError extends ComputeMdError {
  override name = 'InfeasibleError';
}
/** 429 or 503 after the client's retries ran out. */
export class UnavailableError extends ComputeMdError {
  override name = 'UnavailableError';
}

/** The most specific error class for an answer. */
export function errorFor(status: number, p: Problem): ComputeMdError {
  const kind = p.type.split('/').at(-1) ?? '';
  if (status === 0) return new UnreachableError(status, p);
  if (kind === 'infeasible') return new InfeasibleError(status, p);
  switch (status) {
    case 400:
    case 422:
      return new InvalidRequestError(status, p);
    case 401:
      return new AuthenticationError(status, p);
    case 402:
      return new PaymentRequiredError(status, p);
    case 403:
      return new ForbiddenError(status, p);
    case 404:
      return new NotFoundError(status, p);
    case 409:
      return new ConflictError(status, p);
    case 429:
    case 503:
      return new UnavailableError(status, p);
    default:
      return new ComputeMdError(status, p);
  }
}
