import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { EncodingError, toJsonModel } from './json-model.js';
import { decodeMsgpack, encodeMsgpack } from './msgpack.js';
import { sampleOfferList } from './sample-offers.js';

const viaJson = (v: unknown) => JSON.parse(JSON.stringify(v) ?? 'null');

describe('toJsonModel is JSON.parse(JSON.stringify(x))', () => {
  const date = new Date('2025-01-02T03:04:05.678Z');
  const table: Array<[string, unknown]> = [
    ['scalars', { a: 1, b: 'x', c: true, d: null }],
    ['undefined dropped from objects', { a: undefined, b: 1 }],
    ['undefined in arrays becomes null', [undefined, 1, () => 1]],
    ['functions and symbols dropped', { f: () => 1, s: Symbol('x'), k: 2 }],
    ['Date becomes its ISO string', { at: date, list: [date] }],
    ['non-finite numbers become null', { a: Number.NaN, b: Number.POSITIVE_INFINITY, c: [-Infinity] }],
    ['-0 becomes 0', { z: -0 }],
    ['toJSON is honoured', { v: { toJSON: () => ({ inner: [1, 2] }) } }],
    ['boxed primitives unwrap', { n: new Number(3), s: new String('s'), b: new Boolean(false) }],
    ['a Map is an empty object', { m: new Map([['a', 1]]) }],
    ['nested', { a: [{ b: [{ c: null }] }], e: {} }],
    ['top-level undefined is null', undefined],
  ];
  for (const [name, v] of table) it(name, () => assert.deepEqual(toJsonModel(v), viaJson(v)));

  it('a __proto__ own key survives as an own key', () => {
    const v = JSON.parse('{"__proto__": {"x": 1}}');
    assert.deepEqual(Object.keys(toJsonModel(v) as object), ['__proto__']);
  });
  it('BigInt throws, as in JSON', () => assert.throws(() => toJsonModel({ n: 1n }), EncodingError));
  it('a cycle throws', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    assert.throws(() => toJsonModel(a), EncodingError);
  });
});

describe('msgpack', () => {
  it('round-trips an offer list to the JSON value', () => {
    const body = sampleOfferList(50);
    assert.deepEqual(decodeMsgpack(encodeMsgpack(body)), viaJson(body));
  });
  it('encodes what JSON would: no undefined, Dates as strings', () => {
    const out = decodeMsgpack(encodeMsgpack({ a: undefined, at: new Date(0), n: [1.5, 2, -3] }));
    assert.deepEqual(out, { at: '1970-01-01T00:00:00.000Z', n: [1.5, 2, -3] });
  });
  it('a timestamp in a request body becomes its ISO string', () => {
    assert.deepEqual(decodeMsgpack(encode({ at: new Date(1000) })), { at: '1970-01-01T00:00:01.000Z' });
  });
  const refused: Array<[string, Uint8Array]> = [
    ['binary data', encode({ b: new Uint8Array([1, 2]) })],
    ['a __proto__ key', Uint8Array.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0x01])],
    ['a constructor.prototype key', encode({ constructor: { prototype: {} } })],
    ['truncated bytes', Uint8Array.from([0x82, 0xa1])],
  ];
  for (const [name, bytes] of refused) {
    it(`refuses ${name}`, () => assert.throws(() => decodeMsgpack(bytes), EncodingError));
  }
});
