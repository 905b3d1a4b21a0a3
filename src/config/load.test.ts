import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, type ConfigFlags, loadConfig } from './load.js';

// loadConfig against real files in temp working dirs; the environment is always passed explicitly
// (never process.env) so a developer's COMPUTEMD_* variables cannot change the outcome.

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh working dir holding `files` (name → text). */
function cwdWith(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'computemd-config-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig: flags > env > file > defaults', () => {
  // Each setting from each source: the file always holds a value, so a row with file=true and no
  // flag/env shows the file beating the default; a row with everything set shows the flag winning.
  type Src = { flag?: boolean; env?: boolean; file?: boolean };
  const settings = [
    {
      key: 'port',
      flags: { port: 1111 } satisfies ConfigFlags,
      env: { COMPUTEMD_PORT: '2222' },
      file: { port: 3333 },
      values: { flag: 1111, env: 2222, file: 3333, default: 7070 },
    },
    {
      key: 'host',
      flags: { host: '10.0.0.1' } satisfies ConfigFlags,
      env: { COMPUTEMD_HOST: '10.0.0.2' },
      file: { host: '10.0.0.3' },
      values: { flag: '10.0.0.1', env: '10.0.0.2', file: '10.0.0.3', default: '127.0.0.1' },
    },
    {
      key: 'data_dir',
      flags: { data_dir: 'from-flag' } satisfies ConfigFlags,
      env: { COMPUTEMD_DATA: 'from-env' },
      file: { data_dir: 'from-file' },
      // Relative dirs resolve against the working dir (checked below with the cwd prefix).
      values: { flag: 'from-flag', env: 'from-env', file: 'from-file', default: '.computemd' },
    },
  ] as const;
  const rows: { src: Src; winner: 'flag' | 'env' | 'file' | 'default' }[] = [
    { src: { flag: true, env: true, file: true }, winner: 'flag' },
    { src: { flag: true }, winner: 'flag' },
    { src: { env: true, file: true }, winner: 'env' },
    { src: { env: true }, winner: 'env' },
    { src: { file: true }, winner: 'file' },
    { src: {}, winner: 'default' },
  ];
  for (const s of settings) {
    for (const { src, winner } of rows) {
      const given = Object.keys(src).join('+') || 'nothing';
      it(`${s.key}: ${given} → the ${winner} value`, () => {
        const cwd = cwdWith(src.file ? { 'computemd.config.json': JSON.stringify(s.file) } : {});
        const cfg = loadConfig(src.flag ? s.flags : {}, src.env ? { ...s.env } : {}, cwd);
        const want = s.values[winner];
        assert.equal(cfg[s.key], s.key === 'data_dir' ? join(cwd, String(want)) : want);
      });
    }
  }

  it('an empty environment variable counts as unset (the file wins)', () => {
    const cwd = cwdWith({
      'computemd.config.json': JSON.stringify({ port: 3333, host: '10.0.0.3', data_dir: 'from-file' }),
    });
    const cfg = loadConfig({}, { COMPUTEMD_PORT: '', COMPUTEMD_HOST: '', COMPUTEMD_DATA: '' }, cwd);
    assert.deepEqual(
      { port: cfg.port, host: cfg.host, data_dir: cfg.data_dir },
      { port: 3333, host: '10.0.0.3', data_dir: join(cwd, 'from-file') },
    );
  });

  it('with nothing given, every default', () => {
    const cwd = cwdWith();
    const cfg = loadConfig({}, {}, cwd);
    assert.deepEqual(
      {
        host: cfg.host,
        port: cfg.port,
        data_dir: cfg.data_dir,
        location: cfg.location,
        seed: cfg.seed,
        log_level: cfg.log_level,
        config_file: cfg.config_file,
        vast: cfg.providers.vast.enabled,
        catalog: cfg.providers.catalog.enabled,
        local: cfg.providers.local,
        refresh: cfg.refresh,
      },
      {
        host: '127.0.0.1',
        port: 7070,
        data_dir: join(cwd, '.computemd'),
        location: 'us-east-1',
        seed: 42,
        log_level: 'warn',
        config_file: null,
        vast: false,
        catalog: true,
        local: { enabled: true, price_per_hour: 0, agent: true },
        refresh: { timeout_ms: 10_000 },
      },
    );
  });
});

