import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AVAILABLE_TYPES } from './media.js';
import { negotiate, parseAccept } from './negotiate.js';

const ours = AVAILABLE_TYPES; // json, msgpack (+2 aliases), x-protobuf (+2 aliases), in that order

describe('negotiate', () => {
  const table: Array<[string, string | undefined, string | null]> = [
    ['no header: first available', undefined, 'application/json'],
    ['empty header counts as none', '', 'application/json'],
    ['*/* ties everything: JSON', '*/*', 'application/json'],
    ['application/* ties our types: JSON', 'application/*', 'application/json'],
    ['exact msgpack', 'application/msgpack', 'application/msgpack'],
    ['alias is echoed', 'application/x-msgpack', 'application/x-msgpack'],
    ['vnd alias', 'application/vnd.msgpack', 'application/vnd.msgpack'],
    ['protobuf', 'application/x-protobuf', 'application/x-protobuf'],
    ['protobuf alias', 'application/protobuf', 'application/protobuf'],
    ['case-insensitive', 'Application/MsgPack', 'application/msgpack'],
    // json q=0.5 < msgpack q=1
    ['q orders', 'application/json;q=0.5, application/msgpack', 'application/msgpack'],
    // msgpack 0.9 > protobuf 0.8 > json 0.1 (from */*)
    [
      'q orders three',
      'application/x-protobuf;q=0.8, application/msgpack;q=0.9, */*;q=0.1',
      'application/msgpack',
    ],
    // both 1.0: server order puts msgpack before protobuf
    [
      'tie between two explicit: server order',
      'application/x-protobuf, application/msgpack',
      'application/msgpack',
    ],
    // json gets q=1 from */*, msgpack only 0.5: JSON
    ['specific range with lower q', '*/*, application/msgpack;q=0.5', 'application/json'],
    // json excluded by q=0; */* gives msgpack 1.0 which comes next in server order
    ['q=0 excludes json', '*/*, application/json;q=0', 'application/msgpack'],
    [
      'q=0 beats a wildcard for that type',
      'application/json;q=0, application/*;q=0.3',
      'application/msgpack',
    ],
    ['only excluded types', 'application/json;q=0', null],
    ['nothing of ours', 'text/html', null],
    ['text/* is not ours', 'text/*, image/png', null],
    ['browser-ish header still gets JSON', 'text/html,application/xhtml+xml,*/*;q=0.8', 'application/json'],
    [
      'media params ignored for matching',
      'application/x-protobuf; proto=computemd.v1.OfferList',
      'application/x-protobuf',
    ],
    ['whitespace and empty elements', ' , application/msgpack ; q=1.0 ,', 'application/msgpack'],
    // an invalid q drops that element; what is left is text/html: none of ours
    ['bad q drops the element', 'application/msgpack;q=2, text/html', null],
    ['garbage header means anything', 'garbage', 'application/json'],
    ['*/json is not a range', '*/json', 'application/json'],
    ['quoted comma inside a parameter', 'application/msgpack;x="a,b", text/html', 'application/msgpack'],
    ['q=0.001 still acceptable', 'application/msgpack;q=0.001', 'application/msgpack'],
  ];
  for (const [name, accept, want] of table) {
    it(name, () => assert.equal(negotiate(accept, ours), want));
  }

  it('nothing available', () => assert.equal(negotiate('*/*', []), null));
});

describe('parseAccept', () => {
  it('reads types and q', () => {
    assert.deepEqual(parseAccept('text/html;level=1;q=0.7, */*;q=0'), [
      { type: 'text', subtype: 'html', q: 0.7 },
      { type: '*', subtype: '*', q: 0 },
    ]);
  });
  it('skips malformed elements', () => {
    assert.deepEqual(parseAccept('nope, /x, a/, a/b;q=1.5, a/c;q=abc, a/d'), [
      { type: 'a', subtype: 'd', q: 1 },
    ]);
  });
});
