import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LeaseState } from '../provider.js';
import { ProviderError } from '../provider.js';
import { envFlags, parseRunSpec, vastLeaseState } from './leases.js';

describe('vastLeaseState', () => {
  const cases: Array<[string, Record<string, unknown> | null, LeaseState]> = [
    ['gone ({"instances": null})', null, 'terminated'],
    ['destroyed (cur_state unloaded)', { actual_status: 'exited', cur_state: 'unloaded' }, 'terminated'],
    ['no status yet', { actual_status: null, intended_status: 'running' }, 'provisioning'],
    ['created', { actual_status: 'created' }, 'provisioning'],
    [
      'OCI failure',
      { actual_status: 'created', status_msg: 'Error: OCI runtime create failed: x' },
      'failed',
    ],
    ['loading', { actual_status: 'loading' }, 'provisioning'],
    ['rebooting', { actual_status: 'rebooting' }, 'provisioning'],
    ['running', { actual_status: 'running' }, 'running'],
    ['exited', { actual_status: 'exited', cur_state: 'running' }, 'succeeded'],
    [
      'outbid (all three stopped)',
      { actual_status: 'stopped', intended_status: 'stopped', cur_state: 'stopped', next_state: 'stopped' },
      'failed',
    ],
    [
      'stopped, waiting',
      { actual_status: 'stopped', intended_status: 'running', cur_state: 'stopped' },
      'pending',
    ],
    ['frozen', { actual_status: 'frozen' }, 'pending'],
    ['no heartbeat', { actual_status: 'unknown' }, 'running'],
    ['host offline', { actual_status: 'offline' }, 'failed'],
  ];
  for (const [name, inst, want] of cases) {
    it(`${name} → ${want}`, () => assert.equal(vastLeaseState(inst).state, want));
  }

  it('an unrecognised actual_status is a ProviderError', () => {
    assert.throws(() => vastLeaseState({ actual_status: 'levitating' }), ProviderError);
  });
});

describe('envFlags and parseRunSpec', () => {
  it('writes the documented Docker-flag form', () => {
    assert.equal(
      envFlags({ JOB_ID: '7f3a', MODE: 'train' }, [8000, 22]),
      '-e JOB_ID=7f3a -e MODE=train -p 8000:8000 -p 22:22',
    );
  });

  it('refuses what the flag form cannot carry', () => {
    assert.throws(() => envFlags({ MSG: 'hello world' }, []), /whitespace/);
    assert.throws(() => envFlags({ 'BAD NAME': 'x' }, []), /not a valid name/);
  });

  it('checks the run shape', () => {
    assert.deepEqual(parseRunSpec(undefined), {});
    assert.deepEqual(parseRunSpec({ image: 'alpine', args: ['echo', 'hi'], disk_gb: 10 }), {
      image: 'alpine',
      args: ['echo', 'hi'],
      disk_gb: 10,
    });
    assert.throws(() => parseRunSpec('alpine'), /run must be an object/);
    assert.throws(() => parseRunSpec({ args: 'echo hi' }), /run\.args/);
    assert.throws(() => parseRunSpec({ bid_price_per_hour: -1 }), /bid_price_per_hour/);
    assert.throws(() => parseRunSpec({ ports: [70000] }), /run\.ports/);
  });
});
