import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

/**
 * Network namespaces joined by veth pairs, for tests that need real multicast (loopback has none)
 * without any of it reaching the host's own network. Needs root and iproute2's `ip`.
 *
 * `createLan` either returns a Lan or throws, having deleted whatever it made; `dispose` is
 * idempotent and never throws, so call it in `after` whatever happened.
 */

export interface Lan {
  /** Namespace names by the short name the test gave. */
  ns: Record<string, string>;
  /** Each namespace's address on its veth. */
  addr: Record<string, string>;
  dispose(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

function errorText(err: unknown): string {
  const e = err as { stderr?: Buffer; message: string };
  return e.stderr?.toString().trim() || e.message;
}

/**
 * One namespace per short name (`cmd-<name>-<pid>`), and for each `[x, y]` link a veth pair with
 * x at 10.213.<i>.1/24 and y at 10.213.<i>.2/24 (i = 1 + the link's index), multicast on, and a
 * route for 224.0.0.0/4 on it. A namespace in no link is alone: it hears nothing.
 */
export function createLan(names: string[], links: Array<[string, string]>): Lan {
  const ns = Object.fromEntries(names.map((n) => [n, `cmd-${n}-${process.pid}`]));
  const addr: Record<string, string> = {};
  const made: string[] = [];
  const dispose = () => {
    for (const n of made.splice(0)) {
      try {
        ip('netns', 'delete', n); // its veth ends go with it
      } catch {
        // already gone
      }
    }
  };
  try {
    for (const n of names) {
      ip('netns', 'add', ns[n]!);
      made.push(ns[n]!);
      ip('-n', ns[n]!, 'link', 'set', 'lo', 'up');
    }
    links.forEach(([x, y], i) => {
      // Device names are per namespace, so short fixed ones cannot clash with other runs.
      const [dx, dy] = [`veth${i}${x}`.slice(0, 15), `veth${i}${y}`.slice(0, 15)];
      ip('link', 'add', dx, 'netns', ns[x]!, 'type', 'veth', 'peer', 'name', dy, 'netns', ns[y]!);
      for (const [n, dev, host] of [
        [x, dx, 1],
        [y, dy, 2],
      ] as const) {
        addr[n] = `10.213.${i + 1}.${host}`;
        ip('-n', ns[n]!, 'addr', 'add', `${addr[n]}/24`, 'dev', dev);
        ip('-n', ns[n]!, 'link', 'set', dev, 'multicast', 'on', 'up');
        ip('-n', ns[n]!, 'route', 'add', '224.0.0.0/4', 'dev', dev);
      }
    });
  } catch (err) {
    dispose();
    throw new Error(`could not set up network namespaces (ip: ${errorText(err)})`, { cause: err });
  }
  return { ns, addr, dispose };
}

/** Starts `node script ...args` in a namespace. */
export function spawnIn(namespace: string, script: string, args: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', namespace, process.execPath, script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs `node script ...args` in a namespace; resolves with its stdout when it exits 0. */
export function nodeIn(namespace: string, script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawnIn(namespace, script, args);
    let out = '';
    let err = '';
    p.stdout?.on('data', (d) => {
      out += d;
    });
    p.stderr?.on('data', (d) => {
      err += d;
    });
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${script} in ${namespace} exited ${code}: ${err}`)),
    );
  });
}
