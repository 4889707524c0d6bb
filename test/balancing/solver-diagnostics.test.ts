import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { readConfigFile } from '../../src/io/config-file.js';
import { trainFromConfig } from '../../src/io/train-from-config.js';
import { MultilossError } from '../../src/errors.js';
import { PENGUINS_CONFIG, useDefaultBackend } from '../helpers.js';

// Each method's solver tolerance (docs/aggregation.md): the residual the history may show.
const TOLERANCE: Record<string, number> = { nash: 1e-10, mgda: 1e-9, cagrad: 1e-9, upgrad: 1e-9, imtl: 1e-14, aligned: 1e-14, dualproj: 1e-9, config: 1e-14, fairgrad: 1e-10 };

async function history(balance: Record<string, unknown>) {
  const config = readConfigFile(PENGUINS_CONFIG);
  config.training = { ...(config.training as object), epochs: 3 };
  config.balance = balance;
  const model = await trainFromConfig(config);
  const h = model.meta.history;
  model.dispose();
  return h;
}

describe('solver figures in the per-epoch diagnostics (penguins)', () => {
  before(useDefaultBackend);

  for (const [method, mode] of [
    ['nash', 'param'],
    ['mgda', 'rep'],
    ['cagrad', 'param'],
    ['upgrad', 'param'],
    ['imtl', 'rep'],
    ['aligned', 'param'],
    ['dualproj', 'param'],
    ['config', 'rep'],
    ['fairgrad', 'rep'],
  ] as const) {
    it(`${method} (${mode}): every epoch records its solver's iterations and residual over all steps`, async () => {
      const epochs = await history({ method, mode });
      assert.equal(epochs.length, 3);
      for (const e of epochs) {
        const s = e.diagnostics?.solver;
        assert.ok(s, `epoch ${e.epoch}: no solver figures`);
        assert.ok(s.steps >= 1, `epoch ${e.epoch}: ${s.steps} steps`);
        assert.ok(s.iterations.mean <= s.iterations.max && s.iterations.max >= 0 && Number.isInteger(s.iterations.max));
        assert.ok(s.residual.mean <= s.residual.max && s.residual.max <= TOLERANCE[method], `epoch ${e.epoch}: residual ${s.residual.max}`);
      }
      // Newton, the root search and the eigen-sweeps always iterate on real gradients.
      if (method !== 'mgda' && method !== 'upgrad' && method !== 'dualproj') assert.ok(epochs.every((e) => (e.diagnostics?.solver?.iterations.max ?? 0) >= 1));
    });
  }

  it('a solver that misses its tolerance stops training with a one-line error naming method, step and residual', async () => {
    await assert.rejects(
      history({ method: 'nash', mode: 'param', maxIter: 1 }),
      (e: unknown) =>
        e instanceof MultilossError &&
        e.kind === 'training' &&
        !e.message.includes('\n') &&
        /aggregator 'nash': Newton's method .* did not converge: residual \S+ > tolerance \S+ after 1 iterations/.test(e.message),
    );
  });

  it('a method without an iterative solver (pcgrad) records none', async () => {
    const epochs = await history({ method: 'pcgrad', mode: 'param' });
    for (const e of epochs) {
      assert.ok(e.diagnostics, 'gradient diagnostics are recorded');
      assert.equal(e.diagnostics.solver, undefined);
    }
  });
});
