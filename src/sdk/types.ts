import type { Static } from '@sinclair/typebox';
import type {
  AccountWire,
  BookingWireSchema,
  TransactionList,
  VerifyWire,
} from '../protocol/schemas/booking.js';
import type { OrchestrateBody, PlanResponseWire } from '../protocol/schemas/orchestrate.js';

/**
 * Wire types of the client. Where the protocol has a TypeBox schema the type is derived from it
 * (one source: the schema validates, documents and types); the rest follow the routes' replies.
 */
export type BookingWire = Static<typeof BookingWireSchema>;
export type AccountResponse = Static<typeof AccountWire>;
export type TransactionsResponse = Static<typeof TransactionList>;
export type LedgerVerifyResponse = Static<typeof VerifyWire>;
export type OrchestrateRequest = Static<typeof OrchestrateBody>;
export type PlanWire = Static<typeof PlanResponseWire>;

export interface CreditResponse {
  account: string;
  transaction_id: string;
  amount_usd: number;
  balance_usd: number;
  rail: string;
  replayed: boolean;
}

export interface PrincipalWire {
  id: string;
  role: 'operator' | 'requester' | 'provider';
  name: string;
  did: string | null;
  created_at: string;
  disabled_at: string | null;
}
export interface ApiKeyCreated {
  id: string;
  key: string;
  prefix: string;
  expires_at: string | null;
  note?: string;
}
export interface PrincipalCreated {
  principal: PrincipalWire;
  api_key: ApiKeyCreated;
}
export interface TokenWire {
  id: string;
  principal: string;
  kind: 'api_key' | 'ucan';
  label: string;
  prefix?: string;
  cid?: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  capabilities?: unknown;
  audience?: string;
}
/** A minted UCAN (`token`), or an API key (`key`) for `{kind: "api_key"}`. */
export interface TokenCreated {
  id: string;
  token?: string;
  key?: string;
  cid?: string;
  audience?: string;
  expires_at: string | null;
  capabilities?: Record<string, Record<string, unknown[]>>;
}
export interface UcanRevocation {
  revoke: string;
  revoked: boolean;
  by: string;
}
/** RFC 6749 §5.1. */
export interface OAuthTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
}
export interface ManifestVerified {
  valid: true;
  signer: string;
  digest: string;
  manifest: Record<string, unknown>;
}

export interface AgentWire {
  name: string;
  did: string;
  principal: string;
  status: 'up' | 'down' | 'draining';
  registered_at: string;
  last_heartbeat: string;
  price_per_hour: number;
  region: string | null;
  capabilities: Record<string, unknown>;
}
export interface EarningsResponse {
  balance_usd: number;
  transactions: { at: string; kind: string; amount_usd: number; booking_id: string | null }[];
  next_cursor?: string | null;
}
/** A pending lease a node agent should run (GET /agents/:name/leases). */
export interface AssignedLease {
  lease_id: string;
  booking_id: string;
  hours: number;
  run: Record<string, unknown>;
  manifest: string | null;
  /** For a lease failover resumed: the files its predecessor uploaded last. */
  resume?: {
    from_lease: string;
    checkpoint_seq: number | null;
    files: { path: string; sha256: string; content_base64: string }[];
  };
}

export type LeaseState =
  | 'pending'
  | 'provisioning'
  | 'running'
  | 'completed'
  | 'failed'
  | 'preempted'
  | 'cancelled';
export const TERMINAL_LEASE_STATES: readonly LeaseState[] = ['completed', 'failed', 'preempted', 'cancelled'];

/**
 * A lease as the runtime reports it (GET /leases/:id). `nodes`, `hours` and the money are null
 * only for a lease the ledger no longer knows; `attempt`/`replaces`/`replaced_by` link a lease to
 * the one failover started in its place.
 */
export interface LeaseWire {
  id: string;
  booking_id: string;
  provider: string;
  offer_id: string;
  state: LeaseState;
  simulated: boolean;
  driver: string;
  run_kind: 'command' | 'wasm' | 'image' | null;
  attempt?: number;
  replaces?: string | null;
  replaced_by?: string | null;
  nodes: number | null;
  hours: number | null;
  cost_usd: number | null;
  settled_usd: number | null;
  payment_condition?: string;
  started_at: string | null;
  ended_at: string | null;
  checkpoints: number;
  last_checkpoint_at: string | null;
  receipt_id: string | null;
  exit_code: number | null;
  outputs: { name: string; sha256: string; bytes: number }[];
  history: { from: string; to: string; at: string; reason: string }[];
  created_at?: string;
  updated_at?: string;
}
export interface LeaseList {
  leases: LeaseWire[];
  next_cursor: string | null;
}
/** One event of GET /leases/:id/logs. */
export type LeaseLogEvent =
  | { event: 'log'; seq: number; at: string; stream: 'stdout' | 'stderr' | 'system'; line: string }
  | { event: 'state'; state: LeaseState; at: string; reason: string }
  | { event: 'end'; state: LeaseState };

export interface CheckpointWire {
  seq: number;
  at: string;
  cpu_seconds: number;
  peak_memory_bytes: number;
  digest: string;
  /** The compact JWS exactly as the node signed it. */
  jws: string;
}
export interface CheckpointList {
  lease_id: string;
  /** The node's DID (did:key), or null when the lease is not on a node agent. */
  node: string | null;
  checkpoints: CheckpointWire[];
  next_after: string | null;
}
export interface ReceiptWire {
  id: string;
  lease_id: string;
  booking_id: string;
  node: string;
  digest: string;
  received_at: string;
  /** The compact JWS exactly as the node signed it: verify it offline with `node`'s did:key. */
  jws: string;
  verify: string;
}

/** A result validation whose runs disagreed (GET /disputes/:id). */
export interface DisputeWire {
  id: string;
  booking_id: string;
  lease_id: string;
  state: string;
  replicas: number;
  runs: (Record<string, unknown> & { lease_id?: string; result_digest: string | null })[];
  decision: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
}

/** An inference load balancer's endpoints and counters (GET /lb/:id/status). */
export interface BalancerStatusWire {
  id: string;
  owner: string;
  policy: string;
  health_check: string;
  created_at: string;
  serving: number;
  endpoints: (Record<string, unknown> & {
    id: string;
    url: string;
    lease_id: string | null;
    state: string;
  })[];
  requests: number;
  retries: number;
  retry_budget_left: number;
  unavailable: number;
  timeouts: number;
}
