import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  acceptableRequestId,
  clientResponseHeaders,
  connectionNamed,
  upstreamRequestHeaders,
} from './headers.js';

const pairs = (flat: readonly string[]) => {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
};
const info = { requestId: 'rid-1', clientIp: '10.0.0.9', proto: 'http' as const, extra: [] };

describe('proxy headers', () => {
  it('upstream: hop-by-hop, Connection-named, credentials and Host are dropped; the rest passes as sent', () => {
    const raw = [
      'Host',
      'gw.example:7070',
      'Connection',
      'keep-alive, X-Hop',
      'X-Hop',
      'secret',
      'Keep-Alive',
      'timeout=5',
      'TE',
      'trailers',
      'Transfer-Encoding',
      'chunked',
      'Upgrade',
      'websocket',
      'Proxy-Authorization',
      'Basic x',
      'Authorization',
      'Bearer cmd_key',
      'ucans',
      'eyJ...',
      'Expect',
      '100-continue',
      'Content-Type',
      'application/json',
      'Accept',
      'text/event-stream',
      'Set-Cookie-Like',
      'a',
      'Idempotency-Key',
      'k1',
    ];
    assert.deepEqual(pairs(upstreamRequestHeaders(raw, info)), [
      ['Content-Type', 'application/json'],
      ['Accept', 'text/event-stream'],
      ['Set-Cookie-Like', 'a'],
      ['Idempotency-Key', 'k1'],
      ['x-request-id', 'rid-1'],
      ['x-forwarded-for', '10.0.0.9'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'gw.example:7070'],
    ]);
  });

  it('upstream: X-Forwarded-For is appended to; the endpoint’s own headers replace the client’s', () => {
    const raw = ['X-Forwarded-For', '1.2.3.4', 'x-api-key', 'client-sent', 'X-Request-Id', 'theirs'];
    const out = upstreamRequestHeaders(raw, { ...info, extra: ['X-Api-Key', 'endpoint-secret'] });
    assert.deepEqual(pairs(out), [
      ['x-request-id', 'rid-1'],
      ['x-forwarded-for', '1.2.3.4, 10.0.0.9'],
      ['x-forwarded-proto', 'http'],
      ['X-Api-Key', 'endpoint-secret'],
    ]);
  });

  it('upstream: HTTP/2 pseudo-headers never pass; :authority becomes X-Forwarded-Host', () => {
    const raw = [':method', 'GET', ':path', '/x', ':authority', 'gw', ':scheme', 'https', 'accept', '*/*'];
    assert.deepEqual(pairs(upstreamRequestHeaders(raw, { ...info, proto: 'https' })), [
      ['accept', '*/*'],
      ['x-request-id', 'rid-1'],
      ['x-forwarded-for', '10.0.0.9'],
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-host', 'gw'],
    ]);
  });

  it('response: hop-by-hop and Connection-named are dropped, repeated headers kept, our request id added', () => {
    const raw = [
      'Content-Type',
      'text/event-stream',
      'Connection',
      'keep-alive, X-Internal',
      'X-Internal',
      '1',
      'Keep-Alive',
      'timeout=5',
      'Transfer-Encoding',
      'chunked',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'X-Request-Id',
      'upstream-made',
      'Content-Length',
      '12',
    ].map((s) => Buffer.from(s, 'latin1'));
    assert.deepEqual(pairs(clientResponseHeaders(raw, 'rid-1')), [
      ['Content-Type', 'text/event-stream'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['Content-Length', '12'],
      ['x-request-id', 'rid-1'],
    ]);
  });

  it('Connection lists and request ids are parsed strictly', () => {
    assert.equal(connectionNamed('close'), null);
    assert.deepEqual([...(connectionNamed(' Keep-Alive , Foo,BAR ') ?? [])], ['foo', 'bar']);
    assert.equal(acceptableRequestId('abc-123'), 'abc-123');
    for (const bad of ['', 'has space', 'x'.repeat(201), ['a', 'b'], undefined, 'tab\t'])
      assert.equal(acceptableRequestId(bad as string), null, JSON.stringify(bad));
  });
});
