import { type Problem, type ProblemKind, problem } from '../protocol/problem.js';
import { BUDGETS_ACCOUNT, budgetAccount, requesterAccount } from './accounts.js';
import { microsToUsd, usdToMicros } from './money.js';
import type { PricedLine } from './pricing.js';
import type { Micros, NewTransaction, Posting } from './store.js';

/**
 * Spending limits a delegated token carries (issue 5: UCAN caveats), enforced at booking.
 *
 * The price, provider and type caveats are checked against the priced lines before anything is
 * written. `max_spend_usd` is enforced by the ledger itself, atomically: each capped token in the
 * chain has an account `budget:<cid>` whose credit limit is the cap, and every transaction that
 * moves the requester's account moves each of the booking's budget accounts by the same amount
 * (the `budgets` account takes the other side). The store's guarded balance update, the one that
 * stops a requester going below its floor, stops a budget going below `-cap` in the same
 * transaction as the hold — so 100 parallel bookings against a $50 cap never commit more than $50,
 * on SQLite and PostgreSQL alike. A budget counts money held or paid: a release (cancel, the unused
 * part of a hold at the end) gives it back, a top-up of a streaming hold takes more.
 */

/** One token's caveats, as the chain carries them (the identity layer's `Caveats`, by shape). */
export interface SpendLimit {
  /** The token's CID: names its budget account and the token in problems. */
  id: string;
  max_spend_usd?: number;
  max_price_per_hour?: number;
  providers?: string[];
  provider_types?: string[];
  resource_types?: string[];
}

const usd = (m: Micros) => microsToUsd(m).toFixed(2);

const refuse = (kind: ProblemKind, detail: string, ext: Record<string, unknown>): Problem =>
  problem(kind, detail, { param: '/allocations', ...ext });

/**
 * The first line a caveat refuses, as a 403 whose type names the caveat; null when every line
 * passes every token's caveats. Prices compare per GPU-hour for GPU offers and per node-hour for
 * CPU offers, the unit `/nodes?max_price=` uses.
 */
export function checkLines(lines: readonly PricedLine[], limits: readonly SpendLimit[]): Problem | null {
  for (const lim of limits) {
    for (const [i, l] of lines.entries()) {
      const o = l.offer;
      const at = { token: lim.id, allocation: i, offer_id: o.id };
      if (lim.providers && !lim.providers.includes(o.provider))
        return refuse(
          'caveat-providers',
          `Allocation ${i} is on ${o.provider}; the token allows only ${lim.providers.join(', ')}. To fix: book on one of those, or use a token that allows it.`,
          { ...at, caveat: 'providers' },
        );
      if (lim.provider_types && !lim.provider_types.includes(o.provider_type))
        return refuse(
          'caveat-provider-types',
          `Allocation ${i} is on a ${o.provider_type} provider; the token allows only ${lim.provider_types.join(', ')}.`,
          { ...at, caveat: 'provider_types' },
        );
      const resource = l.cpu_fallback ? 'CPU' : o.resource_type;
      if (lim.resource_types && !lim.resource_types.includes(resource))
        return refuse(
          'caveat-resource-types',
          `Allocation ${i} is ${resource}; the token allows only ${lim.resource_types.join(', ')}.`,
          { ...at, caveat: 'resource_types' },
        );
      if (lim.max_price_per_hour !== undefined) {
        const gpus = l.cpu_fallback ? 0 : o.gpu_count;
        const unit = gpus > 0 ? l.price_per_node_hour / gpus : l.price_per_node_hour;
        if (unit > usdToMicros(lim.max_price_per_hour))
          return refuse(
            'caveat-max-price-per-hour',
            `Allocation ${i} costs $${usd(Math.round(unit))} per ${gpus > 0 ? 'GPU' : 'node'}-hour; the token allows at most $${lim.max_price_per_hour}. To fix: book a cheaper offer (GET /nodes?max_price=${lim.max_price_per_hour}).`,
            { ...at, caveat: 'max_price_per_hour', limit_usd: lim.max_price_per_hour },
          );
      }
    }
  }
  return null;
}

/** The capped tokens of a chain as budget accounts with their credit limits (the caps). */
export function budgetsOf(limits: readonly SpendLimit[]): { account: string; limit: Micros; id: string }[] {
  const out = new Map<string, { account: string; limit: Micros; id: string }>();
  for (const l of limits) {
    if (l.max_spend_usd === undefined) continue;
    const account = budgetAccount(l.id);
    const limit = usdToMicros(l.max_spend_usd);
    const prev = out.get(account);
    if (!prev || limit < prev.limit) out.set(account, { account, limit, id: l.id });
  }
  return [...out.values()];
}

/**
 * `tx` with the booking's budget accounts moved by the requester account's net move in it (and
 * `budgets` by the opposite). A transaction that leaves the requester's balance alone (settling
 * escrow to a provider) is returned unchanged.
 */
export function mirrorBudgets(
  tx: NewTransaction,
  requester: string,
  budgets: readonly string[] | undefined,
): NewTransaction {
  if (!budgets || budgets.length === 0) return tx;
  const account = requesterAccount(requester);
  const net = tx.postings.reduce((s, p) => (p.account === account ? s + p.amount : s), 0);
  if (net === 0) return tx;
  const extra: Posting[] = budgets.flatMap((b) => [
    { account: b, amount: net },
    { account: BUDGETS_ACCOUNT, amount: -net },
  ]);
  return { ...tx, postings: [...tx.postings, ...extra] };
}

/** The 403 for a hold a budget account refused (the store reports it as insufficient funds there). */
export function budgetExceeded(
  budget: { id: string; limit: Micros },
  needed: Micros,
  balance: Micros,
): Problem {
  const left = Math.max(0, balance + budget.limit);
  return problem(
    'caveat-max-spend-usd',
    `This needs $${usd(needed)} but the token's max_spend_usd of $${usd(budget.limit)} has $${usd(left)} left (bookings under it hold or have paid the rest). To fix: book less, cancel a booking under this token, or use a token with a larger budget.`,
    {
      param: '/allocations',
      caveat: 'max_spend_usd',
      token: budget.id,
      limit_usd: microsToUsd(budget.limit),
      remaining_usd: microsToUsd(left),
      needed_usd: microsToUsd(needed),
    },
  );
}
