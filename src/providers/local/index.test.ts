import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, it } from 'node:test';
import { createCapabilityCatalog } from '../../capabilities/index.js';
import { ManualClock } from '../../util/clock.js';
import type { Provider } from '../provider.js';
import { createLocalProvider } from './index.js';

const capabilities = createCapabilityCatalog();
const T0 = 1_760_000_000_000;

describe('local provider on this host (real OS, real nvidia-smi lookup)', () => {
  it('offers this host’s CPUs and memory, LAN, free, unsimulated', async () => {
    const p: Provider = createLocalProvider({ clock: new ManualClock(T0), capabilities });
    const offers = await p.listOffers({ now: T0 });
    const cpu = offers.find((o) => o.gpu_model === null)!;
    assert.equal(cpu.vcpus, os.cpus().length);
    assert.equal(cpu.memory_gb, Math.round((os.totalmem() / 1024 ** 3) * 100) / 100);
    assert.equal(cpu.provider, 'local');
    assert.equal(cpu.provider_type, 'edge');
    assert.equal(cpu.latency_band, 'LAN');
    assert.equal(cpu.price_per_hour, 0);
    assert.equal(cpu.region, 'local');
    assert.equal(cpu.available, 1);
    assert.equal(cpu.reliability, 0.99);
    assert.equal(cpu.verification, 'provider_attested');
    assert.equal(cpu.simulated, false);
    assert.equal(cpu.observed_at, T0);
    assert.equal(p.leases, null);
    assert.match(p.features.unsupported.leases ?? '', /node agent \(issue 6\)/);
  });
});

describe('local provider with sample nvidia-smi output', () => {
  const host = () => ({
    vcpus: 32,
    memory_bytes: 128 * 1024 ** 3,
    cpu_model: 'Test CPU',
    platform: 'linux',
    arch: 'x64',
  });

  it('one GPU offer per model, counted; the CPU offer stays', async () => {
    const stdout =
      'NVIDIA GeForce RTX 4090, 24564\nNVIDIA GeForce RTX 4090, 24564\nNVIDIA H100 80GB HBM3, 81559\n';
    const p = createLocalProvider({
      clock: new ManualClock(T0),
      capabilities,
      pricePerHour: 0.5,
      region: 'home-lab',
      exec: async () => ({ stdout }),
      host,
    });
    const offers = await p.listOffers({ now: T0 });
    assert.equal(offers.length, 3);
    const [cpu, rtx, h100] = offers;
    assert.equal(cpu!.gpu_count, 0);
    assert.equal(cpu!.memory_gb, 128); // 128 GiB in bytes / 1024³
    assert.equal(rtx!.gpu_model, 'RTX4090');
    assert.equal(rtx!.gpu_count, 2); // two identical lines
    assert.equal(rtx!.gpu_memory_gb, 23.99); // 24564 MiB / 1024
    assert.equal(rtx!.sku, 'local-gpu-rtx4090-24gb');
    assert.equal(h100!.gpu_model, 'H100');
    assert.equal(h100!.gpu_count, 1);
    assert.equal(h100!.vcpus, 32);
    assert.equal(h100!.price_per_hour, 0.5);
    assert.equal(h100!.region, 'home-lab');
    assert.ok(offers.every((o) => o.latency_band === 'LAN' && !o.simulated));
  });

  it('a failing nvidia-smi leaves the CPU offer, flagged', async () => {
    const p = createLocalProvider({
      clock: new ManualClock(T0),
      capabilities,
      exec: async () => {
        throw Object.assign(new Error('NVIDIA-SMI has failed'), { code: 9 });
      },
      host,
    });
    const offers = await p.listOffers({ now: T0 });
    assert.equal(offers.length, 1);
    assert.deepEqual(offers[0]!.data_quality, ['gpu_probe_failed']);
  });
});
