import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AGGREGATORS, aggregate, validateAggregatorOptions } from '../../../src/balancing/aggregation/index.js';
import type { AggregatorName, AggregatorState, Matrix } from '../../../src/balancing/aggregation/index.js';
import { MultilossError } from '../../../src/errors.js';

/** Asserts a one-line MultilossError('config') whose message matches every pattern. */
function throwsConfig(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MultilossError, `expected MultilossError, got ${String(e)}`);
    assert.equal(e.kind, 'config');
    assert.ok(!e.message.includes('\n'), 'one line');
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

const G = [[1, 2], [3, 4]];
const opt = (m: AggregatorName): never => ({ static: { weights: [1, 1] }, moco: { losses: [1, 1] }, crmogm: { inner: 'nash' } } as Record<string, unknown>)[m] as never;

describe('aggregate: bad input', () => {
  it('unknown method lists the valid ones', () => {
    throwsConfig(() => aggregate('famo' as AggregatorName, G), /unknown aggregator "famo"/, /sum, mean, static, mgda, pcgrad, gradvac, cagrad, imtl, nash, aligned, upgrad, dbmtl/);
    throwsConfig(() => validateAggregatorOptions('PCGrad', {}), /unknown aggregator "PCGrad"/, /valid aggregators: /);
  });

  it('options out of range name the option and the range', () => {
    throwsConfig(() => aggregate('cagrad', G, { c: -0.1 }), /"cagrad"/, /balance\.c\b/, /\[0, ∞\)/, /got -0.1/);
    throwsConfig(() => aggregate('cagrad', G, { rescale: 3 as never }), /balance\.rescale\b/, /one of 0, 1, 2/);
    throwsConfig(() => aggregate('gradvac', G, { beta: 1.5 }), /balance\.beta\b/, /\[0, 1\]/);
    throwsConfig(() => aggregate('dbmtl', G, { beta: 1 }), /balance\.beta\b/, /\[0, 1\)/);
    throwsConfig(() => aggregate('dbmtl', G, { betaSigma: -1 }), /balance\.betaSigma\b/);
    throwsConfig(() => aggregate('nash', G, { maxIter: 0 }), /balance\.maxIter\b/, /integer in \[1, 10000\]/);
    throwsConfig(() => aggregate('nash', G, { scale: 'unit' as never }), /balance\.scale\b/, /"sum", "paper", "official"/);
    throwsConfig(() => aggregate('mgda', G, { normalization: 'l1' as never }), /balance\.normalization\b/, /"none", "l2", "loss", "loss\+"/);
    throwsConfig(() => aggregate('mgda', G, { normalization: 'loss' }), /balance\.losses\b/, /'loss'/);
    throwsConfig(() => aggregate('mgda', G, { normalization: 'loss', losses: [1, -1] }), /balance\.losses\b/, /non-negative/);
    throwsConfig(() => aggregate('upgrad', G, { regEps: Number.NaN }), /balance\.regEps\b/, /finite number/);
    throwsConfig(() => aggregate('upgrad', G, { pref: [1, -1] }), /balance\.pref\b/, /≥ 0/);
    throwsConfig(() => aggregate('pcgrad', G, { seed: 1.5 }), /balance\.seed\b/, /integer/);
    throwsConfig(() => aggregate('pcgrad', G, { order: [0, 0] }), /balance\.order\b/, /permutation/);
    throwsConfig(() => aggregate('aligned', G, { rankTol: 2 }), /balance\.rankTol\b/, /\[0, 1\]/);
    throwsConfig(() => aggregate('static', G, {} as never), /balance\.weights\b/);
    throwsConfig(() => aggregate('static', G, { weights: [1, Infinity] }), /balance\.weights\b/, /finite/);
  });

  it('unknown options are rejected with the valid ones', () => {
    throwsConfig(() => aggregate('cagrad', G, { alpha: 0.5 } as never), /balance\.alpha is not an option/, /valid options: c, rescale/);
    throwsConfig(() => aggregate('sum', G, { c: 1 } as never), /balance\.c is not an option/, /takes no options/);
    throwsConfig(() => validateAggregatorOptions('nash', 'fast'), /balance options for method "nash" must be an object/);
  });

  it('per-task vectors must have T entries', () => {
    const G3 = [[1, 0], [0, 1], [1, 1]];
    throwsConfig(() => aggregate('static', G3, { weights: [1, 1] }), /balance\.weights\b.* has 2 entries/, /3 task rows/);
    throwsConfig(() => aggregate('mgda', G3, { normalization: 'loss', losses: [1, 2] }), /balance\.losses\b.* has 2 entries/);
    throwsConfig(() => aggregate('pcgrad', G3, { order: [1, 0] }), /balance\.order\b.* has 2 entries/);
    throwsConfig(() => aggregate('upgrad', G3, { pref: [1, 1, 1, 1] }), /balance\.pref\b.* has 4 entries/);
  });

  it('shape errors: rows of different lengths, empty matrix, bad flat buffer', () => {
    for (const m of AGGREGATORS) {
      throwsConfig(() => aggregate(m, [[1, 2], [3]], opt(m)), /rows differ in length/, /row 1 has 1/);
      throwsConfig(() => aggregate(m, [], opt(m)), /empty/);
      throwsConfig(() => aggregate(m, [[], []], opt(m)), /empty/, /no columns/);
    }
    throwsConfig(() => aggregate('sum', { data: new Float32Array(5), rows: 2, cols: 3 }), /5 entries/, /2×3/);
    throwsConfig(() => aggregate('sum', { data: new Float32Array(0), rows: 0, cols: 3 }), /empty/);
    throwsConfig(() => aggregate('sum', { data: [1, 2] as never, rows: 1, cols: 2 }), /Float32Array or Float64Array/);
    throwsConfig(() => aggregate('sum', 'grads' as unknown as Matrix), /array of rows/);
  });

  it('non-finite entries are reported with their position, for every method', () => {
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      for (const m of AGGREGATORS) {
        throwsConfig(() => aggregate(m, [[1, 2, 3], [4, bad, 6]], opt(m)), /non-finite entry/, /row 1, column 1/);
      }
    }
  });

  it('states must belong to the method and fit the matrix', () => {
    const s = aggregate('pcgrad', G).state;
    throwsConfig(() => aggregate('gradvac', G, undefined, s), /state belongs to aggregator 'pcgrad'/);
    throwsConfig(() => aggregate('pcgrad', G, undefined, { method: 'pcgrad', step: -1 }), /state.step/);
    const gv = aggregate('gradvac', G).state;
    throwsConfig(() => aggregate('gradvac', [[1, 2], [3, 4], [5, 6]], undefined, gv), /state.targets has 2 rows/, /3 task rows/);
    throwsConfig(() => aggregate('gradvac', G, undefined, { method: 'gradvac', step: 1, targets: [[0, 2], [0, 0]] }), /state.targets/, /\[-1, 1\]/);
    const db = aggregate('dbmtl', G).state;
    throwsConfig(() => aggregate('dbmtl', [[1, 2, 3], [4, 5, 6]], undefined, db), /state.buffer rows have 2 entries, expected 3/);
    throwsConfig(() => aggregate('sum', G, undefined, 5 as unknown as AggregatorState), /state must be an object/);
  });
});
