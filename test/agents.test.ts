import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Capabilities } from '../src/agent/benchmark.js';
import { REGISTRATION_TYP } from '../src/gateway/agents.js';
import { didKeyFromPublicKey } from '../src/identity/did-key.js';
import { signJws } from '../src/identity/jws.js';
import { generateKey } from '../src/identity/keys.js';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { packagePath } from '../src/util/paths.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { BASE_ENV, type Child, killAllGateways, startGateway } from './helpers/serve.js';

/** Node agents joining a gateway as providers (issue 6, part 2). */

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;

const CAPS: Capabilities = {
  measured_at: '2026-11-25T00:00:00.000Z',
  method: 'benchmark',
  cpu: { cores: 16, model: 'Test CPU', gflops_per_core: 3.2, memory_bandwidth_gbs: 9.5 },
  memory_gb: 64,
  gpus: [
    {
      name: 'NVIDIA H100 80GB HBM3',
      memory_gb: 79.6,
      measured: true,
      fp16_tflops: 600,
      memory_bandwidth_gbs: 2700,
    },
  ],
  notes: [],
};

describe('agents registry (in-process gateway)', () => {
  let t: TestGateway;
  let admin: string;
  let provider: string;
  before(async () => {
    t = await startTestGateway();
    admin = readFileSync(join(t.dataDir, 'admin.token'), 'utf8').trim();
    const p = await call('POST', '/principals', admin, { role: 'provider', name: 'lab' });
    provider = p.body.api_key.key;
  });
  after(async () => {
    await t.gw.close();
  });
  async function call(method: string, url: string, token: string | null, payload?: unknown) {
    const r = await t.gw.app.inject({
      method: method as 'GET',
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
    return { status: r.statusCode, body: r.json() as Json };
  }
  const key = generateKey('Ed25519');
  const me = { key, did: didKeyFromPublicKey('Ed25519', key.publicKey) };
  const reg = (over: Record<string, unknown> = {}, by = me) =>
    signJws(
      {
        v: 1,
        name: 'lab-1',
        did: by.did,
        capabilities: CAPS,
        price_per_hour: 1.5,
        iat: Math.floor(t.clock.now() / 1000),
        ...over,
      },
      by,
      { typ: REGISTRATION_TYP },
    );
  const offersOf = async (name: string) =>
    (await call('GET', `/nodes?provider=${name}&min_available=1`, null)).body.offers as Offer[];

  it('a registered agent lists its measured offers, benchmark_based, at its price', async () => {
    const r = await call('POST', '/agents', provider, { registration: reg() });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.status, 'up');
    const offers = await offersOf('lab-1');
    assert.equal(offers.length, 2, JSON.stringify(offers.map((o) => o.id)));
    for (const o of offers) {
      assert.equal(o.verification, 'benchmark_based');
      assert.equal(o.provider, 'lab-1');
      assert.equal(o.simulated, false);
    }
    const gpu = offers.find((o) => o.gpu_count > 0) as Offer;
    assert.equal(gpu.gpu_model, 'H100');
    assert.equal(gpu.price_per_hour, 1.5);
    const dir = (await call('GET', '/providers/lab-1', null)).body;
    assert.equal(dir.verification, 'benchmark_based');
    // Registering again is 200, not a second provider.
    assert.equal((await call('POST', '/agents', provider, { registration: reg() })).status, 200);
    assert.equal((await call('GET', '/agents', provider)).body.agents.length, 1);
  });

  it('silent past the timeout: no offers; a heartbeat brings them back; draining takes them away', async () => {
    t.clock.advance(31_000);
    await t.gw.refresher.refreshOne('lab-1');
    assert.equal((await offersOf('lab-1')).length, 0);
    assert.equal((await call('GET', '/agents', admin)).body.agents[0].status, 'down');
    const hb = await call('POST', '/agents/lab-1/heartbeat', provider, {});
    assert.equal(hb.status, 200);
    assert.equal((await offersOf('lab-1')).length, 2);
    const drain = await call('POST', '/agents/lab-1/heartbeat', provider, { draining: true });
    assert.equal(drain.body.status, 'draining');
    assert.equal((await offersOf('lab-1')).length, 0);
    await call('POST', '/agents/lab-1/heartbeat', provider, { draining: false });
    assert.equal((await offersOf('lab-1')).length, 2);
  });

  it('refusals name the field: wrong signer, stolen name, built-in name, stale iat, bad capabilities', async () => {
    const other = generateKey('P-256');
    const them = { key: other, did: didKeyFromPublicKey('P-256', other.publicKey) };
    const cases: [unknown, number, string][] = [
      [{ registration: reg({ did: them.did }) }, 400, '/registration/did'],
      [{ registration: reg({}, them) }, 409, '/registration/name'],
      [{ registration: reg({ name: 'aws' }, them) }, 409, '/registration/name'],
      [{ registration: reg({ name: 'Bad Name' }) }, 400, '/registration/name'],
      [{ registration: reg({ iat: 1 }) }, 400, '/registration/iat'],
      [{ registration: reg({ price_per_hour: -1 }) }, 400, '/registration/price_per_hour'],
      [
        { registration: reg({ capabilities: { ...CAPS, method: 'declared' } }) },
        400,
        '/registration/capabilities',
      ],
      [
        { registration: reg({ capabilities: { ...CAPS, cpu: { ...CAPS.cpu, cores: 0 } } }) },
        400,
        '/registration/capabilities/cpu/cores',
      ],
      [{ registration: 'x.y.z' }, 422, '/registration'],
      [{}, 400, '/registration'],
    ];
    for (const [body, status, param] of cases) {
      const r = await call('POST', '/agents', provider, body);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.param, param, JSON.stringify(r.body));
    }
    // A manifest-typed JWS is not a registration.
    const wrongTyp = signJws({ v: 1 }, me, { typ: 'computemd-manifest+jws' });
    assert.equal((await call('POST', '/agents', provider, { registration: wrongTyp })).status, 422);
  });

  it("booked and settled, the agent's provider account earns; only its owner and the operator see it", async () => {
    const offer = (await offersOf('lab-1'))[0] as Offer;
    const c = await t.gw.app.inject({
      method: 'POST',
      url: '/accounts/pr_operator/credit',
      headers: { authorization: `Bearer ${admin}`, 'idempotency-key': 'agents-credit' },
      payload: { amount_usd: 100 },
    });
    assert.equal(c.statusCode, 201);
    // Streaming: usage is paid to the provider as it accrues, not only at the end.
    const b = await call('POST', '/book', admin, {
      allocations: [{ offer_id: offer.id, nodes: 1, hours: 1 }],
      payment: { method: 'credits', stream: true },
    });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    await t.gw.ledger.service.settleDue();
    t.clock.advance(30 * 60_000);
    await t.gw.ledger.service.settleDue();
    const e = await call('GET', '/agents/lab-1/earnings', provider);
    assert.equal(e.status, 200, JSON.stringify(e.body));
    assert.equal(e.body.id, 'prov:lab-1');
    assert.ok(e.body.balance_usd > 0, JSON.stringify(e.body));
    assert.ok(e.body.transactions.length > 0);
    assert.equal((await call('GET', '/agents/lab-1/earnings', admin)).status, 200);
    const other = (await call('POST', '/principals', admin, { role: 'provider', name: 'nosy' })).body.api_key
      .key;
    assert.equal((await call('GET', '/agents/lab-1/earnings', other)).status, 404);
    assert.equal((await call('GET', '/agents/lab-1/earnings?limit=0', provider)).body.param, 'limit');
    // Keep the agent listed for the next test: it was silent for 30 minutes.
    await call('POST', '/agents/lab-1/heartbeat', provider, {});
  });

  it('a booking that carries a run goes only to a provider that executes it', async () => {
    const agentOffer = (await offersOf('lab-1'))[0] as Offer;
    const catalog = (await call('GET', '/nodes?provider=aws&min_available=1&limit=1', null)).body
      .offers[0] as Offer;
    const on = (o: Offer, run?: unknown) =>
      call('POST', '/book', admin, {
        allocations: [{ offer_id: o.id, nodes: 1, hours: 0.1 }],
        ...(run ? { run } : {}),
      });
    const run = { command: ['sh', '-c', 'echo hi'], timeout_s: 60 };
    const no = await on(catalog, run);
    assert.equal(no.status, 422, JSON.stringify(no.body));
    assert.equal(no.body.param, '/allocations/0');
    assert.match(no.body.detail, /runs no workloads/);
    const image = await on(agentOffer, { image: 'ghcr.io/x/y:1' });
    assert.equal(image.status, 422, JSON.stringify(image.body));
    assert.match(image.body.detail, /runs only command, wasm/);
    const bad = await on(agentOffer, {
      command: ['x'],
      inputs: [{ path: '../x', content: 'a', sha256: 'a'.repeat(64) }],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.param, '/run/inputs/0/path');
    const ok = await on(agentOffer, run);
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.run_kind, 'command');
    assert.equal((await on(catalog)).body.run_kind, null);
  });

  it('only principals allowed compute/provide register; heartbeats are the owner’s', async () => {
    const req = (await call('POST', '/principals', admin, { role: 'requester', name: 'r' })).body.api_key.key;
    const r = await call('POST', '/agents', req, { registration: reg({ name: 'lab-2' }) });
    assert.equal(r.status, 403);
    assert.equal(r.body.type, 'https://computemd.dev/problems/insufficient-capability');
    assert.equal((await call('POST', '/agents', null, { registration: reg() })).status, 401);
    const other = (await call('POST', '/principals', admin, { role: 'provider', name: 'other' })).body.api_key
      .key;
    assert.equal((await call('POST', '/agents/lab-1/heartbeat', other, {})).status, 404);
    assert.equal(
      (await call('POST', '/agents/lab-1/heartbeat', provider, { draining: 'yes' })).body.param,
      '/draining',
    );
    assert.equal((await call('GET', '/agents', other)).body.agents.length, 0);
  });
});

