import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createCapabilityCatalog } from '../src/capabilities/index.js';
import type { CapabilityCatalog } from '../src/capabilities/types.js';
import type { Provider } from '../src/providers/provider.js';
import { ProviderError } from '../src/providers/provider.js';
import { createVastProvider, type VastProviderOptions } from '../src/providers/vast/index.js';
import { ManualClock } from '../src/util/clock.js';
import {
  type FakeVast,
  fixturePath,
  offersOf,
  type RecordedRequest,
  startFakeVast,
  vastFixture,
} from './vast-server.js';

// Contract tests: the Vast adapter against a real HTTP server that speaks the documented wire
// shapes (test/fixtures/providers/vastai). What the adapter sends is compared with each fixture's
// `request`; what it reads is each fixture's `response`.

const KEY = 'test-vast-key';
const T0 = 1_760_000_000_000;
const onDemandFx = vastFixture('search_offers');
const bidFx = vastFixture('search_offers_interruptible');

/** The fixture's query minus what the adapter always adds, i.e. the filters a deployment chooses. */
function filtersOf(body: Record<string, unknown>): VastProviderOptions['search'] {
  const { verified, external, rentable, rented, order, type, limit, allocated_storage, ...filters } = body;
  return {
    filters: filters as NonNullable<VastProviderOptions['search']>['filters'],
    limit: limit as number,
    allocated_storage_gb: allocated_storage as number,
  };
}

/** Answers each search with the fixture of its market. */
function searchReplies(req: RecordedRequest) {
  const type = (req.body as { type?: string } | undefined)?.type;
  return { status: 200, body: (type === 'bid' ? bidFx : onDemandFx).response.body };
}

let vast: FakeVast;
let capabilities: CapabilityCatalog;
let clock: ManualClock;

before(async () => {
  vast = await startFakeVast();
  capabilities = createCapabilityCatalog();
});
after(() => vast.close());
beforeEach(() => {
  vast.requests = [];
  vast.respond = searchReplies;
  clock = new ManualClock(T0);
});

