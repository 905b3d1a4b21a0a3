import { checkAccountId } from '../checks.js';
import type { NewBooking } from '../store.js';
import type { BookingCall } from './batch.js';
import { byCodeUnit } from './postings.js';
import { bookingRow } from './rows.js';

/**
 * Migration 3, "book_function" (storage/postgres/migrations.ts): `computemd_create_booking(json)`,
 * the whole of createBooking in one statement, so a booking costs one round trip instead of ~15,
 * and `computemd_create_bookings`, several of them in one transaction.
 * Kept beside the code that calls it (bookings.ts builds the argument); the migration list imports
 * it, so it is released, and frozen, with it: a change is a new migration (`CREATE OR REPLACE`).
 *
 * Names are not schema-qualified: they resolve through the connection's search_path, so the same
 * function serves a store in any schema.
 *
 * It does what the TypeScript transaction did, in the same order and with the same guards and lock
 * order (the caller sorts reservations and accounts): the idempotency key (locked; a live record
 * answers replay or mismatch), one conditional UPDATE per offer (the row inserted first if
 * missing), the booking, its leases, the idempotency record and the hold's transaction row (one
 * statement), then one guarded balance UPDATE per account (creating the account if missing), then
 * the postings. Everything after the key check runs in a sub-block: an expected negative (sold
 * out, no funds) notes its outcome and raises `CMNEG`, which undoes the block's writes (a
 * savepoint), and the outcome is returned. Any other error (a unique violation, a deadlock) leaves
 * the function with its SQLSTATE and constraint intact for the caller to map or retry; `CMRNG` is a
 * balance leaving JavaScript's safe integer range (the caller's RangeError).
 *
 * The argument is flat, so one `json_to_record` reads all of it (lists are SQL arrays):
 * `booking` (the bookings row), `leases` (leases rows), `at` (the booking's created_at),
 * `idem_principal` … `idem_expires_at` (all null without a key; `idem_response` is JSON),
 * `res_offer`/`res_nodes`/`res_capacity`, `hold_id` … `hold_memo` (null without a hold),
 * `mv_account`/`mv_kind`/`mv_owner`/`mv_amount` (net per account, with what a created account
 * gets), `post_account`/`post_amount`. `json`, not `jsonb`, throughout: JSON values (payment,
 * summary, detail, the stored reply) keep their text as written.
 *
 * `computemd_create_bookings(args json, …)` runs a batch (batch.ts) in one transaction: it first
 * creates (if missing) and locks every offer row and then every account row the batch touches,
 * each in the caller's order, then calls the function above for each booking in turn and answers
 * the outcomes as a JSON array.
 */
