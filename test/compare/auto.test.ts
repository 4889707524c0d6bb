import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { autoBalance, type AutoBalanceResult } from '../../src/compare/auto/auto-balance.js';
import { halvingSchedule } from '../../src/compare/auto/schedule.js';
import { compare, deltaM, deltaMReference, SEPARATE, type CompareResult } from '../../src/compare/compare.js';
import { assertRefused, cli, PENGUINS_CONFIG, tempDir, useDefaultBackend } from '../helpers.js';
import { noiseHeadConfig, noiseHeadTable } from './constructed.js';

// The constructed problem (constructed.ts): head `noise` is pure noise, so the less weight on it the
// better both heads do on held-out rows; {signal 1.9, noise 0.1} is the best of these three.
const CANDIDATES = [
  { signal: 1, noise: 1 },
  { signal: 0.1, noise: 1.9 },
  { signal: 1.9, noise: 0.1 },
];
const BEST = 2;

describe('tuned-static on a constructed problem whose best weights are known', () => {
  let result: CompareResult;
  before(async () => {
    await useDefaultBackend();
    result = await compare(noiseHeadConfig(40), { table: noiseHeadTable() }, { methods: ['equal'], seeds: 2, workers: 0, tunedStatic: { candidates: CANDIDATES } });
  });
  it('tries every weight vector, logs its validation Δm and metrics, and chooses the known-best one', () => {
    const t = result.tunedStatic;
    assert.ok(t);
    assert.deepEqual(
      t.trials.map((x) => x.weights),
      CANDIDATES,
    );
    assert.equal(t.chosen, BEST);
    assert.deepEqual(t.weights, CANDIDATES[BEST]);
    // Each trial's Δm is its logged metrics against the separate models' mean.
    const reference = deltaMReference(result.heads, result.runs);
    for (const trial of t.trials) {
      const own = deltaM(
        reference.heads.map((h) => trial.heads[h.name]),
        reference.heads.map((h) => h.value),
        reference.heads.map((h) => h.higherIsBetter),
      );
      assert.ok(Math.abs(own - trial.deltaM) < 1e-9);
    }
    assert.ok(t.trials[BEST].deltaM > Math.max(t.trials[0].deltaM, t.trials[1].deltaM) + 1, JSON.stringify(t.trials.map((x) => x.deltaM)));
  });
  it('adds a tuned-static row trained on every seed with the chosen weights; its first seed is the chosen trial, taken over', () => {
    assert.deepEqual(
      result.rows.map((r) => r.label),
      [SEPARATE, 'equal', 'tuned-static'],
    );
    const runs = result.runs.filter((r) => r.label === 'tuned-static');
    assert.deepEqual(
      runs.map((r) => r.seed),
      result.seeds,
    );
    assert.equal(runs[0].key, result.tunedStatic?.trials[BEST].key);
    // Taken over, not trained again: the trial's own wall-clock time.
    assert.equal(runs[0].seconds, result.tunedStatic?.trials[BEST].seconds);
    assert.notEqual(runs[1].key, runs[0].key);
    const row = result.rows.find((r) => r.label === 'tuned-static');
    assert.equal(row?.deltaM.values[0], result.tunedStatic?.trials[BEST].deltaM);
  });
});

