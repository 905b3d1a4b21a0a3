import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PROVIDER_TYPES } from '../protocol/glossary.js';
import { isTerminal, LEASE_STATES, transition } from './lease-states.js';
import {
  preemptionHazardPerHour,
  type SimulatedLeaseInput,
  type SimulatedTimeline,
  STARTUP_SECONDS,
  simulateLease,
  stateAt,
} from './simulated.js';

const T0 = Date.UTC(2026, 0, 1);
const input = (over: Partial<SimulatedLeaseInput> = {}): SimulatedLeaseInput => ({
  lease_id: 'lease-1',
  offer: { provider: 'aws', provider_type: 'traditional_cloud', interruptible: true, reliability: 0.97 },
  hours: 2,
  run_seconds: 3600,
  started_at: T0,
  seed: 1,
  ...over,
});

const inputs = fc.record({
  lease_id: fc.string({ maxLength: 12 }),
  offer: fc.record({
    provider: fc.constantFrom('aws', 'runpod', 'vast'),
    provider_type: fc.constantFrom(...PROVIDER_TYPES, 'not_a_type'),
    interruptible: fc.boolean(),
    reliability: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  hours: fc.double({ min: 0, max: 200, noNaN: true }),
  run_seconds: fc.option(fc.double({ min: 0, max: 1_000_000, noNaN: true })),
  started_at: fc.integer({ min: 0, max: 4_000_000_000_000 }),
  seed: fc.integer(),
});

const end = (t: SimulatedTimeline) => t.transitions[t.transitions.length - 1]!.at;
const running = (t: SimulatedTimeline) => t.transitions.find((x) => x.to === 'running')!.at;

/** Share of `n` leases (seeds 0…n−1) that end as `ends`. */
function share(n: number, over: Partial<SimulatedLeaseInput>, ends: SimulatedTimeline['ends']): number {
  let k = 0;
  for (let seed = 0; seed < n; seed++) if (simulateLease(input({ ...over, seed })).ends === ends) k++;
  return k / n;
}

describe('simulateLease', () => {
  it('is deterministic for a seed; seeds (and lease ids) differ', () => {
    assert.deepEqual(simulateLease(input()), simulateLease(input()));
    const seen = new Set(
      Array.from({ length: 50 }, (_, seed) => JSON.stringify(simulateLease(input({ seed })))),
    );
    assert.ok(seen.size > 45, `${seen.size} distinct of 50`);
    assert.notDeepEqual(simulateLease(input()), simulateLease(input({ lease_id: 'lease-2' })));
  });

  it('every timeline is a valid path of the state machine, marked simulated and modelled', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        const t = simulateLease(i);
        assert.equal(t.simulated, true);
        assert.deepEqual(
          t.transitions.map((x) => x.to),
          ['provisioning', 'running', t.ends],
        );
        let state: (typeof LEASE_STATES)[number] = 'pending';
        let at = i.started_at;
        for (const x of t.transitions) {
          assert.equal(x.from, state);
          assert.ok(transition(x.from, x.to, x.at, x.reason).ok);
          assert.ok(x.at >= at, 'time moves forward');
          assert.match(x.reason, /^modelled: /);
          [state, at] = [x.to, x.at];
        }
        assert.ok(isTerminal(state));
      }),
    );
  });

  it('usage never exceeds the run length nor the booked hours', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        const t = simulateLease(i);
        // Whole-ms usage is rounded down; 1e-9 s only absorbs the float representation of hours × 3600.
        assert.ok(t.usage_seconds >= 0 && t.usage_seconds <= i.hours * 3600 + 1e-9);
        if (i.run_seconds !== null) assert.ok(t.usage_seconds <= i.run_seconds + 1e-9);
        assert.equal(t.usage_seconds, (end(t) - running(t)) / 1000);
      }),
    );
  });

  it('non-interruptible offers are never preempted; reliability 1 never fails', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        assert.notEqual(
          simulateLease({ ...i, offer: { ...i.offer, interruptible: false } }).ends,
          'preempted',
        );
        assert.notEqual(simulateLease({ ...i, offer: { ...i.offer, reliability: 1 } }).ends, 'failed');
      }),
    );
  });

  it('a reliable on-demand lease completes at its run length, or at the booked hours if shorter', () => {
    const od = { provider: 'aws', provider_type: 'traditional_cloud', interruptible: false, reliability: 1 };
    const cases: Array<[number, number | null, number]> = [
      [2, 3600, 3600], // the workload ends first
      [0.5, 3600, 1800], // 0.5 h × 3600 = 1800 s: the booking ends first
      [1.5, null, 5400], // no length known: the booked 1.5 h
    ];
    for (const [hours, run_seconds, usage] of cases) {
      const t = simulateLease(input({ offer: od, hours, run_seconds }));
      assert.equal(t.ends, 'completed');
      assert.equal(t.usage_seconds, usage);
    }
  });

  it('start-up delay stays within the modelled range of each provider type', () => {
    for (const type of PROVIDER_TYPES) {
      const [lo, hi] = STARTUP_SECONDS[type];
      for (let seed = 0; seed < 200; seed++) {
        const t = simulateLease(input({ seed, offer: { ...input().offer, provider_type: type } }));
        const s = (running(t) - T0) / 1000;
        assert.ok(s >= lo && s <= hi, `${type}: ${s} s`);
      }
    }
  });

  it('over 2,000 seeded interruptible leases the preemption share matches the modelled hazard', () => {
    // Model check, not a timing. traditional_cloud: r = (0.97 + 0.90) / 2 = 0.935 per hour, so a 2 h
    // run is preempted with p = 1 − 0.935² ≈ 0.1258; sd of the share √(p(1−p)/2000) ≈ 0.0074.
    // p2p_marketplace: r = (0.88 + 0.80) / 2 = 0.84, 1 h run: p = 0.16, sd ≈ 0.0082.
    // The band is p ± 0.035 (over 4 sd); reliability 1 so failures do not compete.
    const cases: Array<[string, number, number]> = [
      ['traditional_cloud', 7200, 0.1258],
      ['p2p_marketplace', 3600, 0.16],
    ];
    for (const [provider_type, run_seconds, p] of cases) {
      assert.ok(
        Math.abs(1 - Math.exp((-preemptionHazardPerHour(provider_type) * run_seconds) / 3600) - p) < 1e-3,
      );
      const offer = { provider: 'x', provider_type, interruptible: true, reliability: 1 };
      const s = share(2000, { offer, hours: 2, run_seconds }, 'preempted');
      assert.ok(Math.abs(s - p) < 0.035, `${provider_type}: share ${s}, modelled ${p}`);
    }
  });

  it('over 2,000 seeded on-demand leases the failure share is about 1 − reliability', () => {
    // reliability 0.8 → p = 0.2, sd √(0.2 × 0.8 / 2000) ≈ 0.0089; band ± 0.035.
    const offer = {
      provider: 'x',
      provider_type: 'serverless_compute',
      interruptible: false,
      reliability: 0.8,
    };
    const s = share(2000, { offer }, 'failed');
    assert.ok(Math.abs(s - 0.2) < 0.035, `share ${s}`);
  });

  it('rejects inputs no caller should send (bugs are exceptions)', () => {
    assert.throws(() => simulateLease(input({ hours: -1 })), RangeError);
    assert.throws(() => simulateLease(input({ run_seconds: Number.NaN })), RangeError);
    assert.throws(() => simulateLease(input({ offer: { ...input().offer, reliability: 1.5 } })), RangeError);
  });
});

