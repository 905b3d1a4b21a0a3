import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mulberry32 } from '../util/random.js';
import { formatSla, simulateSla, slaProbability } from './sla.js';
import type { SlaAllocation, SlaInput } from './types.js';

const RUNS = 20_000;

/** Closed form and Monte Carlo agree within 4 binomial standard errors (+1e-3 for tiny p(1 − p)). */
function assertAgree(input: SlaInput, seed: number): number {
  const exact = slaProbability(input);
  const mc = simulateSla(input, RUNS, mulberry32(seed));
  const tol = 4 * Math.sqrt((exact * (1 - exact)) / RUNS) + 1e-3;
  assert.ok(
    Math.abs(exact - mc) <= tol,
    `exact ${exact} vs MC ${mc} (tol ${tol}) for ${JSON.stringify(input)}`,
  );
  return exact;
}

const alloc = (hours: number, nodes: number, reliability: number, work: number): SlaAllocation => ({
  hours,
  nodes,
  reliability,
  work,
});

const base = { fallback_rate: 2, fallback_reliability: 1, restart_overhead_hours: 1 };

describe('slaProbability: worked examples', () => {
  it('one node, fallback twice as fast (q = 0.5)', () => {
    // h = 10, node rate 10/10 = 1 ref-h/h, F = 2 → fallback needs q(h − t) = 0.5(10 − t) hours.
    // finish: t + 1 + 0.5(10 − t) ≤ 10 ⇔ 0.5t ≤ 4 ⇔ t ≤ 8. Fallback never fails (λ_f = 0), so
    // P = e^{−10λ} + ∫₀⁸ λe^{−λt} dt = 0.9^10 + (1 − 0.9^8) = 0.348678 + 0.569533 = 0.918211
    const input = { ...base, allocations: [alloc(10, 1, 0.9, 10)], horizon_hours: 10 };
    assert.ok(Math.abs(slaProbability(input) - 0.918211) < 1e-6);
  });

  it('one node, fallback half as fast (q = 2): only late failures are rescued', () => {
    // F = 0.5 → q = 2; finish: t + 1 + 2(10 − t) ≤ 20 ⇔ t ≥ 1.
    // P = 0.9^10 + ∫₁¹⁰ λe^{−λt} dt = 0.9^10 + (0.9 − 0.9^10) = 0.9
    const input = { ...base, fallback_rate: 0.5, allocations: [alloc(10, 1, 0.9, 10)], horizon_hours: 20 };
    assert.ok(Math.abs(slaProbability(input) - 0.9) < 1e-9);
  });

  it('unreliable fallback: the rescue is discounted by e^{−λ_f q (h − t)}', () => {
    // R = 0.9, R_f = 0.8, q = 0.5, window t ∈ [0, 8] as in the first example. k = λ − λ_f q
    // = 0.105361 − 0.5·0.223144 = −0.006211. rescued = λ e^{−λ_f q h} ∫₀⁸ e^{−kt} dt
    // = 0.105361 · 0.8^5 · (e^{0.049690} − 1)/0.006211 = 0.105361 · 0.32768 · 8.202094 = 0.283173
    // P = 0.348678 + 0.283173 = 0.631852
    const input = {
      ...base,
      fallback_reliability: 0.8,
      allocations: [alloc(10, 1, 0.9, 10)],
      horizon_hours: 10,
    };
    assert.ok(Math.abs(slaProbability(input) - 0.631852) < 1e-6, String(slaProbability(input)));
  });

  it('nodes and allocations multiply', () => {
    // Two allocations of the first example's node, 3 and 2 nodes: 0.918211^5 = 0.652699
    const input = {
      ...base,
      allocations: [alloc(10, 3, 0.9, 30), alloc(10, 2, 0.9, 20)],
      horizon_hours: 10,
    };
    assert.ok(Math.abs(slaProbability(input) - 0.652699) < 1e-6);
  });
});

