import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { paretoSet, type Solved } from './alternatives.js';
import { savingsPercent } from './baseline.js';
import { formatHours, formatMoney, formatPrice } from './response.js';

describe('display strings', () => {
  const table: [string, string][] = [
    [formatPrice(0.44), '$0.44/hr'],
    [formatPrice(12.29), '$12.29/hr'],
    [formatPrice(0.0042), '$0.0042/hr'],
    [formatMoney(580.4), '$580'],
    [formatMoney(12345.6), '$12,346'],
    [formatMoney(6), '$6.00'],
    [formatHours(14.2), '14 hours'],
    [formatHours(1), '1 hour'],
    [formatHours(2.345), '2.3 hours'],
  ];
  for (const [got, want] of table) it(want, () => assert.equal(got, want));
});

describe('savingsPercent', () => {
  // 100 × (2490 − 941.33) / 2490 = 62.196 → 62.2
  it('rounds to 0.1', () => assert.equal(savingsPercent(2490, 941.33), 62.2));
  it('is negative when the plan costs more', () => assert.equal(savingsPercent(100, 110), -10));
  it('is null without a baseline', () => assert.equal(savingsPercent(null, 1), null));
});

describe('paretoSet', () => {
  const mk = (label: Solved['label'], cost: number, hours: number, sig: string): Solved => ({
    label,
    cost_usd: cost,
    hours,
    horizon_hours: hours,
    result: {
      status: 'optimal',
      allocations: [{ index: Number(sig), nodes: 1, node_hours: hours }],
      objective: cost,
      gap: 0,
      solver: 'test',
      solve_ms: 0,
    },
  });
  it('merges duplicates and drops a plan beaten on both cost and time', () => {
    const out = paretoSet([
      mk('cost', 100, 50, '1'),
      mk('time', 150, 10, '2'),
      mk('balanced', 150, 10, '2'),
      mk('balanced', 160, 60, '3'),
    ]);
    assert.deepEqual(
      out.map((x) => [x.plan.cost_usd, x.labels]),
      [
        [100, ['cost']],
        [150, ['time', 'balanced']],
      ],
    );
  });
});