function provider(extra: Partial<VastProviderOptions> = {}): Provider {
  return createVastProvider({
    apiKey: KEY,
    baseUrl: vast.baseUrl,
    clock,
    capabilities,
    cacheTtlMs: 60_000,
    search: filtersOf(onDemandFx.request.body ?? {}),
    ...extra,
  });
}

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('vast search: the request on the wire', () => {
  it('sends the on-demand search exactly as search_offers.json documents it', async () => {
    await provider().listOffers({ now: clock.now() });
    const sent = vast.requests[0]!;
    assert.equal(sent.method, onDemandFx.request.method);
    assert.equal(sent.path, fixturePath(onDemandFx));
    assert.equal(
      sent.headers.authorization,
      onDemandFx.request.headers.Authorization!.replace('$VAST_API_KEY', KEY),
    );
    assert.equal(sent.headers['content-type'], onDemandFx.request.headers['Content-Type']);
    assert.deepEqual(sent.body, onDemandFx.request.body);
  });

  it('sends the interruptible (type "bid") search as search_offers_interruptible.json documents it', async () => {
    await provider({ search: filtersOf(bidFx.request.body ?? {}) }).listOffers({ now: clock.now() });
    assert.equal(vast.requests.length, 2, 'one on-demand and one bid search');
    const bid = vast.requests.find((r) => (r.body as { type: string }).type === 'bid')!;
    assert.equal(bid.method, 'POST');
    assert.equal(bid.path, fixturePath(bidFx));
    assert.equal(bid.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(bid.body, bidFx.request.body);
  });
});

describe('vast search: offers parsed from the documented response', () => {
  it('maps on-demand offers to OfferInputs with the fixture figures', async () => {
    const offers = await provider().listOffers({ now: clock.now() });
    const od = offers.filter((o) => !o.interruptible);
    assert.equal(od.length, offersOf(onDemandFx).length);

    const rtx = od.find((o) => o.sku === '11684738')!;
    assert.deepEqual(rtx, {
      provider: 'vast',
      provider_type: 'p2p_marketplace',
      sku: '11684738', // id (= ask_contract_id)
      gpu_model: 'RTX4090', // "RTX 4090", 24564 MiB
      gpu_count: 1, // num_gpus
      vcpus: 24, // cpu_cores_effective
      memory_gb: 15.72, // cpu_ram 64393 MiB × 24/96 effective cores = 16098.25 MiB / 1024 = 15.72
      gpu_memory_gb: 23.99, // gpu_ram 24564 MiB / 1024 = 23.988
      price_per_hour: 0.2466759259259259, // dph_total = dph_base 0.246667 + disk 0.00000926
      list_price_per_hour: 0.2466759259259259,
      interruptible: false,
      region: 'Guangxi, CN', // geolocation
      zone: null,
      available: 1, // one machine's ask
      reliability: 0.9700835, // reliability2
      verification: 'benchmark_based', // verification "verified"
      observed_at: T0,
      simulated: false,
      data_quality: [],
    });

    const h100 = od.find((o) => o.sku === '20488123')!;
    assert.equal(h100.gpu_model, 'H100'); // "H100 SXM", 81559 MiB
    assert.equal(h100.gpu_count, 8);
    assert.equal(h100.vcpus, 224);
    assert.equal(h100.memory_gb, 2015.36); // 2063731 MiB × 224/224 / 1024 = 2015.362
    assert.equal(h100.gpu_memory_gb, 79.65); // 81559 / 1024 = 79.647
    assert.equal(h100.price_per_hour, 19.2011); // dph_total for all 8 GPUs (2.4001 per GPU)
    assert.equal(h100.region, 'Texas, US');
    assert.equal(h100.reliability, 0.9981);
  });

  it('prices interruptible offers at min_bid plus the same disk charge', async () => {
    const offers = await provider().listOffers({ now: clock.now() });
    const bids = offers.filter((o) => o.interruptible);
    assert.equal(bids.length, offersOf(bidFx).length);
    const b = bids[0]!;
    assert.equal(b.sku, '11684738');
    // min_bid 0.2 + search.diskHour 9.259259e-06 = 0.200009259259…
    assert.ok(Math.abs(b.price_per_hour - 0.200009259259) < 1e-12);
    assert.equal(b.list_price_per_hour, b.price_per_hour);
    assert.equal(b.gpu_model, 'RTX4090');
    assert.equal(b.observed_at, T0);
  });
});

describe('vast search: errors', () => {
  it('401: a ProviderError that names the key, after one request', async () => {
    vast.respond = () => ({
      status: 401,
      body: { success: false, error: 'auth_error', msg: 'Invalid user key' },
    });
    const err = await rejection(provider().listOffers({ now: clock.now() }));
    assert.equal(err.status, 401);
    assert.match(err.message, /Invalid user key/);
    assert.match(err.message, /VAST_API_KEY/);
    assert.equal(vast.requests.length, 1, 'no retry with a bad key');
  });

  it('403 is treated as a bad key too', async () => {
    vast.respond = () => ({ status: 403, body: { detail: 'forbidden' } });
    const err = await rejection(provider().listOffers({ now: clock.now() }));
    assert.equal(err.status, 403);
    assert.match(err.message, /VAST_API_KEY/);
  });

  it('429 with Retry-After: backs off, serves the cache with its old observed_at, sends nothing meanwhile', async () => {
    const p = provider();
    const first = await p.listOffers({ now: clock.now() });
    assert.equal(vast.requests.length, 2);

    clock.advance(61_000); // past the 60 s TTL
    vast.respond = () => ({
      status: 429,
      headers: { 'Retry-After': '30' },
      body: 'API requests too frequent',
    });
    const err = await rejection(p.listOffers({ now: clock.now() }));
    assert.equal(err.status, 429);
    assert.equal(err.retry_after_s, 30);
    assert.equal(vast.requests.length, 3, 'the on-demand search got the 429; the bid search was not sent');

    clock.advance(10_000); // 10 s into the 30 s back-off
    const during = await p.listOffers({ now: clock.now() });
    assert.deepEqual(during, first);
    assert.ok(during.every((o) => o.observed_at === T0));
    assert.equal(vast.requests.length, 3, 'no request during the back-off');

    clock.advance(20_000); // back-off over (30 s after the 429)
    vast.respond = searchReplies;
    const later = await p.listOffers({ now: clock.now() });
    assert.equal(vast.requests.length, 5);
    assert.ok(later.every((o) => o.observed_at === T0 + 91_000));
  });

  it('429 without Retry-After (Vast plain text): waits the threshold its body names', async () => {
    vast.respond = () => ({ status: 429, body: 'API requests too frequent endpoint threshold=12.0' });
    const p = provider();
    const err = await rejection(p.listOffers({ now: clock.now() }));
    assert.equal(err.retry_after_s, 12);
    clock.advance(5_000);
    const again = await rejection(p.listOffers({ now: clock.now() }));
    assert.equal(again.status, 429);
    assert.equal(again.retry_after_s, 7, 'nothing cached: a 429 with the 12 − 5 s left');
    assert.equal(vast.requests.length, 1, 'no request during the back-off');
  });

  it('500: a ProviderError with the status and Vast message', async () => {
    vast.respond = () => ({ status: 500, body: { error: 'server_error', msg: 'db timeout' } });
    const err = await rejection(provider().listOffers({ now: clock.now() }));
    assert.equal(err.status, 500);
    assert.match(err.message, /db timeout/);
  });

  it('a body that is not JSON names that', async () => {
    vast.respond = () => ({ status: 200, body: '{"offers": [ {"id": 1,' });
    const err = await rejection(provider().listOffers({ now: clock.now() }));
    assert.match(err.message, /not JSON/);
  });

  it('JSON without an offers array names that', async () => {
    vast.respond = () => ({ status: 200, body: { results: [] } });
    const err = await rejection(provider().listOffers({ now: clock.now() }));
    assert.match(err.message, /"offers" array/);
  });

  it('an offer row without dph_total names the row and the field', async () => {
    const rows = offersOf(onDemandFx).map((o, i) => (i === 1 ? { ...o, dph_total: null } : o));
    vast.respond = () => ({ status: 200, body: { offers: rows } });
    const err = await rejection(provider().listOffers({ now: clock.now() }));
    assert.match(err.message, /offers\[1\]\.dph_total is null, not a number/);
  });

  it('a server that never answers: a timeout ProviderError', async () => {
    vast.respond = () => ({ status: 200, hang: true });
    const err = await rejection(provider({ timeoutMs: 200 }).listOffers({ now: clock.now() }));
    assert.match(err.message, /timed out after 0.2 s/);
  });
});

describe('vast search: cache', () => {
  it('serves the cache within cacheTtlMs and refetches after it', async () => {
    const p = provider();
    const a = await p.listOffers({ now: clock.now() });
    clock.advance(59_999); // inside the 60 s TTL
    const b = await p.listOffers({ now: clock.now() });
    assert.equal(b, a, 'the same cached list');
    assert.equal(vast.requests.length, 2);

    clock.advance(1); // exactly 60 s: stale
    const c = await p.listOffers({ now: clock.now() });
    assert.equal(vast.requests.length, 4);
    assert.ok(c.every((o) => o.observed_at === T0 + 60_000));
  });

  it('concurrent callers share one fetch', async () => {
    const p = provider();
    await Promise.all([p.listOffers({ now: clock.now() }), p.listOffers({ now: clock.now() })]);
    assert.equal(vast.requests.length, 2);
  });
});
