import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packagePath } from '../src/util/paths.js';
import { BASE_ENV, type Child, freePort, startGateway } from './helpers/serve.js';

// The real binary (`node bin/computemd.js …`) against a real gateway process, started once for the
// file. Every CLI run happens in an empty temp working dir with COMPUTEMD_* scrubbed from the
// environment, so neither a developer's ./.computemd nor their variables can leak into a case.

const BIN = packagePath('bin', 'computemd.js');
const ROOT = mkdtempSync(join(tmpdir(), 'computemd-cli-'));
const dir = (name: string) => {
  const d = join(ROOT, name);
  mkdirSync(d, { recursive: true });
  return d;
};
const CWD = dir('cwd');
const DATA = join(ROOT, 'data'); // the gateway creates it (and admin.token) on first start

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: CWD, env: { ...BASE_ENV, ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

interface Serving extends Child {
  stop(): Promise<number | null>;
}

/** `computemd serve` as a real process (helpers/serve.ts), with a stop that reports its exit code. */
async function serve(dataDir: string): Promise<Serving> {
  const child = await startGateway(dataDir, {}, CWD);
  return {
    ...child,
    stop: () =>
      new Promise((resolve) => {
        if (child.proc.exitCode !== null) return resolve(child.proc.exitCode);
        child.proc.once('exit', (code) => resolve(code));
        child.proc.kill('SIGTERM');
      }),
  };
}

let gw: Serving;
before(async () => {
  gw = await serve(DATA);
});
after(async () => {
  await gw?.stop();
  rmSync(ROOT, { recursive: true, force: true });
});

const json = <T>(r: Run): T => {
  assert.equal(r.code, 0, `exit ${r.code}; stderr: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};

interface OfferOut {
  resource_type: string;
  price_per_gpu_hour: number | null;
}

describe('computemd serve', () => {
  it('the first start in a fresh data dir says it created the admin token; a second start does not', async () => {
    assert.match(
      gw.stdout,
      /^computemd: created the operator; admin token written to .*admin\.token \(mode 0600\)$/m,
    );
    assert.ok(existsSync(join(DATA, 'admin.token')));
    const second = await serve(DATA);
    const code = await second.stop();
    assert.doesNotMatch(second.stdout, /created the operator/);
    assert.match(
      second.stdout,
      /^computemd: serving \d+ offers from \d+ providers on http:\/\/127\.0\.0\.1:\d+/m,
    );
    assert.equal(code, 0, 'SIGTERM stops it cleanly');
  });
});

describe('computemd nodes / discover / providers', () => {
  it('nodes --resource-type GPU_A --max-price 2.5 --json: only GPU_A offers at ≤ $2.50/GPU-hour', async () => {
    const res = json<{ offers: OfferOut[] }>(
      await cli(['nodes', '--resource-type', 'GPU_A', '--max-price', '2.5', '--json', '--url', gw.url]),
    );
    assert.ok(res.offers.length > 0, 'the shipped catalogs have GPU_A offers under $2.50');
    for (const o of res.offers) {
      assert.equal(o.resource_type, 'GPU_A');
      assert.ok(o.price_per_gpu_hour !== null && o.price_per_gpu_hour <= 2.5, JSON.stringify(o));
    }
  });

  it('nodes without --json prints a table with a header row and a count line', async () => {
    const r = await cli(['nodes', '--resource-type', 'GPU_A', '--limit', '3', '--url', gw.url]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(lines[0]?.split(/\s+/), [
      'ID',
      'PROVIDER',
      'TYPE',
      'CLASS',
      'GPU',
      'N',
      '$/GPU-H',
      '$/NODE-H',
      'REGION',
      'BAND',
      'AVAIL',
      'SPOT',
    ]);
    assert.equal(lines.length, 1 + 3 + 1, 'header + 3 rows + the count line');
    assert.match(lines[4] ?? '', /^3 offers \(more: --cursor \S+\)/);
  });

  it('discover --gpu-hours 1000 --min-memory-gb 24 --max-price 1 --json: options by total cost, ascending', async () => {
    const res = json<{ gpu_hours: number; options: { total_cost_usd: number }[] }>(
      await cli([
        'discover',
        '--gpu-hours',
        '1000',
        '--min-memory-gb',
        '24',
        '--max-price',
        '1',
        '--json',
        '--url',
        gw.url,
      ]),
    );
    assert.equal(res.gpu_hours, 1000);
    const costs = res.options.map((o) => o.total_cost_usd);
    assert.ok(costs.length >= 2, `expected several options, got ${costs.length}`);
    assert.deepEqual(
      costs,
      [...costs].sort((a, b) => a - b),
    );
  });

  it('providers --json lists every provider type of the glossary', async () => {
    const res = json<{ providers: { type: string }[] }>(await cli(['providers', '--json', '--url', gw.url]));
    const types = new Set(res.providers.map((p) => p.type));
    for (const t of [
      'traditional_cloud',
      'p2p_marketplace',
      'decentralized_cloud',
      'decentralized_compute',
      'serverless_compute',
      'edge',
    ]) {
      assert.ok(types.has(t), `no provider of type ${t} in ${[...types].join(', ')}`);
    }
  });
});

describe('computemd catalog refresh (operator)', () => {
  // A one-cloud mirror: <from>/lambda/vms.csv, a copy of the shipped catalog.
  const from = join(ROOT, 'mirror');
  before(() => {
    mkdirSync(join(from, 'lambda'), { recursive: true });
    copyFileSync(packagePath('data', 'catalogs', 'lambda', 'vms.csv'), join(from, 'lambda', 'vms.csv'));
  });

  it('with the admin token from --data: exit 0, lambda updated or unchanged', async () => {
    const args = ['catalog', 'refresh', '--from', from, '--cloud', 'lambda', '--json', '--url', gw.url];
    const res = json<{ from: string; clouds: { cloud: string; status: string }[] }>(
      await cli([...args, '--data', DATA]),
    );
    assert.equal(res.from, from);
    assert.equal(res.clouds.length, 1);
    assert.equal(res.clouds[0]?.cloud, 'lambda');
    assert.ok(['updated', 'unchanged'].includes(res.clouds[0]?.status ?? ''), JSON.stringify(res.clouds));
  });

  it('without any token: exit 1 and a message about the token', async () => {
    const empty = dir('empty-data');
    const r = await cli([
      'catalog',
      'refresh',
      '--from',
      from,
      '--cloud',
      'lambda',
      '--url',
      gw.url,
      '--data',
      empty,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^error: .*token/im);
  });

  it('with a wrong token: exit 1', async () => {
    const r = await cli(['catalog', 'refresh', '--from', from, '--url', gw.url], {
      COMPUTEMD_TOKEN: 'cmd_admin_wrong',
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /bearer token is not valid/i);
  });
});

describe('computemd: exit codes', () => {
  it('a bad flag value the gateway refuses: exit 1, the message names the flag', async () => {
    const r = await cli(['nodes', '--max-price', 'abc', '--url', gw.url]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: --max-price: /);
  });

  it('no gateway listening: exit 3, saying it cannot reach it', async () => {
    const closed = await freePort();
    const r = await cli(['nodes', '--url', `http://127.0.0.1:${closed}`]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${closed}`));
  });

  // Usage errors are caught before anything connects or starts.
  const usage: { args: string[]; code: number; stream: 'stdout' | 'stderr'; says: RegExp }[] = [
    { args: ['--help'], code: 0, stream: 'stdout', says: /^Usage: computemd <command> \[flags\]$/m },
    { args: ['nodes', '--help'], code: 0, stream: 'stdout', says: /^Exit codes: 0 ok/m },
    { args: [], code: 2, stream: 'stdout', says: /^Usage: computemd/m },
    { args: ['nodes', '--bogus'], code: 2, stream: 'stderr', says: /--bogus/ },
    {
      args: ['serve', '--port', 'abc'],
      code: 2,
      stream: 'stderr',
      says: /^error: --port: must be a non-negative integer \(got "abc"\)$/m,
    },
    { args: ['serve', '--seed', '-1'], code: 2, stream: 'stderr', says: /--seed/ },
    { args: ['catalog'], code: 2, stream: 'stderr', says: /usage: computemd catalog refresh/ },
    { args: ['frobnicate'], code: 2, stream: 'stderr', says: /unknown command "frobnicate"/ },
  ];
  describe('usage', { concurrency: true }, () => {
    for (const u of usage) {
      it(`computemd ${u.args.join(' ') || '(nothing)'} → exit ${u.code}`, async () => {
        const r = await cli(u.args);
        assert.equal(r.code, u.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
        assert.match(r[u.stream], u.says);
      });
    }
  });
});

