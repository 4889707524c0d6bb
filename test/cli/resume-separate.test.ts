import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, cliWithSignal, PENGUINS, savedWeights as weights, tempDir } from '../helpers.js';

// The pattern of resume.test.ts (joint), for approach: separate: two sub-models trained in sequence.
const dir = tempDir();
const config = join(dir, 'separate.yaml');
writeFileSync(
  config,
  `data: ${PENGUINS}
approach: separate
missingValues: ["."]
features: [Island, Beak Length (mm), Beak Depth (mm), Flipper Length (mm)]
targets:
  - { name: species, column: Species, kind: classification }
  - { name: sex, column: Sex, kind: binary }
validation: { split: 0.25 }
model: { trunk: [{ units: 256, dropout: 0.1 }, { units: 256 }] }
training: { epochs: 30, batchSize: 16, seed: 3, learningRate: 0.002, schedule: cosine }
`,
);
const SUBDIRS = ['0-species', '1-sex'];

function assertSameModels(a: string, b: string): void {
  for (const sub of SUBDIRS) {
    const x = weights(join(a, sub));
    const y = weights(join(b, sub));
    assert.equal(x.length, y.length);
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= 1e-6 * Math.max(1, Math.abs(x[i])), `${sub} weight ${i}: ${x[i]} vs ${y[i]}`);
  }
}

/** Starts training and sends `signal` once sub-model `model` (1-based) has logged the given epoch. */
function trainAndSignal(out: string, signal: NodeJS.Signals, model: number, afterEpoch: number): Promise<{ code: number | null; stderr: string }> {
  return cliWithSignal(['train', '--config', config, '--out', out], signal, (stderr) => {
    const at = stderr.indexOf(`model ${model}/2:`);
    return at >= 0 && new RegExp(`^epoch ${afterEpoch}/`, 'm').test(stderr.slice(at));
  });
}

describe('CLI: interrupt and resume separate models', () => {
  const straight = join(dir, 'straight');
  it('an uninterrupted reference run (no checkpoint directory left behind)', () => {
    const r = cli(['train', '--config', config, '--out', straight, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(existsSync(`${straight}.checkpoints`), false);
  });

  for (const [signal, code, model] of [
    ['SIGINT', 130, 2],
    ['SIGTERM', 143, 1],
  ] as const) {
    it(`${signal} in model ${model} of 2: checkpoint, exit ${code}, the command that resumes; --resume skips finished models and ends with the uninterrupted weights`, async () => {
      const out = join(dir, `int-${signal}`);
      const r = await trainAndSignal(out, signal, model, 3);
      assert.equal(r.code, code, r.stderr);
      const head = model === 1 ? 'species' : 'sex';
      assert.match(
        r.stderr,
        new RegExp(
          `${signal}: training interrupted in model ${model} of 2 \\(head "${head}"\\) after epoch \\d+ \\(a checkpoint was written\\); resume with: multiloss train --resume \\S+int-${signal}\\.checkpoints\\n$`,
        ),
      );
      assert.equal(existsSync(out), false, 'no model written for an interrupted run');
      const ck = `${out}.checkpoints`;
      assert.ok(existsSync(join(ck, 'separate.json')));
      if (model === 2) assert.deepEqual(readdirSync(join(ck, '0-species')), ['model'], 'the finished first model is kept');
      assert.ok(existsSync(join(ck, SUBDIRS[model - 1], 'last', 'trainer.json')), 'the interrupted model has its checkpoint');
      const resumed = cli(['train', '--resume', ck]);
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.match(resumed.stderr, new RegExp(`resuming: ${model - 1} of 2 models trained, model ${model} continues after epoch \\d+`));
      // Only the unfinished models train again.
      assert.equal((resumed.stderr.match(/^model \d\/2: head/gm) ?? []).length, 3 - model);
      assertSameModels(straight, out);
    });
  }

  it('--resume with a different configuration says what differs', () => {
    const other = join(dir, 'other.yaml');
    writeFileSync(other, readFileSync(config, 'utf8').replace('epochs: 30', 'epochs: 31').replace('learningRate: 0.002', 'learningRate: 0.003'));
    const r = cli(['train', '--resume', `${join(dir, 'int-SIGINT')}.checkpoints`, '--config', other]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr.trim(),
      /^multiloss: --resume \S+: the checkpoint belongs to a different configuration: training\.epochs: 31 here, 30 in the checkpoint; training\.optimizer\.learningRate: 0\.003 here, 0\.002 in the checkpoint$/,
    );
  });

  it('--resume of a separate-models checkpoint with a joint configuration says so', () => {
    const joint = join(dir, 'joint.yaml');
    writeFileSync(joint, readFileSync(config, 'utf8').replace('approach: separate', 'approach: joint'));
    const r = cli(['train', '--resume', `${join(dir, 'int-SIGINT')}.checkpoints`, '--config', joint]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr.trim(),
      /^multiloss: --resume \S+: the checkpoint belongs to a different configuration: approach: "joint" here, "separate" in the checkpoint$/,
    );
  });
});
