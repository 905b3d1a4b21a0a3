import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:http2';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packagePath } from '../src/util/paths.js';
import { BASE_ENV, freePort, kill, killAllGateways, startGateway } from './helpers/serve.js';

/**
 * Transport of the real `computemd serve`: with --tls-cert/--tls-key it serves HTTPS, HTTP/2 by
 * ALPN and HTTP/1.1 for clients that do not offer h2; one of the two alone, or a file it cannot
 * read, is a config error (exit 2) naming what is wrong; plain HTTP on a non-loopback address
 * warns that tokens would cross the network in clear text.
 */

const BIN = packagePath('bin', 'computemd.js');
const tmp = mkdtempSync(join(tmpdir(), 'computemd-transport-'));
const CERT = join(tmp, 'cert.pem');
const KEY = join(tmp, 'key.pem');
const OTHER_KEY = join(tmp, 'other-key.pem');
let ca = '';

const children = new Set<ChildProcess>();
after(async () => {
  await Promise.all([...children].map((p) => kill(p, 'SIGKILL')));
  await killAllGateways();
  rmSync(tmp, { recursive: true, force: true });
});

before(() => {
  // A self-signed P-256 certificate for localhost and 127.0.0.1, and a key that is not its key.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      KEY,
      '-out',
      CERT,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', OTHER_KEY],
    {
      stdio: 'ignore',
    },
  );
  ca = readFileSync(CERT, 'utf8');
});

interface Run {
  port: number;
  /** True once it printed its serving line; false when it exited first. */
  served: boolean;
  stdout: () => string;
  stderr: () => string;
  /** Exit code, once every byte of its output has been read. */
  closed: Promise<number | null>;
  stop(): Promise<number | null>;
}

/**
 * `computemd serve --port P --data D <args>`, whose stderr the test reads whole (the shared helper
 * keeps only stdout up to the serving line). Resolves when it serves or exits.
 */
async function serveWith(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const port = await freePort();
  const data = mkdtempSync(join(tmp, 'data-'));
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--data', data, ...args], {
    cwd: data,
    env: { ...BASE_ENV, COMPUTEMD_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let out = '';
  let err = '';
  proc.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const closed = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  const served = await Promise.race([
    new Promise<boolean>((resolve) =>
      proc.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (/computemd: serving \d+ offers/.test(out)) resolve(true);
      }),
    ),
    closed.then(() => false),
  ]);
  return {
    port,
    served,
    stdout: () => out,
    stderr: () => err,
    closed,
    async stop() {
      proc.kill('SIGTERM');
      return closed;
    },
  };
}

/** GET over HTTP/2 with our CA: the status, the protocol ALPN chose, the body. */
function h2Get(
  origin: string,
  path: string,
): Promise<{ status: number; alpn: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(origin, { ca });
    session.once('error', reject);
    const req = session.request({ ':path': path });
    let status = 0;
    let body = '';
    req.once('response', (h) => {
      status = Number(h[':status']);
    });
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.once('error', reject);
    req.once('end', () => {
      const alpn = session.alpnProtocol;
      session.close();
      resolve({ status, alpn, body });
    });
    req.end();
  });
}