describe('slaProbability: edge cases', () => {
  it('reliability 1 gives 1 when the work fits the horizon, 0 when it does not', () => {
    const input = { ...base, allocations: [alloc(12, 4, 1, 48), alloc(6, 1, 1, 6)], horizon_hours: 12 };
    assert.equal(slaProbability(input), 1);
    assert.equal(simulateSla(input, 100, mulberry32(1)), 1);
    assert.equal(slaProbability({ ...input, horizon_hours: 11.9 }), 0);
  });

  it('a horizon shorter than an allocation’s own hours gives 0, fallback or not', () => {
    const input = { ...base, allocations: [alloc(5, 1, 0.99, 5), alloc(10, 2, 0.999, 20)], horizon_hours: 9 };
    assert.equal(slaProbability(input), 0);
    assert.equal(simulateSla(input, 100, mulberry32(1)), 0);
  });

  it('a horizon equal to the hours up to rounding still counts', () => {
    const hours = 0.1 + 0.2; // 0.30000000000000004
    const input = { ...base, allocations: [alloc(hours, 1, 1, 1)], horizon_hours: 0.3 };
    assert.equal(slaProbability(input), 1);
  });

  it('no fallback: SLA = Π P(no failure) = Π reliability^(nodes × hours)', () => {
    // 0.9^(2·10) · 0.99^(4·8) = 0.121577 · 0.724980 = 0.088141
    const allocations = [alloc(10, 2, 0.9, 20), alloc(8, 4, 0.99, 40)];
    const expected = 0.9 ** 20 * 0.99 ** 32;
    for (const fb of [
      { fallback_rate: 0, fallback_reliability: 0.99 },
      { fallback_rate: 5, fallback_reliability: 0 },
    ]) {
      const input = { ...base, ...fb, allocations, horizon_hours: 100 };
      assert.ok(Math.abs(slaProbability(input) - expected) < 1e-12);
      assertAgree(input, 11);
    }
  });

  it('a node that never runs (reliability 0) hands its whole share to the fallback', () => {
    // q = 0.5, h = 10 → done at ρ + q·h = 1 + 5 = 6 ≤ 10; fallback runs 5 h with R_f = 0.9 → 0.9^5 = 0.59049
    const input = {
      ...base,
      fallback_reliability: 0.9,
      allocations: [alloc(10, 1, 0, 10)],
      horizon_hours: 10,
    };
    assert.ok(Math.abs(slaProbability(input) - 0.59049) < 1e-9);
    assertAgree(input, 5);
    // F = 1 → q = 1: done at 1 + 10 = 11 > 10.
    assert.equal(slaProbability({ ...input, fallback_rate: 1 }), 0);
    // The allocation's own hours must fit even when the fallback alone could finish earlier.
    assert.equal(slaProbability({ ...input, horizon_hours: 9 }), 0);
  });

  it('empty plans, zero nodes and zero hours are certain', () => {
    assert.equal(slaProbability({ ...base, allocations: [], horizon_hours: 0 }), 1);
    const input = { ...base, allocations: [alloc(10, 0, 0.5, 0), alloc(0, 3, 0.5, 0)], horizon_hours: 1 };
    assert.equal(slaProbability(input), 1);
  });

  it('rejects inputs that are bugs', () => {
    const ok = { ...base, allocations: [alloc(1, 1, 0.9, 1)], horizon_hours: 2 };
    assert.throws(() => slaProbability({ ...ok, allocations: [alloc(1, 1.5, 0.9, 1)] }), RangeError);
    assert.throws(() => slaProbability({ ...ok, allocations: [alloc(1, 1, 1.2, 1)] }), RangeError);
    assert.throws(() => slaProbability({ ...ok, horizon_hours: Number.NaN }), RangeError);
    assert.throws(() => slaProbability({ ...ok, fallback_rate: -1 }), RangeError);
    assert.throws(() => simulateSla(ok, 0, mulberry32(1)), RangeError);
  });
});

