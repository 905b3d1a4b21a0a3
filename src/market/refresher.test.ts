import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OfferInput } from '../providers/offer.js';
import { type Provider, ProviderError } from '../providers/provider.js';
import { createRefresher } from './refresher.js';
import { newMarket, offer } from './testing.js';

function provider(name: string, list: () => Promise<OfferInput[]>): Provider {
  return {
    info: {
      name,
      type: 'traditional_cloud',
      description: '',
      payment: [],
      verification: 'catalog_listed',
      simulated: true,
      source: '',
    },
    features: {
      interruptible: false,
      multi_node: false,
      stop_resume: false,
      attestation: false,
      run_kinds: [],
      unsupported: {},
    },
    listOffers: list,
    leases: null,
    refresh_interval_s: 60,
  };
}

describe('refresher', () => {
  it('isolates failing and slow providers; the rest keep answering', async () => {
    const { market, clock } = newMarket();
    let failNext = false;
    const good = provider('good', async () => [offer({ provider: 'good', sku: 'a' })]);
    const flaky = provider('flaky', async () => {
      if (failNext) throw new ProviderError('flaky', 'HTTP 503', 503);
      return [offer({ provider: 'flaky', sku: 'b' })];
    });
    const slow = provider('slow', () => new Promise(() => {})); // never answers
    const broken = provider('broken', async () => {
      throw new Error('boom');
    });
    const r = createRefresher({ market, providers: [good, flaky, slow, broken], clock, timeoutMs: 30 });
    const h1 = await r.refreshAll();
    const status = (h: typeof h1) => Object.fromEntries(h.map((x) => [x.provider, [x.status, x.offers]]));
    assert.deepEqual(status(h1), {
      good: ['ok', 1],
      flaky: ['ok', 1],
      slow: ['down', 0],
      broken: ['down', 0],
    });
    assert.match(h1.find((x) => x.provider === 'slow')?.last_error ?? '', /timed out after 30 ms/);

    // flaky now fails: its last good offer stays and it shows degraded, then down after 3 failures.
    failNext = true;
    await r.refreshAll();
    assert.deepEqual(status(r.health()).flaky, ['degraded', 1]);
    assert.equal(market.query({ sort: 'price_asc', limit: 10 }).offers.length, 2);
    await r.refreshOne('flaky');
    await r.refreshOne('flaky');
    const f = r.health().find((x) => x.provider === 'flaky');
    assert.equal(f?.status, 'down');
    assert.equal(f?.consecutive_failures, 3);
    assert.match(f?.last_error ?? '', /HTTP 503/);
    failNext = false;
    await r.refreshOne('flaky');
    assert.deepEqual(status(r.health()).flaky, ['ok', 1]);
  });

  it('starts and stops timers without holding the process', () => {
    const { market, clock } = newMarket();
    const r = createRefresher({ market, providers: [provider('p', async () => [])], clock, timeoutMs: 10 });
    r.start();
    r.stop();
    assert.equal(r.health()[0]?.status, 'pending');
  });
});
