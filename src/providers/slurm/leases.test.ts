import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type LeaseState, ProviderError } from '../provider.js';
import { createSlurmClient, type SlurmExec } from './client.js';
import {
  batchScript,
  createSlurmLeases,
  parseSlurmRun,
  SLURM_JOB_STATES,
  sbatchArgs,
  shellQuote,
  slurmLeaseState,
} from './leases.js';

const fail = (m: string) => new ProviderError('slurm', m);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'slurm-leases-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('slurmLeaseState', () => {
  const none = { exit_code: null, exit_signal: null, reason: null };
  const cases: Array<
    [
      string,
      { exit_code: number | null; exit_signal: number | null; reason: string | null },
      LeaseState,
      RegExp,
    ]
  > = [
    ['PENDING', { ...none, reason: 'Resources' }, 'provisioning', /PENDING \(Resources\)/],
    ['CONFIGURING', none, 'provisioning', /CONFIGURING/],
    ['REQUEUE_HOLD', none, 'provisioning', /held/],
    ['RUNNING', none, 'running', /RUNNING/],
    ['COMPLETING', none, 'running', /COMPLETING/],
    ['SUSPENDED', none, 'running', /paused/],
    ['COMPLETED', { ...none, exit_code: 0 }, 'succeeded', /exit code 0/],
    [
      'FAILED',
      { exit_code: 3, exit_signal: null, reason: 'NonZeroExitCode' },
      'failed',
      /FAILED: exit code 3 \(NonZeroExitCode\)/,
    ],
    [
      'TIMEOUT',
      { exit_code: 0, exit_signal: 15, reason: 'TimeLimit' },
      'failed',
      /TIMEOUT: exit code 0, signal 15/,
    ],
    ['NODE_FAIL', none, 'failed', /NODE_FAIL: exit code unknown/],
    ['OUT_OF_MEMORY', { exit_code: 0, exit_signal: 125, reason: null }, 'failed', /OUT_OF_MEMORY/],
    ['PREEMPTED', none, 'failed', /reclaimed/],
    ['CANCELLED', { exit_code: 0, exit_signal: 15, reason: null }, 'terminated', /CANCELLED/],
  ];
  for (const [state, job, want, detail] of cases) {
    it(`${state} → ${want}`, () => {
      const m = slurmLeaseState(state, job, fail);
      assert.equal(m.state, want);
      assert.match(m.detail, detail);
    });
  }

  it('every state Slurm 22.05 prints has a mapping (the switch is exhaustive)', () => {
    for (const s of SLURM_JOB_STATES) assert.ok(slurmLeaseState(s, null, fail).state);
  });

  it('an unrecognised state is a ProviderError', () => {
    assert.throws(() => slurmLeaseState('LEVITATING', null, fail), /unrecognised job state "LEVITATING"/);
  });
});

describe('the batch script', () => {
  it('shellQuote leaves plain words and single-quotes the rest', () => {
    assert.equal(shellQuote('echo'), 'echo');
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
    assert.equal(shellQuote(''), "''");
  });

  it('/bin/sh runs the argv and env exactly as given (no word splitting, no expansion)', () => {
    const argv = ['a b', "it's", '$HOME', '`id`', '*', '"q"', 'line\nbreak', ''];
    const spec = parseSlurmRun(
      {
        command: [
          'sh',
          '-c',
          'for a in "$@"; do printf "[%s]" "$a"; done; printf "{%s}" "$X"',
          'sh',
          ...argv,
        ],
        env: { X: "$(id) 'y'" },
      },
      fail,
    );
    const file = path.join(tmp, 'job.sh');
    writeFileSync(file, batchScript('lease-1', spec));
    const out = execFileSync('/bin/sh', [file], { cwd: tmp }).toString();
    assert.equal(out, `${argv.map((a) => `[${a}]`).join('')}{$(id) 'y'}`);
  });

  it('parseSlurmRun checks the shape and takes the time limit from timeout_s or hours', () => {
    assert.equal(parseSlurmRun({ command: ['true'], hours: 1.5 }, fail).time_limit_s, 5400);
    assert.equal(parseSlurmRun({ command: ['true'], timeout_s: 90, hours: 9 }, fail).time_limit_s, 90);
    assert.equal(parseSlurmRun({ command: ['true'] }, fail).time_limit_s, null);
    // The runtime's parsed command spec, with its defaults filled, is accepted as it is.
    const runtimeSpec = {
      kind: 'command',
      command: ['true'],
      env: {},
      inputs: [],
      outputs: [],
      timeout_s: 3600,
      network: false,
    };
    assert.equal(parseSlurmRun(runtimeSpec, fail).time_limit_s, 3600);
    const bad: Array<[unknown, RegExp]> = [
      [undefined, /run must be an object/],
      [{ command: [] }, /non-empty array of strings/],
      [{ command: 'echo hi' }, /non-empty array of strings/],
      [{ image: 'alpine' }, /commands only/],
      [{ kind: 'wasm', command: ['x'] }, /commands only/],
      [
        { command: ['true'], inputs: [{ path: 'a', content: 'x', sha256: '0' }] },
        /does not stage run\.inputs/,
      ],
      [{ command: ['true'], env: { 'A-B': 'x' } }, /not a valid name/],
      [{ command: ['true'], hours: 0 }, /run\.hours must be a positive number/],
    ];
    for (const [run, msg] of bad) assert.throws(() => parseSlurmRun(run, fail), msg);
  });

  it('sbatch options: the offer’s partition and shape, whole nodes, the work dir, minutes rounded up', () => {
    const spec = parseSlurmRun({ command: ['true'], timeout_s: 61 }, fail);
    assert.deepEqual(
      sbatchArgs({ lease_id: 'L1', offer_sku: 'gpu/c32-m256000-gpu:a100:4', nodes: 2 }, spec, '/w/L1', fail),
      [
        '--job-name=computemd-L1',
        '--partition=gpu',
        '--nodes=2',
        '--exclusive',
        '--mem=0',
        '--mincpus=32',
        '--chdir=/w/L1',
        '--output=/w/L1/output.log',
        '--gres=gpu:a100:4',
        '--time=2', // 61 s → 2 minutes
      ],
    );
    assert.throws(
      () => sbatchArgs({ lease_id: 'L1', offer_sku: 'local-cpu', nodes: 1 }, spec, '/w', fail),
      /not a Slurm offer sku/,
    );
    assert.throws(
      () => sbatchArgs({ lease_id: 'L1', offer_sku: 'debug/c2-m1', nodes: 0 }, spec, '/w', fail),
      /whole number/,
    );
  });
});

