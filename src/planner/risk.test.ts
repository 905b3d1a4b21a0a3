import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mulberry32, type Rng } from '../util/random.js';
import {
  checkpointEfficiency,
  costPerWork,
  effectivePricePerNodeHour,
  interruptionRate,
  riskAdjust,
} from './risk.js';

const close = (a: number, b: number, tol: number, msg: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${msg}: ${a} vs ${b} (tol ${tol})`);

describe('riskAdjust', () => {
  // efficiency = [λc / (e^{λc} − 1)] / (1 + λr), λ = −ln(reliability) per hour, c and r in hours.
  const table: {
    name: string;
    reliability: number;
    interruptible: boolean;
    c_s: number;
    r_s?: number;
    efficiency: number;
  }[] = [
    {
      // λ = −ln 0.9 = 0.105361/h; c = 1800 s = 0.5 h, r = 300 s (interruptible default) = 0.083333 h
      // λc = 0.052680 → e^{λc} − 1 = 0.054093 → λc/(e^{λc} − 1) = 0.973891; 1 + λr = 1.008780
      // efficiency = 0.973891 / 1.008780 = 0.965415 (first-order form 1/(1 + λ(c/2 + r)) = 0.966071)
      name: 'spot 0.9, 30 min checkpoints',
      reliability: 0.9,
      interruptible: true,
      c_s: 1800,
      efficiency: 0.965415,
    },
    {
      // λ = 0.051293; λc = 0.025647 → 0.987231; 1 + λr = 1.004274 → 0.983030
      name: 'spot 0.95, 30 min checkpoints',
      reliability: 0.95,
      interruptible: true,
      c_s: 1800,
      efficiency: 0.98303,
    },
    {
      // λ = 0.223144; λc = 0.111572 → e^{λc} − 1 = 0.118034 → 0.945251; 1 + λr = 1.018595 → 0.927995
      name: 'spot 0.8, 30 min checkpoints',
      reliability: 0.8,
      interruptible: true,
      c_s: 1800,
      efficiency: 0.927995,
    },
    {
      // λ = ln 2 = 0.693147; c = 2 h → e^{λc} = 1/0.25 = 4, e^{λc} − 1 = 3 → λc/3 = 1.386294/3 = 0.462098
      // r = 300 s → 1 + λr = 1.057762 → 0.462098 / 1.057762 = 0.436864 (first order would say 0.571)
      name: 'spot 0.5, 2 h checkpoints: exact form matters',
      reliability: 0.5,
      interruptible: true,
      c_s: 7200,
      efficiency: 0.436864,
    },
    {
      // on-demand default r = 600 s = 1/6 h; λ = 0.010050; c = 1 h → λc/(e^{λc} − 1) = 0.994983
      // 1 + λr = 1.001675 → 0.993319
      name: 'on-demand 0.99, hourly checkpoints',
      reliability: 0.99,
      interruptible: false,
      c_s: 3600,
      efficiency: 0.993319,
    },
    {
      // λ = 0.001001; λc = 0.000500 → 0.999750; r = 600 s → 1 + λr = 1.000167 → 0.999583
      name: 'on-demand 0.999',
      reliability: 0.999,
      interruptible: false,
      c_s: 1800,
      efficiency: 0.999583,
    },
    {
      // c = 0 (continuous checkpoints): λc/(e^{λc} − 1) → 1; efficiency = 1/(1 + λr) = 1/1.008780 = 0.991296
      name: 'continuous checkpoints: restart only',
      reliability: 0.9,
      interruptible: true,
      c_s: 0,
      efficiency: 0.991296,
    },
    {
      // explicit r = 3600 s = 1 h: 1 + λr = 1.105361; λc term as in the first row 0.973891 → 0.881062
      name: 'explicit restart overhead overrides the default',
      reliability: 0.9,
      interruptible: true,
      c_s: 1800,
      r_s: 3600,
      efficiency: 0.881062,
    },
    {
      name: 'reliability 1: no interruptions',
      reliability: 1,
      interruptible: false,
      c_s: 1800,
      efficiency: 1,
    },
    { name: 'reliability 0: never runs', reliability: 0, interruptible: true, c_s: 1800, efficiency: 0 },
  ];

  for (const row of table) {
    it(row.name, () => {
      const opts =
        row.r_s === undefined
          ? { checkpoint_interval_s: row.c_s }
          : { checkpoint_interval_s: row.c_s, restart_overhead_s: row.r_s };
      const r = riskAdjust(row, 2, 3.5, opts);
      close(r.efficiency, row.efficiency, 5e-7, 'efficiency');
      close(r.work_rate, 2 * row.efficiency, 1e-6, 'work_rate = base × efficiency');
      assert.equal(r.price_per_node_hour, 3.5, 'price per node-hour is unchanged');
      assert.equal(r.interruptions_per_hour, interruptionRate(row.reliability));
    });
  }

  it('prices cost per work and per useful hour', () => {
    // reliability 0.9, c = 0.5 h, r = 300 s → efficiency 0.965415; base 0.5 ref-h per node-hour
    // work_rate = 0.482708; cost per work = 2.00 / 0.482708 = 4.143290; per useful hour 2.00/0.965415 = 2.071648
    const r = riskAdjust({ reliability: 0.9, interruptible: true }, 0.5, 2, { checkpoint_interval_s: 1800 });
    close(costPerWork(r), 4.14329, 1e-5, 'cost per work');
    close(effectivePricePerNodeHour(r), 2.071648, 1e-5, 'effective price');
    const dead = riskAdjust({ reliability: 0, interruptible: true }, 0.5, 2, { checkpoint_interval_s: 1800 });
    assert.equal(costPerWork(dead), Number.POSITIVE_INFINITY);
  });

  it('rejects inputs a validated request cannot produce', () => {
    const o = { reliability: 0.9, interruptible: true };
    assert.throws(
      () => riskAdjust({ ...o, reliability: 1.1 }, 1, 1, { checkpoint_interval_s: 1800 }),
      RangeError,
    );
    assert.throws(() => riskAdjust(o, -1, 1, { checkpoint_interval_s: 1800 }), RangeError);
    assert.throws(() => riskAdjust(o, 1, Number.NaN, { checkpoint_interval_s: 1800 }), RangeError);
    assert.throws(() => riskAdjust(o, 1, 1, { checkpoint_interval_s: -1 }), RangeError);
    assert.throws(
      () => riskAdjust(o, 1, 1, { checkpoint_interval_s: 1, restart_overhead_s: -1 }),
      RangeError,
    );
  });
});

describe('checkpointEfficiency properties', () => {
  const rel = fc.double({ min: 0.5, max: 1, noNaN: true });
  const hours = fc.double({ min: 0, max: 4, noNaN: true });

  it('is in (0, 1], falls with λ, c and r, and matches 1/(1 + λ(c/2 + r)) to second order', () => {
    fc.assert(
      fc.property(rel, hours, hours, (R, c, r) => {
        const l = interruptionRate(R);
        const e = checkpointEfficiency(l, c, r);
        assert.ok(e > 0 && e <= 1, String(e));
        assert.ok(checkpointEfficiency(l * 1.1, c, r) <= e + 1e-15);
        assert.ok(checkpointEfficiency(l, c + 0.1, r) <= e + 1e-15);
        assert.ok(checkpointEfficiency(l, c, r + 0.1) <= e + 1e-15);
        const x = l * (c / 2 + r);
        const first = 1 / (1 + x);
        // Expanded, exact − first = −λ²c²/6 − λ²cr/2 + O(λ³), and |that| ≤ (2/3)·x².
        assert.ok(Math.abs(e - first) <= x * x + 1e-12, `x=${x} exact=${e} first=${first}`);
      }),
      { seed: 3, numRuns: 500 },
    );
  });
});

/**
 * Simulate the renewal process the formula is derived from: run checkpoint segments of c hours;
 * an interruption (exponential, rate λ) loses the segment's progress and costs r hours.
 * Returns useful hours / paid hours.
 */
function simulateEfficiency(lambda: number, c: number, r: number, segments: number, rng: Rng): number {
  let paid = 0;
  for (let i = 0; i < segments; i++) {
    for (;;) {
      const t = -Math.log(1 - rng.next()) / lambda;
      if (t >= c) {
        paid += c;
        break;
      }
      paid += t + r;
    }
  }
  return (segments * c) / paid;
}

describe('risk model against a simulation of its renewal process', () => {
  const cases: [number, number, number][] = [
    // [reliability, c hours, r hours]
    [0.9, 0.5, 300 / 3600],
    [0.8, 1, 600 / 3600],
    [0.5, 2, 300 / 3600],
  ];
  for (const [R, c, r] of cases) {
    it(`reliability ${R}, c ${c} h, r ${r.toFixed(4)} h`, () => {
      const l = interruptionRate(R);
      const sim = simulateEfficiency(l, c, r, 200_000, mulberry32(7));
      // 200k segments: the ratio estimator's relative error is well under 0.5 %.
      close(sim, checkpointEfficiency(l, c, r), 0.005, 'efficiency');
    });
  }
});
