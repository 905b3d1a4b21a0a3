import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { ConfigFile, DEFAULTS, type GatewayConfig } from './schema.js';

/** A configuration problem that names the key at fault; the CLI prints it and exits non-zero. */
export class ConfigError extends Error {
  constructor(
    public readonly key: string,
    message: string,
  ) {
    super(`config: ${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Command-line flags that override everything else. */
export interface ConfigFlags {
  host?: string;
  port?: number;
  data_dir?: string;
  config?: string;
  seed?: number;
}

const FILE_NAMES = ['computemd.config.json', 'computemd.config.yaml', 'computemd.config.yml'];
/** Keys that look like credentials: refused in the file (credentials come only from the environment). */
const SECRET_KEY = /(api_?key|secret|token|password|credential)/i;

/** Reads and validates a config file; throws ConfigError naming the bad key. */
export function readConfigFile(path: string): ConfigFile {
  let raw: unknown;
  const text = readFileSync(path, 'utf8');
  try {
    raw = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, `cannot parse: ${(err as Error).message}`);
  }
  if (raw === null || raw === undefined) return {};
  findSecrets(raw, '');
  const first = Value.Errors(ConfigFile, raw).First();
  if (first) {
    const key = first.path.replace(/^\//, '').replaceAll('/', '.') || '(root)';
    throw new ConfigError(key, describe(first.message, first.value));
  }
  return raw as ConfigFile;
}

function describe(message: string, value: unknown): string {
  if (/additional/i.test(message) || /Unexpected property/i.test(message)) return 'unknown key';
  return `${message} (got ${JSON.stringify(value)})`;
}

function findSecrets(v: unknown, path: string): void {
  if (v === null || typeof v !== 'object') return;
  for (const [k, child] of Object.entries(v)) {
    const p = path ? `${path}.${k}` : k;
    if (SECRET_KEY.test(k)) {
      throw new ConfigError(
        p,
        'credentials are read only from the environment (e.g. VAST_API_KEY), never from the config file',
      );
    }
    findSecrets(child, p);
  }
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new ConfigError(name, `must be an integer 0-65535 (got ${JSON.stringify(v)})`);
  return n;
}

/** An environment variable's value; set-but-empty counts as unset, as it does for COMPUTEMD_PORT. */
function envStr(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
function logLevel(v: string | undefined): string | undefined {
  if (v !== undefined && !LOG_LEVELS.includes(v)) {
    throw new ConfigError(
      'COMPUTEMD_LOG_LEVEL',
      `must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(v)})`,
    );
  }
  return v;
}

function databaseUrl(v: string | undefined): string | null {
  if (v === undefined) return null;
  if (!/^postgres(ql)?:\/\//.test(v))
    throw new ConfigError(
      'COMPUTEMD_DATABASE_URL',
      'must be a postgres:// or postgresql:// URL (unset it for the embedded SQLite store)',
    );
  return v;
}

function databaseSchema(v: string | undefined): string | null {
  if (v === undefined) return null;
  if (!/^[a-z_][a-z0-9_]{0,39}$/.test(v))
    throw new ConfigError(
      'COMPUTEMD_DATABASE_SCHEMA',
      'must be a lower-case SQL identifier of at most 40 characters (a-z, 0-9, _)',
    );
  return v;
}

/** Flags override env override file override defaults. */
export function loadConfig(
  flags: ConfigFlags = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): GatewayConfig {
  const explicit = flags.config ?? envStr(env, 'COMPUTEMD_CONFIG');
  let path: string | null = null;
  if (explicit) {
    path = resolve(cwd, explicit);
    if (!existsSync(path)) throw new ConfigError('config', `file not found: ${explicit}`);
  } else {
    for (const n of FILE_NAMES) {
      const p = resolve(cwd, n);
      if (existsSync(p)) {
        path = p;
        break;
      }
    }
  }
  const file = path ? readConfigFile(path) : {};
  const p = file.providers ?? {};
  const vastKey = env.VAST_API_KEY && env.VAST_API_KEY.length > 0 ? env.VAST_API_KEY : null;
  return {
    host: flags.host ?? envStr(env, 'COMPUTEMD_HOST') ?? file.host ?? DEFAULTS.host,
    port: flags.port ?? envInt(env, 'COMPUTEMD_PORT') ?? file.port ?? DEFAULTS.port,
    data_dir: resolve(
      cwd,
      flags.data_dir ?? envStr(env, 'COMPUTEMD_DATA') ?? file.data_dir ?? DEFAULTS.data_dir,
    ),
    location: file.location ?? DEFAULTS.location,
    seed: flags.seed ?? file.seed ?? DEFAULTS.seed,
    log_level: logLevel(envStr(env, 'COMPUTEMD_LOG_LEVEL')) ?? file.log_level ?? DEFAULTS.log_level,
    providers: {
      catalog: {
        enabled: p.catalog?.enabled ?? true,
        clouds: p.catalog?.clouds ?? null,
        refresh_url: p.catalog?.refresh_url ?? null,
      },
      vast: {
        // Active when the key is set, unless the file turns it off.
        enabled: (p.vast?.enabled ?? true) && vastKey !== null,
        base_url: env.VAST_BASE_URL ?? p.vast?.base_url ?? null,
        cache_ttl_s: p.vast?.cache_ttl_s ?? 60,
        api_key: vastKey,
      },
      local: { enabled: p.local?.enabled ?? true, price_per_hour: p.local?.price_per_hour ?? 0 },
    },
    capabilities: { classes: file.capabilities?.classes ?? {}, aliases: file.capabilities?.aliases ?? {} },
    refresh: { timeout_ms: file.refresh?.timeout_ms ?? DEFAULTS.refresh_timeout_ms },
    database_url: databaseUrl(envStr(env, 'COMPUTEMD_DATABASE_URL')),
    database_schema: databaseSchema(envStr(env, 'COMPUTEMD_DATABASE_SCHEMA')),
    ledger: {
      fee_bps: file.ledger?.fee_bps ?? DEFAULTS.fee_bps,
      hold_window_s: file.ledger?.hold_window_s ?? DEFAULTS.hold_window_s,
      settle_interval_ms: file.ledger?.settle_interval_ms ?? DEFAULTS.settle_interval_ms,
      payment_methods: file.ledger?.payment_methods ?? null,
    },
    config_file: path,
  };
}
