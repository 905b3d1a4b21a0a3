import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProviderError } from '../provider.js';
import {
  createSlurmClient,
  parseGres,
  parseSbatch,
  parseScontrolJob,
  parseSinfo,
  parseSlurmDuration,
  parseSqueue,
  parseSstatCpu,
  SINFO_ARGS,
  type SlurmExec,
} from './client.js';

/**
 * Fixtures are output captured from Slurm 22.05.8 (Debian 12) on the one-node cluster of
 * scripts/slurm-local.sh: a 2-CPU host named "vm", and the same host with a fake GPU GRES
 * (gres.conf `Name=gpu Type=tesla File=/dev/tty[8-9]`) and a second partition.
 */
const SINFO_IDLE = 'vm|debug*|2|24105|(null)|idle|up|infinite\n';
const SINFO_GRES_MIXED =
  'vm|debug*|2|24105|gpu:tesla:2|mixed|up|infinite\nvm|gpu|2|24105|gpu:tesla:2|mixed|up|4:00:00\n';
/** GRES configured but not found by slurmd: the node is "inval". */
const SINFO_GRES_INVAL =
  'vm|debug*|2|24105|gpu:tesla:2|inval|up|infinite\nvm|gpu|2|24105|gpu:tesla:2|inval|up|4:00:00\n';

const SCONTROL_RUNNING =
  'JobId=1 JobName=capt UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=RUNNING Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:01 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-11-25T13:57:24 EligibleTime=2026-11-25T13:57:24 AccrueTime=2026-11-25T13:57:24 StartTime=2026-11-25T13:57:25 EndTime=Unknown Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-25T13:57:25 Scheduler=Main Partition=debug AllocNode:Sid=localhost:6708 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=/tmp/sl-cap/a.sh WorkDir=/tmp/sl-cap StdErr=/tmp/sl-cap/out.txt StdIn=/dev/null StdOut=/tmp/sl-cap/out.txt Power= \n';
const SCONTROL_COMPLETED = SCONTROL_RUNNING.replace('JobState=RUNNING', 'JobState=COMPLETED').replace(
  'RunTime=00:00:01',
  'RunTime=00:00:03',
);
/** `exit 3`, `scancel` of a sleep, and a 5-node request on a 1-node partition (pending). */
const SCONTROL_EXIT3 = SCONTROL_RUNNING.replace(
  'JobState=RUNNING Reason=None',
  'JobState=FAILED Reason=NonZeroExitCode',
)
  .replace('ExitCode=0:0', 'ExitCode=3:0')
  .replace('RunTime=00:00:01', 'RunTime=00:00:00');
const SCONTROL_CANCELLED = SCONTROL_RUNNING.replace('JobState=RUNNING', 'JobState=CANCELLED')
  .replace('ExitCode=0:0', 'ExitCode=0:15')
  .replace('RunTime=00:00:01', 'RunTime=00:00:04');
const SCONTROL_PENDING_5 = SCONTROL_RUNNING.replace(
  'JobState=RUNNING Reason=None',
  'JobState=PENDING Reason=PartitionConfig',
)
  .replace('RunTime=00:00:01', 'RunTime=00:00:00')
  .replace('NumNodes=1', 'NumNodes=5-5');
const SSTAT_BATCH = '3.batch|cpu=00:00:00,energy=0,fs/disk=10993,mem=3028K,pages=0,vmem=5512K\n';

describe('parseSinfo (captured sinfo --Node output)', () => {
  it('an idle node in the default partition', () => {
    assert.deepEqual(parseSinfo(SINFO_IDLE), [
      {
        node: 'vm',
        partition: 'debug',
        default_partition: true,
        cpus: 2,
        memory_mb: 24105,
        gres: '',
        state: 'idle',
        partition_avail: 'up',
        time_limit: 'infinite',
      },
    ]);
  });

  it('one line per partition the node is in, with its GRES', () => {
    const nodes = parseSinfo(SINFO_GRES_MIXED);
    assert.deepEqual(
      nodes.map((n) => [n.partition, n.default_partition, n.gres, n.state, n.time_limit]),
      [
        ['debug', true, 'gpu:tesla:2', 'mixed', 'infinite'],
        ['gpu', false, 'gpu:tesla:2', 'mixed', '4:00:00'],
      ],
    );
  });

  it('a node whose GRES slurmd did not find is "inval"', () => {
    assert.deepEqual(
      parseSinfo(SINFO_GRES_INVAL).map((n) => [n.partition, n.state]),
      [
        ['debug', 'inval'],
        ['gpu', 'inval'],
      ],
    );
  });

  it('empty output is no nodes', () => assert.deepEqual(parseSinfo('\n'), []));

  const broken: Array<[string, string, RegExp]> = [
    ['too few fields', 'vm|debug*|2|24105', /has 4 fields, expected 8/],
    ['CPUs not a number', 'vm|debug*|2+|24105|(null)|idle|up|infinite', /CPUs is "2\+", not a number/],
    ['no node name', '|debug*|2|24105|(null)|idle|up|infinite', /names no node or partition/],
  ];
  for (const [name, line, msg] of broken) {
    it(`malformed line (${name}) → ProviderError naming it`, () => {
      assert.throws(
        () => parseSinfo(`${SINFO_IDLE}${line}\n`),
        (e: unknown) => e instanceof ProviderError && msg.test(e.message) && /To fix/.test(e.message),
      );
    });
  }
});

