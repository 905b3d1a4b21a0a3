import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { packagePath } from '../../util/paths.js';
import { EncodingError } from './json-model.js';
import { decodeProtobuf, defaultProtobufCodec, encodeProtobuf, encodeProtobufAs } from './protobuf.js';
import { sampleOfferList, sampleOffers } from './sample-offers.js';

const viaJson = (v: unknown) => JSON.parse(JSON.stringify(v));

describe('protobuf typed messages', () => {
  it('OfferList round-trips GET /nodes', () => {
    const body = sampleOfferList(50);
    const { bytes, message } = encodeProtobufAs(body, 'OfferList');
    assert.equal(message, 'OfferList');
    assert.deepEqual(decodeProtobuf(bytes, 'OfferList'), body);
  });

  it('Offer round-trips, nulls included (GPU and CPU offers)', () => {
    for (const offer of sampleOffers(2)) {
      assert.deepEqual(decodeProtobuf(encodeProtobuf(offer, 'Offer'), 'Offer'), offer);
    }
  });

  it('a null next_cursor and an empty list', () => {
    const body = sampleOfferList(0);
    assert.deepEqual(decodeProtobuf(encodeProtobuf(body, 'OfferList'), 'OfferList'), body);
  });

  it('omittable list fields stay omitted', () => {
    const body = { offers: sampleOffers(1), next_cursor: null };
    assert.deepEqual(decodeProtobuf(encodeProtobuf(body, 'OfferList'), 'OfferList'), body);
  });

  it('undeclared keys travel in extra, on the list and on an offer', () => {
    const [offer] = sampleOffers(1);
    const body = { ...sampleOfferList(0), offers: [{ ...offer, score: 0.5 }], excluded: { price: 3 } };
    const { bytes, message } = encodeProtobufAs(body, 'OfferList');
    assert.equal(message, 'OfferList');
    assert.deepEqual(decodeProtobuf(bytes, 'OfferList'), body);
  });

  it('the wire is plain protobuf: decodable with the .proto alone', () => {
    const root = protobuf.loadSync(packagePath('proto', 'computemd.proto'));
    const m = root
      .lookupType('computemd.v1.OfferList')
      .decode(encodeProtobuf(sampleOfferList(2), 'OfferList'));
    const o = root.lookupType('computemd.v1.OfferList').toObject(m) as {
      offers: Array<{ gpuCount: number }>;
    };
    assert.equal(o.offers[0]?.gpuCount, 1);
  });

  // 50 offers, half GPU: the typed list should be well under the JSON text (field names once, in the schema)
  it('is smaller than JSON for an offer list', () => {
    const body = sampleOfferList(50);
    assert.ok(encodeProtobuf(body, 'OfferList').length < JSON.stringify(body).length / 2);
  });
});

describe('protobuf falls back to Envelope when the body does not fit', () => {
  const [gpu] = sampleOffers(1);
  const table: Array<[string, unknown]> = [
    ['an array body', sampleOffers(2)],
    ['a wrong type', { ...gpu, gpu_count: '1' }],
    ['a missing required key', { ...gpu, id: undefined }],
    ['a missing nullable key', { ...gpu, zone: undefined }],
    ['a fraction for uint32', { ...gpu, available: 1.5 }],
    ['a key named extra', { ...gpu, extra: 1 }],
    [
      'an extra key in capabilities (no extra field there)',
      { ...gpu, capabilities: { ...gpu?.capabilities, x: 1 } },
    ],
  ];
  for (const [name, body] of table) {
    it(name, () => {
      const { bytes, message } = encodeProtobufAs(body, 'Offer', 'GET /x');
      assert.equal(message, 'Envelope');
      assert.deepEqual(defaultProtobufCodec().decodeEnvelope(bytes), {
        schema: 'GET /x',
        body: viaJson(body),
      });
    });
  }
});

describe('protobuf Envelope carries any JSON body', () => {
  const table: Array<[string, unknown]> = [
    ['null', null],
    ['a number', 3.25],
    ['a string', 'x'],
    ['false', false],
    ['an empty object', {}],
    ['an empty list', []],
    [
      'nested nulls, arrays, booleans',
      { a: null, b: [true, false, null, [1, [2, {}]]], c: { d: { e: 'x', f: -0.5, g: 0 } }, h: '' },
    ],
    ['a key named __proto__', JSON.parse('{"__proto__": {"x": 1}, "y": 2}')],
    ['large safe integers', { n: 2 ** 53 - 1, m: -(2 ** 53 - 1) }],
    ['a Date goes as its ISO string', { at: new Date(0) }],
  ];
  for (const [name, body] of table) {
    it(name, () => assert.deepEqual(decodeProtobuf(encodeProtobuf(body)), viaJson(body)));
  }

  it('is wire-compatible with google.protobuf.Value', () => {
    // the well-known types protobufjs ships, plus an Envelope that uses google.protobuf.Value
    const env = protobuf.Root.fromJSON(
      protobuf.common.get('google/protobuf/struct.proto') as protobuf.INamespace,
    );
    protobuf.parse(
      'syntax = "proto3"; package t; message E { string schema = 1; google.protobuf.Value body = 2; }',
      env,
    );
    const m = env.lookupType('t.E').decode(encodeProtobuf({ a: [1, 'x', null] })) as unknown as {
      body: { structValue: { fields: { a: { listValue: { values: Array<Record<string, unknown>> } } } } };
    };
    assert.deepEqual(
      m.body.structValue.fields.a.listValue.values.map((v) => Object.keys(v)),
      [['numberValue'], ['stringValue'], ['nullValue']],
    );
  });

  it('request bodies get the prototype-poisoning check', () => {
    const bytes = encodeProtobuf(JSON.parse('{"__proto__": {"x": 1}}'));
    assert.throws(() => defaultProtobufCodec().decodeRequest(bytes), EncodingError);
  });

  it('garbage bytes are an EncodingError', () => {
    assert.throws(() => decodeProtobuf(Uint8Array.from([0x12, 0xff, 0x01])), EncodingError);
  });
});
