import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createCapabilityCatalog } from '../src/capabilities/index.js';
import type { LaunchRequest, LeaseOps } from '../src/providers/provider.js';
import { ProviderError } from '../src/providers/provider.js';
import { createVastProvider } from '../src/providers/vast/index.js';
import { ManualClock } from '../src/util/clock.js';
import {
  type FakeVast,
  fixturePath,
  type RecordedRequest,
  startFakeVast,
  vastFixture,
} from './vast-server.js';

// Lease calls of the Vast adapter against a real HTTP server answering in the documented shapes
// (create_instance.json, show_instance.json, destroy_instance.json).

const KEY = 'test-vast-key';
const createFx = vastFixture('create_instance');
const showFx = vastFixture('show_instance');
const destroyFx = vastFixture('destroy_instance');
const searchFx = vastFixture('search_offers');
const bidFx = vastFixture('search_offers_interruptible');

let vast: FakeVast;
const catalog = () => createCapabilityCatalog();

before(async () => {
  vast = await startFakeVast();
});
after(() => vast.close());
beforeEach(() => {
  vast.requests = [];
});

function routes(req: RecordedRequest) {
  if (req.method === 'PUT' && req.path.startsWith('/api/v0/asks/')) return createFx.response;
  if (req.method === 'GET' && req.path.startsWith('/api/v0/instances/')) return showFx.response;
  if (req.method === 'DELETE') return destroyFx.response;
  if (req.method === 'POST') {
    const type = (req.body as { type: string }).type;
    return (type === 'bid' ? bidFx : searchFx).response;
  }
  return { status: 404, body: { error: 'not_found' } };
}

function setup(): { leases: LeaseOps; listOffers: () => Promise<unknown> } {
  const clock = new ManualClock(1_760_000_000_000);
  const p = createVastProvider({ apiKey: KEY, baseUrl: vast.baseUrl, clock, capabilities: catalog() });
  assert.ok(p.leases);
  return { leases: p.leases, listOffers: () => p.listOffers({ now: clock.now() }) };
}

const fixtureBody = createFx.request.body as Record<string, unknown>;
const launchReq: LaunchRequest = {
  lease_id: 'job-7f3a',
  offer_sku: '11684738',
  region: 'Guangxi, CN',
  nodes: 1,
  interruptible: false,
  run: {
    image: fixtureBody.image,
    args: fixtureBody.args,
    env: { JOB_ID: '7f3a' },
    ports: [8000],
    disk_gb: fixtureBody.disk,
  },
};

describe('vast leases: create_instance', () => {
  it('launch sends PUT /api/v0/asks/{id}/ with the documented body, and maps new_contract', async () => {
    vast.respond = routes;
    const { leases } = setup();
    const st = await leases.launch(launchReq);
    assert.deepEqual(st, { provider_lease_id: '12345678', state: 'provisioning' });

    const sent = vast.requests[0]!;
    assert.equal(sent.method, createFx.request.method);
    assert.equal(sent.path, fixturePath(createFx));
    assert.equal(sent.headers.authorization, `Bearer ${KEY}`);
    assert.equal(sent.headers['content-type'], 'application/json');
    // Same field names, and the same values where the request carries the same job.
    assert.deepEqual(sent.body, fixtureBody);
  });

  it('interruptible launch bids the offer min_bid from the last bid search (price set)', async () => {
    vast.respond = routes;
    const { leases, listOffers } = setup();
    await listOffers();
    vast.requests = [];
    await leases.launch({ ...launchReq, interruptible: true });
    const body = vast.requests[0]!.body as Record<string, unknown>;
    const delta = createFx.variants![0]!.request_body_delta!;
    assert.deepEqual(Object.keys(delta), ['price']); // the documented difference is `price` alone
    assert.equal(body.price, 0.2); // offers[0].min_bid of search_offers_interruptible.json
    assert.equal(body.cancel_unavail, false, 'a bid may wait for the machine');
  });

  it('an explicit bid wins; with no known min_bid the launch says how to fix it', async () => {
    vast.respond = routes;
    const { leases } = setup();
    await assert.rejects(leases.launch({ ...launchReq, interruptible: true }), /bid_price_per_hour/);
    await leases.launch({
      ...launchReq,
      interruptible: true,
      run: { ...(launchReq.run as object), bid_price_per_hour: 0.21 },
    });
    assert.equal((vast.requests.at(-1)!.body as { price: number }).price, 0.21);
  });

  it('410 no_such_ask (offer taken) is a ProviderError with the status', async () => {
    const gone = createFx as unknown as { error_examples: Array<{ status: number; body: unknown }> };
    const ex = gone.error_examples.find((e) => e.status === 410)!;
    vast.respond = () => ({ status: ex.status, body: ex.body });
    const { leases } = setup();
    const err = await leases.launch(launchReq).catch((e: unknown) => e);
    assert.ok(err instanceof ProviderError);
    assert.equal(err.status, 410);
    assert.match(err.message, /no_such_ask/);
  });

  it('more than one node is refused before any request', async () => {
    const { leases } = setup();
    await assert.rejects(leases.launch({ ...launchReq, nodes: 2 }), /one machine/);
    assert.equal(vast.requests.length, 0);
  });
});

describe('vast leases: show_instance and destroy_instance', () => {
  it('status sends GET /api/v0/instances/{id}/?owner=me and maps running', async () => {
    vast.respond = routes;
    const { leases } = setup();
    assert.deepEqual(await leases.status('12345678'), { provider_lease_id: '12345678', state: 'running' });
    const sent = vast.requests[0]!;
    assert.equal(sent.method, 'GET');
    assert.equal(sent.path, fixturePath(showFx));
    assert.deepEqual(sent.query, showFx.request.query);
    assert.equal(sent.headers.authorization, `Bearer ${KEY}`);
    assert.equal(sent.rawBody, '');
  });

  it('maps the documented status progression', async () => {
    const expected = ['provisioning', 'provisioning', 'running', 'succeeded'];
    const { leases } = setup();
    for (const [i, step] of showFx.status_progression!.entries()) {
      vast.respond = () => ({ status: 200, body: step });
      const st = await leases.status('12345678');
      assert.equal(st.state, expected[i], `step ${i}: actual_status ${String(step.instances.actual_status)}`);
    }
  });

  it('{"instances": null} (gone) is terminated', async () => {
    vast.respond = () => ({ status: 200, body: { instances: null } });
    const { leases } = setup();
    assert.equal((await leases.status('1')).state, 'terminated');
  });

  it('usage reads duration seconds', async () => {
    vast.respond = routes;
    const { leases } = setup();
    // show_instance.json: duration 750.3 s (uptime_mins 12.5 = 750 s agrees)
    assert.deepEqual(await leases.usage('12345678'), { provider_lease_id: '12345678', node_seconds: 750.3 });
  });

  it('terminate sends DELETE /api/v0/instances/{id}/ with {} and is idempotent on 404', async () => {
    vast.respond = routes;
    const { leases } = setup();
    assert.deepEqual(await leases.terminate('12345678'), {
      provider_lease_id: '12345678',
      state: 'terminated',
    });
    const sent = vast.requests[0]!;
    assert.equal(sent.method, destroyFx.request.method);
    assert.equal(sent.path, fixturePath(destroyFx));
    assert.equal(sent.headers['content-type'], 'application/json');
    assert.deepEqual(sent.body, destroyFx.request.body);

    vast.respond = () => ({
      status: 404,
      body: { success: false, error: 'not_found', msg: 'Instance not found' },
    });
    assert.equal((await leases.terminate('12345678')).state, 'terminated');
  });
});
