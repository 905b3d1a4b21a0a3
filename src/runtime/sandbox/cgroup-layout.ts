/**
 * Where this process's cgroups are, from the text of /proc/self/cgroup and /proc/self/mountinfo.
 * Pure: the files are read by the caller, so every host shape is a table test.
 *
 * v1 wins when memory, cpu and pids each have a v1 hierarchy (a hybrid host keeps its controllers
 * there, and its cgroup2 mount has none). Otherwise v2, from the `0::` line and the cgroup2 mount.
 * A path in /proc/self/cgroup is relative to the hierarchy's root; a mount may show only a subtree
 * of it (mountinfo's `root` field), and the directory is the mount point plus the rest.
 */

export type CgroupLayout =
  | {
      version: 'v1';
      /** Directory of this process's cgroup in each hierarchy (cpu and cpuacct may be one). */
      memory: string;
      cpu: string;
      pids: string;
      /** null: no cpuacct hierarchy, so CPU time cannot be read. */
      cpuacct: string | null;
    }
  | { version: 'v2' /** this process's cgroup */; dir: string /** the cgroup2 mount point */; mount: string };

export type LayoutResult = { ok: true; layout: CgroupLayout } | { ok: false; why: string };

interface CgroupMount {
  fstype: 'cgroup' | 'cgroup2';
  root: string;
  mountPoint: string;
  superOptions: string[];
}

const unescapeOctal = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const fstype = right[0];
    if ((fstype !== 'cgroup' && fstype !== 'cgroup2') || left.length < 5) continue;
    out.push({
      fstype,
      root: unescapeOctal(left[3] ?? '/'),
      mountPoint: unescapeOctal(left[4] ?? ''),
      superOptions: (right[2] ?? '').split(','),
    });
  }
  return out;
}

/** `id:controllers:path` lines; controllers is '' for the v2 line. */
export function parseProcCgroup(text: string): Array<{ controllers: string[]; path: string }> {
  const out: Array<{ controllers: string[]; path: string }> = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (m) out.push({ controllers: m[1] ? m[1].split(',') : [], path: m[2] ?? '/' });
  }
  return out;
}

/** Mount point + (path below the mount's root), or null when the path is not under that root. */
function dirIn(mount: CgroupMount, path: string): string | null {
  const root = mount.root === '/' ? '' : mount.root.replace(/\/$/, '');
  if (root !== '' && path !== root && !path.startsWith(`${root}/`)) return null;
  const rest = path.slice(root.length).replace(/^\/+/, '');
  const base = mount.mountPoint.replace(/\/$/, '');
  return rest ? `${base}/${rest}` : base || '/';
}

function v1Dir(controller: string, lines: ReturnType<typeof parseProcCgroup>, mounts: CgroupMount[]) {
  const line = lines.find((l) => l.controllers.includes(controller));
  const mount = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes(controller));
  if (!line || !mount) return null;
  return dirIn(mount, line.path);
}

export function cgroupLayout(procSelfCgroup: string, mountinfo: string): LayoutResult {
  const lines = parseProcCgroup(procSelfCgroup);
  const mounts = parseCgroupMounts(mountinfo);
  const memory = v1Dir('memory', lines, mounts);
  const cpu = v1Dir('cpu', lines, mounts);
  const pids = v1Dir('pids', lines, mounts);
  if (memory && cpu && pids) {
    return {
      ok: true,
      layout: { version: 'v1', memory, cpu, pids, cpuacct: v1Dir('cpuacct', lines, mounts) },
    };
  }
  const unified = lines.find((l) => l.controllers.length === 0);
  const mount2 = mounts.find((m) => m.fstype === 'cgroup2');
  if (unified && mount2) {
    const dir = dirIn(mount2, unified.path);
    if (dir) return { ok: true, layout: { version: 'v2', dir, mount: mount2.mountPoint } };
  }
  const v1Missing = [memory ? '' : 'memory', cpu ? '' : 'cpu', pids ? '' : 'pids'].filter(Boolean);
  return {
    ok: false,
    why: `no cgroup v1 hierarchy for ${v1Missing.join(', ')} and no cgroup2 mount holding this process`,
  };
}
