/**
 * Property-based tests of configuration validation: configuration files
 * (readConfigFile: YAML / JSON text), parseConfig, resolveConfig, the balancing
 * method's options (createStrategy) and the heads' loss options (createLoss).
 * Random values, a valid configuration with random keys replaced, deleted or
 * added, and random balancing options all end in a configuration or a
 * MultilossError — never another exception.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as fc from 'fast-check';
import { stringify } from 'yaml';
import { BALANCING_METHODS, createStrategy, type BalancingStrategy } from '../../src/balancing/index.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { parseConfig } from '../../src/config/schema.js';
import { readConfigFile } from '../../src/io/config-file.js';
import { createLoss } from '../../src/losses/index.js';
import { lossesFor } from '../../src/model/heads/index.js';
import type { HeadKind } from '../../src/model/heads/head.js';
import { tempDir, useDefaultBackend } from '../helpers.js';
import { applyEdits, editArb, outcome, runs, SEED, summary } from './helpers.js';

const counts: Record<string, number> = {};
const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);

const BASE = {
  data: 'data.csv',
  missingValues: ['.'],
  features: ['Island', { name: 'Beak Length (mm)', type: 'numeric' }],
  targets: [
    { name: 'species', column: 'Species', kind: 'classification', loss: 'crossentropy', lossOptions: { labelSmoothing: 0.05 }, weight: 1, classWeights: 'balanced' },
    { name: 'sex', column: 'Sex', kind: 'binary', positive: 'MALE', threshold: 0.5, loss: 'focal', lossOptions: { gamma: 2, alpha: 0.25 } },
    { name: 'mass', column: 'Body Mass (g)', kind: 'regression', loss: 'huber', lossOptions: { delta: 1 }, sampleWeight: 'w' },
    { name: 'n', kind: 'count' },
    { name: 'tags', kind: 'multilabel', separator: ';', classes: ['a', 'b'] },
  ],
  validation: { split: 0.25, stratify: true },
  model: { trunk: [{ units: 64, activation: 'relu', dropout: 0.1, batchNorm: false }, 32] },
  training: {
    epochs: 10,
    batchSize: 32,
    learningRate: 0.005,
    optimizer: { name: 'adamw', weightDecay: 0.01 },
    schedule: { kind: 'cosine', warmupEpochs: 2 },
    clipNorm: 1,
    seed: 4,
    earlyStopping: { monitor: 'val_loss', patience: 3, minDelta: 0, mode: 'min', restoreBest: true },
    checkpointEvery: 2,
  },
  balance: { method: 'static', weights: { sex: 2 } },
  out: 'model',
};

const OPTION_NAMES = ['alpha', 'beta', 'betaSigma', 'c', 'eps', 'initialLogVariance', 'losses', 'lr', 'maxIter', 'normEps', 'normalization', 'optimizer', 'pref', 'rankTol', 'regEps', 'scale', 'seed', 'temperature', 'tol', 'ub', 'weightDecay', 'weights', 'mode', 'x'];

const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>(null, undefined, true, false, 0, -0, 1, -1, 0.5, 2, 1e-300, 1e308, -1e308, 2 ** 53, NaN, Infinity, -Infinity, '', 'a', 'NaN', 'adam', 'sgd', 'cosine', 'relu', 'param', 'rep', 'balanced', 'classification', 'regression', 'static', 'mgda', 'uncertainty', 'step', '__proto__', [], {}, [1, 2], ['a'], { kind: 'step' }, { name: 'sgd' }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.string({ maxLength: 5 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom(...BALANCING_METHODS) },
);

interface Mutation {
  picks: number[];
  op: 'set' | 'delete' | 'add';
  value: unknown;
  key: string;
}
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  picks: fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 4 }),
  op: fc.constantFrom('set', 'set', 'delete', 'add'),
  value: valueArb,
  key: fc.oneof(fc.constantFrom(...OPTION_NAMES, 'kind', 'name', 'units', 'unknownKey', '__proto__'), fc.string({ maxLength: 4 })),
}) as fc.Arbitrary<Mutation>;

/** Applies a mutation to a deep copy: walks down by the picks, then sets / deletes / adds a key there. */
function mutate(config: unknown, m: Mutation): unknown {
  const root = structuredClone(config) as Record<string, unknown>;
  let node: Record<string | number, unknown> | unknown[] = root;
  for (let d = 0; d < m.picks.length; d++) {
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    const k = keys.length ? keys[Math.floor(m.picks[d] * keys.length)] : undefined;
    const child = k === undefined ? undefined : (node as Record<string | number, unknown>)[k];
    const last = d === m.picks.length - 1 || child === null || typeof child !== 'object';
    if (last) {
      if (m.op === 'add' || k === undefined) {
        if (Array.isArray(node)) node.push(m.value);
        else Object.defineProperty(node, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
      } else if (m.op === 'delete') {
        if (Array.isArray(node)) node.splice(k as number, 1);
        else delete (node as Record<string, unknown>)[k as string];
      } else {
        (node as Record<string | number, unknown>)[k] = m.value;
      }
      return root;
    }
    node = child as Record<string, unknown> | unknown[];
  }
  return root;
}

function dispose(s: BalancingStrategy): void {
  (s as { dispose?: () => void }).dispose?.();
}

/** parseConfig → resolveConfig → createStrategy → createLoss for every head; each step a result or a MultilossError. */
function validate(value: unknown): 'ok' | 'error' {
  const parsed = outcome(() => parseConfig(value, 'fuzz.yaml'), 'parseConfig');
  if (!parsed.ok) {
    assert.match(parsed.error.message, /^fuzz\.yaml: /);
    return 'error';
  }
  const resolved = outcome(() => resolveConfig(parsed.value), 'resolveConfig');
  if (!resolved.ok) return 'error';
  const heads = resolved.value.heads.map((h) => ({ name: h.name, kind: h.kind, weight: h.weight ?? 1 }));
  const strategy = outcome(() => createStrategy(resolved.value.balance, heads), 'createStrategy');
  if (strategy.ok) dispose(strategy.value);
  for (const h of resolved.value.heads) {
    const allowed = lossesFor(h.kind as HeadKind);
    outcome(() => createLoss(h.loss ?? allowed[0], allowed, h.lossOptions ?? {}, `head "${h.name}"`), 'createLoss');
  }
  return strategy.ok ? 'ok' : 'error';
}

describe('fuzz: configuration validation', { timeout: 120_000 }, () => {
  const t0 = performance.now();
  const seen = { ok: 0, error: 0 };
  before(async () => {
    await useDefaultBackend();
  });

  it('the base configuration is valid', () => {
    assert.equal(validate(BASE), 'ok');
  });

  it('random values as a configuration', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }), fc.dictionary(fc.constantFrom(...Object.keys(BASE)), valueArb)), (value) => {
        count('random');
        seen[validate(value)]++;
      }),
      { numRuns: runs(2500), seed: SEED + 20 },
    );
  });

  it('a valid configuration with 1–4 keys replaced, deleted or added', () => {
    fc.assert(
      fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (ms) => {
        count('mutated');
        seen[validate(ms.reduce<unknown>((c, m) => mutate(c, m), BASE))]++;
      }),
      { numRuns: runs(5000), seed: SEED + 21 },
    );
  });

  it('every balancing method with random options and modes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...BALANCING_METHODS, 'Static', 'none', ''),
        fc.dictionary(fc.constantFrom(...OPTION_NAMES), valueArb, { maxKeys: 3 }),
        fc.integer({ min: 1, max: 4 }),
        (method, options, nHeads) => {
          count('balance');
          const config = { ...BASE, targets: BASE.targets.slice(0, nHeads), balance: { ...options, method } };
          seen[validate(config)]++;
        },
      ),
      { numRuns: runs(2500), seed: SEED + 22 },
    );
  });

  it('configuration files: YAML / JSON text, random and mutated', (t) => {
    const dir = tempDir('multiloss-fuzz-config-');
    const yamlText = stringify(BASE);
    const jsonText = JSON.stringify(BASE, null, 1);
    const chars = fc.constantFrom(':', ' ', '\n', '-', '{', '}', '[', ']', '"', "'", '&', '*', '!', '#', '|', '>', 'a', '1', '.', ',', '\t', '?', '%', '@', '`', '<<');
    let n = 0;
    // The yaml package reports some problems (unresolved tags, ambiguous aliases) as process
    // warnings, not errors: counted here rather than printed (see docs/reliability.md).
    let warnings = 0;
    const emitWarning = process.emitWarning;
    process.emitWarning = (() => void warnings++) as typeof process.emitWarning;
    t.after(() => {
      process.emitWarning = emitWarning;
      process.stderr.write(`fuzz configuration: ${warnings} YAML warnings (printed, not errors, by readConfigFile)\n`);
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.constant(yamlText), fc.array(editArb(chars), { minLength: 1, maxLength: 4 })).map(([t, e]) => applyEdits(t, e)),
          fc.tuple(fc.constant(jsonText), fc.array(editArb(chars), { minLength: 1, maxLength: 4 })).map(([t, e]) => applyEdits(t, e)),
          fc.string({ unit: chars, maxLength: 60 }),
          fc.constantFrom('a: &a [1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n', '!!binary AAAA', '--- !!set\n? a\n', 'targets: !!js/function "function () {}"'),
        ),
        (text) => {
          count('files');
          const path = join(dir, `c${n++ % 20}.yaml`);
          writeFileSync(path, text);
          const read = outcome(() => readConfigFile(path), 'readConfigFile');
          if (read.ok) seen[validate(read.value)]++;
        },
      ),
      { numRuns: runs(1500), seed: SEED + 23 },
    );
  });

  it('summary', () => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    summary('configuration', counts, performance.now() - t0);
    process.stderr.write(`fuzz configuration: ${seen.ok} valid, ${seen.error} rejected with a MultilossError\n`);
    assert.ok(total >= runs(10_000), `${total} cases`);
  });
});
