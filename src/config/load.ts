import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
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
  tls_cert?: string;
  tls_key?: string;
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

function rateLimitSwitch(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'on' || v === 'off') return v === 'on';
  throw new ConfigError('COMPUTEMD_RATE_LIMIT', `must be on or off (got ${JSON.stringify(v)})`);
}

const TLS_SOURCES = {
  cert: '--tls-cert FILE (or COMPUTEMD_TLS_CERT, or tls.cert in the config file)',
  key: '--tls-key FILE (or COMPUTEMD_TLS_KEY, or tls.key in the config file)',
} as const;

/** A TLS file's text; a missing or unreadable file names itself and the flag that set it. */
function readTlsFile(which: 'cert' | 'key', path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(
      `tls.${which}`,
      `cannot read ${path} (${why}). To fix: point ${TLS_SOURCES[which]} at a readable PEM file`,
    );
  }
}

/**
 * Both TLS files or neither. They are read and parsed here, so a wrong path, a file that is not PEM
 * or a key that does not belong to the certificate is a config error (exit 2), not a crash inside
 * the server. Messages name the files, never their contents.
 */
function loadTls(cert: string | undefined, key: string | undefined, cwd: string): GatewayConfig['tls'] {
  if (cert === undefined && key === undefined) return null;
  if (key === undefined)
    throw new ConfigError(
      'tls.key',
      `a TLS certificate is set but no key: give ${TLS_SOURCES.key}, or drop the certificate to serve plain HTTP`,
    );
  if (cert === undefined)
    throw new ConfigError(
      'tls.cert',
      `a TLS key is set but no certificate: give ${TLS_SOURCES.cert}, or drop the key to serve plain HTTP`,
    );
  const certFile = resolve(cwd, cert);
  const keyFile = resolve(cwd, key);
  const certPem = readTlsFile('cert', certFile);
  const keyPem = readTlsFile('key', keyFile);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch {
    throw new ConfigError('tls.cert', `${certFile} is not a PEM certificate`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch {
    throw new ConfigError('tls.key', `${keyFile} is not an unencrypted PEM private key`);
  }
  if (!x509.checkPrivateKey(privateKey))
    throw new ConfigError(
      'tls.key',
      `the key in ${keyFile} does not belong to the certificate in ${certFile}`,
    );
  return { cert: certPem, key: keyPem, cert_file: certFile, key_file: keyFile };
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
      local: {
        enabled: p.local?.enabled ?? true,
        price_per_hour: p.local?.price_per_hour ?? 0,
        agent: env.COMPUTEMD_LOCAL_AGENT === 'off' ? false : (p.local?.agent ?? true),
      },
      slurm: {
        enabled: p.slurm?.enabled ?? false,
        price_per_node_hour: p.slurm?.price_per_node_hour ?? 0,
        region: p.slurm?.region ?? null,
        slurm_conf: p.slurm?.slurm_conf ?? null,
        bin_dir: p.slurm?.bin_dir ?? null,
        work_root: p.slurm?.work_root ?? null,
      },
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
    tls: loadTls(
      flags.tls_cert ?? envStr(env, 'COMPUTEMD_TLS_CERT') ?? file.tls?.cert,
      flags.tls_key ?? envStr(env, 'COMPUTEMD_TLS_KEY') ?? file.tls?.key,
      cwd,
    ),
    auth: { jwt_issuers: file.auth?.jwt_issuers ?? [] },
    agents: {
      heartbeat_timeout_s: envInt(env, 'COMPUTEMD_AGENT_TIMEOUT_S') || file.agents?.heartbeat_timeout_s || 30,
    },
    runtime: { tick_ms: envInt(env, 'COMPUTEMD_RUNTIME_TICK_MS') || 1000 },
    trust_proxy: trustProxy(envStr(env, 'COMPUTEMD_TRUST_PROXY')) ?? file.trust_proxy ?? false,
    rate_limit: {
      enabled: rateLimitSwitch(envStr(env, 'COMPUTEMD_RATE_LIMIT')) ?? file.rate_limit?.enabled ?? true,
      per_ip: file.rate_limit?.per_ip ?? DEFAULTS.rate_limit_per_ip,
      per_principal: file.rate_limit?.per_principal ?? DEFAULTS.rate_limit_per_principal,
      window_ms: (file.rate_limit?.window_s ?? DEFAULTS.rate_limit_window_s) * 1000,
    },
    config_file: path,
  };
}

/** COMPUTEMD_TRUST_PROXY: `true`/`false`, or the proxies' addresses/CIDRs. */
function trustProxy(v: string | undefined): boolean | string | undefined {
  if (v === undefined) return undefined;
  if (v === 'true' || v === 'false') return v === 'true';
  if (!/^[0-9a-fA-F:./, ]+$/.test(v))
    throw new ConfigError(
      'trust_proxy',
      `COMPUTEMD_TRUST_PROXY must be true, false or addresses/CIDRs, got "${v}"`,
    );
  return v;
}