describe('loadConfig: the config file', () => {
  const json = JSON.stringify({
    port: 8080,
    location: 'eu-west-1',
    seed: 7,
    providers: { catalog: { clouds: ['aws', 'lambda'] }, local: { price_per_hour: 0.5 } },
    capabilities: { aliases: { TYPE_C: 'GPU_C' } },
  });
  const yaml = [
    'port: 8080',
    'location: eu-west-1',
    'seed: 7',
    'providers:',
    '  catalog:',
    '    clouds: [aws, lambda]',
    '  local:',
    '    price_per_hour: 0.5',
    'capabilities:',
    '  aliases:',
    '    TYPE_C: GPU_C',
  ].join('\n');
  const cases = [
    {
      name: 'computemd.config.json (auto-discovered)',
      file: 'computemd.config.json',
      text: json,
      flag: false,
    },
    {
      name: 'computemd.config.yaml (auto-discovered)',
      file: 'computemd.config.yaml',
      text: yaml,
      flag: false,
    },
    { name: 'computemd.config.yml (auto-discovered)', file: 'computemd.config.yml', text: yaml, flag: false },
    { name: 'an explicit --config JSON file', file: 'mine.json', text: json, flag: true },
    { name: 'an explicit --config YAML file', file: 'mine.yaml', text: yaml, flag: true },
  ];
  for (const c of cases) {
    it(`reads ${c.name}`, () => {
      const cwd = cwdWith({ [c.file]: c.text });
      const cfg = loadConfig(c.flag ? { config: c.file } : {}, {}, cwd);
      assert.deepEqual(
        {
          port: cfg.port,
          location: cfg.location,
          seed: cfg.seed,
          clouds: cfg.providers.catalog.clouds,
          local: cfg.providers.local,
          aliases: cfg.capabilities.aliases,
          config_file: cfg.config_file,
        },
        {
          port: 8080,
          location: 'eu-west-1',
          seed: 7,
          clouds: ['aws', 'lambda'],
          local: { enabled: true, price_per_hour: 0.5, agent: true },
          aliases: { TYPE_C: 'GPU_C' },
          config_file: join(cwd, c.file),
        },
      );
    });
  }

  it('COMPUTEMD_CONFIG names the file when no flag does; the flag wins over it', () => {
    const cwd = cwdWith({ 'a.json': '{"port": 1001}', 'b.json': '{"port": 1002}' });
    assert.equal(loadConfig({}, { COMPUTEMD_CONFIG: 'a.json' }, cwd).port, 1001);
    assert.equal(loadConfig({ config: 'b.json' }, { COMPUTEMD_CONFIG: 'a.json' }, cwd).port, 1002);
  });

  it('an empty YAML file is no settings at all', () => {
    const cwd = cwdWith({ 'computemd.config.yaml': '' });
    assert.equal(loadConfig({}, {}, cwd).port, 7070);
  });
});

describe('loadConfig: errors name the key at fault', () => {
  const cases: {
    name: string;
    files?: Record<string, string>;
    flags?: ConfigFlags;
    env?: NodeJS.ProcessEnv;
    key: string;
    message: RegExp;
  }[] = [
    {
      name: 'an explicit config file that does not exist',
      flags: { config: 'missing.json' },
      key: 'config',
      message: /^config: config: file not found: missing\.json$/,
    },
    {
      name: 'COMPUTEMD_CONFIG naming a missing file',
      env: { COMPUTEMD_CONFIG: 'nope.yaml' },
      key: 'config',
      message: /file not found: nope\.yaml/,
    },
    {
      name: 'an unknown nested key',
      files: { 'computemd.config.json': '{"providers": {"vast": {"bogus": 1}}}' },
      key: 'providers.vast.bogus',
      message: /^config: providers\.vast\.bogus: unknown key$/,
    },
    {
      name: 'an unknown top-level key',
      files: { 'computemd.config.yaml': 'prot: 8080\n' },
      key: 'prot',
      message: /unknown key/,
    },
    {
      name: 'a port of the wrong type',
      files: { 'computemd.config.json': '{"port": "x"}' },
      key: 'port',
      message: /\(got "x"\)/,
    },
    {
      name: 'a port out of range',
      files: { 'computemd.config.json': '{"port": 70000}' },
      key: 'port',
      message: /\(got 70000\)/,
    },
    {
      name: 'a credential-looking key',
      files: { 'computemd.config.json': '{"providers": {"vast": {"api_key": "sk-123"}}}' },
      key: 'providers.vast.api_key',
      message: /only from the environment \(e\.g\. VAST_API_KEY\)/,
    },
    {
      name: 'a credential-looking key in YAML',
      files: { 'computemd.config.yaml': 'providers:\n  vast:\n    apikey: sk-123\n' },
      key: 'providers.vast.apikey',
      message: /never from the config file/,
    },
    {
      name: 'COMPUTEMD_PORT that is not a number',
      env: { COMPUTEMD_PORT: 'abc' },
      key: 'COMPUTEMD_PORT',
      message: /^config: COMPUTEMD_PORT: must be an integer 0-65535 \(got "abc"\)$/,
    },
    {
      name: 'COMPUTEMD_LOG_LEVEL that is not a level',
      env: { COMPUTEMD_LOG_LEVEL: 'bogus' },
      key: 'COMPUTEMD_LOG_LEVEL',
      message: /must be one of fatal, error, warn, info, debug, trace, silent/,
    },
    {
      name: 'a file that does not parse',
      files: { 'computemd.config.json': '{"port": ' },
      key: '',
      message: /cannot parse/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const cwd = cwdWith(c.files ?? {});
      const err = configError(() => loadConfig(c.flags ?? {}, c.env ?? {}, cwd));
      // A parse error names the file itself, whose absolute path depends on the temp dir.
      assert.equal(err.key, c.key || join(cwd, 'computemd.config.json'));
      assert.match(err.message, c.message);
    });
  }
});

