import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argsPayload, type BwrapPlan, bwrapArgs } from './bwrap.js';

const root: BwrapPlan['root'] = {
  dirs: ['/usr'],
  symlinks: [{ path: '/bin', target: 'usr/bin' }],
  etc: ['/etc/passwd'],
  resolvConf: '/run/systemd/resolve/stub-resolv.conf',
};
const plan = (over: Partial<BwrapPlan> = {}): BwrapPlan => ({
  root,
  workDir: '/srv/w1',
  network: false,
  env: {},
  ...over,
});
/** Index of the option `flag` followed by `values`, or -1. */
const at = (args: string[], flag: string, ...values: string[]) =>
  args.findIndex((a, i) => a === flag && values.every((v, j) => args[i + 1 + j] === v));

describe('bwrapArgs', () => {
  it('unshares everything, drops to 65534 without capabilities, and dies with the agent', () => {
    const a = bwrapArgs(plan());
    for (const f of ['--unshare-all', '--unshare-user', '--die-with-parent', '--new-session', '--clearenv']) {
      assert.ok(a.includes(f), f);
    }
    assert.ok(at(a, '--uid', '65534') >= 0 && at(a, '--gid', '65534') >= 0);
    assert.ok(at(a, '--cap-drop', 'ALL') >= 0);
    assert.equal(a.includes('--share-net'), false);
  });

  it('binds system dirs read-only, the work dir read-write at /work as cwd, and seals the root last', () => {
    const a = bwrapArgs(plan({ roBinds: [{ src: '/opt/node', dest: '/opt/node' }] }));
    assert.ok(at(a, '--ro-bind', '/usr', '/usr') >= 0);
    assert.ok(at(a, '--symlink', 'usr/bin', '/bin') >= 0);
    assert.ok(at(a, '--ro-bind', '/etc/passwd', '/etc/passwd') >= 0);
    assert.ok(at(a, '--ro-bind', '/opt/node', '/opt/node') >= 0);
    assert.ok(at(a, '--bind', '/srv/w1', '/work') >= 0);
    assert.ok(at(a, '--chdir', '/work') >= 0);
    assert.ok(at(a, '--tmpfs', '/tmp') >= 0 && at(a, '--proc', '/proc') >= 0 && at(a, '--dev', '/dev') >= 0);
    assert.deepEqual(a.slice(-2), ['--remount-ro', '/']);
    assert.equal(at(a, '--ro-bind', root.resolvConf!, '/etc/resolv.conf'), -1, 'no resolver without network');
  });

  it('with network: shares it and shows the real resolv.conf', () => {
    const a = bwrapArgs(plan({ network: true }));
    assert.ok(a.includes('--share-net'));
    assert.ok(at(a, '--ro-bind', root.resolvConf!, '/etc/resolv.conf') >= 0);
  });

  it('sets exactly the given environment', () => {
    const a = bwrapArgs(plan({ env: { A: '1', B: 'two words' } }));
    assert.ok(at(a, '--setenv', 'A', '1') > a.indexOf('--clearenv'));
    assert.ok(at(a, '--setenv', 'B', 'two words') >= 0);
  });
});

describe('argsPayload', () => {
  it('NUL-terminates each argument', () => {
    assert.equal(argsPayload(['--a', 'b c']).toString(), '--a\0b c\0');
  });
  it('refuses a NUL inside one', () => {
    assert.throws(() => argsPayload(['a\0b']), TypeError);
  });
});
