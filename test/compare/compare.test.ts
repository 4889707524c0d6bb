import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { compare, compareSplit, deltaM, runConfig, seedStat, SEPARATE, type CompareResult } from '../../src/compare/compare.js';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolve.js';
import { readConfigFile } from '../../src/io/config-file.js';
import type { MultiOutputModel } from '../../src/model/multi-output.js';
import { MultilossModel } from '../../src/model/multiloss-model.js';
import { meanUpdate, type HeadUpdate } from '../../src/training/diagnostics.js';
import { fitModel } from '../../src/training/fit.js';
import { fitSeparate } from '../../src/training/fit-separate.js';
import { cli, penguins, PENGUINS_CONFIG, tempDir, useDefaultBackend } from '../helpers.js';

const EPOCHS = 4;
const METHODS = ['equal', 'famo', 'pcgrad'];
const HEADS = [
  { name: 'species', metric: 'accuracy', higher: true },
  { name: 'sex', metric: 'accuracy', higher: true },
  { name: 'body_mass_g', metric: 'rmse', higher: false },
];

function penguinsConfig(): ResolvedConfig {
  const raw = readConfigFile(PENGUINS_CONFIG);
  raw.training = { ...(raw.training as object), epochs: EPOCHS };
  return resolveConfig(parseConfig(raw));
}

/** The validation metric of every head of an individually trained model. */
function metricsOf(model: MultiOutputModel): number[] {
  const v = model.info().metrics.validation;
  assert.ok(v);
  return HEADS.map((h) => v.heads[h.name].metrics[h.metric]);
}