describe('lease memory after Slurm forgets a job (no accounting storage)', () => {
  /** A cluster whose answers the test changes: what squeue and scontrol say about job 7. */
  function cluster() {
    const now = { squeue: 'RUNNING|None\n', scontrol: null as string | null };
    const gone = { code: 1, stderr: 'slurm_load_jobs error: Invalid job id specified\n' };
    const exec: SlurmExec = async (file, args) => {
      const reply = (stdout: string | null) => {
        if (stdout === null) throw Object.assign(new Error('Command failed'), gone);
        return { stdout, stderr: '' };
      };
      if (file === 'sbatch') return reply('7\n');
      if (file === 'squeue') return reply(now.squeue);
      if (file === 'scontrol') return reply(now.scontrol);
      if (file === 'scancel' || file === 'sstat') return reply('');
      throw new Error(`unexpected ${file} ${args.join(' ')}`);
    };
    const leases = createSlurmLeases({
      name: 'slurm',
      client: createSlurmClient({ name: 'slurm', exec }),
      workRoot: tmp,
    });
    return { now, leases };
  }
  const job = (state: string, runTime: string, exit = '0:0') =>
    `JobId=7 JobName=computemd-L JobState=${state} Reason=None ExitCode=${exit} RunTime=${runTime} NumNodes=2 StdOut=/w/out\n`;

  it('launch writes the script into the work dir and reports provisioning', async () => {
    const { leases } = cluster();
    const st = await leases.launch({
      lease_id: 'L-a',
      offer_sku: 'debug/c2-m1',
      region: 'x',
      nodes: 1,
      interruptible: false,
      run: { command: ['echo', 'hi there'] },
    });
    assert.equal(st.provider_lease_id, '7');
    assert.equal(st.state, 'provisioning');
    assert.match(readFileSync(path.join(tmp, 'L-a', 'job.sh'), 'utf8'), /^exec echo 'hi there'$/m);
  });

  it('a finished job keeps its end state and usage once scontrol forgets it', async () => {
    const { now, leases } = cluster();
    await leases.launch({
      lease_id: 'L-b',
      offer_sku: 'debug/c2-m1',
      region: 'x',
      nodes: 2,
      interruptible: false,
      run: { command: ['true'] },
    });
    now.squeue = '';
    now.scontrol = job('COMPLETED', '00:01:00');
    assert.equal((await leases.status('7')).state, 'succeeded');
    assert.equal((await leases.usage('7')).node_seconds, 120); // RunTime 60 s × NumNodes 2
    now.scontrol = null; // MinJobAge passed
    assert.equal((await leases.status('7')).state, 'succeeded');
    assert.equal((await leases.usage('7')).node_seconds, 120);
  });

  it('a job that vanished before its end was seen is failed, saying why', async () => {
    const { now, leases } = cluster();
    await leases.launch({
      lease_id: 'L-c',
      offer_sku: 'debug/c2-m1',
      region: 'x',
      nodes: 1,
      interruptible: false,
      run: { command: ['true'] },
    });
    assert.equal((await leases.status('7')).state, 'running');
    now.squeue = '';
    const st = await leases.status('7');
    assert.equal(st.state, 'failed');
    assert.match(st.detail ?? '', /forgot the job .* last seen RUNNING/);
  });

  it('a job this gateway never saw, and Slurm does not know, is a 404 ProviderError', async () => {
    const { now, leases } = cluster();
    now.squeue = '';
    await assert.rejects(leases.status('8'), (e: unknown) => e instanceof ProviderError && e.status === 404);
  });

  it('terminate of a job still ending is terminated at once', async () => {
    const { now, leases } = cluster();
    now.squeue = 'COMPLETING|None\n';
    const st = await leases.terminate('7');
    assert.equal(st.state, 'terminated');
    // Slurm still says COMPLETING: the lease stays terminated (states only move forward)…
    assert.equal((await leases.status('7')).state, 'terminated');
    // …and takes Slurm's own word for it once there is one.
    now.squeue = '';
    now.scontrol = job('CANCELLED', '00:00:04', '0:15');
    assert.deepEqual(await leases.status('7'), {
      provider_lease_id: '7',
      state: 'terminated',
      detail: 'CANCELLED',
    });
  });
});
