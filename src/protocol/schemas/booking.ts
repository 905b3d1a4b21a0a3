import { Type } from '@sinclair/typebox';

/**
 * Wire schemas of bookings, accounts and the ledger (issue 4). They document the shapes for
 * OpenAPI and serialize replies; bodies are validated by the ledger's own parser
 * (ledger/request.ts), which names the JSON path at fault.
 */
const Nullable = <T extends ReturnType<typeof Type.Number> | ReturnType<typeof Type.String>>(t: T) =>
  Type.Union([t, Type.Null()]);

export const BookingBody = Type.Object(
  {
    plan: Type.Optional(Type.String({ description: "The spec's plan label, e.g. 'distributed'" })),
    plan_id: Type.Optional(
      Type.String({
        description: 'Book a quote from POST /orchestrate at its quoted prices (409 once expired)',
      }),
    ),
    allocations: Type.Optional(
      Type.Array(
        Type.Union([
          Type.Object({
            provider: Type.String({
              description: 'Provider name or spec placeholder (marketplace_a…): its cheapest eligible offer',
            }),
            gpu_hours: Type.Number({ exclusiveMinimum: 0 }),
            gpu_type: Type.Optional(
              Type.String({ description: 'Class, profile or model (GPU_A, TYPE_B, H100)' }),
            ),
            cpu_fallback: Type.Optional(
              Type.Boolean({ description: 'A CPU offer may stand in when no GPU offer is free' }),
            ),
            nodes: Type.Optional(
              Type.Integer({ minimum: 1, description: 'Nodes to spread the hours over (default 1)' }),
            ),
          }),
          Type.Object({
            offer_id: Type.String({ description: 'An offer id from GET /nodes' }),
            nodes: Type.Integer({ minimum: 1 }),
            hours: Type.Number({ exclusiveMinimum: 0 }),
          }),
        ]),
      ),
    ),
    payment: Type.Optional(
      Type.Object({
        method: Type.Optional(
          Type.String({
            description: 'credits, fiat, crypto, STABLE_COIN, TOKEN_A, lightning (as the operator maps them)',
          }),
        ),
        stream: Type.Optional(
          Type.Boolean({
            description: 'Settle continuously from a rolling hold instead of holding the whole cost',
          }),
        ),
        model: Type.Optional(
          Type.Union(['per_second', 'per_token', 'per_epoch'].map((m) => Type.Literal(m))),
        ),
        epoch: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')])),
        price_per_million_tokens_usd: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
      }),
    ),
  },
  { $id: 'BookingBody' },
);

export const BookingAllocationWire = Type.Object(
  {
    lease_id: Type.String(),
    provider: Type.String(),
    offer_id: Type.String(),
    resource_type: Type.String(),
    gpu_model: Nullable(Type.String()),
    gpu_type: Nullable(Type.String()),
    nodes: Type.Integer(),
    hours: Type.Number(),
    gpu_hours: Type.Number(),
    price: Type.String({ description: '"$0.44/hr": USD per GPU-hour (node-hour for CPU)' }),
    price_per_hour_usd: Type.Number(),
    price_per_node_hour_usd: Type.Number(),
    price_per_million_tokens_usd: Nullable(Type.Number()),
    cost_usd: Type.Number(),
    settled_usd: Type.Number(),
    state: Type.String({ description: 'pending, running, completed, cancelled, stopped, failed' }),
    cpu_fallback: Type.Boolean(),
    region: Type.String(),
    interruptible: Type.Boolean(),
    started_at: Nullable(Type.String({ format: 'date-time' })),
    ended_at: Nullable(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: true },
);

export const BookingWireSchema = Type.Object(
  {
    booking_id: Type.String(),
    status: Type.String({ description: 'pending, active, completed, cancelled, overdrawn, failed' }),
    plan: Nullable(Type.String()),
    plan_id: Nullable(Type.String()),
    requester: Type.String(),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
    total_gpu_hours: Type.Number(),
    total_cost: Type.Number({ description: 'USD, a number (the spec prints it)' }),
    total_cost_usd: Type.Number(),
    currency: Type.Literal('USD'),
    savings_percent: Type.Number({
      description: 'Against the cheapest on-demand traditional cloud for the same work',
    }),
    baseline_cost_usd: Nullable(Type.Number()),
    settled_usd: Type.Number(),
    held_usd: Type.Number(),
    allocations: Type.Array(BookingAllocationWire),
    payment: Type.Object(
      {
        method: Type.String(),
        model: Type.String(),
        stream: Type.Boolean(),
        epoch_s: Type.Integer(),
        rail: Type.String({ description: 'The rail that settles it (credits by default)' }),
        held_usd: Type.Number(),
        settled_usd: Type.Number(),
      },
      { additionalProperties: true },
    ),
    simulated: Type.Boolean(),
    run_kind: Type.Union(
      [Type.Literal('command'), Type.Literal('wasm'), Type.Literal('image'), Type.Null()],
      {
        description:
          'The form of workload the booking carries for its leases to run, or null (capacity only)',
      },
    ),
    manifest: Type.Union(
      [
        Type.Object({
          digest: Type.String({ description: 'SHA-256 hex of the compact JWS as signed' }),
          signer: Type.String({ description: "The requester's DID that signed it" }),
        }),
        Type.Null(),
      ],
      { description: 'The signed workload manifest this booking carries (verified at booking), or null' },
    ),
    attempts: Type.Optional(
      Type.Array(Type.Object({}, { additionalProperties: true }), {
        description:
          "Every runtime attempt of the booking's leases in order, following failovers into their replacement bookings: each lease's provider, state, history (which transitions and why), replaces and replaced_by (GET /leases/:id has the same shape)",
      }),
    ),
  },
  { $id: 'Booking', additionalProperties: true },
);

export const BookingList = Type.Object({
  bookings: Type.Array(BookingWireSchema),
  next_cursor: Nullable(Type.String()),
});

export const AccountWire = Type.Object({
  id: Type.String(),
  principal: Type.String(),
  balance_usd: Type.Number(),
  held_usd: Type.Number(),
  credit_limit_usd: Type.Number(),
  currency: Type.Literal('USD'),
});

export const TransactionList = Type.Object({
  transactions: Type.Array(
    Type.Object({
      id: Type.String(),
      seq: Type.Integer(),
      kind: Type.String(),
      at: Type.String({ format: 'date-time' }),
      booking_id: Nullable(Type.String()),
      memo: Type.String(),
      amount_usd: Type.Number({ description: 'Positive into the account, negative out of it' }),
    }),
  ),
  next_cursor: Nullable(Type.String()),
});

export const CreditBody = Type.Object({
  amount_usd: Type.Number({ exclusiveMinimum: 0 }),
  memo: Type.Optional(Type.String()),
});

export const VerifyWire = Type.Object({
  ok: Type.Boolean(),
  violations: Type.Array(Type.Object({ code: Type.String(), detail: Type.String(), subject: Type.String() })),
});