describe('compare on penguins: 2 seeds × (separate + 3 methods), on worker threads', () => {
  const config = penguinsConfig();
  const dir = tempDir();
  let result: CompareResult;
  /** label → per seed → metric per head, from runs made directly with fitModel / fitSeparate. */
  const direct = new Map<string, number[][]>();
  /** label → per seed → the run's update figures (gradient methods), from the same direct runs. */
  const directUpdates = new Map<string, (Record<string, HeadUpdate> | undefined)[]>();

  before(async () => {
    await useDefaultBackend();
    result = await compare(config, { table: penguins() }, { methods: METHODS, seeds: 2, backend: 'wasm' });
    // The same runs, one by one in this thread, straight through fitModel / fitSeparate.
    const data = compareSplit(config, { table: penguins() });
    for (const label of [SEPARATE, ...METHODS]) {
      const perSeed: number[][] = [];
      for (const seed of [4, 5]) {
        const input = { table: data.train, validation: data.validation };
        const model =
          label === SEPARATE
            ? await fitSeparate(runConfig(config, { approach: 'separate' }, seed), input)
            : await fitModel(runConfig(config, { approach: 'joint', method: label }, seed), input);
        assert.equal(model.info().approach, label === SEPARATE ? 'separate' : 'joint');
        if (label !== SEPARATE) assert.equal(model.info().balance.method, label);
        perSeed.push(metricsOf(model));
        directUpdates.set(label, [...(directUpdates.get(label) ?? []), model instanceof MultilossModel ? meanUpdate(model.meta.history) : undefined]);
        model.dispose();
      }
      direct.set(label, perSeed);
    }
  });

  it('runs every (configuration, seed) once on the same split', () => {
    assert.deepEqual(result.seeds, [4, 5]);
    assert.deepEqual(
      result.rows.map((r) => r.label),
      [SEPARATE, ...METHODS],
    );
    assert.equal(result.runs.length, 8);
    assert.equal(result.split.train + result.split.validation, 344);
    assert.ok(result.workers >= 1);
    assert.deepEqual(
      result.heads.map((h) => [h.name, h.metric, h.higherIsBetter]),
      HEADS.map((h) => [h.name, h.metric, h.higher]),
    );
  });

  it('every figure of the table equals those of the individual runs with the same seeds', () => {
    for (const row of result.rows) {
      const runs = direct.get(row.label) as number[][];
      HEADS.forEach((h, t) => {
        const values = runs.map((r) => r[t]);
        assert.deepEqual(row.heads[h.name].values, values, `${row.label} ${h.name}`);
        const { mean, std } = seedStat(values);
        assert.equal(row.heads[h.name].mean, mean);
        assert.equal(row.heads[h.name].std, std);
        // Sample std of two values: |a − b| / √2.
        assert.ok(Math.abs(std - Math.abs(values[0] - values[1]) / Math.SQRT2) < 1e-12);
      });
      // Δm per seed against the separate models' mean metrics.
      const reference = HEADS.map((_, t) => seedStat((direct.get(SEPARATE) as number[][]).map((r) => r[t])).mean);
      const perSeed = runs.map((r) =>
        deltaM(
          r,
          reference,
          HEADS.map((h) => h.higher),
        ),
      );
      assert.deepEqual(row.deltaM.values, perSeed);
      // Its mean is Δm of the mean metrics.
      const ofMeans = deltaM(
        HEADS.map((h) => row.heads[h.name].mean),
        reference,
        HEADS.map((h) => h.higher),
      );
      assert.ok(Math.abs(row.deltaM.mean - ofMeans) < 1e-9, `${row.deltaM.mean} vs ${ofMeans}`);
    }
    assert.ok(Math.abs(result.rows[0].deltaM.mean) < 1e-9, 'Δm of the separate models against themselves is 0');
  });

  it("a gradient method's row carries each head's update figures over seeds, equal to the individual runs'; other rows none", () => {
    for (const row of result.rows) {
      const runs = directUpdates.get(row.label) ?? [];
      if (row.label !== 'pcgrad') {
        assert.equal(row.update, undefined, row.label);
        continue;
      }
      assert.ok(row.update, 'pcgrad records update figures');
      let shares = 0;
      for (const h of HEADS) {
        const u = row.update[h.name];
        for (const key of ['share', 'cosine', 'relativeDecrease'] as const) {
          const values = runs.map((r) => r?.[h.name][key] ?? NaN);
          values.forEach((v, i) => assert.ok(Math.abs(u[key].values[i] - v) <= 1e-9 * Math.max(1, Math.abs(v)), `${h.name} ${key} seed ${i}: ${u[key].values[i]} vs ${v}`));
        }
        assert.ok(u.share.mean >= 0 && u.share.mean <= 1 && u.cosine.mean >= -1 && u.cosine.mean <= 1, `${h.name}: share ${u.share.mean}, cos ${u.cosine.mean}`);
        shares += u.share.mean;
      }
      assert.ok(Math.abs(shares - 1) < 1e-9, `shares sum to ${shares}`);
    }
  });

  it('marks the best of every column', () => {
    for (const h of HEADS) {
      const means = result.rows.map((r) => r.heads[h.name].mean);
      const best = h.higher ? Math.max(...means) : Math.min(...means);
      assert.deepEqual(
        result.best.heads[h.name],
        result.rows.filter((r) => r.heads[h.name].mean === best).map((r) => r.label),
      );
    }
    const joint = result.rows.filter((r) => r.approach === 'joint');
    assert.ok(joint.every((r) => r.parameters === joint[0].parameters));
    assert.ok(result.rows[0].parameters > joint[0].parameters, 'three networks have more parameters than one');
    assert.deepEqual(result.best.parameters, METHODS);
  });

  it('through the CLI: the same table on stdout, as JSON and as an HTML report', () => {
    const json = join(dir, 'compare.json');
    const report = join(dir, 'compare.html');
    const r = cli([
      'compare',
      '--config',
      PENGUINS_CONFIG,
      '--epochs',
      String(EPOCHS),
      '--seeds',
      '2',
      '--methods',
      METHODS.join(','),
      '--backend',
      'wasm',
      '--json',
      json,
      '--report',
      report,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0], /^method\s+species accuracy ↑\s+sex accuracy ↑\s+body_mass_g rmse ↓\s+Δm % ↑\s+params ↓\s+time s ↓$/);
    assert.match(lines[2], /^separate models\s+\d\.\d{4} ± \d\.\d{4}/);
    for (const m of METHODS)
      assert.ok(
        lines.some((l) => l.startsWith(`joint ${m} `)),
        m,
      );
    assert.ok(r.stdout.includes(' *'), 'best values marked');
    // Progress went to stderr (not a terminal here: one line per run, with the time left).
    assert.match(r.stderr, /\[1\/8\] .* seed \d: .*% done after .*, about .* left/);
    assert.match(r.stderr, /\[8\/8\]/);
    const saved = JSON.parse(readFileSync(json, 'utf8')) as CompareResult & { format: string };
    assert.equal(saved.format, 'multiloss-compare');
    // A separate process, the same numbers.
    assert.deepEqual(
      saved.rows.map((row) => [row.label, row.heads, row.deltaM.values, row.parameters]),
      result.rows.map((row) => [row.label, row.heads, row.deltaM.values, row.parameters]),
    );
    assert.ok(existsSync(report));
    const html = readFileSync(report, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.equal((html.match(/<svg /g) ?? []).length, 4, 'a bar chart per head and one of Δm');
    assert.ok(html.includes('joint famo') && html.includes('separate models'));
    // The per-head update figures, side by side for the gradient method only.
    const update = html.slice(html.indexOf('<table class="update">'));
    assert.ok(html.includes('<table class="update">'), 'a table of what each gradient method did to each head');
    assert.match(update, /<th>species share<\/th><th>species cos<\/th><th>species vs sum<\/th><th>sex share<\/th>/);
    assert.match(update, /<tr><th>joint pcgrad<\/th>(<td>-?\d\.\d\d ± \d\.\d\d<\/td>){9}<\/tr>/);
    assert.ok(!update.includes('joint famo') && !update.includes('joint equal'), 'loss-based methods have no update figures');
    assert.ok(!/<script|https?:\/\/(?!www\.w3\.org)/.test(html), 'self-contained: no script, no network');
  });
});