describe('autoBalance on the constructed problem', () => {
  let first: AutoBalanceResult;
  let again: AutoBalanceResult;
  const options = { methods: ['equal', 'dwa'], eta: 2, seeds: 1, tunedStatic: { candidates: CANDIDATES } };
  before(async () => {
    await useDefaultBackend();
    first = await autoBalance(noiseHeadConfig(40), { table: noiseHeadTable() }, { ...options, workers: 0 });
    // The same selection on the worker-thread pool.
    again = await autoBalance(noiseHeadConfig(40), { table: noiseHeadTable() }, { ...options, workers: 2 });
  });
  it('chooses tuned-static with the known-best weights and trains it on the full budget', () => {
    assert.equal(first.chosen.label, 'tuned-static');
    assert.deepEqual(first.chosen.balance, { method: 'static', weights: CANDIDATES[BEST] });
    assert.deepEqual(
      first.final.rows.map((r) => r.label),
      [SEPARATE, 'tuned-static'],
    );
    assert.ok(first.final.runs.every((r) => r.epochs === (r.approach === 'separate' ? 80 : 40)));
  });
  it('follows the schedule: every rung, its budget, its candidates ranked by validation Δm, the best promoted', () => {
    const schedule = halvingSchedule({ candidates: 3, eta: 2, maxEpochs: 40 });
    assert.deepEqual(
      first.rungs.map((r) => [r.epochs, r.rows.length, r.promoted.length]),
      schedule.map((s) => [s.epochs, s.candidates, s.keep]),
    );
    for (const rung of first.rungs) {
      const deltas = rung.rows.map((r) => r.deltaM.mean);
      assert.deepEqual(
        deltas,
        [...deltas].sort((a, b) => b - a),
      );
      assert.deepEqual(
        rung.rows.filter((r) => r.promoted).map((r) => r.label),
        rung.promoted,
      );
      assert.deepEqual(
        rung.rows.map((r) => r.rank),
        rung.rows.map((_, i) => i + 1),
      );
      assert.ok(rung.rows.every((r) => r.epochs === rung.epochs));
    }
    assert.deepEqual(
      first.rungs[1].rows.map((r) => r.label).sort(),
      [...first.rungs[0].promoted].sort(),
    );
    // The tuned-static search ran at the first rung's budget: its chosen trial is the rung's figure.
    assert.equal(first.tunedStatic?.epochs, first.rungs[0].epochs);
    assert.equal(first.rungs[0].rows.find((r) => r.label === 'tuned-static')?.deltaM.mean, first.tunedStatic?.trials[BEST].deltaM);
    assert.match(first.reasons.lines.join('\n'), /Chosen: tuned-static \(static weights signal 1\.9, noise 0\.1\)/);
    assert.match(first.reasons.lines.join('\n'), /Gradient conflict: not measured/);
  });
  it('is deterministic: the same rung tables and choice in this thread and on the pool', () => {
    const table = (r: AutoBalanceResult) => r.rungs.map((x) => x.rows.map((y) => [y.label, y.deltaM.values, y.promoted]));
    assert.deepEqual(table(again), table(first));
    assert.deepEqual(again.chosen, first.chosen);
    assert.deepEqual(
      again.final.rows.map((r) => r.deltaM.values),
      first.final.rows.map((r) => r.deltaM.values),
    );
  });
  it('counts its cost against the full sweep of the same candidates', () => {
    // Full sweep: separate (2 heads × 40) + equal, dwa, 3 trials on 40 epochs; auto: rungs of 10 and 20 epochs, then 40.
    assert.deepEqual(first.cost.fullSweep, { runs: 6, epochs: 80 + 5 * 40 });
    assert.equal(first.cost.plannedEpochs, 80 + 3 * 10 + 2 * 10 + 2 * 20 + 40);
    assert.equal(first.cost.epochs, first.cost.plannedEpochs);
  });
});

describe('multiloss compare --auto and --tuned-static on penguins (fast settings)', () => {
  const dir = tempDir();
  const json = join(dir, 'auto.json');
  const html = join(dir, 'auto.html');
  let run: ReturnType<typeof cli>;
  before(() => {
    run = cli([
      'compare', '--config', PENGUINS_CONFIG, '--auto', '--methods', 'equal,pcgrad', '--epochs', '6', '--seeds', '2', '--tuned-static-trials', '2',
      '--workers', '2', '--backend', 'wasm', '--quiet', '--json', json, '--report', html,
    ]);
  });
  it('prints every rung, the final table, why it chose and the cost; writes the JSON and the HTML report', () => {
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '');
    const out = JSON.parse(readFileSync(json, 'utf8')) as AutoBalanceResult & { format: string };
    assert.equal(out.format, 'multiloss-auto');
    // equal, pcgrad:param, pcgrad:rep, tuned-static: 4 → 2 → 1 on 1 and 2 epochs (6 / 3²).
    assert.deepEqual(
      out.candidates.map((c) => c.label),
      ['equal', 'pcgrad:param', 'pcgrad:rep', 'tuned-static'],
    );
    assert.deepEqual(
      out.rungs.map((r) => [r.epochs, r.rows.length, r.promoted.length]),
      [
        [1, 4, 2],
        [3, 2, 1],
      ],
    );
    assert.equal(out.chosen.label, out.rungs[1].promoted[0]);
    assert.deepEqual(
      out.final.rows.map((r) => r.label),
      [SEPARATE, out.chosen.label],
    );
    assert.deepEqual(out.final.seeds, [4, 5]);
    assert.equal(out.tunedStatic?.trials.length, 2);
    // pcgrad's runs measured the heads' gradient conflict: one figure per pair of the 3 heads.
    assert.deepEqual(out.reasons.conflict?.measuredBy, ['pcgrad:param', 'pcgrad:rep']);
    assert.equal(out.reasons.conflict?.pairs.length, 3);
    assert.equal(out.reasons.costs.length, 4);
    for (const text of ['Rung 1: 4 candidates, 1 epochs, seed 4', 'Rung 2: 2 candidates, 3 epochs', `Chosen: ${out.chosen.label}`, 'Gradient conflict (first rung', 'Cost per step', 'the full sweep of the same 4 candidates on 2 seeds', 'tuned-static search'])
      assert.ok(run.stdout.includes(text), `${text}\n${run.stdout}`);
    const page = readFileSync(html, 'utf8');
    for (const text of ['Rung 1: 4 candidates', 'Gradient conflict (first rung)', 'Cost per training step', 'tuned-static: the weight vectors tried', '<svg']) assert.ok(page.includes(text), text);
  });
});

