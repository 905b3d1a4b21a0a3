export * from './accounts.js';
export { createBooking, holdFor, type Outcome } from './bookings.js';
export { canonicalJson, IDEMPOTENCY_TTL_MS, requestHash } from './idempotency.js';
export { MICROS_PER_USD, microsToUsd, mulDiv, usdToMicros } from './money.js';
export type { OfferSource, PricedLine } from './pricing.js';
export {
  CREDITS_RAIL,
  createRailRegistry,
  DEFAULT_METHOD_RAILS,
  type PaymentRail,
  type RailRegistry,
} from './rails.js';
export { type Caller, createLedgerService, type LedgerDeps, type LedgerService } from './service.js';
export { accrued, elapsedUsage, settleBooking, TokenMeter, type UsageSource } from './settlement.js';
export type * from './store.js';
export { bookingToWire } from './wire.js';
