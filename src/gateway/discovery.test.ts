import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCapabilityCatalog } from '../capabilities/index.js';
import { loadGeo, type Refresher } from '../market/index.js';
import { newMarket, offer } from '../market/testing.js';
import { createDiscoveryApi } from './discovery.js';

describe('discovery version', () => {
  it('is a new object when the snapshot or the reservations change, the same one otherwise', () => {
    const { market, clock } = newMarket({ lambda: [offer({ provider: 'lambda', sku: 'h100' })] });
    const api = createDiscoveryApi({
      market,
      refresher: {} as Refresher,
      providers: [],
      capabilities: createCapabilityCatalog(),
      geo: loadGeo(),
      now: () => clock.now(),
    });
    const id = market.availableOffers(0)[0]?.id as string;
    const v0 = api.version();
    assert.equal(api.version(), v0);
    market.applyReservations(new Map([[id, 1]]), 'patch');
    const v1 = api.version();
    assert.notEqual(v1, v0);
    assert.equal(api.version(), v1);
    market.applyReservations(new Map([[id, 1]]), 'replace'); // no change
    assert.equal(api.version(), v1);
    market.replaceOffers(new Map([['lambda', [offer({ provider: 'lambda', sku: 'h100' })]]]));
    assert.notEqual(api.version(), v1);
    assert.equal(api.node(id)?.available, 3);
  });
});
