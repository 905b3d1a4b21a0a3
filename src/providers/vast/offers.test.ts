import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCapabilityCatalog } from '../../capabilities/index.js';
import { ProviderError } from '../provider.js';
import { parseVastOffer, vastOfferToInput } from './offers.js';

const capabilities = createCapabilityCatalog();
const ctx = { observedAt: 1_000, capabilities };

/** The fields the adapter reads, with the figures of a real RTX 4090 offer. */
const row = {
  id: 42,
  gpu_name: 'RTX 4090',
  num_gpus: 2,
  gpu_ram: 24564,
  cpu_cores: 64,
  cpu_cores_effective: 32,
  cpu_ram: 131072,
  dph_base: 0.8,
  dph_total: 0.81,
  min_bid: 0.5,
  reliability2: 0.99,
  verification: 'verified',
  geolocation: 'Quebec, CA',
};

describe('vast offer mapping', () => {
  it('on-demand: dph_total; RAM share by effective cores; disk from dph_total − dph_base', () => {
    const o = parseVastOffer(row, 0, 'on-demand');
    assert.ok(Math.abs(o.disk_per_hour - 0.01) < 1e-12); // no search object: 0.81 − 0.80
    const input = vastOfferToInput(o, 'on-demand', ctx);
    assert.equal(input.price_per_hour, 0.81);
    assert.equal(input.memory_gb, 64); // 131072 MiB × 32/64 = 65536 MiB = 64 GiB
    assert.equal(input.gpu_memory_gb, 23.99); // 24564 / 1024
    assert.equal(input.gpu_count, 2);
    assert.equal(input.vcpus, 32);
    assert.equal(input.gpu_model, 'RTX4090');
  });

  it('bid: min_bid + disk, interruptible', () => {
    const input = vastOfferToInput(parseVastOffer(row, 0, 'bid'), 'bid', ctx);
    assert.ok(Math.abs(input.price_per_hour - 0.51) < 1e-12); // 0.5 + 0.01
    assert.equal(input.interruptible, true);
  });

  it('unverified host: provider_attested; reliability falls back to `reliability`', () => {
    const { reliability2, ...rest } = row;
    const input = vastOfferToInput(
      parseVastOffer({ ...rest, reliability: 0.9, verification: 'unverified' }, 0, 'on-demand'),
      'on-demand',
      ctx,
    );
    assert.equal(input.verification, 'provider_attested');
    assert.equal(input.reliability, 0.9);
  });

  it('an unknown GPU keeps its name (GPU_OTHER, never CPU) and is flagged', () => {
    const input = vastOfferToInput(
      parseVastOffer({ ...row, gpu_name: 'Quantum Widget 9000' }, 0, 'on-demand'),
      'on-demand',
      ctx,
    );
    assert.equal(input.gpu_model, 'Quantum Widget 9000');
    assert.deepEqual(input.data_quality, ['gpu_model_unresolved']);
  });

  it('no geolocation: region "unknown"; no cpu_cores: the whole cpu_ram', () => {
    const { cpu_cores, geolocation, ...rest } = row;
    const input = vastOfferToInput(parseVastOffer(rest, 0, 'on-demand'), 'on-demand', ctx);
    assert.equal(input.region, 'unknown');
    assert.equal(input.memory_gb, 128); // 131072 / 1024
  });

  const broken: Array<[string, unknown, 'on-demand' | 'bid', RegExp]> = [
    ['not an object', null, 'on-demand', /offers\[3\] is null/],
    ['no id', { ...row, id: undefined }, 'on-demand', /offers\[3\]\.id is missing/],
    [
      'string price',
      { ...row, dph_total: '0.8' },
      'on-demand',
      /offers\[3\]\.dph_total is "0\.8", not a number/,
    ],
    ['empty gpu_name', { ...row, gpu_name: ' ' }, 'on-demand', /offers\[3\]\.gpu_name is missing or empty/],
    ['negative price', { ...row, dph_total: -1 }, 'on-demand', /dph_total is -1, below 0/],
    [
      'bid without min_bid',
      { ...row, min_bid: null },
      'bid',
      /offers\[3\]\.min_bid is missing in a bid search/,
    ],
    [
      'reliability out of range',
      { ...row, reliability2: 97 },
      'on-demand',
      /reliability2 .* not a number in 0\.\.1/,
    ],
    ['no cpu_ram', { ...row, cpu_ram: undefined }, 'on-demand', /offers\[3\]\.cpu_ram is missing/],
  ];
  for (const [name, raw, market, msg] of broken) {
    it(`malformed row (${name}) → ProviderError naming it`, () => {
      assert.throws(
        () => parseVastOffer(raw, 3, market),
        (e: unknown) => e instanceof ProviderError && msg.test(e.message),
      );
    });
  }
});
