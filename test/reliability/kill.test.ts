/**
 * Crash safety: a training process killed with SIGKILL at 10 seeded-random
 * moments loses nothing. After each kill the last checkpoint (if one was
 * written yet) loads, `--resume` completes the run, the final weights equal an
 * uninterrupted run's, and the final model predicts. Slow (about a minute of CPU).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/io/model-dir.js';
import { cli, PENGUINS, penguins, ROOT, savedWeights as weights, tempDir, useDefaultBackend } from '../helpers.js';

const KILLS = 10;
const SEED = 20_240_611;
const EPOCHS = 16;

const dir = tempDir('multiloss-kill-');
const config = join(dir, 'kill.yaml');
writeFileSync(
  config,
  `data: ${PENGUINS}
missingValues: ["."]
features: [Island, Beak Length (mm), Beak Depth (mm), Flipper Length (mm)]
targets:
  - { name: species, column: Species, kind: classification }
  - { name: sex, column: Sex, kind: binary }
  - { name: body_mass_g, column: Body Mass (g), kind: regression }
validation: { split: 0.25 }
model: { trunk: [{ units: 192, dropout: 0.1 }, { units: 96 }] }
training: { epochs: ${EPOCHS}, batchSize: 16, seed: 5, learningRate: 0.003, schedule: cosine }
`,
);

/** mulberry32: a small seeded generator, so the kill moments are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Kill {
  /** Kill once this epoch's line is logged (0: counted from the start of the process). */
  afterEpoch: number;
  delayMs: number;
}

/** Starts training and SIGKILLs it at the given moment; resolves once the process is gone. */
function trainAndKill(out: string, kill: Kill): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'train', '--config', config, '--out', out, '--checkpoint-every', '1'],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } },
    );
    let stderr = '';
    let armed = false;
    const arm = () => {
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), kill.delayMs);
    };
    if (kill.afterEpoch === 0) arm();
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!armed && new RegExp(`^epoch ${kill.afterEpoch}/`, 'm').test(stderr)) arm();
    });
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('SIGKILL during training: the last checkpoint loads and --resume completes the run', { timeout: 240_000 }, () => {
  const reference = join(dir, 'reference');
  const outcomes: string[] = [];
  before(async () => {
    await useDefaultBackend();
    const r = cli(['train', '--config', config, '--out', reference, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => {
    const survived = outcomes.filter((o) => o.startsWith('survived')).length;
    process.stderr.write(`kill test: ${survived}/${KILLS} kills survived\n${outcomes.map((o, i) => `  kill ${i + 1}: ${o}`).join('\n')}\n`);
    rmSync(dir, { recursive: true, force: true });
  });

  const random = rng(SEED);
  const kills: Kill[] = Array.from({ length: KILLS }, () => {
    // Epoch 0 = during start-up or the first epoch; otherwise right after an epoch's line,
    // which is when its checkpoint is being written.
    const afterEpoch = Math.floor(random() * (EPOCHS - 1));
    return { afterEpoch, delayMs: Math.floor(random() * (afterEpoch === 0 ? 2500 : 250)) };
  });

  kills.forEach((kill, i) => {
    it(`kill ${i + 1}: ${kill.afterEpoch === 0 ? `${kill.delayMs} ms after start` : `${kill.delayMs} ms after epoch ${kill.afterEpoch}`}`, async () => {
      const out = join(dir, `run-${i + 1}`);
      const ckDir = `${out}.checkpoints`;
      const killed = await trainAndKill(out, kill);
      if (killed.signal !== 'SIGKILL') {
        // The kill came too late (the run had finished): nothing to recover, but the run must have succeeded.
        assert.equal(killed.code, 0, killed.stderr);
        outcomes.push('survived (finished before the kill)');
        return;
      }
      if (existsSync(out)) {
        // Killed after the final model was renamed into place (while the process was exiting):
        // the save is complete, so the model must load and predict.
        const model = await loadModel(out);
        const p = model.predict([{ Island: 'Dream', 'Beak Length (mm)': 40, 'Beak Depth (mm)': 18, 'Flipper Length (mm)': 190 }]);
        assert.ok(Number.isFinite(p[0].body_mass_g as number));
        model.dispose();
        outcomes.push('survived (killed after the final save)');
        return;
      }
      const last = join(ckDir, 'last');
      let resumedFrom = 'no checkpoint yet';
      if (existsSync(last)) {
        // The last checkpoint is whole: it loads and predicts like any model.
        const model = await loadModel(last);
        const trainer = JSON.parse(readFileSync(join(last, 'trainer.json'), 'utf8')) as { state: { epoch: number } };
        resumedFrom = `resumed after epoch ${trainer.state.epoch}`;
        const p = model.predict([{ Island: 'Dream', 'Beak Length (mm)': 40, 'Beak Depth (mm)': 18, 'Flipper Length (mm)': 190 }]);
        assert.ok(Number.isFinite(p[0].body_mass_g as number));
        model.dispose();
        const r = cli(['train', '--resume', ckDir, '--quiet']);
        assert.equal(r.status, 0, r.stderr);
      } else {
        // Killed before the first checkpoint: nothing was lost but start-up; start again.
        assert.ok(!existsSync(ckDir) || readdirSync(ckDir).every((f) => f.includes('.tmp-')), `unexpected checkpoint files: ${existsSync(ckDir) ? readdirSync(ckDir).join(', ') : ''}`);
        const r = cli(['train', '--config', config, '--out', out, '--checkpoint-every', '1', '--quiet']);
        assert.equal(r.status, 0, r.stderr);
      }
      // Nothing was lost: the weights are the uninterrupted run's.
      const a = weights(reference);
      const b = weights(out);
      assert.equal(a.length, b.length);
      for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k] - b[k]) <= 1e-6 * Math.max(1, Math.abs(a[k])), `weight ${k}: ${a[k]} vs ${b[k]}`);
      // And the final model predicts every row, with finite numbers.
      const final = await loadModel(out);
      const predictions = final.predict(penguins());
      final.dispose();
      assert.equal(predictions.length, 344);
      assert.ok(predictions.every((p) => Number.isFinite(p.body_mass_g as number)));
      assert.ok(!/null|NaN|Infinity/.test(JSON.stringify(predictions)));
      outcomes.push(`survived (${resumedFrom})`);
    });
  });
});
