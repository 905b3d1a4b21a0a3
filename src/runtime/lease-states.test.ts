import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isReservingLease } from '../ledger/states.js';
import { isTerminal, LEASE_STATES, ledgerState, type RuntimeLeaseState, transition } from './lease-states.js';

describe('lease state machine', () => {
  it('walks the happy path and every way out', () => {
    const path: RuntimeLeaseState[] = ['pending', 'provisioning', 'running', 'completed'];
    for (let i = 1; i < path.length; i++)
      assert.equal(
        transition(path[i - 1] as RuntimeLeaseState, path[i] as RuntimeLeaseState, i, 'step').ok,
        true,
      );
    for (const from of ['pending', 'provisioning', 'running'] as const)
      for (const to of ['failed', 'preempted', 'cancelled'] as const)
        assert.equal(transition(from, to, 0, 'x').ok, true);
  });

  it('never moves backwards, skips provisioning into completion, or leaves a terminal state', () => {
    const refused: [RuntimeLeaseState, RuntimeLeaseState][] = [
      ['running', 'pending'],
      ['provisioning', 'pending'],
      ['pending', 'running'],
      ['pending', 'completed'],
      ['completed', 'running'],
      ['failed', 'running'],
      ['cancelled', 'completed'],
      ['preempted', 'running'],
      ['running', 'running'],
    ];
    for (const [from, to] of refused) {
      const r = transition(from, to, 0, 'x');
      assert.equal(r.ok, false, `${from} → ${to}`);
      if (!r.ok) assert.match(r.detail, new RegExp(from));
    }
    assert.equal(transition('pending', 'provisioning', 0, ' ').ok, false, 'a reason is required');
  });

  it('terminal states are exactly the four ends, and the ledger reserves capacity until one', () => {
    assert.deepEqual(LEASE_STATES.filter(isTerminal), ['completed', 'failed', 'preempted', 'cancelled']);
    for (const s of LEASE_STATES) assert.equal(isReservingLease(ledgerState(s)), !isTerminal(s), s);
  });
});
