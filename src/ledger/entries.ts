import { problem } from '../protocol/problem.js';
import { iso } from '../util/clock.js';
import type { Outcome } from './bookings.js';
import { microsToUsd } from './money.js';
import type { LedgerStore } from './store.js';

/** The most items one page of a ledger list holds. */
export const MAX_LIST = 100;
const fail = (p: ReturnType<typeof problem>): Outcome => ({ ok: false, problem: p });

/** One page of an account's entries, newest first (GET /accounts/me/transactions and earnings). */
export async function entriesPage(
  store: LedgerStore,
  account: string,
  q: { cursor?: string; limit?: number },
): Promise<Outcome> {
  const limit = q.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST)
    return fail(
      problem('invalid-parameter', `limit must be a whole number from 1 to ${MAX_LIST}`, {
        param: 'limit',
      }),
    );
  let before: number | undefined;
  if (q.cursor !== undefined) {
    before = Number(q.cursor);
    if (!/^[1-9][0-9]{0,15}$/.test(q.cursor) || !Number.isSafeInteger(before))
      return fail(
        problem('invalid-parameter', 'cursor must be the next_cursor of a previous page', {
          param: 'cursor',
        }),
      );
  }
  const rows = await store.listEntries(account, {
    ...(before !== undefined ? { before } : {}),
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  return {
    ok: true,
    status: 200,
    body: {
      transactions: page.map((e) => ({
        id: e.tx_id,
        seq: e.seq,
        kind: e.kind,
        at: iso(e.at),
        booking_id: e.booking_id,
        memo: e.memo,
        amount_usd: microsToUsd(e.amount),
      })),
      next_cursor: rows.length > limit ? String(page.at(-1)?.seq) : null,
    },
  };
}
