import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NodeAgent, startNodeAgent } from '../src/agent/node.js';
import { type ExecGateway, type Json, startExecGateway, TEST_CAPS, until } from './helpers/exec.js';

/**
 * Serving leases behind the booking's load balancer (issue 8, part 1): a run with `serve` gets a
 * port from its node agent in PORT, the agent reports the endpoint, and `/lb/<id>` spreads requests
 * over every lease that serves. A lease that ends leaves the balancer; the rest keep serving.
 */

let g: ExecGateway;
let alice: { id: string; key: string };
const agents: NodeAgent[] = [];
const dirs: string[] = [];

before(async () => {
  g = await startExecGateway();
  alice = await g.requester('alice', 100);
  for (const name of ['sv-a', 'sv-b']) {
    const dir = mkdtempSync(join(tmpdir(), `computemd-${name}-`));
    dirs.push(dir);
    agents.push(
      await startNodeAgent({
        gateway: g.base,
        token: await g.providerKey(name),
        name,
        dataDir: dir,
        pricePerHour: 1,
        heartbeatS: 1,
        capabilities: TEST_CAPS,
        announce: false,
        log: () => {},
      }),
    );
  }
});
after(async () => {
  for (const a of agents) a.stop();
  await g?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SERVE = {
  command: ['sh', '-c', 'exec python3 -m http.server "$PORT"'],
  network: true,
  serve: { health_check: '/' },
  timeout_s: 300,
};

describe('serving leases', () => {
  it('two leases serve behind the booking’s load balancer; one ends and the other keeps serving', async () => {
    const a = await g.offerOf('sv-a');
    const b = await g.offerOf('sv-b');
    const bk = await g.call('POST', '/book', alice.key, {
      allocations: [
        { offer_id: a.id, nodes: 1, hours: 0.1 },
        { offer_id: b.id, nodes: 1, hours: 0.1 },
      ],
      run: SERVE,
    });
    assert.equal(bk.status, 201, JSON.stringify(bk.body));
    const ids = bk.body.allocations.map((x: Json) => x.lease_id as string);
    const leases = await until('both endpoints reported', 30_000, async () => {
      const ls = await Promise.all(
        ids.map(async (id: string) => (await g.call('GET', `/leases/${id}`, alice.key)).body),
      );
      return ls.every((l) => l.endpoint) ? ls : null;
    });
    const lb = leases[0].load_balancer as string;
    assert.match(lb, /^\/lb\/lb_/);
    assert.equal(leases[1].load_balancer, lb);
    // Requests through the balancer reach the servers once their health checks pass.
    await until('the balancer serves', 30_000, async () => {
      const r = await fetch(`${g.base}${lb}/`, { headers: { authorization: `Bearer ${alice.key}` } });
      await r.text();
      return r.status === 200;
    });
    let status = (await g.call('GET', `${lb}/status`, alice.key)).body;
    assert.deepEqual(status.endpoints.map((e: Json) => e.id).sort(), [...ids].sort());
    // Someone else cannot reach it.
    const bob = await g.requester('bob', 1);
    assert.equal(
      (await fetch(`${g.base}${lb}/`, { headers: { authorization: `Bearer ${bob.key}` } })).status,
      404,
    );

    // A restart forgets balancers (they live in the process): the runtime's pass makes it again.
    g.gw.lb.delete(lb.slice('/lb/'.length));
    assert.equal((await g.call('GET', `${lb}/status`, alice.key)).status, 404);
    await g.gw.runtime.step();
    status = (await g.call('GET', `${lb}/status`, alice.key)).body;
    assert.deepEqual(status.endpoints.map((e: Json) => e.id).sort(), [...ids].sort());

    // One lease ends: it leaves the balancer, and the other keeps serving.
    assert.equal((await g.call('POST', `/leases/${ids[0]}/cancel`, alice.key, {})).status, 200);
    status = (await g.call('GET', `${lb}/status`, alice.key)).body;
    assert.deepEqual(
      status.endpoints.map((e: Json) => e.id),
      [ids[1]],
    );
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${g.base}${lb}/`, { headers: { authorization: `Bearer ${alice.key}` } });
      await r.text();
      assert.equal(r.status, 200);
    }
    await g.call('POST', `/leases/${ids[1]}/cancel`, alice.key, {});
  });

  it('refuses a serve without network, a bad endpoint, and an endpoint for a lease that does not serve', async () => {
    const a = await g.offerOf('sv-a');
    const r = await g.call('POST', '/book', alice.key, {
      allocations: [{ offer_id: a.id, nodes: 1, hours: 0.1 }],
      run: { ...SERVE, network: false },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.param, '/run/network');
    const bad = await g.call('POST', '/book', alice.key, {
      allocations: [{ offer_id: a.id, nodes: 1, hours: 0.1 }],
      run: { ...SERVE, serve: { health_check: 'no-slash' } },
    });
    assert.equal(bad.body.param, '/run/serve/health_check');
    const plain = await g.call('POST', '/book', alice.key, {
      allocations: [{ offer_id: a.id, nodes: 1, hours: 0.1 }],
      run: { command: ['sleep', '30'] },
    });
    assert.equal(plain.status, 201, JSON.stringify(plain.body));
    const id = plain.body.allocations[0].lease_id as string;
    const key = await g.providerKey('sv-other');
    assert.equal(
      (await g.call('POST', `/leases/${id}/endpoint`, key, { url: 'http://127.0.0.1:1' })).status,
      404,
    );
    assert.equal(
      (await g.call('POST', `/leases/${id}/endpoint`, g.admin, { url: 'ftp://x' })).body.param,
      '/url',
    );
    assert.equal(
      (await g.call('POST', `/leases/${id}/endpoint`, g.admin, { url: 'http://127.0.0.1:1' })).status,
      409,
    );
    await g.call('POST', `/leases/${id}/cancel`, alice.key, {});
  });
});
