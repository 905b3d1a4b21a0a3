import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capabilities, geo, SPEC_BODY, SPEC_SERVE_BODY } from './orchestrate.fixtures.js';
import { DEFAULT_SERVE_HOURS, parseOrchestrate } from './request.js';

const ctx = { capabilities, geo, knownProviders: new Set(['ionet', 'vast', 'lambda']) };
const parse = (body: unknown) => parseOrchestrate(body, ctx);

describe('parseOrchestrate', () => {
  it("accepts the spec's batch body verbatim, with defaults stated", () => {
    const r = parse(SPEC_BODY);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
    const v = r.value;
    assert.equal(v.requester, 'agent_model_trainer');
    assert.deepEqual(
      [v.workload.type, v.workload.compute_hours, v.workload.memory_gb, v.workload.interconnect],
      ['batch_processing', 1000, 80, 'optional'],
    );
    assert.equal(v.workload.reference_profile, 'GPU_TYPE_A');
    assert.equal(v.workload.checkpoint_interval_s, 1800);
    assert.deepEqual([v.workload.min_nodes, v.workload.max_nodes, v.workload.gpus_per_node], [1, null, null]);
    const c = v.constraints;
    assert.deepEqual([c.max_price_per_hour, c.latency_band, c.redundancy], [2, 'regional', 2]);
    assert.deepEqual(c.objective, { kind: 'cost' });
    assert.equal(c.interruptible, 'allow');
    assert.deepEqual(
      [c.providers, c.exclude_providers, c.deadline_hours, c.budget_usd],
      [null, [], null, null],
    );
  });

  it("accepts the spec's inference form: top-level redundancy and providers map into constraints", () => {
    const r = parse(SPEC_SERVE_BODY);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
    assert.equal(r.value.workload.type, 'large_model_serve');
    assert.equal(r.value.workload.requests_per_second, 100);
    assert.equal(r.value.workload.compute_hours, DEFAULT_SERVE_HOURS);
    assert.equal(r.value.constraints.redundancy, 3);
    // Placeholders are kept as written; the planner resolves them against the offers.
    assert.deepEqual(r.value.constraints.providers, ['network_a', 'platform_b', 'marketplace_c']);
  });

  it('reads every optional field', () => {
    const r = parse({
      workload: {
        type: 'training',
        compute_hours: 10,
        reference_profile: 'a100-80gb',
        gpus_per_node: 8,
        min_nodes: 2,
        max_nodes: 4,
        checkpoint_interval_s: 600,
        interconnect: 'required',
      },
      constraints: {
        deadline_hours: 5,
        budget_usd: 100,
        min_reliability: 0.95,
        interruptible: 'prefer',
        providers: ['vast'],
        exclude_providers: ['lambda'],
        provider_types: ['p2p_marketplace'],
        regions: ['us-east-1'],
        near: '40.7,-74.0',
        objective: { balanced: 0.7 },
      },
    });
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
    const w = r.value.workload;
    const c = r.value.constraints;
    assert.equal(w.reference_profile, 'A100-80GB');
    assert.deepEqual([w.gpus_per_node, w.min_nodes, w.max_nodes, w.checkpoint_interval_s], [8, 2, 4, 600]);
    assert.deepEqual(c.near, { lat: 40.7, lon: -74 });
    assert.deepEqual(c.objective, { kind: 'balanced', cost_weight: 0.7 });
    assert.equal(c.interruptible, 'prefer');
    assert.deepEqual(c.provider_types, ['p2p_marketplace']);
    const t = parse({ workload: { type: 'cpu', compute_hours: 5 }, constraints: { objective: 'time' } });
    assert.ok(t.ok && t.value.constraints.objective.kind === 'time');
  });

  // Each bad body → the JSON path its first problem names.
  const bad: [string, unknown, string][] = [
    ['not an object', [], ''],
    ['missing workload', { constraints: {} }, 'workload'],
    ['unknown top key', { ...SPEC_BODY, priority: 1 }, 'priority'],
    [
      'unknown workload key',
      { workload: { type: 'training', compute_hours: 1, gpu: 'H100' } },
      'workload.gpu',
    ],
    ['bad type', { workload: { type: 'render', compute_hours: 1 } }, 'workload.type'],
    ['bad bare type', { workload: 'render' }, 'workload'],
    ['missing compute_hours', { workload: { type: 'training' } }, 'workload.compute_hours'],
    ['negative hours', { workload: { type: 'training', compute_hours: -1 } }, 'workload.compute_hours'],
    [
      'string memory',
      { workload: { type: 'training', compute_hours: 1, memory_gb: '80' } },
      'workload.memory_gb',
    ],
    [
      'bad interconnect',
      { workload: { type: 'training', compute_hours: 1, interconnect: 'fast' } },
      'workload.interconnect',
    ],
    [
      'class as reference',
      { workload: { type: 'training', compute_hours: 1, reference_profile: 'GPU_A' } },
      'workload.reference_profile',
    ],
    [
      'fractional gpus',
      { workload: { type: 'training', compute_hours: 1, gpus_per_node: 1.5 } },
      'workload.gpus_per_node',
    ],
    [
      'max < min nodes',
      { workload: { type: 'training', compute_hours: 1, min_nodes: 4, max_nodes: 2 } },
      'workload.max_nodes',
    ],
    [
      'price cap 0',
      { ...SPEC_BODY, constraints: { max_price_per_hour: 0 } },
      'constraints.max_price_per_hour',
    ],
    ['bad band', { ...SPEC_BODY, constraints: { latency_band: 'planet' } }, 'constraints.latency_band'],
    ['bad near', { ...SPEC_BODY, constraints: { near: 'atlantis' } }, 'constraints.near'],
    ['redundancy 0', { ...SPEC_BODY, constraints: { redundancy: 0 } }, 'constraints.redundancy'],
    ['deadline 0', { ...SPEC_BODY, constraints: { deadline_hours: 0 } }, 'constraints.deadline_hours'],
    ['reliability 2', { ...SPEC_BODY, constraints: { min_reliability: 2 } }, 'constraints.min_reliability'],
    [
      'interruptible yes',
      { ...SPEC_BODY, constraints: { interruptible: 'yes' } },
      'constraints.interruptible',
    ],
    [
      'unknown provider',
      { ...SPEC_BODY, constraints: { providers: ['vast', 'nope'] } },
      'constraints.providers[1]',
    ],
    [
      'exclude placeholder',
      { ...SPEC_BODY, constraints: { exclude_providers: ['marketplace_a'] } },
      'constraints.exclude_providers[0]',
    ],
    [
      'bad provider type',
      { ...SPEC_BODY, constraints: { provider_types: ['cloud'] } },
      'constraints.provider_types',
    ],
    ['empty regions', { ...SPEC_BODY, constraints: { regions: [] } }, 'constraints.regions'],
    ['bad objective', { ...SPEC_BODY, constraints: { objective: 'fast' } }, 'constraints.objective'],
    [
      'bad weight',
      { ...SPEC_BODY, constraints: { objective: { balanced: 3 } } },
      'constraints.objective.balanced',
    ],
    ['unknown constraint', { ...SPEC_BODY, constraints: { max_price: 2 } }, 'constraints.max_price'],
    ['redundancy twice', { ...SPEC_SERVE_BODY, constraints: { redundancy: 2 } }, 'redundancy'],
    [
      'rps on training',
      { workload: { type: 'training', compute_hours: 1, requests_per_second: 5 } },
      'workload.requests_per_second',
    ],
  ];
  for (const [name, body, param] of bad) {
    it(`names the field: ${name} → "${param}"`, () => {
      const r = parse(body);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.problems[0]?.param, param, JSON.stringify(r.problems));
      assert.ok(r.problems[0]?.detail, 'a detail');
    });
  }

  it('reports every problem, not just the first', () => {
    const r = parse({
      workload: { type: 'training', compute_hours: -1, memory_gb: 0 },
      constraints: { redundancy: 'two' },
    });
    assert.ok(!r.ok);
    if (r.ok) return;
    assert.deepEqual(
      r.problems.map((p) => p.param),
      ['workload.compute_hours', 'workload.memory_gb', 'constraints.redundancy'],
    );
  });

  it('never throws', () => {
    for (const body of [null, undefined, 1, 'x', { workload: null }, { workload: {}, constraints: [] }]) {
      assert.equal(parse(body).ok, false);
    }
  });
});
