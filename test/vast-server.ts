import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { packagePath } from '../src/util/paths.js';

/**
 * A real HTTP server on 127.0.0.1 that answers like Vast, for the adapter's contract tests. It
 * records every request as received on the wire and answers with whatever the test sets.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
  rawBody: string;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string is sent as is (plain-text or broken bodies). */
  body?: unknown;
  /** Never answer (to test timeouts). */
  hang?: boolean;
}

export interface FakeVast {
  baseUrl: string;
  requests: RecordedRequest[];
  /** Decides each reply; replace it per test. */
  respond: (req: RecordedRequest) => Reply;
  close(): Promise<void>;
}

export async function startFakeVast(): Promise<FakeVast> {
  const fake: FakeVast = {
    baseUrl: '',
    requests: [],
    respond: () => ({ status: 500, body: { error: 'no reply set' } }),
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      raw += c;
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const rec: RecordedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: raw === '' ? undefined : JSON.parse(raw),
        rawBody: raw,
      };
      fake.requests.push(rec);
      const reply = fake.respond(rec);
      if (reply.hang) return;
      const isText = typeof reply.body === 'string';
      const text =
        reply.body === undefined ? '' : isText ? (reply.body as string) : JSON.stringify(reply.body);
      res.writeHead(reply.status, {
        'Content-Type': isText ? 'text/plain' : 'application/json',
        ...reply.headers,
      });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fake.baseUrl = `http://127.0.0.1:${port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

type Json = Record<string, unknown>;

/** The shared fixture layout (only the parts the tests read). */
export interface Fixture {
  request: {
    method: string;
    url: string;
    headers: Record<string, string>;
    query?: Record<string, string>;
    body?: Json;
  };
  response: { status: number; body: Json };
  variants?: Array<{ name: string; request_body_delta?: Json }>;
  status_progression?: Array<{ instances: Json }>;
}

/** The `offers` rows of a search fixture. */
export function offersOf(fx: Fixture): Json[] {
  return fx.response.body.offers as Json[];
}

/** A Vast wire fixture (test/fixtures/providers/vastai/<name>.json), kept unmodified. */
export function vastFixture(name: string): Fixture {
  return JSON.parse(
    readFileSync(packagePath('test', 'fixtures', 'providers', 'vastai', `${name}.json`), 'utf8'),
  );
}

/** The path of a fixture's documented request URL (`https://console.vast.ai/api/v0/bundles/` → `/api/v0/bundles/`). */
export function fixturePath(fx: Fixture): string {
  return new URL(fx.request.url).pathname;
}