describe('parseGres', () => {
  const cases: Array<[string, ReturnType<typeof parseGres>]> = [
    ['(null)', []],
    ['', []],
    ['gpu:tesla:2', [{ name: 'gpu', type: 'tesla', count: 2 }]],
    ['gpu:4', [{ name: 'gpu', type: null, count: 4 }]],
    ['gpu', [{ name: 'gpu', type: null, count: 1 }]],
    // Socket bindings, with a comma inside the parentheses, and a second GRES.
    [
      'gpu:a100:4(S:0,1),shard:8',
      [
        { name: 'gpu', type: 'a100', count: 4 },
        { name: 'shard', type: null, count: 8 },
      ],
    ],
  ];
  for (const [s, want] of cases) it(JSON.stringify(s), () => assert.deepEqual(parseGres(s), want));
});

describe('parseSbatch, parseSqueue, parseSlurmDuration, parseSstatCpu', () => {
  it('sbatch --parsable: "7" and the federation form "7;cluster"', () => {
    assert.equal(parseSbatch('7\n'), '7');
    assert.equal(parseSbatch('42;computemd\n'), '42');
    assert.throws(() => parseSbatch('Submitted batch job 7\n'), ProviderError);
  });

  it('squeue %T|%r: live, pending with a reason, gone (empty)', () => {
    assert.deepEqual(parseSqueue('RUNNING|None\n'), { state: 'RUNNING', reason: null });
    assert.deepEqual(parseSqueue('PENDING|Resources\n'), { state: 'PENDING', reason: 'Resources' });
    assert.equal(parseSqueue(''), null);
    assert.throws(() => parseSqueue('running fine\n'), ProviderError);
  });

  const durations: Array<[string, number | null]> = [
    ['00:00:04', 4],
    ['01:02:03', 3723], // 3600 + 120 + 3
    ['2-00:00:01', 172_801], // 2 × 86400 + 1
    ['05:30', 330], // MM:SS
    ['00:01.500', 1.5], // MM:SS.mmm
    ['UNLIMITED', null],
    ['', null],
  ];
  for (const [s, want] of durations)
    it(`duration ${JSON.stringify(s)} → ${want}`, () => assert.equal(parseSlurmDuration(s), want));

  it('sstat TRESUsageInTot: cpu= summed over steps; nothing → null', () => {
    assert.equal(parseSstatCpu(SSTAT_BATCH), 0);
    assert.equal(parseSstatCpu(`${SSTAT_BATCH}3.0|cpu=00:01:02,mem=1K\n`), 62);
    assert.equal(parseSstatCpu(''), null);
    assert.throws(() => parseSstatCpu('3.batch\n'), ProviderError);
  });
});

describe('parseScontrolJob (captured scontrol show job -o lines)', () => {
  it('running: state, run time, nodes, output file; TRES with "=" inside stays one field', () => {
    const j = parseScontrolJob(SCONTROL_RUNNING);
    assert.equal(j.job_id, '1');
    assert.equal(j.state, 'RUNNING');
    assert.equal(j.run_time_s, 1);
    assert.equal(j.num_nodes, 1);
    assert.equal(j.reason, null);
    assert.equal(j.std_out, '/tmp/sl-cap/out.txt');
    assert.equal(j.fields.TRES, 'cpu=1,node=1,billing=1');
    assert.equal(j.fields['AllocNode:Sid'], 'localhost:6708');
    assert.equal(j.fields.Power, '');
  });

  const cases: Array<[string, string, Partial<ReturnType<typeof parseScontrolJob>>]> = [
    ['completed', SCONTROL_COMPLETED, { state: 'COMPLETED', exit_code: 0, exit_signal: null, run_time_s: 3 }],
    [
      'exit 3',
      SCONTROL_EXIT3,
      { state: 'FAILED', exit_code: 3, exit_signal: null, reason: 'NonZeroExitCode' },
    ],
    [
      'scancel (SIGTERM)',
      SCONTROL_CANCELLED,
      { state: 'CANCELLED', exit_code: 0, exit_signal: 15, run_time_s: 4 },
    ],
    [
      'pending 5 nodes ("5-5")',
      SCONTROL_PENDING_5,
      { state: 'PENDING', num_nodes: 5, reason: 'PartitionConfig' },
    ],
  ];
  for (const [name, line, want] of cases) {
    it(name, () => {
      const j = parseScontrolJob(line);
      for (const [k, v] of Object.entries(want)) assert.equal(j[k as keyof typeof j], v, k);
    });
  }

  it('a line without JobState → ProviderError', () => {
    assert.throws(() => parseScontrolJob('JobId=1 JobName=x\n'), /without JobId and JobState/);
  });
});

