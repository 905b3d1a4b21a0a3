import { type Static, Type } from '@sinclair/typebox';
import type { ExternalIssuer } from '../identity/oauth.js';
import type { RateLimitConfig } from '../server/rate-limit.js';

/**
 * The gateway's configuration file (computemd.config.json or .yaml). Unknown keys are errors, so a
 * typo never silently does nothing. Credentials are never read from this file: each provider takes
 * its key from the environment (VAST_API_KEY, …); see config/load.ts.
 */
const Location = Type.Union([
  Type.String({ description: 'A region name from data/regions.csv, e.g. us-east-1' }),
  Type.Object(
    { lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number({ minimum: -180, maximum: 180 }) },
    { additionalProperties: false },
  ),
]);

export const ConfigFile = Type.Object(
  {
    host: Type.Optional(Type.String({ minLength: 1 })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    data_dir: Type.Optional(Type.String({ minLength: 1 })),
    location: Type.Optional(Location),
    seed: Type.Optional(Type.Integer({ minimum: 0, description: 'Seed of the simulated market model' })),
    log_level: Type.Optional(
      Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    ),
    providers: Type.Optional(
      Type.Object(
        {
          catalog: Type.Optional(
            Type.Object(
              {
                enabled: Type.Optional(Type.Boolean()),
                clouds: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
                refresh_url: Type.Optional(Type.String({ minLength: 1 })),
              },
              { additionalProperties: false },
            ),
          ),
          vast: Type.Optional(
            Type.Object(
              {
                enabled: Type.Optional(Type.Boolean()),
                base_url: Type.Optional(Type.String({ minLength: 1 })),
                cache_ttl_s: Type.Optional(Type.Integer({ minimum: 0 })),
              },
              { additionalProperties: false },
            ),
          ),
          slurm: Type.Optional(
            Type.Object(
              {
                enabled: Type.Optional(Type.Boolean()),
                price_per_node_hour: Type.Optional(Type.Number({ minimum: 0 })),
                region: Type.Optional(Type.String({ minLength: 1 })),
                slurm_conf: Type.Optional(
                  Type.String({ minLength: 1, description: 'slurm.conf path (else SLURM_CONF)' }),
                ),
                bin_dir: Type.Optional(
                  Type.String({ minLength: 1, description: 'where sinfo, sbatch… are' }),
                ),
                work_root: Type.Optional(
                  Type.String({
                    minLength: 1,
                    description: 'per-lease work dirs; the same path on every compute node',
                  }),
                ),
              },
              { additionalProperties: false },
            ),
          ),
          local: Type.Optional(
            Type.Object(
              {
                enabled: Type.Optional(Type.Boolean()),
                price_per_hour: Type.Optional(Type.Number({ minimum: 0 })),
                agent: Type.Optional(
                  Type.Boolean({
                    description:
                      '`computemd serve` runs this host as an in-process node agent named local that executes booked work (default true); false lists the host without running anything',
                  }),
                ),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    capabilities: Type.Optional(
      Type.Object(
        {
          classes: Type.Optional(
            Type.Object(
              {
                GPU_A: Type.Optional(Type.Array(Type.String())),
                GPU_B: Type.Optional(Type.Array(Type.String())),
                GPU_C: Type.Optional(Type.Array(Type.String())),
              },
              { additionalProperties: false },
            ),
          ),
          aliases: Type.Optional(Type.Record(Type.String(), Type.String())),
        },
        { additionalProperties: false },
      ),
    ),
    refresh: Type.Optional(
      Type.Object(
        { timeout_ms: Type.Optional(Type.Integer({ minimum: 100 })) },
        { additionalProperties: false },
      ),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          cert: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate (chain) file' })),
          key: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key file' })),
        },
        { additionalProperties: false },
      ),
    ),
    agents: Type.Optional(
      Type.Object(
        {
          heartbeat_timeout_s: Type.Optional(
            Type.Integer({
              minimum: 1,
              description: 'Silence after which a node agent lists no offers and its leases fail over',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    trust_proxy: Type.Optional(
      Type.Union([Type.Boolean(), Type.String({ minLength: 1 })], {
        description: 'Trust X-Forwarded-For from a proxy: true, or its addresses/CIDRs, comma-separated',
      }),
    ),
    auth: Type.Optional(
      Type.Object(
        {
          jwt_issuers: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  issuer: Type.String({ minLength: 1, description: "The JWTs' iss claim" }),
                  jwks_url: Type.String({
                    minLength: 1,
                    description: 'https URL of its JWKS (http only on loopback)',
                  }),
                  audience: Type.String({ minLength: 1, description: 'The aud the JWTs must carry' }),
                  role: Type.Optional(Type.Union([Type.Literal('requester'), Type.Literal('provider')])),
                  scope_claim: Type.Optional(Type.String({ minLength: 1 })),
                },
                { additionalProperties: false },
              ),
              { description: 'External OAuth2/OIDC issuers whose JWTs authenticate here' },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    rate_limit: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean()),
          per_ip: Type.Optional(
            Type.Integer({ minimum: 1, description: 'Anonymous requests per client IP per window' }),
          ),
          per_principal: Type.Optional(
            Type.Integer({ minimum: 1, description: 'Requests per authenticated principal per window' }),
          ),
          window_s: Type.Optional(Type.Integer({ minimum: 1, description: 'Length of the window' })),
        },
        { additionalProperties: false },
      ),
    ),
    ledger: Type.Optional(
      Type.Object(
        {
          fee_bps: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 5000,
              description: 'Operator fee, basis points of provider payouts',
            }),
          ),
          hold_window_s: Type.Optional(
            Type.Integer({ minimum: 1, description: 'How far ahead a streaming hold is funded' }),
          ),
          settle_interval_ms: Type.Optional(Type.Integer({ minimum: 100, description: 'Settlement tick' })),
          payment_methods: Type.Optional(
            Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()]), {
              description: 'Payment method → rail (credits); null switches a method off',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type ConfigFile = Static<typeof ConfigFile>;

/** The resolved configuration every part of the gateway receives. */
export interface GatewayConfig {
  host: string;
  port: number;
  data_dir: string;
  location: string | { lat: number; lon: number };
  seed: number;
  log_level: string;
  providers: {
    catalog: { enabled: boolean; clouds: string[] | null; refresh_url: string | null };
    vast: { enabled: boolean; base_url: string | null; cache_ttl_s: number; api_key: string | null };
    local: { enabled: boolean; price_per_hour: number; agent: boolean };
    slurm: {
      enabled: boolean;
      price_per_node_hour: number;
      region: string | null;
      slurm_conf: string | null;
      bin_dir: string | null;
      work_root: string | null;
    };
  };
  capabilities: {
    classes: Partial<Record<'GPU_A' | 'GPU_B' | 'GPU_C', string[]>>;
    aliases: Record<string, string>;
  };
  refresh: { timeout_ms: number };
  /** PostgreSQL URL from COMPUTEMD_DATABASE_URL (env only: it may hold a password); null = SQLite. */
  database_url: string | null;
  /** PostgreSQL schema for the tables (COMPUTEMD_DATABASE_SCHEMA); null = the connection's default. */
  database_schema: string | null;
  ledger: {
    fee_bps: number;
    hold_window_s: number;
    settle_interval_ms: number;
    payment_methods: Record<string, string | null> | null;
  };
  /**
   * HTTPS (HTTP/2, HTTP/1.1 still accepted): the PEM texts, read and checked at load, and the files
   * they came from; null = plain HTTP.
   */
  tls: { cert: string; key: string; cert_file: string; key_file: string } | null;
  rate_limit: RateLimitConfig;
  agents: { heartbeat_timeout_s: number };
  /** The lease runtime's periodic pass (gateway/runtime-tick.ts), ms between passes. */
  runtime: { tick_ms: number };
  /** Whose X-Forwarded-For to believe: false (the socket's address), true, or addresses/CIDRs. */
  trust_proxy: boolean | string;
  /** External JWT issuers (identity/oauth.ts); empty: only the gateway's own credentials. */
  auth: { jwt_issuers: ExternalIssuer[] };
  /** Which file the configuration came from, if any. */
  config_file: string | null;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 7070,
  data_dir: './.computemd',
  /** AWS us-east-1 (N. Virginia): a major US-East region, the documented default location. */
  location: 'us-east-1',
  seed: 42,
  log_level: 'warn',
  refresh_timeout_ms: 10_000,
  /** 1% of what providers are paid goes to the operator's fee account. */
  fee_bps: 100,
  hold_window_s: 3600,
  settle_interval_ms: 5000,
  rate_limit_per_ip: 600,
  rate_limit_per_principal: 3000,
  rate_limit_window_s: 60,
} as const;
