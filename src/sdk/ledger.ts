import type { CreateOptions } from './core.js';
import { DiscoveryApi } from './discovery.js';
import type {
  AccountResponse,
  BookingWire,
  CreditResponse,
  LedgerVerifyResponse,
  TransactionsResponse,
} from './types.js';

export interface Page {
  cursor?: string;
  limit?: number;
}

/** Bookings, accounts and the ledger: the calls that spend, and reading what was spent. */
export class LedgerApi extends DiscoveryApi {
  /**
   * POST /book. An Idempotency-Key is sent always (a fresh UUID unless given), so a retry after a
   * lost reply returns the same booking instead of booking twice.
   */
  book(body: Record<string, unknown>, opts: CreateOptions = {}): Promise<BookingWire> {
    return this.create('/book', body, opts);
  }
  /** Books a plan from orchestrate() at its quoted prices; `extra` may carry `payment`, `run`, `manifest`. */
  bookPlan(
    planId: string,
    extra: Record<string, unknown> = {},
    opts: CreateOptions = {},
  ): Promise<BookingWire> {
    return this.book({ ...extra, plan_id: planId }, opts);
  }
  bookings(q?: Page): Promise<{ bookings: BookingWire[]; next_cursor: string | null }> {
    return this.get('/bookings', { ...q });
  }
  booking(id: string): Promise<BookingWire> {
    return this.get(`/bookings/${encodeURIComponent(id)}`);
  }
  cancelBooking(id: string, opts: CreateOptions = {}): Promise<BookingWire> {
    return this.create(`/bookings/${encodeURIComponent(id)}/cancel`, {}, opts);
  }
  account(): Promise<AccountResponse> {
    return this.get('/accounts/me');
  }
  transactions(q?: Page): Promise<TransactionsResponse> {
    return this.get('/accounts/me/transactions', { ...q });
  }
  /** Operator only: credit a principal's account (the credits rail). */
  credit(
    id: string,
    amountUsd: number,
    opts: CreateOptions & { memo?: string } = {},
  ): Promise<CreditResponse> {
    return this.create(
      `/accounts/${encodeURIComponent(id)}/credit`,
      { amount_usd: amountUsd, ...(opts.memo ? { memo: opts.memo } : {}) },
      opts,
    );
  }
  /** Operator only: check every ledger invariant. */
  verifyLedger(): Promise<LedgerVerifyResponse> {
    return this.get('/ledger/verify');
  }
}
