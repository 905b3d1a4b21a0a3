import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { ProblemError, problem } from '../../protocol/problem.js';
import { Offer } from '../../protocol/schemas/offer.js';
import { installProblemHandlers } from '../problems.js';
import { registerEncodings } from './plugin.js';
import { decodeProtobuf, defaultProtobufCodec, encodeProtobuf } from './protobuf.js';
import { sampleOfferList, sampleOffers } from './sample-offers.js';

const NodesBody = Type.Object({
  offers: Type.Array(Offer),
  count: Type.Integer(),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  snapshot_at: Type.String(),
  simulated: Type.Boolean(),
  units: Type.Object({ price: Type.String(), memory_gb: Type.String() }),
});
const nested = {
  a: null,
  b: [true, false, null, [1, 'two', { three: 3 }]],
  c: { d: { e: -1.5 } },
  empty: {},
};
let handled = 0;

async function build(): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  installProblemHandlers(app);
  registerEncodings(app, {
    protobufMessageFor: (url) =>
      url === '/nodes' ? 'OfferList' : url === '/nodes/:id' ? 'Offer' : undefined,
  });
  app.get('/nodes', { schema: { response: { 200: NodesBody } } }, async () => {
    handled++;
    // `secret` is not in the response schema: JSON drops it, so every encoding must
    return { ...sampleOfferList(50), secret: 'not on the wire' };
  });
  app.get('/nodes/:id', async () => sampleOffers(1)[0]);
  app.get('/nested', async () => nested);
  app.get('/dates', async () => ({ at: new Date(0), gone: undefined }));
  app.get('/text-json', async (_req, reply) => reply.type('application/json').send('{"pre":"serialized"}'));
  app.get('/fails', async () => {
    throw new ProblemError(problem('conflict', 'Already booked. Use another key.'));
  });
  app.get('/metrics', { config: { encodings: false } }, async (_req, reply) =>
    reply.type('text/plain').send('up 1\n'),
  );
  app.post('/echo', async (req) => ({ got: req.body }));
  await app.ready();
  return app;
}

