/**
 * Payment rails (issue 4, part 5). The spec names payment methods (`fiat`, `crypto`,
 * `STABLE_COIN`, `TOKEN_A`, `lightning`); the operator maps each to a rail that settles it. The
 * only rail built in is `credits`, the internal ledger: real money movements between accounts in
 * this database. An external rail (a stablecoin processor, a Lightning node) would implement the
 * same interface and deposit into the ledger idempotently by its own transaction id.
 */

export interface PaymentRail {
  /** The rail's name as responses show it (`payment.rail`). */
  readonly name: string;
  /** What a deposit's external reference means on this rail (for the docs and problems). */
  readonly reference: string;
}

export const CREDITS_RAIL: PaymentRail = {
  name: 'credits',
  reference: 'the Idempotency-Key of POST /accounts/:id/credit',
};

/** The spec's method names, and `credits` itself. */
export const SPEC_METHODS = ['credits', 'fiat', 'crypto', 'STABLE_COIN', 'TOKEN_A', 'lightning'] as const;

/**
 * Default mapping: every spec method settles on the credits ledger, so the spec's example
 * (`payment: {method: 'STABLE_COIN'}`) books as written, and the response says `rail: "credits"`.
 */
export const DEFAULT_METHOD_RAILS: Readonly<Record<string, string>> = Object.fromEntries(
  SPEC_METHODS.map((m) => [m, 'credits']),
);

export interface RailRegistry {
  /** The rail a method settles on, or null when the operator mapped it to nothing. */
  railFor(method: string): PaymentRail | null;
  /** Methods that are mapped, for a 422's detail. */
  methods(): string[];
}

/**
 * `mapping` is method → rail name (config `payment_methods`); a method mapped to `null` or `""` is
 * switched off. Method names match case-insensitively (`stable_coin` is `STABLE_COIN`).
 */
export function createRailRegistry(
  mapping: Readonly<Record<string, string | null>> = DEFAULT_METHOD_RAILS,
  rails: readonly PaymentRail[] = [CREDITS_RAIL],
): RailRegistry {
  const byName = new Map(rails.map((r) => [r.name, r]));
  const table = new Map<string, PaymentRail>();
  for (const [method, rail] of Object.entries(mapping)) {
    if (!rail) continue;
    const r = byName.get(rail);
    if (!r)
      throw new Error(
        `payment method ${method} is mapped to unknown rail ${rail}; known: ${[...byName.keys()].join(', ')}`,
      );
    table.set(method.toLowerCase(), r);
  }
  const names = new Map(
    Object.keys(mapping)
      .filter((m) => mapping[m])
      .map((m) => [m.toLowerCase(), m]),
  );
  return {
    railFor: (method) => table.get(method.toLowerCase()) ?? null,
    methods: () => [...names.values()],
  };
}
