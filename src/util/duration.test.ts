import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from './duration.js';

test('durations in the forms --expires takes', () => {
  assert.equal(parseDuration('30s'), 30);
  assert.equal(parseDuration('15m'), 900);
  assert.equal(parseDuration('1h'), 3600);
  assert.equal(parseDuration('1d'), 86_400);
  assert.equal(parseDuration('2w'), 1_209_600);
  assert.equal(parseDuration('45'), 45);
  assert.equal(parseDuration(120), 120);
});

test('anything else is null, never a guess', () => {
  for (const v of [
    '',
    '0',
    '0s',
    '-1h',
    '1.5h',
    '1y',
    'h',
    '1 d d',
    0,
    -5,
    1.5,
    null,
    undefined,
    {},
    '9999999999d',
  ])
    assert.equal(parseDuration(v), null, String(v));
});
