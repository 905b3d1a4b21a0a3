/**
 * bubblewrap's arguments for one run. What the sandbox sees:
 *
 * - an empty root (bwrap's tmpfs), remounted read-only once everything is placed, so nothing
 *   outside /work, /tmp and /dev/shm can be created or written;
 * - /usr read-only, and /bin, /sbin, /lib* as the host has them (symlinks into /usr on a merged-usr
 *   host, read-only binds otherwise);
 * - a few files of /etc, read-only: users and groups, name service, the loader cache, TLS roots and
 *   Debian's alternatives (which /usr/bin links through); resolv.conf only with network;
 * - a fresh /proc (new pid namespace), a minimal /dev, tmpfs /tmp and /dev/shm (charged to the
 *   run's memory cgroup, so they cannot outgrow it), the work dir read-write at /work, the cwd;
 * - all namespaces new (user, pid, ipc, uts, cgroup, and network unless asked for), uid/gid 65534
 *   with every capability dropped, a new session (no TIOCSTI into the agent's terminal), and
 *   --die-with-parent so the tree dies with the agent.
 *
 * The options go to bwrap through `--args FD`, not argv: they carry the environment, and argv is
 * readable by every user on the host (/proc/PID/cmdline) while a pipe is not.
 */
import { existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';

export interface SystemRoot {
  /** Host directories bound read-only at the same path. */
  dirs: string[];
  /** Top-level symlinks recreated as they are (merged /usr). */
  symlinks: Array<{ path: string; target: string }>;
  /** /etc entries bound read-only when present. */
  etc: string[];
  /** Real path of /etc/resolv.conf (often a link into /run), or null. */
  resolvConf: string | null;
}

export interface BwrapPlan {
  root: SystemRoot;
  workDir: string;
  network: boolean;
  env: Record<string, string>;
  /** More read-only binds, e.g. a node install outside /usr; the destination's parents are created. */
  roBinds?: Array<{ src: string; dest: string }>;
}

const TOP_LEVEL = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
const ETC = [
  'passwd',
  'group',
  'nsswitch.conf',
  'hosts',
  'host.conf',
  'gai.conf',
  'services',
  'protocols',
  'localtime',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'alternatives',
  'ssl',
  'ca-certificates',
  'ca-certificates.conf',
];

/** What of the host's system directories to show; reads the file system. */
export function systemRoot(): SystemRoot {
  const dirs = ['/usr'];
  const symlinks: SystemRoot['symlinks'] = [];
  for (const p of TOP_LEVEL) {
    try {
      const st = lstatSync(p);
      if (st.isSymbolicLink()) symlinks.push({ path: p, target: readlinkSync(p) });
      else if (st.isDirectory()) dirs.push(p);
    } catch {
      // absent on this host
    }
  }
  let resolvConf: string | null = null;
  try {
    resolvConf = realpathSync('/etc/resolv.conf');
  } catch {
    // no resolver configured
  }
  return { dirs, symlinks, etc: ETC.map((e) => `/etc/${e}`).filter((e) => existsSync(e)), resolvConf };
}

/** bwrap's options, everything before the command; pure. */
export function bwrapArgs(plan: BwrapPlan): string[] {
  const a: string[] = ['--unshare-all', '--unshare-user'];
  if (plan.network) a.push('--share-net');
  a.push('--uid', '65534', '--gid', '65534', '--cap-drop', 'ALL', '--hostname', 'sandbox');
  a.push('--die-with-parent', '--new-session');
  for (const d of plan.root.dirs) a.push('--ro-bind', d, d);
  for (const s of plan.root.symlinks) a.push('--symlink', s.target, s.path);
  for (const e of plan.root.etc) a.push('--ro-bind', e, e);
  if (plan.network && plan.root.resolvConf) a.push('--ro-bind', plan.root.resolvConf, '/etc/resolv.conf');
  for (const b of plan.roBinds ?? []) a.push('--ro-bind', b.src, b.dest);
  a.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/dev/shm', '--tmpfs', '/tmp');
  a.push('--bind', plan.workDir, '/work', '--chdir', '/work');
  a.push('--clearenv');
  for (const [k, v] of Object.entries(plan.env)) a.push('--setenv', k, v);
  // Last: everything above has made its mount points in the root tmpfs.
  a.push('--remount-ro', '/');
  return a;
}

/** NUL-separated, as `--args FD` reads them. */
export function argsPayload(args: string[]): Buffer {
  for (const x of args) {
    if (x.includes('\0')) throw new TypeError('a sandbox argument or environment value contains NUL');
  }
  return Buffer.from(args.map((x) => `${x}\0`).join(''));
}