describe('computemd credit / book / bookings / cancel / account / ledger verify', () => {
  interface BookingOut {
    booking_id: string;
    status: string;
    total_cost: number;
    allocations: { offer_id: string; nodes: number; hours: number }[];
  }
  const op = () => ['--url', gw.url, '--data', DATA, '--json'];

  it('credits, books an offer, lists, cancels, and the ledger verifies', async () => {
    const credited = json<{ balance_usd: number; replayed: boolean }>(
      await cli(['credit', 'pr_operator', '--amount', '250', '--key', 'cli-credit-1', ...op()]),
    );
    assert.equal(credited.replayed, false);
    const again = json<{ balance_usd: number; replayed: boolean }>(
      await cli(['credit', 'pr_operator', '--amount', '250', '--key', 'cli-credit-1', ...op()]),
    );
    assert.equal(again.replayed, true);
    assert.equal(again.balance_usd, credited.balance_usd);

    const nodes = json<{ offers: { id: string }[] }>(
      await cli(['nodes', '--resource-type', 'GPU_B', '--sort', 'price_asc', '--limit', '1', ...op()]),
    );
    const offer = nodes.offers[0]?.id as string;
    const b = json<BookingOut>(await cli(['book', '--offer', offer, '--hours', '1', ...op()]));
    assert.match(b.booking_id, /^bk_/);
    assert.deepEqual(
      b.allocations.map((a) => [a.offer_id, a.nodes, a.hours]),
      [[offer, 1, 1]],
    );
    const list = json<{ bookings: BookingOut[] }>(await cli(['bookings', ...op()]));
    assert.ok(list.bookings.some((x) => x.booking_id === b.booking_id));
    const human = await cli(['account', '--url', gw.url, '--data', DATA]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^req:pr_operator: balance \$\d+\.\d\d, held \$\d+\.\d\d/);
    const cancelled = json<BookingOut>(await cli(['cancel', b.booking_id, ...op()]));
    assert.equal(cancelled.status, 'cancelled');
    const verify = await cli(['ledger', 'verify', '--url', gw.url, '--data', DATA]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /ledger ok/);
  });

  it('usage errors exit 2 naming the flag; a refused booking exits 1 with the detail', async () => {
    const noTarget = await cli(['book', ...op()]);
    assert.equal(noTarget.code, 2);
    assert.match(noTarget.stderr, /--plan|--offer/);
    const badHours = await cli(['book', '--offer', 'x', '--hours', 'soon', ...op()]);
    assert.equal(badHours.code, 2);
    assert.match(badHours.stderr, /--hours/);
    const unknown = await cli(['book', '--offer', 'of_missing', '--hours', '1', ...op()]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /No offer of_missing/);
    const noSub = await cli(['ledger', ...op()]);
    assert.equal(noSub.code, 2);
  });
});

