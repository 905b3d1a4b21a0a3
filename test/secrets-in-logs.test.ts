import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Child, kill, killAllGateways, startGateway } from './helpers/serve.js';

/**
 * Secrets never reach the logs: the real gateway at log level trace (COMPUTEMD_LOG_LEVEL) gets
 * requests carrying the admin token (valid), made-up bearer tokens and cookies, a credential in
 * the query string and client_secret in JSON, malformed JSON and form bodies. Everything it
 * prints on stdout and stderr is captured, and none of those strings, nor the secret of its own
 * key file, may appear in it. The output must show the requests, so a logger that logged nothing
 * cannot pass.
 */

const data = mkdtempSync(join(tmpdir(), 'computemd-secrets-'));
let g: Child;
let output = '';

after(async () => {
  await killAllGateways();
  rmSync(data, { recursive: true, force: true });
});

/** Looks like a credential and appears nowhere unless something printed it. */
const fake = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;

describe('secrets in logs', () => {
  let adminToken = '';
  let keySecret = '';
  const issued: Record<string, string> = {};
  const secrets: Record<string, string> = {
    badAdmin: fake('cmd_admin_'),
    bearer: fake('sk_live_'),
    cookie: fake('sess_'),
    queryToken: fake('qt_'),
    clientSecret: fake('cs_'),
    bodyToken: fake('bt_'),
    apiKey: fake('ak_'),
    formSecret: fake('fs_'),
    malformed: fake('mj_'),
  };

  before(async () => {
    g = await startGateway(data, { COMPUTEMD_LOG_LEVEL: 'trace' });
    output = g.stdout;
    g.proc.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    g.proc.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    adminToken = readFileSync(join(data, 'admin.token'), 'utf8').trim();
    keySecret = (JSON.parse(readFileSync(join(data, 'gateway.key'), 'utf8')) as { secret_key: string })
      .secret_key;
    assert.ok(adminToken.length > 20 && keySecret.length > 20);

    const send = (path: string, init: RequestInit = {}) =>
      fetch(g.url + path, init).then(async (r) => ({ status: r.status, body: await r.text() }));
    const json = (body: unknown, token: string) => ({
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const replies = [
      await send('/health?probe=valid-admin', { headers: { authorization: `Bearer ${adminToken}` } }),
      await send('/health?probe=cookie', {
        headers: { authorization: `Bearer ${adminToken}`, cookie: `session=${secrets.cookie}` },
      }),
      await send('/health?probe=invalid-admin', { headers: { authorization: `Bearer ${secrets.badAdmin}` } }),
      await send('/orchestrate?probe=invalid-bearer', json({}, secrets.bearer ?? '')),
      await send(`/health?probe=query&access_token=${secrets.queryToken}&token=${secrets.queryToken}`),
      await send(
        '/orchestrate?probe=body',
        json(
          {
            client_secret: secrets.clientSecret,
            token: secrets.bodyToken,
            nested: { api_key: secrets.apiKey, deeper: { secret_key: secrets.clientSecret } },
          },
          adminToken,
        ),
      ),
      await send('/orchestrate?probe=malformed', {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: `{"client_secret": "${secrets.malformed}", `,
      }),
      await send('/oauth/token?probe=form', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&client_id=pr_x&client_secret=${secrets.formSecret}`,
      }),
    ];
    // Credentials the gateway itself issues: an API key, a UCAN minted with it, an OAuth2 token.
    const created = await send(
      '/principals?probe=issue',
      json({ role: 'requester', name: 'logged' }, adminToken),
    );
    const key = (JSON.parse(created.body) as { api_key: { id: string; key: string } }).api_key;
    issued.apiKey = key.key;
    const minted = await send(
      '/tokens?probe=mint',
      json({ can: ['compute/book'], max_spend_usd: 5 }, key.key),
    );
    issued.ucan = (JSON.parse(minted.body) as { token: string }).token;
    const oauth = await send('/oauth/token?probe=oauth', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${key.id}&client_secret=${encodeURIComponent(key.key)}`,
    });
    issued.accessToken = (JSON.parse(oauth.body) as { access_token: string }).access_token;
    for (const [name, tok] of Object.entries(issued)) {
      const r = await send(`/accounts/me?probe=use-${name}`, { headers: { authorization: `Bearer ${tok}` } });
      assert.equal(r.status, 200, `${name}: ${r.body}`);
    }
    // The requests did what they were meant to: the admin token was accepted, the made-up one not.
    assert.equal(replies[0]?.status, 200);
    assert.equal(replies[1]?.status, 200);
    assert.equal(replies[2]?.status, 401, replies[2]?.body);
    assert.equal(replies[3]?.status, 401, replies[3]?.body);
    // Give the logger a moment to flush the last lines to the pipe, then stop the gateway so
    // everything it wrote, shutdown included, has been read.
    await new Promise((r) => setTimeout(r, 200));
    const closed = new Promise((r) => g.proc.once('close', r));
    await kill(g.proc, 'SIGTERM');
    await closed;
  });

  it('the logger did log the requests (the test can fail)', () => {
    assert.ok(output.length > 0);
    for (const probe of [
      'valid-admin',
      'cookie',
      'invalid-admin',
      'invalid-bearer',
      'body',
      'malformed',
      'form',
      'issue',
      'mint',
      'oauth',
      'use-apiKey',
      'use-ucan',
      'use-accessToken',
    ]) {
      assert.match(output, new RegExp(`probe=${probe}`), `no log line for probe=${probe}`);
    }
    assert.match(output, /"msg":"incoming request"/);
    assert.match(output, /"msg":"request completed"/);
  });

  it('no token, cookie, query credential or body secret appears in the output', () => {
    assert.equal(Object.keys(issued).length, 3);
    for (const [name, secret] of Object.entries({ adminToken, ...secrets, ...issued })) {
      assert.ok(!output.includes(secret), `${name} appears in the logs`);
    }
    // The credential query values were logged censored.
    assert.match(output, /access_token=\[redacted\]&token=\[redacted\]/);
  });

  it("the gateway key's secret never appears", () => {
    assert.ok(!output.includes(keySecret));
  });
});