export const BOOK_FUNCTION = `
  CREATE FUNCTION computemd_create_booking(arg json) RETURNS json LANGUAGE plpgsql AS $fn$
  DECLARE
    a record;
    prior record;
    expired boolean := false;
    k integer;
    n_reserved bigint;
    n_balance bigint;
    n_limit bigint;
    outcome json;
  BEGIN
    SELECT * INTO a FROM json_to_record(arg) AS x(
      booking json, leases json, at bigint,
      idem_principal text, idem_key text, idem_scope text, idem_request_hash text, idem_status integer,
      idem_response json, idem_created_at bigint, idem_expires_at bigint,
      res_offer text[], res_nodes bigint[], res_capacity bigint[],
      hold_id text, hold_kind text, hold_at bigint, hold_booking_id text, hold_memo text,
      mv_account text[], mv_kind text[], mv_owner text[], mv_amount bigint[],
      post_account text[], post_amount bigint[]);

    IF a.idem_principal IS NOT NULL THEN
      SELECT t.scope, t.request_hash, t.status, t.response, t.expires_at INTO prior
        FROM idempotency t WHERE t.principal = a.idem_principal AND t.key = a.idem_key FOR UPDATE;
      -- A record is live while expires_at > the new request's time; an expired one is replaced.
      IF FOUND AND prior.expires_at > a.at THEN
        IF prior.scope = a.idem_scope AND prior.request_hash = a.idem_request_hash THEN
          RETURN json_build_object('kind', 'replay', 'status', prior.status, 'response', prior.response);
        END IF;
        RETURN json_build_object('kind', 'idempotency_mismatch', 'scope', prior.scope);
      END IF;
      expired := FOUND;
    END IF;

    BEGIN
      IF expired THEN
        DELETE FROM idempotency t WHERE t.principal = a.idem_principal AND t.key = a.idem_key;
      END IF;

      FOR k IN 1 .. cardinality(a.res_offer) LOOP
        -- Under READ COMMITTED a concurrent booking's UPDATE waits for our row lock, then
        -- re-evaluates the WHERE against the committed row: the last nodes are never taken twice.
        UPDATE offer_capacity c SET capacity = a.res_capacity[k], reserved = c.reserved + a.res_nodes[k]
         WHERE c.offer_id = a.res_offer[k] AND a.res_capacity[k] - c.reserved >= a.res_nodes[k];
        IF NOT FOUND THEN
          INSERT INTO offer_capacity (offer_id, capacity, reserved) VALUES (a.res_offer[k], a.res_capacity[k], 0)
            ON CONFLICT (offer_id) DO NOTHING;
          UPDATE offer_capacity c SET capacity = a.res_capacity[k], reserved = c.reserved + a.res_nodes[k]
           WHERE c.offer_id = a.res_offer[k] AND a.res_capacity[k] - c.reserved >= a.res_nodes[k];
          IF NOT FOUND THEN
            SELECT c.reserved INTO n_reserved FROM offer_capacity c WHERE c.offer_id = a.res_offer[k];
            outcome := json_build_object('kind', 'sold_out', 'offer_id', a.res_offer[k],
              'requested', a.res_nodes[k],
              'available', GREATEST(0, a.res_capacity[k] - COALESCE(n_reserved, 0)));
            RAISE EXCEPTION 'sold out' USING ERRCODE = 'CMNEG';
          END IF;
        END IF;
      END LOOP;

      -- One statement. The booking is the main INSERT, so it runs first (a duplicate booking id is
      -- reported as such); the leases' foreign key is checked at the statement's end.
      WITH l AS (INSERT INTO leases SELECT * FROM json_populate_recordset(NULL::leases, a.leases)),
        i AS (INSERT INTO idempotency (principal, key, scope, request_hash, status, response, created_at, expires_at)
          SELECT a.idem_principal, a.idem_key, a.idem_scope, a.idem_request_hash, a.idem_status,
                 a.idem_response, a.idem_created_at, a.idem_expires_at
           WHERE a.idem_principal IS NOT NULL),
        t AS (INSERT INTO transactions (id, kind, at, booking_id, memo)
          SELECT a.hold_id, a.hold_kind, a.hold_at, a.hold_booking_id, a.hold_memo WHERE a.hold_id IS NOT NULL)
      INSERT INTO bookings SELECT * FROM json_populate_record(NULL::bookings, a.booking);

      -- The hold last: the requester's and escrow rows are every booking's hottest locks.
      IF a.hold_id IS NOT NULL THEN
        FOR k IN 1 .. cardinality(a.mv_account) LOOP
          IF a.mv_amount[k] = 0 THEN
            INSERT INTO accounts (id, kind, owner) VALUES (a.mv_account[k], a.mv_kind[k], a.mv_owner[k])
              ON CONFLICT (id) DO NOTHING;
            CONTINUE;
          END IF;
          UPDATE accounts t SET balance = t.balance + a.mv_amount[k]
           WHERE t.id = a.mv_account[k] AND (t.kind = 'external' OR t.balance + a.mv_amount[k] >= -t.credit_limit)
           RETURNING t.balance INTO n_balance;
          IF NOT FOUND THEN
            INSERT INTO accounts (id, kind, owner) VALUES (a.mv_account[k], a.mv_kind[k], a.mv_owner[k])
              ON CONFLICT (id) DO NOTHING;
            UPDATE accounts t SET balance = t.balance + a.mv_amount[k]
             WHERE t.id = a.mv_account[k] AND (t.kind = 'external' OR t.balance + a.mv_amount[k] >= -t.credit_limit)
             RETURNING t.balance INTO n_balance;
            IF NOT FOUND THEN
              SELECT t.balance, t.credit_limit INTO n_balance, n_limit FROM accounts t WHERE t.id = a.mv_account[k];
              outcome := json_build_object('kind', 'insufficient_funds', 'account', a.mv_account[k],
                'needed', -a.mv_amount[k], 'balance', n_balance, 'credit_limit', n_limit);
              RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'CMNEG';
            END IF;
          END IF;
          IF abs(n_balance) > 9007199254740991 THEN
            RAISE EXCEPTION 'balance of % would be %, which is not a safe integer', a.mv_account[k], n_balance
              USING ERRCODE = 'CMRNG';
          END IF;
        END LOOP;
        -- unnest keeps array order, and rows take identity values in that order: seq follows the postings.
        INSERT INTO postings (tx_id, account, amount)
          SELECT a.hold_id, p.account, p.amount FROM unnest(a.post_account, a.post_amount) AS p(account, amount);
      END IF;
      RETURN '{"kind":"created"}'::json;
    EXCEPTION WHEN SQLSTATE 'CMNEG' THEN
      RETURN outcome;
    END;
  END
  $fn$;

  CREATE FUNCTION computemd_create_bookings(args json, p_offers text[], p_capacities bigint[],
      p_accounts text[], p_kinds text[], p_owners text[]) RETURNS json
  LANGUAGE plpgsql AS $fn$
  DECLARE
    arg json;
    outcomes json[] := '{}';
    new_offers text[];
    new_accounts text[];
  BEGIN
    -- Every offer row, then every account row the batch will change, is created if missing and
    -- then locked, each in the one lock order (the caller's, as given): two batches, or a batch and
    -- a single booking or an update, then wait for each other instead of each holding what the
    -- other needs next. Rows created here that no booking of the batch kept are deleted at the
    -- end, so a booking that failed leaves nothing behind, as alone.
    WITH ins AS (
      INSERT INTO offer_capacity (offer_id, capacity, reserved)
        SELECT u.id, u.cap, 0 FROM unnest(p_offers, p_capacities) WITH ORDINALITY AS u(id, cap, n) ORDER BY u.n
        ON CONFLICT (offer_id) DO NOTHING RETURNING offer_id)
    SELECT array_agg(offer_id) INTO new_offers FROM ins;
    PERFORM 1 FROM unnest(p_offers) WITH ORDINALITY AS u(id, n) JOIN offer_capacity c ON c.offer_id = u.id
      ORDER BY u.n FOR NO KEY UPDATE OF c;
    WITH ins AS (
      INSERT INTO accounts (id, kind, owner)
        SELECT u.id, u.kind, u.owner FROM unnest(p_accounts, p_kinds, p_owners) WITH ORDINALITY AS u(id, kind, owner, n)
         ORDER BY u.n
        ON CONFLICT (id) DO NOTHING RETURNING id)
    SELECT array_agg(id) INTO new_accounts FROM ins;
    PERFORM 1 FROM unnest(p_accounts) WITH ORDINALITY AS u(id, n) JOIN accounts t ON t.id = u.id
      ORDER BY u.n FOR NO KEY UPDATE OF t;

    FOR arg IN SELECT json_array_elements(args) LOOP
      outcomes := outcomes || computemd_create_booking(arg);
    END LOOP;

    -- A new offer row a booking took has nodes reserved; a new account a booking moved has postings.
    IF new_offers IS NOT NULL THEN
      DELETE FROM offer_capacity c WHERE c.offer_id = ANY(new_offers) AND c.reserved = 0;
    END IF;
    IF new_accounts IS NOT NULL THEN
      DELETE FROM accounts t WHERE t.id = ANY(new_accounts)
        AND NOT EXISTS (SELECT 1 FROM postings p WHERE p.account = t.id);
    END IF;
    RETURN array_to_json(outcomes);
  END
  $fn$;
`;