describe('slaProbability against numeric quadrature of the same integral', () => {
  it('agrees with a 200k-point midpoint rule (q > 1, unreliable fallback)', () => {
    // P(node) = e^{−λh} + ∫₀ʰ λe^{−λt} 1[t + ρ + q(h − t) ≤ H] e^{−λ_f q (h − t)} dt
    const [R, h, w, F, Rf, rho, H] = [0.85, 12, 18, 1, 0.9, 0.5, 20];
    const l = -Math.log(R);
    const lf = -Math.log(Rf);
    const q = w / h / F;
    const n = 200_000;
    let integral = 0;
    for (let i = 0; i < n; i++) {
      const t = ((i + 0.5) * h) / n;
      const d = q * (h - t);
      if (t + rho + d <= H) integral += l * Math.exp(-l * t) * Math.exp(-lf * d) * (h / n);
    }
    const input = {
      allocations: [alloc(h, 1, R, w)],
      horizon_hours: H,
      fallback_rate: F,
      fallback_reliability: Rf,
      restart_overhead_hours: rho,
    };
    assert.ok(Math.abs(slaProbability(input) - (Math.exp(-l * h) + integral)) < 1e-5);
  });
});

describe('slaProbability against Monte Carlo (20,000 seeded runs)', () => {
  const table: { name: string; input: SlaInput }[] = [
    {
      name: '1 allocation, tight horizon, fast fallback',
      input: { ...base, allocations: [alloc(10, 1, 0.9, 10)], horizon_hours: 10 },
    },
    {
      name: '1 allocation, slow fallback, loose horizon',
      input: { ...base, fallback_rate: 0.5, allocations: [alloc(10, 1, 0.9, 10)], horizon_hours: 20 },
    },
    {
      name: '2 allocations, unreliable fallback',
      input: {
        allocations: [alloc(10, 4, 0.9, 30), alloc(8, 2, 0.95, 20)],
        horizon_hours: 14,
        fallback_rate: 2,
        fallback_reliability: 0.99,
        restart_overhead_hours: 0.5,
      },
    },
    {
      name: '3 allocations, horizon = longest allocation',
      input: {
        allocations: [alloc(14, 6, 0.98, 60), alloc(14, 2, 0.8, 12), alloc(9, 3, 0.999, 40)],
        horizon_hours: 14,
        fallback_rate: 4,
        fallback_reliability: 0.95,
        restart_overhead_hours: 0.25,
      },
    },
    {
      name: '4 allocations, reliabilities 0.8–0.999, loose horizon',
      input: {
        allocations: [
          alloc(20, 2, 0.8, 30),
          alloc(16, 4, 0.9, 64),
          alloc(12, 8, 0.99, 96),
          alloc(24, 1, 0.999, 24),
        ],
        horizon_hours: 40,
        fallback_rate: 1.5,
        fallback_reliability: 0.97,
        restart_overhead_hours: 1,
      },
    },
    {
      name: '4 allocations, no fallback',
      input: {
        allocations: [
          alloc(5, 2, 0.99, 10),
          alloc(5, 2, 0.995, 10),
          alloc(4, 1, 0.999, 4),
          alloc(3, 3, 0.98, 9),
        ],
        horizon_hours: 6,
        fallback_rate: 0,
        fallback_reliability: 0.99,
        restart_overhead_hours: 1,
      },
    },
    {
      name: 'high reliability, SLA near 1',
      input: {
        allocations: [alloc(8, 4, 0.999, 32), alloc(8, 4, 0.998, 16)],
        horizon_hours: 12,
        fallback_rate: 8,
        fallback_reliability: 0.999,
        restart_overhead_hours: 0.1,
      },
    },
    {
      name: 'q = 1 exactly: every failure finishes at h + ρ',
      input: { ...base, fallback_rate: 1, allocations: [alloc(10, 2, 0.85, 20)], horizon_hours: 11 },
    },
  ];

  table.forEach(({ name, input }, i) => {
    it(name, () => {
      assertAgree(input, 100 + i);
    });
  });

  it('the fallback matters in the table: rescue raises the SLA far beyond the binomial noise', () => {
    // 2-allocation row: no-fallback SLA = 0.9^40 · 0.95^16 = 0.006505; with fallback 0.9277.
    const input = table[2]!.input;
    const without = slaProbability({ ...input, fallback_rate: 0 });
    assert.ok(Math.abs(without - 0.9 ** 40 * 0.95 ** 16) < 1e-12);
    assert.ok(slaProbability(input) - without > 0.9);
  });

  it('property: random plans agree', () => {
    const allocation = fc.record({
      hours: fc.double({ min: 0.5, max: 24, noNaN: true }),
      nodes: fc.integer({ min: 1, max: 6 }),
      reliability: fc.double({ min: 0.8, max: 0.999, noNaN: true }),
      rate: fc.double({ min: 0.1, max: 3, noNaN: true }),
    });
    const plan = fc.record({
      allocations: fc.array(allocation, { minLength: 1, maxLength: 4 }),
      slackFactor: fc.double({ min: 1, max: 2.5, noNaN: true }),
      fallback_rate: fc.oneof(fc.constant(0), fc.double({ min: 0.1, max: 10, noNaN: true })),
      fallback_reliability: fc.double({ min: 0.8, max: 1, noNaN: true }),
      restart_overhead_hours: fc.double({ min: 0, max: 3, noNaN: true }),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    });
    fc.assert(
      fc.property(plan, (p) => {
        const allocations = p.allocations.map((a) =>
          alloc(a.hours, a.nodes, a.reliability, a.rate * a.nodes * a.hours),
        );
        const longest = Math.max(...allocations.map((a) => a.hours));
        const input: SlaInput = {
          allocations,
          horizon_hours: longest * p.slackFactor,
          fallback_rate: p.fallback_rate,
          fallback_reliability: p.fallback_reliability,
          restart_overhead_hours: p.restart_overhead_hours,
        };
        assertAgree(input, p.seed);
      }),
      { seed: 42, numRuns: 60 },
    );
  });

  it('is reproducible for a seed', () => {
    const input = table[2]!.input;
    assert.equal(simulateSla(input, 1000, mulberry32(9)), simulateSla(input, 1000, mulberry32(9)));
  });
});