describe('computemd principal / token / key', () => {
  const op = () => ['--url', gw.url, '--data', DATA];

  it('the operator creates an agent; the agent mints a $50 token that the gateway enforces', async () => {
    const p = json<{ principal: { id: string }; api_key: { key: string } }>(
      await cli(['principal', 'create', '--role', 'requester', '--name', 'cli-agent', '--json', ...op()]),
    );
    assert.match(p.principal.id, /^pr_/);
    const agent = { COMPUTEMD_TOKEN: p.api_key.key, COMPUTEMD_URL: gw.url };
    const made = await cli(
      [
        'token',
        'create',
        '--can',
        'compute/book',
        '--can',
        'compute/lease/read',
        '--max-spend',
        '50',
        '--max-price',
        '2',
        '--expires',
        '1d',
        '--json',
      ],
      agent,
    );
    assert.equal(made.code, 0, made.stderr);
    const tok = JSON.parse(made.stdout) as {
      token: string;
      id: string;
      capabilities: Record<string, Record<string, unknown[]>>;
    };
    assert.match(tok.token, /^eyJ/);
    const caps = Object.values(tok.capabilities)[0] as Record<string, unknown[]>;
    assert.deepEqual(caps['compute/book'], [{ max_spend_usd: 50, max_price_per_hour: 2 }]);
    // Human output: the token alone on stdout, so `$(computemd token create …)` captures it.
    const plain = await cli(['token', 'create', '--can', 'compute/discover', '--expires', '30s'], agent);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout.trim(), /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);

    // The token books within its caveats and is refused past them, with the caveat named.
    const credit = await cli([
      'credit',
      p.principal.id,
      '--amount',
      '1000',
      '--key',
      'cli-agent-credit',
      ...op(),
    ]);
    assert.equal(credit.code, 0, credit.stderr);
    const ucan = { COMPUTEMD_TOKEN: tok.token, COMPUTEMD_URL: gw.url };
    const pricey = json<{ offers: { id: string }[] }>(
      await cli([
        'nodes',
        '--resource-type',
        'GPU_A',
        '--sort',
        'price_desc',
        '--limit',
        '1',
        '--json',
        ...op(),
      ]),
    );
    const refused = await cli(['book', '--offer', pricey.offers[0]?.id as string, '--hours', '1'], ucan);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /max_price_per_hour|at most \$2/);

    const list = await cli(['token', 'list'], agent);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(tok.id));
    const revoked = await cli(['token', 'revoke', tok.id], agent);
    assert.equal(revoked.code, 0, revoked.stderr);
    const dead = await cli(['account'], ucan);
    assert.equal(dead.code, 1);
    assert.match(dead.stderr, /revoked/);
  });

  it('an agent with its own key signs a root token and a narrower child for a sub-agent', async () => {
    const keyFile = join(ROOT, 'agent.key');
    const k = await cli(['key', 'create', '--out', keyFile, '--alg', 'P-256']);
    assert.equal(k.code, 0, k.stderr);
    const did = k.stdout.trim();
    assert.match(did, /^did:key:zDn/);
    const again = await cli(['key', 'create', '--out', keyFile]);
    assert.equal(again.code, 2, 'never overwrites a key');
    const p = json<{ principal: { id: string } }>(
      await cli([
        'principal',
        'create',
        '--role',
        'requester',
        '--name',
        'self-signer',
        '--did',
        did,
        '--json',
        ...op(),
      ]),
    );
    const root = await cli([
      'token',
      'create',
      '--sign-with',
      keyFile,
      '--principal',
      p.principal.id,
      '--can',
      'compute/book',
      '--max-spend',
      '20',
      '--url',
      gw.url,
    ]);
    assert.equal(root.code, 0, root.stderr);
    const me = await cli(['account', '--json'], {
      COMPUTEMD_TOKEN: root.stdout.trim(),
      COMPUTEMD_URL: gw.url,
    });
    assert.equal(me.code, 0, me.stderr);
    assert.equal(JSON.parse(me.stdout).principal, p.principal.id);

    // A sub-agent's key; the agent delegates to it with a smaller budget, the sub-agent invokes.
    const subFile = join(ROOT, 'sub.key');
    const subDid = (await cli(['key', 'create', '--out', subFile])).stdout.trim();
    const toSub = await cli([
      'token',
      'create',
      '--sign-with',
      keyFile,
      '--principal',
      p.principal.id,
      '--can',
      'compute/book',
      '--max-spend',
      '5',
      '--audience',
      subDid,
    ]);
    assert.equal(toSub.code, 0, toSub.stderr);
    const invoke = await cli([
      'token',
      'create',
      '--sign-with',
      subFile,
      '--proof',
      toSub.stdout.trim(),
      '--can',
      'compute/book',
      '--max-spend',
      '5',
      '--url',
      gw.url,
    ]);
    assert.equal(invoke.code, 0, invoke.stderr);
    const env = {
      COMPUTEMD_TOKEN: invoke.stdout.trim(),
      COMPUTEMD_PROOFS: toSub.stdout.trim(),
      COMPUTEMD_URL: gw.url,
    };
    const acc = await cli(['account', '--json'], env);
    assert.equal(acc.code, 0, acc.stderr);
    // Without its proof the chain cannot be checked.
    const bare = await cli(['account'], { ...env, COMPUTEMD_PROOFS: '' });
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, /proof/);
    // A child asking for more than its proof: refused when used.
    const wider = await cli([
      'token',
      'create',
      '--sign-with',
      subFile,
      '--proof',
      toSub.stdout.trim(),
      '--can',
      'compute/book',
      '--max-spend',
      '500',
      '--url',
      gw.url,
    ]);
    const w = await cli(['account'], { ...env, COMPUTEMD_TOKEN: wider.stdout.trim() });
    assert.equal(w.code, 1);
  });

  it('usage errors name the flag and exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['principal', 'create', '--role', 'admin', '--name', 'x'], /--role/],
      [['principal', 'create', '--role', 'requester'], /--name/],
      [['token', 'create'], /--can/],
      [['token', 'create', '--can', 'compute/book', '--expires', 'soon'], /--expires/],
      [['token', 'create', '--can', 'compute/book', '--max-spend', 'lots'], /--max-spend/],
      [['token', 'create', '--can', 'compute/book', '--providers', 'a,,b'], /--providers/],
      [['token', 'create', '--can', 'compute/book', '--proof', 'x'], /--proof/],
      [['token', 'revoke'], /token revoke/],
      [['token'], /token create\|list\|revoke/],
      [['key', 'create'], /--out/],
      [['key', 'create', '--out', join(ROOT, 'k2'), '--alg', 'RSA'], /--alg/],
    ];
    for (const [args, re] of cases) {
      const r = await cli([...args, ...op()]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
  });
});
