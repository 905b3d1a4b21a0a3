import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeCursor } from './cursor.js';
import { parseNodesQuery } from './query.js';
import { newMarket, offer } from './testing.js';

const { ctx } = newMarket({ aws: [offer({ provider: 'aws', sku: 'p5' })] });

describe('parseNodesQuery', () => {
  it('accepts the spec query and fills defaults', () => {
    const r = parseNodesQuery({ resource_type: 'GPU_A', max_price: '2.50', latency_band: 'metro' }, ctx);
    assert.ok(r.ok);
    assert.deepEqual([...(r.query.classes ?? [])], ['GPU_A']);
    assert.equal(r.query.max_price, 2.5);
    assert.equal(r.query.latency_band, 'metro');
    assert.equal(r.query.sort, 'price_asc');
    assert.equal(r.query.limit, 50);
  });

  it('resolves classes, profiles, aliases and models (comma lists and repeats)', () => {
    const r = parseNodesQuery(
      { resource_type: ['GPU_TYPE_B,h100-sxm', 'TYPE_A'], gpu_model: 'A100-80GB' },
      ctx,
    );
    assert.ok(r.ok);
    assert.deepEqual([...(r.query.models ?? [])].sort(), ['H100', 'RTX4090']);
    assert.deepEqual([...(r.query.gpu_models ?? [])], ['A100-80GB']);
  });

  it('parses every scalar', () => {
    const r = parseNodesQuery(
      {
        min_gpu_count: '8',
        min_memory_gb: '24',
        near: '48.85,2.35',
        provider: 'aws,marketplace_beta',
        provider_type: 'p2p_marketplace',
        region: 'us-east-1,eu-west-1',
        interruptible: 'true',
        min_reliability: '0.95',
        min_fp16_tflops: '300',
        sort: 'perf_per_dollar_desc',
        limit: '1000',
      },
      ctx,
    );
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
    const qq = r.query;
    assert.equal(qq.min_gpu_count, 8);
    assert.deepEqual(qq.near, { lat: 48.85, lon: 2.35 });
    assert.deepEqual([...(qq.providers ?? [])], ['aws']);
    assert.deepEqual([...(qq.provider_placeholders ?? [])], [['marketplace_beta', 'p2p_marketplace']]);
    assert.equal(qq.interruptible, true);
    assert.equal(qq.limit, 1000);
  });

  it('names the parameter of every bad value, and never throws', () => {
    const table: [Record<string, unknown>, string][] = [
      [{ max_price: 'abc' }, 'max_price'],
      [{ max_price: '-1' }, 'max_price'],
      [{ limit: '-1' }, 'limit'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '5000' }, 'limit'],
      [{ limit: '2.5' }, 'limit'],
      [{ resource_type: 'GPU_Z' }, 'resource_type'],
      [{ gpu_model: 'GPU_A' }, 'gpu_model'], // a class is not a model
      [{ latency_band: 'moon' }, 'latency_band'],
      [{ near: 'atlantis' }, 'near'],
      [{ provider: 'nosuchcloud' }, 'provider'],
      [{ provider_type: 'mainframe' }, 'provider_type'],
      [{ interruptible: 'maybe' }, 'interruptible'],
      [{ min_reliability: '1.5' }, 'min_reliability'],
      [{ min_gpu_count: 'x' }, 'min_gpu_count'],
      [{ sort: 'cheapest' }, 'sort'],
      [{ cursor: '!!' }, 'cursor'],
      [{ cursor: encodeCursor({ sort: 'price_desc', key: 1, hi: 1, lo: 1 }) }, 'cursor'], // sort mismatch
      [{ colour: 'blue' }, 'colour'],
      [{ max_price: ['1', '2'] }, 'max_price'], // repeated scalar
      [{ limit: { a: 1 } }, 'limit'],
    ];
    for (const [raw, param] of table) {
      const r = parseNodesQuery(raw, ctx);
      assert.equal(r.ok, false, JSON.stringify(raw));
      if (!r.ok)
        assert.deepEqual(
          r.problems.map((p) => p.param),
          [param],
          JSON.stringify(raw),
        );
    }
  });

  it('reports all problems at once', () => {
    const r = parseNodesQuery({ max_price: 'abc', limit: '5000', foo: '1' }, ctx);
    assert.ok(!r.ok);
    if (!r.ok) assert.deepEqual(r.problems.map((p) => p.param).sort(), ['foo', 'limit', 'max_price']);
  });

  it('lets another endpoint add keys', () => {
    assert.ok(parseNodesQuery({ gpu_hours: '10' }, { ...ctx, allowedKeys: ['gpu_hours'] }).ok);
  });
});
