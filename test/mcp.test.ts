import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DiscoverQuery } from '../src/protocol/schemas/queries.js';
import { ComputeMdClient } from '../src/sdk/client.js';
import { type FakeNode, joinFakeNode } from './helpers/fake-node.js';
import { type ListeningGateway, listenTestGateway } from './helpers/gateway.js';
import { type Connected, call, connectMcp, type McpKind } from './helpers/mcp.js';
import { freePort } from './helpers/serve.js';

/**
 * The MCP server through the SDK's own client, over stdio (the real `computemd mcp` binary) and
 * over Streamable HTTP (/mcp on a listening gateway): the same tools, the same refusals. A node
 * agent played by the test (test/helpers/fake-node.ts) runs what run_job books, with real signatures.
 */

let g: ListeningGateway;
let node: FakeNode;
let serving: { stop(): Promise<void> };
let agentKey: string;
let agent: ComputeMdClient;

before(async () => {
  g = await listenTestGateway();
  const admin = new ComputeMdClient({ baseUrl: g.base, token: g.admin });
  const p = await admin.createPrincipal({ role: 'requester', name: 'mcp-agent' });
  agentKey = p.api_key.key;
  agent = new ComputeMdClient({ baseUrl: g.base, token: agentKey });
  await admin.credit(p.principal.id, 500);
  node = await joinFakeNode(g.base, g.admin, 'mcp-node', () => g.t.clock.now());
  serving = node.serve({ lines: ['hello from the node'], outputs: { 'out.txt': 'hello\n' } });
});
after(async () => {
  await serving?.stop();
  await g?.close();
});

/** What the agent's account shows: nothing spent means these do not move. */
const ledger = async () => ({
  held: (await agent.account()).held_usd,
  bookings: (await agent.bookings({ limit: 100 })).bookings.length,
});

const BATCH = { workload: { type: 'batch_processing', compute_hours: 50, memory_gb: 24 } };
const SMALL_JOB = {
  workload: { type: 'cpu', compute_hours: 0.01 },
  run: { command: ['sh', '-c', 'echo hello > out.txt'], outputs: ['out.txt'] },
};