describe('formatSla', () => {
  it('floors to one decimal, adds nines near 100, prints 100.0% only for certainty', () => {
    const table: [number, string][] = [
      [0, '0.0%'],
      [0.123456, '12.3%'], // 12.3456 floored
      [0.995, '99.5%'], // 0.995 × 100 = 99.49999999999999 in binary: still 99.5
      [0.99499, '99.4%'], // floored, never rounded up
      [0.999, '99.9%'], // the next digit is 0: "99.90%" would add nothing
      [0.9995, '99.95%'],
      [0.99949, '99.94%'],
      [0.99999, '99.999%'],
      [0.9999999, '99.9999%'], // four decimals at most
      [1 - 1e-15, '99.9999%'],
      [1, '100.0%'],
    ];
    for (const [p, sla] of table) {
      const f = formatSla(p);
      assert.equal(f.sla, sla, String(p));
      assert.equal(f.sla_percent, Number.parseFloat(sla));
    }
  });

  it('property: never above the probability, never 100 below certainty, within one shown digit', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (p) => {
        const { sla, sla_percent } = formatSla(p);
        assert.notEqual(sla, '100.0%');
        assert.ok(sla_percent < 100);
        assert.ok(sla_percent <= p * 100 + 1e-6, `${sla} for ${p}`);
        const decimals = sla.length - sla.indexOf('.') - 2;
        assert.ok(p * 100 - sla_percent < 10 ** -decimals + 1e-9, `${sla} for ${p}`);
      }),
      { seed: 5, numRuns: 2000 },
    );
  });

  it('rejects values that are not probabilities', () => {
    assert.throws(() => formatSla(1.01), RangeError);
    assert.throws(() => formatSla(Number.NaN), RangeError);
  });
});