describe('loadConfig: Vast is enabled by its key in the environment', () => {
  const cases: { env: NodeJS.ProcessEnv; file?: string; enabled: boolean; api_key: string | null }[] = [
    { env: {}, enabled: false, api_key: null },
    { env: { VAST_API_KEY: '' }, enabled: false, api_key: null },
    { env: { VAST_API_KEY: 'k-1' }, enabled: true, api_key: 'k-1' },
    // The file can turn it off, never on without a key.
    {
      env: { VAST_API_KEY: 'k-1' },
      file: '{"providers": {"vast": {"enabled": false}}}',
      enabled: false,
      api_key: 'k-1',
    },
    { env: {}, file: '{"providers": {"vast": {"enabled": true}}}', enabled: false, api_key: null },
  ];
  for (const c of cases) {
    it(`VAST_API_KEY=${JSON.stringify(c.env.VAST_API_KEY ?? null)}${c.file ? ` with ${c.file}` : ''} → enabled=${c.enabled}`, () => {
      const cwd = cwdWith(c.file ? { 'computemd.config.json': c.file } : {});
      const vast = loadConfig({}, c.env, cwd).providers.vast;
      assert.deepEqual(
        { enabled: vast.enabled, api_key: vast.api_key },
        { enabled: c.enabled, api_key: c.api_key },
      );
    });
  }
});

describe('loadConfig: rate limits', () => {
  const cases: { name: string; env?: NodeJS.ProcessEnv; file?: unknown; want: Record<string, unknown> }[] = [
    {
      name: 'nothing given: on, 600 per IP and 3000 per principal a minute',
      want: { enabled: true, per_ip: 600, per_principal: 3000, window_ms: 60_000 },
    },
    {
      name: 'the file sets every key (window_s 5 → 5000 ms)',
      file: { rate_limit: { enabled: false, per_ip: 10, per_principal: 20, window_s: 5 } },
      want: { enabled: false, per_ip: 10, per_principal: 20, window_ms: 5000 },
    },
    {
      name: 'COMPUTEMD_RATE_LIMIT=off beats the file',
      env: { COMPUTEMD_RATE_LIMIT: 'off' },
      file: { rate_limit: { enabled: true } },
      want: { enabled: false, per_ip: 600, per_principal: 3000, window_ms: 60_000 },
    },
    {
      name: 'COMPUTEMD_RATE_LIMIT=on beats the file',
      env: { COMPUTEMD_RATE_LIMIT: 'on' },
      file: { rate_limit: { enabled: false, per_ip: 7 } },
      want: { enabled: true, per_ip: 7, per_principal: 3000, window_ms: 60_000 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const cwd = cwdWith(c.file ? { 'computemd.config.json': JSON.stringify(c.file) } : {});
      assert.deepEqual(loadConfig({}, c.env ?? {}, cwd).rate_limit, c.want);
    });
  }

  const errors = [
    {
      env: { COMPUTEMD_RATE_LIMIT: 'no' },
      key: 'COMPUTEMD_RATE_LIMIT',
      message: /must be on or off \(got "no"\)/,
    },
    { file: { rate_limit: { per_ip: 0 } }, key: 'rate_limit.per_ip', message: /\(got 0\)/ },
    { file: { rate_limit: { window: 60 } }, key: 'rate_limit.window', message: /unknown key/ },
  ];
  for (const c of errors) {
    it(`${c.key}: an error naming it`, () => {
      const cwd = cwdWith(c.file ? { 'computemd.config.json': JSON.stringify(c.file) } : {});
      const err = configError(() => loadConfig({}, c.env ?? {}, cwd));
      assert.equal(err.key, c.key);
      assert.match(err.message, c.message);
    });
  }
});

