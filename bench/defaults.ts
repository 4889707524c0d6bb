// npm run bench -- defaults: the training defaults (early stopping on the validation split) against
// the old defaults (a fixed 50 epochs, last weights), a tuned configuration and each head's trivial
// baseline, per head, on rows that neither training nor early stopping saw: weather 2015
// (examples/weather.yaml trains on 2012–2014) and a seeded 20% of penguins held out before training;
// and the default monitor (validation.relativeLoss) against the weighted total under three methods.
import { tableRows } from '../src/data/table-build.js';
import { join, resolve } from 'node:path';
import { parseConfig } from '../src/config/schema.js';
import { resolveConfig } from '../src/config/resolve.js';
import { parseNumber } from '../src/data/infer.js';
import { normalizeMissing } from '../src/data/missing.js';
import { selectRows, splitTrainValidation } from '../src/data/split.js';
import type { Cell, Table } from '../src/data/table.js';
import { readConfigFile } from '../src/io/config-file.js';
import { readTableFile } from '../src/io/table-file.js';
import { fitModel } from '../src/training/fit.js';

const ROOT = resolve(import.meta.dirname, '..');
const SEEDS = [1, 2, 3];

interface Target {
  name: string;
  column: string;
  kind: 'classification' | 'binary' | 'regression';
}

interface Case {
  dataset: string;
  train: Table;
  test: Table;
  targets: Target[];
  /** Configurations by label; the seed is set per run. */
  configs: [string, Record<string, unknown>][];
}

/** Per head: accuracy (classification, binary) or R² (regression) of each seed. */
type Scores = Record<string, number[]>;

function column(table: Table, name: string): Cell[] {
  return tableRows(table).map((r) => r[table.columns.indexOf(name)]).filter((v) => v !== null);
}

/** The trivial baseline on `test`: the training majority class, or the training mean. */
function baseline(target: Target, train: Table, test: Table): number {
  if (target.kind === 'regression') {
    const mean = column(train, target.column).reduce<number>((a, v) => a + (parseNumber(v) as number), 0) / column(train, target.column).length;
    const y = column(test, target.column).map((v) => parseNumber(v) as number);
    const yMean = y.reduce((a, b) => a + b, 0) / y.length;
    const ssRes = y.reduce((a, v) => a + (v - mean) ** 2, 0);
    const ssTot = y.reduce((a, v) => a + (v - yMean) ** 2, 0);
    return 1 - ssRes / ssTot;
  }
  const counts = new Map<Cell, number>();
  for (const v of column(train, target.column)) counts.set(v, (counts.get(v) ?? 0) + 1);
  const majority = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const y = column(test, target.column);
  return y.filter((v) => v === majority).length / y.length;
}

async function run(c: Case, config: Record<string, unknown>): Promise<{ scores: Scores; epochs: number[] }> {
  const scores: Scores = Object.fromEntries(c.targets.map((t) => [t.name, []]));
  const epochs: number[] = [];
  for (const seed of SEEDS) {
    const training = { ...((config.training as Record<string, unknown> | undefined) ?? {}), seed };
    const resolved = resolveConfig(parseConfig({ ...config, training }));
    const model = await fitModel(resolved, { table: c.train });
    const heads = model.evaluate(c.test).heads;
    for (const t of c.targets) scores[t.name].push(heads[t.name].metrics[t.kind === 'regression' ? 'r2' : 'accuracy']);
    epochs.push(model.meta.history.length);
    model.dispose();
  }
  return { scores, epochs };
}

const fmt = (v: number) => v.toFixed(3);
const summary = (v: number[]) => `${fmt(v.reduce((a, b) => a + b, 0) / v.length)} (${fmt(Math.min(...v))}–${fmt(Math.max(...v))})`;

function weather(): Case {
  const example = readConfigFile(join(ROOT, 'examples', 'weather.yaml'));
  const targets: Target[] = [
    { name: 'location', column: 'location', kind: 'binary' },
    { name: 'weather', column: 'weather', kind: 'classification' },
    { name: 'wind', column: 'wind', kind: 'regression' },
  ];
  const base = { targets: example.targets };
  return {
    dataset: 'weather: train 2012–2014 (2,192 rows), held out 2015 (730 rows)',
    train: readTableFile(join(ROOT, 'data', 'weather-2012-2014.csv')),
    test: readTableFile(join(ROOT, 'data', 'weather-2015.csv')),
    targets,
    configs: [
      ['old defaults (50 epochs, last weights)', { ...base, training: { earlyStopping: false } }],
      ['defaults (examples/weather.yaml)', base],
      ['tuned (no date column, patience 20)', { ...base, features: ['precipitation', 'temp_max', 'temp_min'], training: { earlyStopping: { patience: 20 } } }],
    ],
  };
}

/** The default monitor against the weighted total, under methods whose weights move (weather, defaults otherwise). */
function monitors(): Case {
  const c = weather();
  const base = c.configs[1][1];
  return {
    ...c,
    dataset: `${c.dataset}: the early-stopping monitor`,
    configs: ['static', 'uncertainty', 'mgda'].flatMap((method): [string, Record<string, unknown>][] =>
      ['validation.loss', 'validation.relativeLoss'].map((monitor) => [`${method}, ${monitor}`, { ...base, balance: { method }, training: { earlyStopping: { monitor } } }]),
    ),
  };
}

function penguins(): Case {
  const all = normalizeMissing(readTableFile(join(ROOT, 'data', 'penguins.json')), ['.']);
  const species = tableRows(all).map((r) => r[all.columns.indexOf('Species')] as string);
  const split = splitTrainValidation(all.length, 0.2, 2024, species);
  const example = readConfigFile(join(ROOT, 'examples', 'penguins.yaml'));
  const { data: _data, out: _out, ...tuned } = example;
  const plain = { missingValues: ['.'], features: example.features, targets: example.targets };
  return {
    dataset: 'penguins: a seeded, stratified 20% (69 rows) held out before training, 275 rows to train on',
    train: selectRows(all, split.train),
    test: selectRows(all, split.validation),
    targets: [
      { name: 'species', column: 'Species', kind: 'classification' },
      { name: 'sex', column: 'Sex', kind: 'binary' },
      { name: 'body_mass_g', column: 'Body Mass (g)', kind: 'regression' },
    ],
    configs: [
      ['old defaults (50 epochs, last weights)', { ...plain, training: { earlyStopping: false } }],
      ['defaults (targets and features only)', plain],
      ['tuned (examples/penguins.yaml: lr 0.005, cosine, 120 epochs)', tuned],
    ],
  };
}

export async function runDefaults(): Promise<void> {
  for (const c of [weather(), penguins(), monitors()]) {
    console.log(`\n${c.dataset}; seeds ${SEEDS.join(', ')}; mean (min–max) on the held-out rows`);
    const header = ['run', 'epochs', ...c.targets.map((t) => `${t.name} ${t.kind === 'regression' ? 'R²' : 'accuracy'}`)];
    console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
    console.log(`| trivial baseline (majority class, training mean) | – | ${c.targets.map((t) => fmt(baseline(t, c.train, c.test))).join(' | ')} |`);
    for (const [label, config] of c.configs) {
      const r = await run(c, config);
      console.log(`| ${label} | ${r.epochs.join(', ')} | ${c.targets.map((t) => summary(r.scores[t.name])).join(' | ')} |`);
    }
  }
}