describe('compare --tuned-static through the CLI, and when it is on', () => {
  const dir = tempDir();
  it('adds the row and logs every trial (JSON, text, HTML)', () => {
    const json = join(dir, 'c.json');
    const html = join(dir, 'c.html');
    const r = cli(['compare', '--config', PENGUINS_CONFIG, '--methods', 'equal', '--tuned-static', '--tuned-static-trials', '3', '--epochs', '2', '--seeds', '2', '--workers', '0', '--backend', 'wasm', '--quiet', '--json', json, '--report', html]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(readFileSync(json, 'utf8')) as CompareResult;
    assert.deepEqual(
      out.rows.map((x) => x.label),
      [SEPARATE, 'equal', 'tuned-static'],
    );
    const t = out.tunedStatic;
    assert.ok(t);
    assert.equal(t.trials.length, 3);
    const best = Math.max(...t.trials.map((x) => x.deltaM));
    assert.equal(t.trials[t.chosen].deltaM, best);
    assert.equal(t.trials.findIndex((x) => x.deltaM === best), t.chosen);
    assert.match(r.stdout, /joint tuned-static/);
    assert.match(r.stdout, /tuned-static: static weights species [\d.]+, sex [\d.]+, body_mass_g [\d.]+, the best validation Δm/);
    assert.match(r.stdout, /\d \(chosen\)/);
    assert.ok(readFileSync(html, 'utf8').includes('tuned-static: the weight vectors tried'));
  });
  it('is on by default with the default methods, off for chosen methods unless asked, off with --no-tuned-static', () => {
    const line = /then tuned-static: 8 weight vectors, each trained with seed 4 for 120 epochs/;
    assert.match(cli(['compare', '--config', PENGUINS_CONFIG, '--dry-run']).stdout, line);
    assert.doesNotMatch(cli(['compare', '--config', PENGUINS_CONFIG, '--dry-run', '--methods', 'equal']).stdout, /tuned-static/);
    assert.match(cli(['compare', '--config', PENGUINS_CONFIG, '--dry-run', '--methods', 'equal', '--tuned-static-trials', '4']).stdout, /then tuned-static: 4 weight vectors/);
    assert.doesNotMatch(cli(['compare', '--config', PENGUINS_CONFIG, '--dry-run', '--no-tuned-static']).stdout, /tuned-static/);
  });
});

describe('compare --auto / --tuned-static: bad options are one line, exit code 2, nothing written', () => {
  const dir = tempDir();
  const out = join(dir, 'x.json');
  const bad = (args: string[], pattern: RegExp) => {
    assertRefused(cli(['compare', '--config', PENGUINS_CONFIG, '--json', out, ...args]), pattern);
    assert.deepEqual(readdirSync(dir), []);
  };
  it('refuses each', () => {
    bad(['--auto', '--auto-eta', '1'], /--auto-eta must be a whole number ≥ 2/);
    bad(['--auto', '--auto-eta', '2.5'], /--auto-eta must be a whole number ≥ 1/);
    bad(['--auto-eta', '3'], /--auto-eta: only with --auto/);
    bad(['--auto', '--grid', join(dir, 'g.yaml')], /--auto with --grid/);
    bad(['--auto', '--modes', 'param,sideways'], /--modes: unknown gradient mode "sideways"; valid modes: param, rep/);
    bad(['--auto', '--epochs', '5', '--auto-min-epochs', '6'], /--auto-min-epochs 6: more than --epochs 5/);
    bad(['--auto', '--methods', 'equal:rep'], /--methods: "equal:rep": expected METHOD or METHOD:MODE/);
    bad(['--no-tuned-static', '--tuned-static-trials', '3'], /--tuned-static-trials with --no-tuned-static/);
    bad(['--tuned-static-trials', '0'], /--tuned-static-trials must be a whole number ≥ 1/);
    bad(['--tuned-static', '--approaches', 'joint'], /tuned-static: the weights are chosen by Δm against the separate models/);
    assert.equal(existsSync(out), false);
  });
});
