import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointSet } from './endpoints.js';
import { HealthChecker } from './health.js';
import { OutlierDetector } from './outlier.js';
import type { EndpointEvent } from './types.js';
import { DEFAULT_TUNING } from './types.js';

const T = {
  consecutive_failures: 3,
  base_ejection_ms: 1000,
  max_ejection_ms: 8000,
  max_ejection_percent: 100,
};

function world(n = 3, t = T) {
  const set = new EndpointSet('lb', null);
  for (let i = 0; i < n; i++) set.add({ id: `e${i}`, url: `http://h${i}:80` }, 0);
  const events: string[] = [];
  const log = (e: EndpointEvent) => events.push(`${e.endpoint} ${e.reason} @${e.at}`);
  set.onDown(log);
  set.onUp(log);
  return { set, od: new OutlierDetector(t, set), events };
}

describe('outlier detection', () => {
  it('ejects after consecutive failures only; a success in between resets the count', () => {
    const { set, od } = world();
    const ep = set.list[0]!;
    assert.equal(od.failure(ep, 0), false);
    assert.equal(od.failure(ep, 0), false);
    od.success(ep, 0);
    assert.equal(od.failure(ep, 0), false);
    assert.equal(od.failure(ep, 0), false);
    assert.equal(od.failure(ep, 10), true);
    assert.equal(ep.state(10), 'ejected');
    assert.equal(ep.ejectedUntil, 1010);
  });

  it('back-off doubles with each ejection up to the cap, and the endpoint returns when it runs out', () => {
    const { set, od, events } = world();
    const ep = set.list[0]!;
    let now = 0;
    const lengths: number[] = [];
    for (let k = 0; k < 6; k++) {
      for (let i = 0; i < 3; i++) od.failure(ep, now);
      lengths.push(ep.ejectedUntil - now);
      assert.equal(ep.serving(now), false);
      now = ep.ejectedUntil;
      assert.equal(ep.serving(now), true, 'back once the ejection ends');
      set.sweep(now);
    }
    // 1000 × 2^k: 1000, 2000, 4000, 8000, then capped at 8000.
    assert.deepEqual(lengths, [1000, 2000, 4000, 8000, 8000, 8000]);
    assert.equal(ep.ejections, 6);
    assert.deepEqual(events.slice(0, 4), [
      'e0 ejected @0',
      'e0 recovered @1000',
      'e0 ejected @1000',
      'e0 recovered @3000',
    ]);
  });

  it('the level decays by one per max_ejection_ms served without an ejection', () => {
    const { set, od } = world();
    const ep = set.list[0]!;
    for (let i = 0; i < 3; i++) od.failure(ep, 0); // level 1, out until 1000
    for (let i = 0; i < 3; i++) od.failure(ep, 1000); // level 2, out until 3000
    set.sweep(3000);
    assert.equal(ep.ejectionLevel, 2);
    od.success(ep, 3000 + 7999);
    assert.equal(ep.ejectionLevel, 2, 'not yet: 7,999 ms of service');
    od.success(ep, 3000 + 8000);
    assert.equal(ep.ejectionLevel, 1);
    od.success(ep, 3000 + 16_000);
    assert.equal(ep.ejectionLevel, 0);
    for (let i = 0; i < 3; i++) od.failure(ep, 20_000);
    assert.equal(ep.ejectedUntil - 20_000, 1000, 'forgiven: back to the base ejection');
  });

  it('max_ejection_percent keeps a share of the fleet in (but one can always be ejected)', () => {
    const { set, od } = world(4, { ...T, max_ejection_percent: 50 });
    const [a, b, c] = set.list;
    for (const ep of [a!, b!, c!]) for (let i = 0; i < 3; i++) od.failure(ep, 0);
    // 4 endpoints at 50%: two may be out, the third stays in.
    assert.deepEqual(
      set.list.map((e) => e.state(0)),
      ['ejected', 'ejected', 'healthy', 'healthy'],
    );
    const one = world(1, { ...T, max_ejection_percent: 10 });
    for (let i = 0; i < 3; i++) one.od.failure(one.set.list[0]!, 0);
    assert.equal(one.set.list[0]!.state(0), 'ejected');
  });

  it('active checks: a refused probe takes an endpoint out at once; passing probes end its ejection', () => {
    const { set, od, events } = world();
    const ep = set.list[0]!;
    const hc = new HealthChecker('/health', DEFAULT_TUNING.health, set, { now: () => 0 });
    for (let i = 0; i < 3; i++) od.failure(ep, 0);
    hc.record(ep, { ok: false, refused: true, detail: 'ECONNREFUSED' }, 5);
    assert.equal(ep.unhealthy, true);
    hc.record(ep, { ok: true }, 100);
    assert.equal(ep.state(100), 'ejected', 'one pass is not enough (healthy_threshold 2)');
    hc.record(ep, { ok: true }, 200);
    assert.equal(ep.state(200), 'healthy', 'recovered before its ejection would have ended');
    assert.deepEqual(events, ['e0 ejected @0', 'e0 recovered @200']);
    // Timeouts need unhealthy_threshold (2) in a row.
    const other = set.list[1]!;
    hc.record(other, { ok: false, refused: false, detail: 'timeout' }, 300);
    assert.equal(other.unhealthy, false);
    hc.record(other, { ok: false, refused: false, detail: 'timeout' }, 400);
    assert.equal(other.state(400), 'unhealthy');
  });
});
