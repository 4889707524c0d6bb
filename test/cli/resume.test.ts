import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, cliWithSignal, PENGUINS, savedWeights as weights, tempDir } from '../helpers.js';

const dir = tempDir();
// A trunk wide enough that an epoch takes a visible moment, so a signal lands mid-run.
const config = join(dir, 'slow.yaml');
writeFileSync(
  config,
  `data: ${PENGUINS}
missingValues: ["."]
features: [Island, Beak Length (mm), Beak Depth (mm), Flipper Length (mm)]
targets:
  - { name: species, column: Species, kind: classification }
  - { name: sex, column: Sex, kind: binary }
validation: { split: 0.25 }
model: { trunk: [{ units: 384, dropout: 0.1 }, { units: 384 }] }
training: { epochs: 40, batchSize: 16, seed: 3, learningRate: 0.002, schedule: cosine }
balance: { method: uncertainty }
`,
);

/** Starts training and sends `signal` once the given epoch has been logged. */
function trainAndSignal(out: string, signal: NodeJS.Signals, afterEpoch: number): Promise<{ code: number | null; stderr: string }> {
  return cliWithSignal(['train', '--config', config, '--out', out], signal, (stderr) => new RegExp(`^epoch ${afterEpoch}/`, 'm').test(stderr));
}

describe('CLI: interrupt and resume', () => {
  const straight = join(dir, 'straight');
  it('an uninterrupted reference run', () => {
    const r = cli(['train', '--config', config, '--out', straight, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal}: finishes the step, writes a checkpoint, exits ${code}; --resume ends with the uninterrupted weights`, async () => {
      const out = join(dir, `int-${signal}`);
      const r = await trainAndSignal(out, signal, 3);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, new RegExp(`${signal}: training interrupted after epoch \\d+ \\(a checkpoint was written\\); resume with: multiloss train --resume \\S+int-${signal}\\.checkpoints`));
      assert.equal(existsSync(out), false, 'no model written for an interrupted run');
      const resumed = cli(['train', '--resume', `${out}.checkpoints`, '--quiet']);
      assert.equal(resumed.status, 0, resumed.stderr);
      const a = weights(straight);
      const b = weights(out);
      assert.equal(a.length, b.length);
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-6 * Math.max(1, Math.abs(a[i])), `weight ${i}: ${a[i]} vs ${b[i]}`);
    });
  }

  it('--resume on a directory that is not a checkpoint', () => {
    const r = cli(['train', '--resume', dir]);
    assert.equal(r.status, 2);
    assert.match(r.stderr.trim(), /^multiloss: \S+ is not a checkpoint: no trainer\.json in it or in \S+last$/);
  });

  it('--resume with a different configuration says what differs', () => {
    const other = join(dir, 'other.yaml');
    writeFileSync(other, readFileSync(config, 'utf8').replace('epochs: 40', 'epochs: 41').replace('seed: 3', 'seed: 4'));
    const r = cli(['train', '--resume', `${join(dir, 'int-SIGINT')}.checkpoints`, '--config', other]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trim(), /^multiloss: --resume \S+: the checkpoint belongs to a different configuration: training\.epochs: 41 here, 40 in the checkpoint; training\.seed: 4 here, 3 in the checkpoint$/);
  });
});
