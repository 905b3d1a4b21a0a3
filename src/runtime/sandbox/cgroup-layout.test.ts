import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cgroupLayout, type LayoutResult, parseCgroupMounts } from './cgroup-layout.js';

// mountinfo lines: id parent major:minor root mountpoint options - fstype source superoptions
const mi = (root: string, point: string, fstype: string, superOptions: string) =>
  `40 30 0:35 ${root} ${point} rw,relatime shared:1 - ${fstype} cgroup ${superOptions}`;

const HYBRID_MOUNTS = [
  mi('/', '/sys/fs/cgroup/cpu', 'cgroup', 'rw,cpu'),
  mi('/', '/sys/fs/cgroup/cpuacct', 'cgroup', 'rw,cpuacct'),
  mi('/', '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
  mi('/', '/sys/fs/cgroup/pids', 'cgroup', 'rw,pids'),
  mi('/', '/sys/fs/cgroup/unified', 'cgroup2', 'rw'),
].join('\n');

describe('cgroupLayout', () => {
  const cases: Array<[string, string, string, LayoutResult]> = [
    [
      'v1, separate cpu and cpuacct, memory nested (this kind of host)',
      '8:pids:/\n4:memory:/process_api/e8d4\n2:cpuacct:/\n1:cpu:/\n0::/',
      HYBRID_MOUNTS,
      {
        ok: true,
        layout: {
          version: 'v1',
          memory: '/sys/fs/cgroup/memory/process_api/e8d4',
          cpu: '/sys/fs/cgroup/cpu',
          pids: '/sys/fs/cgroup/pids',
          cpuacct: '/sys/fs/cgroup/cpuacct',
        },
      },
    ],
    [
      'v1, cpu and cpuacct co-mounted, a container seeing its subtree as the mount root',
      '5:pids:/docker/abc\n4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc/job',
      [
        mi('/docker/abc', '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct'),
        mi('/docker/abc', '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
        mi('/docker/abc', '/sys/fs/cgroup/pids', 'cgroup', 'rw,pids'),
      ].join('\n'),
      {
        ok: true,
        layout: {
          version: 'v1',
          memory: '/sys/fs/cgroup/memory',
          cpu: '/sys/fs/cgroup/cpu,cpuacct/job',
          pids: '/sys/fs/cgroup/pids',
          cpuacct: '/sys/fs/cgroup/cpu,cpuacct/job',
        },
      },
    ],
    [
      'v2 on a systemd host',
      '0::/user.slice/user-1000.slice/session-2.scope',
      mi('/', '/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate'),
      {
        ok: true,
        layout: {
          version: 'v2',
          dir: '/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope',
          mount: '/sys/fs/cgroup',
        },
      },
    ],
    [
      'v2 in a container with a cgroup namespace: its own cgroup is the mount',
      '0::/',
      mi('/', '/sys/fs/cgroup', 'cgroup2', 'rw'),
      { ok: true, layout: { version: 'v2', dir: '/sys/fs/cgroup', mount: '/sys/fs/cgroup' } },
    ],
    [
      'v1 without pids falls to v2 when the process is in a cgroup2 mount',
      '4:memory:/\n1:cpu:/\n0::/agent',
      [
        HYBRID_MOUNTS.split('\n')[2],
        HYBRID_MOUNTS.split('\n')[0],
        mi('/', '/sys/fs/cgroup/unified', 'cgroup2', 'rw'),
      ].join('\n'),
      {
        ok: true,
        layout: { version: 'v2', dir: '/sys/fs/cgroup/unified/agent', mount: '/sys/fs/cgroup/unified' },
      },
    ],
    [
      'nothing mounted',
      '0::/',
      '',
      {
        ok: false,
        why: 'no cgroup v1 hierarchy for memory, cpu, pids and no cgroup2 mount holding this process',
      },
    ],
  ];
  for (const [name, self, mounts, want] of cases) {
    it(name, () => assert.deepEqual(cgroupLayout(self, mounts), want));
  }

  it('unescapes mount points with spaces', () => {
    const [m] = parseCgroupMounts(mi('/', '/mnt/cg\\040v2', 'cgroup2', 'rw'));
    assert.equal(m?.mountPoint, '/mnt/cg v2');
  });
});
