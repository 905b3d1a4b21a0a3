import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Announcement, collect, type HeardService, parseAnnouncement, toTxt } from './dnssd.js';

const DID = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
const GOOD: HeardService = {
  name: 'lab-node-1',
  port: 8080,
  txt: { did: DID, gateway: 'https://gw.example.test', v: '1' },
};
const txtWith = (over: Record<string, unknown>): HeardService => ({
  ...GOOD,
  txt: { ...(GOOD.txt as object), ...over },
});

describe('parseAnnouncement', () => {
  it('accepts a well-formed service, and what toTxt writes round-trips', () => {
    const a: Announcement = { name: 'lab-node-1', did: DID, gateway: 'http://10.0.0.5:7070/', port: 0 };
    assert.deepEqual(parseAnnouncement({ name: a.name, port: a.port, txt: toTxt(a) }), {
      ok: true,
      announcement: a,
    });
    // TXT keys are case-insensitive (RFC 6763 §6.4).
    const upper = parseAnnouncement({
      ...GOOD,
      txt: { DID: DID, Gateway: 'https://gw.example.test', V: '1' },
    });
    assert.equal(upper.ok, true);
  });

  const cases: Array<[string, HeardService, string]> = [
    ['name with capitals', { ...GOOD, name: 'Lab-Node' }, 'name'],
    ['one-letter name', { ...GOOD, name: 'a' }, 'name'],
    ['name starting with a dash', { ...GOOD, name: '-node' }, 'name'],
    ['name of 64 characters', { ...GOOD, name: 'n'.repeat(64) }, 'name'],
    ['name not a string', { ...GOOD, name: 42 }, 'name'],
    ['no version', txtWith({ v: undefined }), 'version'],
    ['version 2', txtWith({ v: '2' }), 'version'],
    ['no did', txtWith({ did: undefined }), 'did'],
    ['did not a DID', txtWith({ did: 'z6Mkh' }), 'did'],
    ['did with a trailing colon', txtWith({ did: 'did:key:' }), 'did'],
    ['did with spaces', txtWith({ did: 'did:key:z6 Mk' }), 'did'],
    ['no gateway', txtWith({ gateway: undefined }), 'gateway'],
    ['gateway not a URL', txtWith({ gateway: 'gw.example.test' }), 'gateway'],
    ['gateway over file:', txtWith({ gateway: 'file:///etc/passwd' }), 'gateway'],
    ['gateway javascript:', txtWith({ gateway: 'javascript:alert(1)' }), 'gateway'],
    ['gateway with credentials', txtWith({ gateway: 'https://u:p@gw.example.test' }), 'gateway'],
    // "gateway=" + 248 characters is 256 bytes: more than one TXT string holds.
    ['gateway too long', txtWith({ gateway: `https://gw.example.test/${'x'.repeat(224)}` }), 'gateway'],
    ['txt missing', { ...GOOD, txt: undefined }, 'version'],
    ['port negative', { ...GOOD, port: -1 }, 'port'],
    ['port past 65535', { ...GOOD, port: 65536 }, 'port'],
    ['port fractional', { ...GOOD, port: 80.5 }, 'port'],
  ];
  for (const [what, heard, field] of cases) {
    it(`drops: ${what}`, () => {
      const p = parseAnnouncement(heard);
      assert.equal(p.ok, false);
      assert.match(p.ok ? '' : p.reason, new RegExp(field));
    });
  }
});

describe('collect', () => {
  it('keeps the valid ones, one per name+did, the latest winning', () => {
    const other = 'did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2';
    const got = collect([
      GOOD,
      txtWith({ did: 'nope' }), // dropped
      { ...GOOD, port: 9090 }, // same name+did: replaces the first
      txtWith({ did: other }), // same name, another key: kept apart
      { ...GOOD, name: 'lab-node-2' },
    ]);
    // 5 heard − 1 invalid − 1 duplicate = 3
    assert.deepEqual(
      got.map((a) => [a.name, a.did, a.port]),
      [
        ['lab-node-1', DID, 9090],
        ['lab-node-1', other, 8080],
        ['lab-node-2', DID, 8080],
      ],
    );
  });
});
