import type { AccountKind } from './store.js';

/**
 * Account ids are derived from what they belong to, so a posting can name an account without a
 * lookup, and the kind and owner can be read back from the id alone.
 */
export const requesterAccount = (principal: string) => `req:${principal}`;
export const escrowAccount = (principal: string) => `escrow:${principal}`;
export const providerAccount = (provider: string) => `prov:${provider}`;
export const externalAccount = (rail: string) => `ext:${rail}`;
export const FEES_ACCOUNT = 'fees';
/** A delegated token's spending cap: credit limit = the cap, spent as the requester spends (budgets.ts). */
export const budgetAccount = (tokenCid: string) => `budget:${tokenCid}`;
/** The counterpart of every budget account: its balance is what all capped tokens have committed. */
export const BUDGETS_ACCOUNT = 'budgets';

const PREFIXES: Record<string, AccountKind> = {
  req: 'requester',
  escrow: 'escrow',
  prov: 'provider',
  ext: 'external',
  budget: 'budget',
};

/** Kind and owner of an account id, or null when the id is not one of the shapes above. */
export function parseAccountId(id: string): { kind: AccountKind; owner: string } | null {
  if (id === FEES_ACCOUNT) return { kind: 'fees', owner: '' };
  if (id === BUDGETS_ACCOUNT) return { kind: 'budget', owner: '' };
  const i = id.indexOf(':');
  if (i <= 0 || i === id.length - 1) return null;
  const kind = PREFIXES[id.slice(0, i)];
  return kind ? { kind, owner: id.slice(i + 1) } : null;
}
