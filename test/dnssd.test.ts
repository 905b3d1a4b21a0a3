import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Announcement } from '../src/agent/dnssd.js';
import { createLan, type Lan, nodeIn, spawnIn } from './helpers/netns.js';

/**
 * DNS-SD over real multicast (issue 6, part 2): an agent announcing in namespace A is heard by a
 * browser in namespace B, across a veth pair between them and nowhere else. Needs root; without it
 * the suite fails, unless COMPUTEMD_NETNS_OPTIONAL=1 (then it is skipped with the reason).
 */

// The compiled module the drivers import: this file runs as dist/test/dnssd.test.js.
const MODULE = new URL('../src/agent/dnssd.js', import.meta.url).href;

// Each driver takes its module URL and JSON arguments on the command line.
const ANNOUNCER = `
const { announce } = await import(process.argv[2]);
const [list, opts] = [JSON.parse(process.argv[3]), JSON.parse(process.argv[4])];
const handles = list.map((a) => announce(a, opts));
console.log('announced');
// A line on stdin stops them; the process stays up, so silence afterwards is stop()'s doing.
process.stdin.once('data', async () => {
  await Promise.all(handles.map((h) => h.stop()));
  console.log('stopped');
});
`;
const BROWSER = `
const { browse } = await import(process.argv[2]);
console.log(JSON.stringify(await browse(JSON.parse(process.argv[3]))));
`;

const AGENT: Announcement = {
  name: 'lab-node-1',
  did: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
  gateway: 'https://gw.example.test:8443',
  port: 0,
};
// Announced beside it; a browser must drop it (its DID is not one).
const FORGED = { name: 'forged-node', did: 'not-a-did', gateway: 'https://gw.example.test', port: 7000 };

const BROWSE_MS = 4000;

function waitForLine(p: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    p.stderr?.on('data', (d) => {
      err += d;
    });
    p.stdout?.on('data', (d) => {
      out += d;
      if (out.split('\n').includes(line)) resolve();
    });
    p.once('exit', (code) => reject(new Error(`driver exited ${code} before "${line}": ${err}`)));
  });
}

describe('DNS-SD between network namespaces', () => {
  let lan: Lan | undefined;
  let unavailable: string | undefined;
  let dir: string;
  let announcer: ChildProcess | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'computemd-dnssd-'));
    writeFileSync(join(dir, 'announcer.mjs'), ANNOUNCER);
    writeFileSync(join(dir, 'browser.mjs'), BROWSER);
    try {
      // c is connected to nothing: the control that hears no one.
      lan = createLan(['a', 'b', 'c'], [['a', 'b']]);
    } catch (err) {
      unavailable = `${(err as Error).message}. This test needs root (CI runs as root); set COMPUTEMD_NETNS_OPTIONAL=1 to skip it.`;
    }
  });

  after(() => {
    announcer?.kill();
    lan?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The Lan, or undefined after skipping the test when namespaces may be missing. */
  function need(t: TestContext): Lan | undefined {
    if (lan) return lan;
    if (process.env.COMPUTEMD_NETNS_OPTIONAL === '1') {
      t.skip(unavailable);
      return undefined;
    }
    assert.fail(unavailable);
  }

  const browseIn = async (ns: string, o: object = {}): Promise<Announcement[]> =>
    JSON.parse(
      await nodeIn(ns, join(dir, 'browser.mjs'), [MODULE, JSON.stringify({ timeoutMs: BROWSE_MS, ...o })]),
    );

  it('a browser in B hears the agent announced in A, with its DID and gateway, and drops the forged one', async (t) => {
    const l = need(t);
    if (!l) return;
    announcer = spawnIn(l.ns.a!, join(dir, 'announcer.mjs'), [
      MODULE,
      JSON.stringify([AGENT, FORGED]),
      JSON.stringify({ interface: l.addr.a }),
    ]);
    await waitForLine(announcer, 'announced');
    // B browses on its default interface, A on the one named: both paths are exercised.
    const heard = await browseIn(l.ns.b!);
    assert.deepEqual(heard, [AGENT]);
  });

  it('a namespace connected to nothing hears nothing', async (t) => {
    const l = need(t);
    if (!l) return;
    assert.deepEqual(await browseIn(l.ns.c!), []);
  });

  it('after stop() a fresh browse in B no longer hears it', async (t) => {
    const l = need(t);
    if (!l) return;
    assert.ok(announcer, 'the announcing test ran first');
    const stopped = waitForLine(announcer, 'stopped');
    announcer.stdin?.write('stop\n');
    await stopped;
    assert.deepEqual(await browseIn(l.ns.b!, { interface: l.addr.b }), []);
  });
});