describe('stateAt', () => {
  it('moves forward through the path, usage monotonic, reaching the end state and usage at the end', () => {
    fc.assert(
      fc.property(inputs, fc.array(fc.double({ min: -0.1, max: 1.1, noNaN: true })), (i, fractions) => {
        const t = simulateLease(i);
        const [start, stop] = [i.started_at, end(t)];
        assert.deepEqual(stateAt(t, start - 1), { state: 'pending', usage_seconds: 0 });
        assert.deepEqual(stateAt(t, stop), { state: t.ends, usage_seconds: t.usage_seconds });
        assert.deepEqual(stateAt(t, stop + 3_600_000), { state: t.ends, usage_seconds: t.usage_seconds });
        const times = fractions.map((f) => start + f * (stop - start)).sort((a, b) => a - b);
        let [rank, usage] = [0, 0];
        for (const now of times) {
          const s = stateAt(t, now);
          const r = LEASE_STATES.indexOf(s.state);
          assert.ok(r >= rank, `state moved back to ${s.state}`);
          assert.ok(s.usage_seconds >= usage && s.usage_seconds <= t.usage_seconds);
          if (s.state === 'pending' || s.state === 'provisioning') assert.equal(s.usage_seconds, 0);
          [rank, usage] = [r, s.usage_seconds];
        }
      }),
    );
  });
});