/**
 * The function's argument for a checked booking (`net`: its hold's net postings), and the JSON of
 * the rows it inserts: parsed back, they are what a re-read would return (rows.ts `bookingRow`).
 */
export function bookingCall(
  nb: NewBooking,
  net: Map<string, number> | null,
): { call: BookingCall; booking: string; leases: string } {
  const b = nb.booking;
  const idem = nb.idempotency;
  if (idem && JSON.stringify(idem.response) === undefined)
    throw new TypeError('idempotency response is not a JSON value');
  const hold = nb.hold;
  // Offers and accounts in the one lock order; an account created on the way gets its id's kind and owner.
  const reservations = [...nb.reservations].sort((x, y) => byCodeUnit(x.offer_id, y.offer_id));
  const moves = [...(net ?? [])]
    .sort(([x], [y]) => byCodeUnit(x, y))
    .map(([id, amount]) => ({ id, amount, ...checkAccountId(id) }));
  const { leases: leaseRows, ...row } = bookingRow(b);
  const booking = JSON.stringify(row);
  const leases = JSON.stringify(leaseRows);
  const rest = JSON.stringify({
    at: b.created_at,
    idem_principal: idem?.principal ?? null,
    idem_key: idem?.key,
    idem_scope: idem?.scope,
    idem_request_hash: idem?.request_hash,
    idem_status: idem?.status,
    idem_response: idem?.response,
    idem_created_at: idem?.created_at,
    idem_expires_at: idem?.expires_at,
    res_offer: reservations.map((r) => r.offer_id),
    res_nodes: reservations.map((r) => r.nodes),
    res_capacity: reservations.map((r) => r.capacity),
    hold_id: hold?.id ?? null,
    hold_kind: hold?.kind,
    hold_at: hold?.at,
    hold_booking_id: hold?.booking_id,
    hold_memo: hold?.memo,
    mv_account: moves.map((m) => m.id),
    mv_kind: moves.map((m) => m.kind),
    mv_owner: moves.map((m) => m.owner),
    mv_amount: moves.map((m) => m.amount),
    post_account: hold?.postings.map((p) => p.account) ?? [],
    post_amount: hold?.postings.map((p) => p.amount) ?? [],
  });
  return {
    call: {
      arg: `{"booking":${booking},"leases":${leases},${rest.slice(1)}`,
      offers: reservations.map((r) => ({ id: r.offer_id, capacity: r.capacity })),
      accounts: moves.map(({ id, kind, owner }) => ({ id, kind, owner })),
    },
    booking,
    leases,
  };
}