describe('registerEncodings', () => {
  let app: FastifyInstance;
  let jsonNodes: unknown;
  before(async () => {
    app = await build();
    jsonNodes = (await app.inject('/nodes')).json();
  });
  after(() => app.close());

  const get = (url: string, accept?: string) => app.inject({ url, headers: accept ? { accept } : {} });

  it('answers JSON by default, with Vary: Accept', async () => {
    const res = await get('/nodes');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(res.headers.vary, 'Accept');
    assert.equal((jsonNodes as { offers: unknown[] }).offers.length, 50);
    assert.equal((jsonNodes as { secret?: string }).secret, undefined);
  });

  it('MessagePack carries the same offer list as JSON (schema-filtered)', async () => {
    const res = await get('/nodes', 'application/msgpack');
    assert.equal(res.headers['content-type'], 'application/msgpack');
    assert.equal(res.headers.vary, 'Accept');
    assert.deepEqual(decode(res.rawPayload), jsonNodes);
  });

  it('Protobuf OfferList carries the same offer list as JSON', async () => {
    const res = await get('/nodes', 'application/x-protobuf');
    assert.equal(res.headers['content-type'], 'application/x-protobuf; proto=computemd.v1.OfferList');
    assert.deepEqual(decodeProtobuf(res.rawPayload, 'OfferList'), jsonNodes);
  });

  it('Protobuf Offer for a single offer', async () => {
    const res = await get('/nodes/x', 'application/protobuf');
    assert.equal(res.headers['content-type'], 'application/protobuf; proto=computemd.v1.Offer');
    assert.deepEqual(decodeProtobuf(res.rawPayload, 'Offer'), (await get('/nodes/x')).json());
  });

  it('Envelope for any other body: nulls, arrays, booleans', async () => {
    const res = await get('/nested', 'application/x-protobuf');
    assert.equal(res.headers['content-type'], 'application/x-protobuf; proto=computemd.v1.Envelope');
    assert.deepEqual(defaultProtobufCodec().decodeEnvelope(res.rawPayload), {
      schema: 'GET /nested',
      body: nested,
    });
  });

  it('Dates and undefined as JSON has them', async () => {
    const res = await get('/dates', 'application/vnd.msgpack');
    assert.deepEqual(decode(res.rawPayload), { at: '1970-01-01T00:00:00.000Z' });
  });

  it('a handler that sent JSON text is re-encoded too', async () => {
    const res = await get('/text-json', 'application/x-msgpack');
    assert.equal(res.headers['content-type'], 'application/x-msgpack');
    assert.deepEqual(decode(res.rawPayload), { pre: 'serialized' });
  });

  const qTable: Array<[string, string]> = [
    ['application/json;q=0.5, application/x-protobuf', 'application/x-protobuf; proto=computemd.v1.Envelope'],
    ['application/x-protobuf;q=0.2, application/msgpack;q=0.9', 'application/msgpack'],
    ['*/*', 'application/json; charset=utf-8'],
    ['application/*, application/json;q=0', 'application/msgpack'],
  ];
  for (const [accept, type] of qTable) {
    it(`q-values: ${accept}`, async () =>
      assert.equal((await get('/nested', accept)).headers['content-type'], type));
  }

  it('406 problem+json, before the handler runs', async () => {
    const before = handled;
    const res = await get('/nodes', 'text/html, application/json;q=0');
    assert.equal(res.statusCode, 406);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    const body = res.json();
    assert.equal(body.type, 'https://computemd.dev/problems/not-acceptable');
    assert.equal(body.status, 406);
    assert.match(body.detail, /application\/json, application\/msgpack, application\/x-protobuf/);
    assert.ok(body.available.includes('application/vnd.google.protobuf'));
    assert.equal(handled, before);
  });

  it('problems stay JSON whatever Accept says', async () => {
    const res = await get('/fails', 'application/msgpack');
    assert.equal(res.statusCode, 409);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.equal(res.json().title, 'Conflict');
  });

  it('an opted-out route is left alone (no negotiation, no 406)', async () => {
    for (const accept of ['application/msgpack', 'text/plain']) {
      const res = await get('/metrics', accept);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'text/plain');
      assert.equal(res.headers.vary, undefined);
      assert.equal(res.body, 'up 1\n');
    }
  });

  it('unknown routes keep the 404 problem', async () => {
    const res = await get('/nope', 'application/msgpack');
    assert.equal(res.statusCode, 404);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  });

  const bodies: Array<[string, string, Uint8Array]> = [
    ['msgpack', 'application/msgpack', encode(nested)],
    ['msgpack alias', 'application/x-msgpack', encode(nested)],
    ['protobuf Envelope', 'application/x-protobuf', encodeProtobuf(nested)],
    [
      'protobuf Envelope, named',
      'application/x-protobuf; proto=computemd.v1.Envelope',
      encodeProtobuf(nested),
    ],
  ];
  for (const [name, type, payload] of bodies) {
    it(`POST with a ${name} body gives what JSON would`, async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/echo',
        headers: { 'content-type': type },
        payload: Buffer.from(payload),
      });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { got: nested });
    });
  }

  it('POST a typed Offer body', async () => {
    const offer = sampleOffers(2)[1];
    const res = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: {
        'content-type': 'application/x-protobuf; proto=computemd.v1.Offer',
        accept: 'application/msgpack',
      },
      payload: Buffer.from(encodeProtobuf(offer, 'Offer')),
    });
    assert.deepEqual(decode(res.rawPayload), { got: offer });
  });

  const badBodies: Array<[string, string, Uint8Array]> = [
    ['truncated msgpack', 'application/msgpack', Uint8Array.from([0x82, 0xa1])],
    ['msgpack binary', 'application/msgpack', encode({ b: new Uint8Array([1]) })],
    ['unknown proto message', 'application/x-protobuf; proto=computemd.v1.Nope', encodeProtobuf(nested)],
    ['garbage protobuf', 'application/x-protobuf', Uint8Array.from([0x12, 0xff, 0x01])],
  ];
  for (const [name, type, payload] of badBodies) {
    it(`400 problem for ${name}`, async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/echo',
        headers: { 'content-type': type },
        payload: Buffer.from(payload),
      });
      assert.equal(res.statusCode, 400);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(res.json().type, 'https://computemd.dev/problems/invalid-body');
    });
  }
});

describe('registerEncodings over a real socket', () => {
  let app: FastifyInstance;
  let base: string;
  before(async () => {
    app = await build();
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => app.close());

  it('fetch with Accept: application/msgpack', async () => {
    const res = await fetch(`${base}/nodes`, { headers: { accept: 'application/msgpack' } });
    assert.equal(res.headers.get('content-type'), 'application/msgpack');
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.equal(res.headers.get('content-length'), String(bytes.length));
    const json = await (await fetch(`${base}/nodes`)).json();
    assert.deepEqual(decode(bytes), json);
  });

  it('fetch POST msgpack in, protobuf out', async () => {
    const res = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack', accept: 'application/x-protobuf' },
      body: encode({ x: [1, null] }),
    });
    assert.deepEqual(decodeProtobuf(new Uint8Array(await res.arrayBuffer())), { got: { x: [1, null] } });
  });
});