/** GET over HTTPS/1.1 (node:https offers no h2) with our CA. */
function https1Get(url: string): Promise<{ status: number; version: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, version: res.httpVersion, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

const WARNING =
  /warning: serving plain HTTP on .*clear text.*--tls-cert FILE and --tls-key FILE.*TLS-terminating proxy/;

describe('TLS: --tls-cert/--tls-key serve HTTPS, HTTP/2 and HTTP/1.1', () => {
  let run: Run;
  before(async () => {
    // Bound to every interface, with TLS: no clear-text warning.
    run = await serveWith(['--host', '0.0.0.0', '--tls-cert', CERT, '--tls-key', KEY]);
    assert.ok(run.served, `gateway did not serve; stderr: ${run.stderr()}`);
  });
  after(async () => {
    await run.stop();
  });

  it('prints an https:// URL', () => {
    assert.match(run.stdout(), /on https:\/\/0\.0\.0\.0:\d+ \(docs: https:\/\/0\.0\.0\.0:\d+\/docs\)/);
  });

  it('GET /health over h2 (ALPN chose h2): 200', async () => {
    const r = await h2Get(`https://127.0.0.1:${run.port}`, '/health');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.alpn, 'h2');
    assert.match(r.body, /"offers":\d+/);
  });

  it('GET /health over HTTPS/1.1: 200', async () => {
    const r = await https1Get(`https://127.0.0.1:${run.port}/health`);
    assert.deepEqual({ status: r.status, version: r.version }, { status: 200, version: '1.1' });
  });

  it('no clear-text warning (TLS is on)', async () => {
    await run.stop();
    assert.doesNotMatch(run.stderr(), /warning/);
  });
});

describe('TLS from the environment (COMPUTEMD_TLS_CERT, COMPUTEMD_TLS_KEY)', () => {
  it('the shared helper’s gateway serves h2', async () => {
    const data = mkdtempSync(join(tmp, 'data-'));
    const g = await startGateway(data, { COMPUTEMD_TLS_CERT: CERT, COMPUTEMD_TLS_KEY: KEY });
    assert.match(g.stdout, /on https:\/\//);
    const r = await h2Get(g.url.replace(/^http:/, 'https:'), '/health');
    assert.deepEqual({ status: r.status, alpn: r.alpn }, { status: 200, alpn: 'h2' });
    await kill(g.proc, 'SIGTERM');
  });
});

describe('TLS config errors: exit 2, naming what is missing or wrong', () => {
  const cases = [
    {
      name: 'a certificate without a key',
      args: ['--tls-cert', CERT],
      stderr: /tls\.key: .*give --tls-key FILE/,
    },
    {
      name: 'a key without a certificate',
      args: ['--tls-key', KEY],
      stderr: /tls\.cert: .*give --tls-cert FILE/,
    },
    {
      name: 'the key from the environment, no certificate',
      args: [],
      env: { COMPUTEMD_TLS_KEY: KEY },
      stderr: /give --tls-cert FILE/,
    },
    {
      name: 'an unreadable key file',
      args: ['--tls-cert', CERT, '--tls-key', join(tmp, 'missing.pem')],
      stderr: /cannot read .*missing\.pem \(ENOENT\)/,
    },
    {
      name: 'a key file that is not PEM',
      args: ['--tls-cert', CERT, '--tls-key', BIN],
      stderr: /computemd\.js is not an unencrypted PEM private key/,
    },
    {
      name: 'a key that does not belong to the certificate',
      args: ['--tls-cert', CERT, '--tls-key', OTHER_KEY],
      stderr: /other-key\.pem does not belong to the certificate/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const run = await serveWith(c.args, c.env);
      assert.equal(run.served, false);
      assert.equal(await run.closed, 2);
      assert.match(run.stderr(), /^error: config: /);
      assert.match(run.stderr(), c.stderr);
    });
  }
});

describe('plain HTTP off loopback warns that tokens would cross the network in clear text', () => {
  const cases = [
    { host: '0.0.0.0', warns: true },
    { host: '127.0.0.1', warns: false },
  ];
  for (const c of cases) {
    it(`--host ${c.host}: ${c.warns ? 'a warning on stderr' : 'no warning'}`, async () => {
      const run = await serveWith(['--host', c.host]);
      assert.ok(run.served, `gateway did not serve; stderr: ${run.stderr()}`);
      assert.match(run.stdout(), /on http:\/\//);
      // Stopped first, so every byte it wrote to stderr has been read.
      assert.equal(await run.stop(), 0);
      if (c.warns) assert.match(run.stderr(), WARNING);
      else assert.equal(run.stderr(), '');
    });
  }
});
