import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSearchBody, retryAfterSeconds, VAST_DEFAULT_BACKOFF_S } from './client.js';

describe('retryAfterSeconds', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const cases: Array<[string, string | null, string, number]> = [
    ['Retry-After seconds', '30', '', 30],
    ['fractional seconds round up', '1.2', '', 2],
    ['Retry-After HTTP date, 45 s ahead', 'Thu, 01 Jan 2026 00:00:45 GMT', '', 45],
    ['a date already past waits 0', 'Wed, 31 Dec 2025 23:59:00 GMT', '', 0],
    ['no header: Vast body threshold=4.5 → 5 s', null, 'API requests too frequent endpoint threshold=4.5', 5],
    [
      'no header: JSON detail with threshold',
      null,
      '{"detail":"API requests too frequent endpoint threshold=2.0"}',
      2,
    ],
    [
      'nothing to go on: the 10/min search interval',
      null,
      'API requests too frequent',
      VAST_DEFAULT_BACKOFF_S,
    ],
    ['garbage header falls through to the body', 'soon', 'threshold=3', 3],
  ];
  for (const [name, header, body, want] of cases) {
    it(name, () => assert.equal(retryAfterSeconds(header, body, now), want));
  }
});

describe('buildSearchBody', () => {
  it('adds the CLI defaults, a GPU filter, cheapest-first order and the market type', () => {
    assert.deepEqual(buildSearchBody('on-demand'), {
      verified: { eq: true },
      external: { eq: false },
      rentable: { eq: true },
      rented: { eq: false },
      num_gpus: { gte: 1 },
      order: [['dph_total', 'asc']],
      type: 'on-demand',
      limit: 256,
      allocated_storage: 5.0,
    });
  });

  it('orders bids by min_bid and lets configured filters replace defaults', () => {
    const b = buildSearchBody('bid', {
      filters: { verified: { eq: false }, gpu_name: { eq: 'RTX 4090' } },
      limit: 10,
    });
    assert.deepEqual(b.order, [['min_bid', 'asc']]);
    assert.equal(b.type, 'bid');
    assert.deepEqual(b.verified, { eq: false });
    assert.deepEqual(b.gpu_name, { eq: 'RTX 4090' });
    assert.equal(b.num_gpus, undefined, 'given filters replace the default num_gpus filter');
    assert.equal(b.limit, 10);
  });
});