describe('loadConfig: TLS certificate and key', () => {
  // A self-signed P-256 certificate and its key, and a second key that is not the certificate's.
  const dir = cwdWith();
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...[
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
    ],
  );
  openssl(
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    join(dir, 'other.pem'),
  );
  writeFileSync(join(dir, 'junk.pem'), 'not a key\n');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const pem = { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };

  it('neither given: plain HTTP (null)', () => {
    assert.equal(loadConfig({}, {}, dir).tls, null);
  });

  const sources: { name: string; flags?: ConfigFlags; env?: NodeJS.ProcessEnv; file?: unknown }[] = [
    { name: '--tls-cert and --tls-key', flags: { tls_cert: cert, tls_key: key } },
    {
      name: 'COMPUTEMD_TLS_CERT and COMPUTEMD_TLS_KEY',
      env: { COMPUTEMD_TLS_CERT: cert, COMPUTEMD_TLS_KEY: key },
    },
    // Relative paths in the file resolve against the working dir, as data_dir does.
    {
      name: 'tls.cert and tls.key in the file (relative)',
      file: { tls: { cert: 'cert.pem', key: 'key.pem' } },
    },
    {
      name: 'a flag beats the environment, per file (the env key is junk)',
      flags: { tls_cert: cert, tls_key: key },
      env: { COMPUTEMD_TLS_KEY: join(dir, 'junk.pem') },
    },
  ];
  for (const s of sources) {
    it(`${s.name}: both read and checked`, () => {
      const cwd = s.file ? cwdWith({ 'computemd.config.json': JSON.stringify(s.file) }) : dir;
      if (s.file)
        for (const f of ['cert.pem', 'key.pem']) writeFileSync(join(cwd, f), readFileSync(join(dir, f)));
      const tls = loadConfig(s.flags ?? {}, s.env ?? {}, cwd).tls;
      assert.deepEqual(tls, { ...pem, cert_file: join(cwd, 'cert.pem'), key_file: join(cwd, 'key.pem') });
    });
  }

  const errors: {
    name: string;
    flags?: ConfigFlags;
    env?: NodeJS.ProcessEnv;
    key: string;
    message: RegExp;
  }[] = [
    {
      name: 'a certificate without a key names --tls-key',
      flags: { tls_cert: cert },
      key: 'tls.key',
      message: /certificate is set but no key: give --tls-key FILE \(or COMPUTEMD_TLS_KEY, or tls\.key/,
    },
    {
      name: 'a key without a certificate names --tls-cert',
      env: { COMPUTEMD_TLS_KEY: key },
      key: 'tls.cert',
      message: /key is set but no certificate: give --tls-cert FILE/,
    },
    {
      name: 'a missing file names the file',
      flags: { tls_cert: cert, tls_key: 'nope.pem' },
      key: 'tls.key',
      message: /cannot read .*nope\.pem \(ENOENT\)\. To fix: point --tls-key FILE/,
    },
    {
      name: 'a certificate that is not PEM',
      flags: { tls_cert: join(dir, 'junk.pem'), tls_key: key },
      key: 'tls.cert',
      message: /junk\.pem is not a PEM certificate$/,
    },
    {
      name: 'a key that is not PEM',
      flags: { tls_cert: cert, tls_key: join(dir, 'junk.pem') },
      key: 'tls.key',
      message: /junk\.pem is not an unencrypted PEM private key$/,
    },
    {
      name: "a key that is not the certificate's",
      flags: { tls_cert: cert, tls_key: join(dir, 'other.pem') },
      key: 'tls.key',
      message: /other\.pem does not belong to the certificate in .*cert\.pem$/,
    },
  ];
  for (const c of errors) {
    it(c.name, () => {
      const err = configError(() => loadConfig(c.flags ?? {}, c.env ?? {}, dir));
      assert.equal(err.key, c.key);
      assert.match(err.message, c.message);
    });
  }
});