describe('computemd node (real processes)', () => {
  const data = mkdtempSync(join(tmpdir(), 'computemd-agents-'));
  const nodeData = mkdtempSync(join(tmpdir(), 'computemd-node-'));
  let g: Child;
  let node: ChildProcess | null = null;
  after(async () => {
    node?.kill('SIGKILL');
    await killAllGateways();
    rmSync(data, { recursive: true, force: true });
    rmSync(nodeData, { recursive: true, force: true });
  });

  it('joins with measured capabilities; killed with SIGKILL, its offers go after the timeout', async () => {
    g = await startGateway(data, { COMPUTEMD_AGENT_TIMEOUT_S: '2' });
    const admin = readFileSync(join(data, 'admin.token'), 'utf8').trim();
    const p = (await (
      await fetch(`${g.url}/principals`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'provider', name: 'box' }),
      })
    ).json()) as Json;
    node = spawn(
      process.execPath,
      [
        packagePath('bin', 'computemd.js'),
        'node',
        '--gateway',
        g.url,
        '--token',
        p.api_key.key,
        '--name',
        'box-1',
        '--heartbeat-s',
        '1',
        '--price-per-hour',
        '0.4',
        // mDNS stays inside the DNS-SD test's own namespaces (test/dnssd.test.ts).
        '--no-announce',
        '--data',
        nodeData,
      ],
      { env: BASE_ENV, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    node.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    node.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const offers = async () =>
      ((await (await fetch(`${g.url}/nodes?provider=box-1&min_available=1`)).json()) as { offers: Offer[] })
        .offers;
    const waitFor = async (ok: () => Promise<boolean>, what: string) => {
      for (let i = 0; i < 200; i++) {
        if (await ok()) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`${what}; node output: ${out}`);
    };
    await waitFor(async () => /registered as did:key:z6Mk/.test(out), 'the node never registered');
    await waitFor(async () => (await offers()).length > 0, 'no offers from the node');
    const o = (await offers())[0] as Offer;
    assert.equal(o.verification, 'benchmark_based');
    assert.equal(o.price_per_hour, 0.4);
    const dir = (await (await fetch(`${g.url}/providers/box-1`)).json()) as Json;
    assert.ok(dir.cpu_gflops_per_core > 0 && dir.memory_bandwidth_gbs > 0, JSON.stringify(dir));
    node.kill('SIGKILL');
    await waitFor(async () => (await offers()).length === 0, 'the killed node still lists offers');
  });
});