for (const kind of ['stdio', 'http'] as McpKind[]) {
  describe(`MCP over ${kind}`, () => {
    let m: Connected;
    before(async () => {
      m = await connectMcp(kind, g.base, agentKey);
    });
    after(async () => {
      await m?.close();
    });

    it('lists the eleven tools, each with a JSON-schema input; the spending ones require their guards', async () => {
      const { tools } = await m.client.listTools();
      const byName = new Map(tools.map((t) => [t.name, t]));
      assert.deepEqual([...byName.keys()].sort(), [
        'book_plan',
        'cancel_lease',
        'find_compute',
        'get_balance',
        'get_capabilities',
        'get_lease',
        'get_lease_logs',
        'get_receipt',
        'get_spot_prices',
        'plan_workload',
        'run_job',
      ]);
      for (const t of tools) assert.equal(t.inputSchema.type, 'object', t.name);
      assert.deepEqual([...(byName.get('book_plan')?.inputSchema.required ?? [])].sort(), [
        'idempotency_key',
        'plan_id',
      ]);
      assert.ok(byName.get('run_job')?.inputSchema.required?.includes('max_cost_usd'));
      // find_compute takes exactly the /discover (and so /nodes) query parameters.
      assert.deepEqual(
        Object.keys(byName.get('find_compute')?.inputSchema.properties ?? {}).sort(),
        Object.keys(DiscoverQuery.properties).sort(),
      );
      // plan_workload's input is the protocol's /orchestrate body schema.
      const plan = byName.get('plan_workload')?.inputSchema.properties as Record<string, unknown>;
      assert.ok(plan.workload && plan.constraints);
      if (kind === 'stdio') assert.match(m.stderr(), /serving over stdio/);
    });

    it('find_compute: GPU_A under $2.50/GPU-hour as a table and as structured offers', async () => {
      const r = await call(m.client, 'find_compute', { resource_type: 'GPU_A', max_price: 2.5, limit: 5 });
      assert.equal(r.isError, undefined, r.text);
      assert.match(r.text, /^5 offers/);
      assert.equal(r.data.offers.length, 5);
      for (const o of r.data.offers) {
        assert.equal(o.resource_type, 'GPU_A');
        assert.ok(o.price_per_gpu_hour <= 2.5, JSON.stringify(o));
      }
    });

    it('find_compute with gpu_hours asks /discover: what 1000 GPU-hours cost, cheapest first', async () => {
      const r = await call(m.client, 'find_compute', { gpu_hours: 1000, min_memory_gb: 24, max_price: 1 });
      assert.equal(r.isError, undefined, r.text);
      const costs = (r.data.options as { total_cost_usd: number }[]).map((o) => o.total_cost_usd);
      assert.ok(costs.length >= 2);
      assert.deepEqual(
        costs,
        [...costs].sort((a, b) => a - b),
      );
    });

    it('a bad filter is refused with the gateway’s detail naming it; an unknown one too', async () => {
      const bad = await call(m.client, 'find_compute', { max_price: 'abc' });
      assert.equal(bad.isError, true);
      assert.match(bad.text, /^max_price: /);
      assert.equal(bad.data.problem.param, 'max_price');
      const unknown = await call(m.client, 'find_compute', { colour: 'blue' });
      assert.equal(unknown.isError, true);
      assert.match(unknown.text, /colour/);
    });

    it('get_capabilities and get_spot_prices', async () => {
      const a = await call(m.client, 'get_capabilities', { profile: 'GPU_TYPE_A' });
      assert.equal(a.data.fp16_tflops, 989);
      const none = await call(m.client, 'get_capabilities', { profile: 'GPU_TYPE_Z' });
      assert.equal(none.isError, true);
      assert.match(none.text, /No profile GPU_TYPE_Z/);
      const s = await call(m.client, 'get_spot_prices');
      assert.equal(s.isError, undefined, s.text);
      assert.ok('GPU_A' in s.data.traditional && 'GPU_A' in s.data.p2p_market);
      assert.match(s.text, /^Spot/);
    });

    it('plan_workload quotes and spends nothing; book_plan refuses without an idempotency_key', async () => {
      const before = await ledger();
      const p = await call(m.client, 'plan_workload', BATCH);
      assert.equal(p.isError, undefined, p.text);
      assert.match(p.data.plan_id, /^plan_/);
      assert.match(p.text, /nothing is spent until book_plan/);
      const refused = await call(m.client, 'book_plan', { plan_id: p.data.plan_id });
      assert.equal(refused.isError, true);
      assert.match(refused.text, /idempotency_key/);
      assert.deepEqual(await ledger(), before, 'nothing booked, nothing held');
    });

    it('book_plan books once per idempotency_key: the repeat returns the same booking', async () => {
      const before = await ledger();
      const p = await call(m.client, 'plan_workload', BATCH);
      const key = randomUUID();
      const b1 = await call(m.client, 'book_plan', { plan_id: p.data.plan_id, idempotency_key: key });
      assert.equal(b1.isError, undefined, b1.text);
      assert.match(b1.text, /^Booked bk_/);
      const b2 = await call(m.client, 'book_plan', { plan_id: p.data.plan_id, idempotency_key: key });
      assert.equal(b2.data.booking_id, b1.data.booking_id);
      const now = await ledger();
      assert.equal(now.bookings, before.bookings + 1);
      // One hold, the booking's (the held sum is exact to the micro-dollar).
      assert.ok(Math.abs(now.held - before.held - b1.data.held_usd) < 1e-6, JSON.stringify({ now, before }));
      // cancel_lease stops one of its leases and says so; cancelling again changes nothing.
      const c = await call(m.client, 'cancel_lease', { lease_id: b1.data.allocations[0].lease_id });
      assert.equal(c.isError, undefined, c.text);
      assert.equal(c.data.state, 'cancelled');
      assert.match(c.text, /cancelled by the requester/);
      const again = await call(m.client, 'cancel_lease', { lease_id: b1.data.allocations[0].lease_id });
      assert.equal(again.data.state, 'cancelled', again.text);
      const ghost = await call(m.client, 'cancel_lease', { lease_id: 'ls_nope' });
      assert.equal(ghost.isError, true);
      assert.match(ghost.text, /ls_nope/);
    });

    it('run_job above max_cost_usd is refused and nothing is spent', async () => {
      const before = await ledger();
      const r = await call(m.client, 'run_job', { ...SMALL_JOB, max_cost_usd: 0.000001, wait_s: 0 });
      assert.equal(r.isError, true);
      assert.match(r.text, /above max_cost_usd \$0\.000001\. Nothing was booked/);
      assert.deepEqual(await ledger(), before);
      const image = await call(m.client, 'run_job', {
        ...SMALL_JOB,
        run: { image: 'python:3.12' },
        max_cost_usd: 5,
      });
      assert.equal(image.isError, true);
      assert.match(image.text, /^No provider runs an image workload here .*Nothing was booked/);
      const formless = await call(m.client, 'run_job', {
        ...SMALL_JOB,
        run: { outputs: ['x'] },
        max_cost_usd: 5,
      });
      assert.match(formless.text, /^run: give command/);
      const missing = await call(m.client, 'run_job', { ...SMALL_JOB });
      assert.equal(missing.isError, true);
      assert.match(missing.text, /max_cost_usd/);
      assert.deepEqual(await ledger(), before);
    });

    it('run_job plans, books and runs a small job on a node; the receipt verifies; logs and lease read back', async () => {
      const r = await call(m.client, 'run_job', { ...SMALL_JOB, max_cost_usd: 1, wait_s: 30 });
      assert.equal(r.isError, undefined, r.text);
      const lease = r.data.leases[0];
      assert.equal(lease.provider, 'mcp-node');
      assert.equal(lease.state, 'completed', r.text);
      assert.equal(lease.exit_code, 0);
      assert.match(r.text, /stdout\| hello from the node/);
      const rc = await call(m.client, 'get_receipt', { lease_id: lease.id, check_outputs: true });
      assert.equal(rc.data.verified, true, rc.text);
      assert.equal(rc.data.node, node.did);
      assert.deepEqual(rc.data.outputs_checked, ['out.txt']);
      assert.match(rc.text, /verifies: signed by did:key:/);
      const byId = await call(m.client, 'get_receipt', { receipt_id: lease.receipt_id });
      assert.equal(byId.data.verified, true);
      const l = await call(m.client, 'get_lease', { lease_id: lease.id });
      assert.equal(l.data.state, 'completed');
      assert.match(l.text, /completed/);
      const logs = await call(m.client, 'get_lease_logs', { lease_id: lease.id });
      assert.deepEqual(logs.data.lines, ['stdout| hello from the node']);
      // The settlement pass a serving gateway runs on its own: pays the node, frees its capacity.
      await g.t.gw.ledger.service.settleDue();
    });

    it('reading what does not exist is refused with the detail', async () => {
      const l = await call(m.client, 'get_lease', { lease_id: 'ls_nope' });
      assert.equal(l.isError, true);
      assert.match(l.text, /ls_nope/);
      const rc = await call(m.client, 'get_receipt', {});
      assert.equal(rc.isError, true);
      assert.match(rc.text, /receipt_id/);
    });

    it('get_balance shows what the account has left', async () => {
      const b = await call(m.client, 'get_balance');
      const a = await agent.account();
      assert.equal(b.data.balance_usd, a.balance_usd);
      assert.match(b.text, /available to book/);
    });

    it('resources: the provider directory and the capability profiles', async () => {
      const { resources } = await m.client.listResources();
      const uris = resources.map((r) => r.uri);
      for (const u of ['computemd://providers', 'computemd://capabilities', 'computemd://providers/mcp-node'])
        assert.ok(uris.includes(u), u);
      const dir = await m.client.readResource({ uri: 'computemd://providers' });
      const body = JSON.parse(String((dir.contents[0] as { text: string }).text));
      assert.ok(body.providers.some((p: { name: string }) => p.name === 'mcp-node'));
      const one = await m.client.readResource({ uri: 'computemd://capabilities/GPU_TYPE_A' });
      assert.equal(JSON.parse(String((one.contents[0] as { text: string }).text)).memory_gb, 80);
      await assert.rejects(
        m.client.readResource({ uri: 'computemd://capabilities/NOPE' }),
        /No profile NOPE/,
      );
      await assert.rejects(m.client.readResource({ uri: 'computemd://providers/nope' }), /nope/);
    });

    it("a delegated token's caveats bound what the server can spend", async () => {
      const ucan = await agent.createToken({
        can: ['compute/discover', 'compute/orchestrate', 'compute/book', 'compute/lease/read'],
        max_spend_usd: 0.01,
        expires_in: '1h',
      });
      const capped = await connectMcp(kind, g.base, ucan.token as string);
      try {
        const before = await ledger();
        const p = await call(capped.client, 'plan_workload', BATCH);
        const b = await call(capped.client, 'book_plan', {
          plan_id: p.data.plan_id,
          idempotency_key: randomUUID(),
        });
        assert.equal(b.isError, true, b.text);
        assert.match(b.text, /max_spend_usd/);
        assert.match(b.data.problem.type, /caveat-max-spend-usd$/);
        assert.deepEqual(await ledger(), before);
      } finally {
        await capped.close();
      }
    });
  });
}

describe('computemd mcp without a gateway', () => {
  it('still starts; each tool answers that it cannot reach the gateway, as a tool error', async () => {
    const closed = await freePort();
    const m = await connectMcp('stdio', `http://127.0.0.1:${closed}`, 'cmd_key_whatever');
    try {
      const r = await call(m.client, 'get_spot_prices');
      assert.equal(r.isError, true);
      assert.match(r.text, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${closed}`));
    } finally {
      await m.close();
    }
  });
});
