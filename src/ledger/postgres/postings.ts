import { DuplicateError } from '../../storage/errors.js';
import type { PgClient } from '../../storage/postgres/driver.js';
import { parseAccountId } from '../accounts.js';
import type { NewTransaction } from '../store.js';
import { queryUnique } from './tx.js';

/** The `insufficient_funds` outcome shared by createBooking, applyBookingUpdate and deposit. */
export interface InsufficientFunds {
  kind: 'insufficient_funds';
  account: string;
  needed: number;
  balance: number;
  credit_limit: number;
}

/** A deposit's rail reference, stored on its transaction so a replay can be recognised. */
export interface ExternalRef {
  rail: string;
  external_ref: string;
  credit_to: string;
}

/** Creates the account (kind and owner from its id, credit limit 0) unless it exists. */
export async function ensureAccount(c: PgClient, id: string): Promise<void> {
  const parsed = parseAccountId(id);
  // Callers check ids before writing (checks.ts); this is the last line of defence.
  if (!parsed) throw new RangeError(`${id} is not an account id`);
  await c.query('INSERT INTO accounts (id, kind, owner) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [
    id,
    parsed.kind,
    parsed.owner,
  ]);
}

/**
 * Writes a checked transaction inside the caller's database transaction. `net` is the net amount
 * per account (checks.ts `checkTransaction`). Balances move by the net, account by account in id
 * order, so two transactions touching the same accounts lock them in the same order and cannot
 * deadlock. Each move is one conditional UPDATE: a debit that would take a non-external account
 * below `-credit_limit` matches no row, and the caller rolls back with the `insufficient_funds`
 * value returned here. (A credit always passes: setCreditLimit never puts a floor above a balance.)
 */
export async function applyTransaction(
  c: PgClient,
  tx: NewTransaction,
  net: Map<string, number>,
  ref: ExternalRef | null = null,
): Promise<InsufficientFunds | null> {
  await queryUnique(
    c,
    `INSERT INTO transactions (id, kind, at, booking_id, memo, rail, external_ref, credit_to)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      tx.id,
      tx.kind,
      tx.at,
      tx.booking_id,
      tx.memo,
      ref?.rail ?? null,
      ref?.external_ref ?? null,
      ref?.credit_to ?? null,
    ],
    'transactions_pkey',
    (cause) => new DuplicateError('transaction', tx.id, { cause }),
  );
  for (const account of [...net.keys()].sort(byCodeUnit)) {
    const amount = net.get(account) as number;
    if (amount === 0) {
      await ensureAccount(c, account);
      continue;
    }
    // RETURNING makes the pool parse the new balance: one past the safe integer range is a
    // RangeError there (driver.ts), which rolls the transaction back.
    const move = () =>
      c.query(
        `UPDATE accounts SET balance = balance + $1::bigint
          WHERE id = $2 AND (kind = 'external' OR balance + $1::bigint >= -credit_limit)
          RETURNING balance`,
        [amount, account],
      );
    let moved = await move();
    // No row: the account may not exist yet. Create it and try once more (two round trips saved
    // per account on the usual path, where it exists).
    if (moved.rowCount === 0) {
      await ensureAccount(c, account);
      moved = await move();
    }
    if (moved.rowCount === 0) {
      const { rows } = await c.query<{ balance: number; credit_limit: number }>(
        'SELECT balance, credit_limit FROM accounts WHERE id = $1',
        [account],
      );
      const row = rows[0] as { balance: number; credit_limit: number };
      return {
        kind: 'insufficient_funds',
        account,
        needed: -amount,
        balance: row.balance,
        credit_limit: row.credit_limit,
      };
    }
  }
  // One multi-row INSERT: VALUES rows take identity values in order, so `seq` follows the postings.
  const values: unknown[] = [tx.id];
  const rows = tx.postings.map((p, i) => {
    values.push(p.account, p.amount);
    return `($1, $${2 * i + 2}, $${2 * i + 3}::bigint)`;
  });
  await c.query(`INSERT INTO postings (tx_id, account, amount) VALUES ${rows.join(', ')}`, values);
  return null;
}

/** The one lock order every writer uses (UTF-16 code units; localeCompare could vary by locale). */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