describe('createSlurmClient: running the commands, and their failures', () => {
  /** An exec that answers from a table of argv → outcome, recording what ran. */
  function fakeExec(answer: (file: string, args: string[]) => { stdout?: string; err?: object }) {
    const calls: string[][] = [];
    const exec: SlurmExec = async (file, args) => {
      calls.push([file, ...args]);
      const a = answer(file, args);
      if (a.err) throw Object.assign(new Error(`Command failed: ${file}`), a.err);
      return { stdout: a.stdout ?? '', stderr: '' };
    };
    return { exec, calls };
  }
  const client = (exec: SlurmExec) => createSlurmClient({ name: 'hpc', exec, binDir: '/opt/slurm/bin' });

  it('runs sinfo from bin_dir with the documented format', async () => {
    const { exec, calls } = fakeExec(() => ({ stdout: SINFO_IDLE }));
    assert.equal((await client(exec).sinfo()).length, 1);
    assert.deepEqual(calls, [['/opt/slurm/bin/sinfo', ...SINFO_ARGS]]);
  });

  it('sets SLURM_CONF for the commands when given', async () => {
    let seen: string | undefined;
    const c = createSlurmClient({
      name: 'hpc',
      slurmConf: '/etc/other/slurm.conf',
      exec: async (_f, _a, o) => {
        seen = o.env.SLURM_CONF;
        return { stdout: SINFO_IDLE, stderr: '' };
      },
    });
    await c.sinfo();
    assert.equal(seen, '/etc/other/slurm.conf');
  });

  const failures: Array<[string, object, RegExp]> = [
    [
      'missing binary',
      { code: 'ENOENT' },
      /^hpc: sinfo was not found in \/opt\/slurm\/bin\. To fix: install/,
    ],
    [
      'timeout',
      { killed: true, signal: 'SIGTERM' },
      /sinfo --Node .* did not answer within 20 s\. To fix: check that slurmctld runs/,
    ],
    [
      'controller down (captured stderr)',
      { code: 1, stderr: 'slurm_load_partitions: Unable to contact slurm controller (connect failure)\n' },
      /cannot reach the Slurm controller \(slurm_load_partitions: Unable to contact slurm controller \(connect failure\)\)\. To fix: start slurmctld/,
    ],
    [
      'no configuration (captured stderr)',
      {
        code: 1,
        stderr:
          'sinfo: error: resolve_ctls_from_dns_srv: res_nsearch error: Unknown host\nsinfo: fatal: Could not establish a configuration source\n',
      },
      /cannot reach the Slurm controller .*point SLURM_CONF at/,
    ],
  ];
  for (const [name, err, msg] of failures) {
    it(`${name} → ProviderError, never a crash`, async () => {
      const { exec } = fakeExec(() => ({ err }));
      await assert.rejects(
        client(exec).sinfo(),
        (e: unknown) => e instanceof ProviderError && msg.test(e.message),
      );
    });
  }

  it('an unknown job id is null for squeue and scontrol (captured stderr), not an error', async () => {
    const { exec } = fakeExec(() => ({
      err: { code: 1, stderr: 'slurm_load_jobs error: Invalid job id specified\n' },
    }));
    assert.equal(await client(exec).squeue('99999'), null);
    assert.equal(await client(exec).showJob('99999'), null);
  });

  it('sbatch refusing a partition (captured stderr) names the command and the reason', async () => {
    const { exec } = fakeExec(() => ({
      err: {
        code: 1,
        stderr:
          'sbatch: error: invalid partition specified: nosuch\nsbatch: error: Batch job submission failed: Invalid partition name specified\n',
      },
    }));
    await assert.rejects(
      client(exec).sbatch(['--partition=nosuch'], '/w/job.sh'),
      /sbatch --parsable --partition=nosuch \/w\/job\.sh failed \(exit 1\): sbatch: error: invalid partition specified: nosuch/,
    );
  });

  it('a job id that is not one is refused before anything runs', async () => {
    const { exec, calls } = fakeExec(() => ({}));
    await assert.rejects(client(exec).scancel('1; rm -rf /'), /is not a Slurm job id/);
    assert.equal(calls.length, 0);
  });

  it('ping: "is UP" resolves; "is DOWN" (captured) rejects', async () => {
    await client(fakeExec(() => ({ stdout: 'Slurmctld(primary) at vm is UP\n' })).exec).ping();
    await assert.rejects(
      client(
        fakeExec(() => ({
          err: {
            code: 1,
            stderr: '',
            stdout: 'Slurmctld(primary) at vm is DOWN\n*****************************************\n',
          },
        })).exec,
      ).ping(),
      (e: unknown) =>
        e instanceof ProviderError &&
        /cannot reach the Slurm controller \(Slurmctld\(primary\) at vm is DOWN\)\. To fix: start slurmctld/.test(
          e.message,
        ),
    );
  });
});
