import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { systemClock } from '../util/clock.js';
import { EndpointSet } from './endpoints.js';
import { HealthChecker } from './health.js';
import type { EndpointEvent } from './types.js';

/** A health endpoint on loopback: 200 on /health while `healthy`, else 503. */
function serve(
  port = 0,
  state = { healthy: true },
): Promise<{ server: Server; port: number; state: typeof state }> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/health' && state.healthy ? 200 : 503, { 'content-length': 0 });
    res.end();
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as AddressInfo).port, state }),
    ),
  );
}

function kill(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function until(what: string, ok: () => boolean) {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), `never: ${what}`);
}

describe('active health checks (a real endpoint on loopback)', () => {
  it('an endpoint that answers 503 goes unhealthy after the threshold and back after passes', async () => {
    const up = await serve();
    const set = new EndpointSet('lb', null);
    const ep = set.add({ id: 'a', url: `http://127.0.0.1:${up.port}` }, 0);
    const events: string[] = [];
    const log = (e: EndpointEvent) => events.push(`${e.endpoint} ${e.reason}`);
    set.onDown(log);
    set.onUp(log);
    const t = { interval_ms: 20, timeout_ms: 500, unhealthy_threshold: 2, healthy_threshold: 2 };
    const hc = new HealthChecker('/health', t, set, systemClock);
    hc.start();
    try {
      await until('first probe passed', () => ep.probePasses >= 1);
      up.state.healthy = false;
      await until('unhealthy', () => ep.unhealthy);
      assert.match(ep.lastProbeError ?? '', /answered 503/);
      up.state.healthy = true;
      await until('healthy again', () => !ep.unhealthy);
      assert.deepEqual(events, ['a unhealthy', 'a recovered']);
    } finally {
      await hc.stop();
      await kill(up.server);
    }
  });

  it('a dead endpoint is noticed through its closed probe connection, and rejoins once it listens again', async () => {
    const first = await serve();
    const set = new EndpointSet('lb', null);
    const ep = set.add({ id: 'a', url: `http://127.0.0.1:${first.port}` }, 0);
    // A long interval: only the closed connection can bring the next probe forward.
    const t = { interval_ms: 60_000, timeout_ms: 500, unhealthy_threshold: 2, healthy_threshold: 1 };
    const hc = new HealthChecker('/health', t, set, systemClock);
    hc.start();
    try {
      await until('first probe passed', () => ep.probePasses === 1);
      // lastProbeAt must be an interval/4 old before a disconnect may trigger a probe.
      ep.lastProbeAt = 0;
      await kill(first.server);
      await until('unhealthy without waiting for the next tick', () => ep.unhealthy);
      assert.match(ep.lastProbeError ?? '', /ECONNREFUSED/);
      const again = await serve(first.port);
      try {
        hc.tick();
        await until('healthy again', () => !ep.unhealthy);
      } finally {
        await kill(again.server);
      }
    } finally {
      await hc.stop();
    }
  });
});
