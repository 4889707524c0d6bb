/**
 * Parquet through the CLI, with files DuckDB writes from the bundled data: training on the Parquet
 * copy gives the very model the JSON / CSV gives (same seed → same weights, in memory and with
 * --stream), evaluate gives the same figures, `predict --out x.parquet` writes what the CSV
 * output holds; bad Parquet input is refused in one line (exit 2) with nothing written.
 */
import { tableRows } from '../../src/data/table-build.js';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { parseNumber } from '../../src/data/infer.js';
import { readDataFile, readTableFile } from '../../src/io/table-file.js';
import { assertRefused, cli, penguins, PENGUINS, PENGUINS_CONFIG, ROOT, savedWeights, tempDir } from '../helpers.js';
import { duckdbParquet, penguinsParquet, WEATHER_2015, WEATHER_TRAIN, weatherParquet } from '../data/duckdb.js';

/** examples/penguins.yaml with its data replaced and a few epochs. */
function penguinsConfig(dir: string, name: string, data: string): string {
  const text = readFileSync(PENGUINS_CONFIG, 'utf8').replace('data: ../data/penguins.json', `data: ${JSON.stringify(data)}`).replace('epochs: 120', 'epochs: 4');
  assert.ok(text.includes(data) && text.includes('epochs: 4'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function train(config: string, out: string, ...flags: string[]): void {
  const r = cli(['train', '--config', config, '--out', out, '--quiet', ...flags]);
  assert.equal(r.status, 0, r.stderr);
}

describe('Parquet through the CLI (files written by DuckDB)', () => {
  const dir = tempDir();
  let parquet: string;
  before(async () => {
    parquet = await penguinsParquet(dir);
  });

  it('penguins: train on the Parquet copy gives the same weights as on the JSON, in memory and with --stream', () => {
    for (const flags of [[], ['--stream']]) {
      const tag = flags.length ? 'stream' : 'memory';
      train(penguinsConfig(dir, `json-${tag}.yaml`, PENGUINS), join(dir, `json-${tag}`), ...flags);
      train(penguinsConfig(dir, `parquet-${tag}.yaml`, parquet), join(dir, `parquet-${tag}`), ...flags);
      assert.deepEqual(savedWeights(join(dir, `parquet-${tag}`)), savedWeights(join(dir, `json-${tag}`)), tag);
    }
  });

  it('evaluate on Parquet equals evaluate on JSON; predict --out x.parquet holds what the CSV output holds', async () => {
    const model = join(dir, 'json-memory');
    const onJson = cli(['evaluate', model, PENGUINS, '--json']);
    const onParquet = cli(['evaluate', model, parquet, '--json']);
    assert.equal(onParquet.status, 0, onParquet.stderr);
    assert.deepEqual(JSON.parse(onParquet.stdout), JSON.parse(onJson.stdout));

    const csvOut = join(dir, 'preds.csv');
    const parquetOut = join(dir, 'preds.parquet');
    assert.equal(cli(['predict', model, PENGUINS, '--out', csvOut, '--keep', 'Island,Body Mass (g)']).status, 0);
    const r = cli(['predict', model, parquet, '--out', parquetOut, '--keep', 'Island,Body Mass (g)']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /wrote 344 predictions to .*preds\.parquet/);
    const csv = readTableFile(csvOut);
    const back = await readDataFile(parquetOut);
    assert.deepEqual(back.columns, csv.columns);
    // Labels are text; probabilities, the regression and the kept body mass are DOUBLE columns.
    assert.deepEqual(tableRows(back), tableRows(csv).map((row) => row.map((v) => (v === null ? null : parseNumber(v) ?? v))));
    assert.equal(typeof tableRows(back)[0][back.columns.indexOf('species:p:Adelie')], 'number');
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary file left');
    // --format parquet: any file name; never stdout.
    const named = join(dir, 'preds.out');
    assert.equal(cli(['predict', model, parquet, '--out', named, '--format', 'parquet']).status, 0);
    assert.equal(tableRows(await readDataFile(named, 'parquet')).length, 344);
    assertRefused(cli(['predict', model, parquet, '--format', 'parquet']), /--format parquet needs --out FILE/);
  });

  it('predict --out x.parquet: column types come from the model and the input schema, not from the first batch of rows', async () => {
    // 5,000 copies of a penguin; the kept "tag" (DOUBLE) is null in the first 4,096-row batch, a number after it.
    const file = await duckdbParquet(
      `SELECT p.*, CASE WHEN i < 4100 THEN NULL ELSE i END::DOUBLE AS tag FROM range(5000) t(i), (SELECT * FROM read_json('${PENGUINS.replaceAll("'", "''")}') LIMIT 1) p`,
      join(dir, 'tagged.parquet'),
    );
    const out = join(dir, 'tagged-preds.parquet');
    const r = cli(['predict', join(dir, 'json-memory'), file, '--out', out, '--keep', 'tag']);
    assert.equal(r.status, 0, r.stderr);
    const back = await readDataFile(out);
    const rows = tableRows(back);
    assert.equal(rows.length, 5000);
    assert.equal(rows[0][0], null);
    assert.equal(rows[4999][0], 4999, 'the kept DOUBLE column stays numbers');
    assert.equal(back.data[0].declaredType, 'numeric');
    assert.deepEqual(
      back.columns.map((c, j) => back.data[j].declaredType),
      back.columns.map((c) => (c === 'tag' || c.includes(':p:') || c === 'body_mass_g' ? 'numeric' : 'categorical')),
    );
  });

  it('evaluate and predict read only the columns the model uses: an extra list column does not stop them', async () => {
    const wide = await duckdbParquet(`SELECT *, [1, 2] AS tags FROM read_parquet('${parquet.replaceAll("'", "''")}')`, join(dir, 'wide.parquet'));
    const model = join(dir, 'json-memory');
    const onWide = cli(['evaluate', model, wide, '--json']);
    assert.equal(onWide.status, 0, onWide.stderr);
    assert.deepEqual(JSON.parse(onWide.stdout), JSON.parse(cli(['evaluate', model, parquet, '--json']).stdout));
    const out = join(dir, 'wide-preds.csv');
    const r = cli(['predict', model, wide, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readTableFile(out).length, 344);
    // Reading the whole file is what refuses it.
    await assert.rejects(readDataFile(wide), /wide\.parquet: column "tags" is a list \(nested\) column/);
  });

  it('compare on the Parquet copy gives the runs the JSON gives', () => {
    const runs = (data: string, name: string) => {
      const json = join(dir, `${name}.json`);
      const r = cli(['compare', '--config', penguinsConfig(dir, `${name}.yaml`, data), '--methods', 'equal', '--seeds', '1', '--workers', '0', '--epochs', '2', '--json', json, '--quiet']);
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(readFileSync(json, 'utf8')) as { runs: { label: string; seed: number; epochs: number; validation: unknown }[] }).runs.map(({ label, seed, epochs, validation }) => ({ label, seed, epochs, validation }));
    };
    const onParquet = runs(parquet, 'compare-parquet');
    assert.equal(onParquet.length, 2);
    assert.deepEqual(onParquet, runs(PENGUINS, 'compare-json'));
  });

  it('format: parquet reads a file of any name; a feature\'s type: overrides the schema\'s; missingValues applies to Parquet text', async () => {
    const data = join(dir, 'penguins.data');
    const dotted = await duckdbParquet(`SELECT * REPLACE (CASE WHEN Sex IS NULL THEN 'n/a' ELSE Sex END AS Sex) FROM read_parquet('${parquet}')`, join(dir, 'dotted.parquet'));
    writeFileSync(data, readFileSync(dotted));
    const config = join(dir, 'typed.yaml');
    writeFileSync(
      config,
      `data: ${JSON.stringify(data)}\nformat: parquet\nmissingValues: ["n/a", "."]\nfeatures:\n  - Island\n  - { name: "Flipper Length (mm)", type: categorical }\ntargets:\n  - { name: sex, column: Sex, kind: binary }\ntraining: { epochs: 1 }\n`,
    );
    const out = join(dir, 'typed');
    train(config, out);
    const info = JSON.parse(cli(['info', out, '--json']).stdout) as { features: { name: string; type: string }[]; heads: { name: string; classes?: string[] }[] };
    assert.deepEqual(info.features.map((f) => [f.name, f.type]), [['Island', 'categorical'], ['Flipper Length (mm)', 'categorical']]);
    assert.deepEqual(info.heads.find((h) => h.name === 'sex')?.classes, ['FEMALE', 'MALE'], '"n/a" is missing, not a class');
  });

  it('weather: train on Parquet copies of both years (date a DATE column) gives the same weights as on the CSVs', async () => {
    const trainFile = await weatherParquet(WEATHER_TRAIN, join(dir, 'weather-train.parquet'));
    const testFile = await weatherParquet(WEATHER_2015, join(dir, 'weather-2015.parquet'));
    const config = (data: string, validation: string) => {
      const path = join(dir, `weather-${data.endsWith('.csv') ? 'csv' : 'parquet'}.yaml`);
      const text = readFileSync(join(ROOT, 'examples', 'weather.yaml'), 'utf8').replace('data: ../data/weather-2012-2014.csv', `data: ${JSON.stringify(data)}\nvalidation: { data: ${JSON.stringify(validation)} }\ntraining: { epochs: 3 }`);
      writeFileSync(path, text);
      return path;
    };
    train(config(WEATHER_TRAIN, WEATHER_2015), join(dir, 'weather-csv'));
    train(config(trainFile, testFile), join(dir, 'weather-parquet'));
    assert.deepEqual(savedWeights(join(dir, 'weather-parquet')), savedWeights(join(dir, 'weather-csv')));
  });

  describe('bad Parquet input: one line naming the file and column, exit 2, nothing written', () => {
    const refusedTraining = (data: string, pattern: RegExp, ...flags: string[]) => {
      const out = join(dir, `refused-${readdirSync(dir).length}`);
      assertRefused(cli(['train', '--config', penguinsConfig(dir, 'bad.yaml', data), '--out', out, '--quiet', ...flags]), pattern);
      assert.equal(existsSync(out), false, 'no model written');
    };

    it('a truncated file (train, train --stream, predict)', () => {
      const cut = join(dir, 'cut.parquet');
      const bytes = readFileSync(parquet);
      writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
      refusedTraining(cut, /cut\.parquet: not a readable Parquet file \(truncated or damaged\?\)/);
      refusedTraining(cut, /cut\.parquet: not a readable Parquet file/, '--stream');
      const out = join(dir, 'cut-preds.parquet');
      assertRefused(cli(['predict', join(dir, 'json-memory'), cut, '--out', out]), /cut\.parquet: not a readable Parquet file/);
      assert.equal(existsSync(out), false);
    });

    it('a list column used as a feature; the same file trains when the features leave it out', async () => {
      const lists = await duckdbParquet(`SELECT *, [Species, Island] AS tags FROM read_parquet('${parquet}')`, join(dir, 'lists.parquet'));
      const config = join(dir, 'lists.yaml');
      writeFileSync(config, `data: ${JSON.stringify(lists)}\ntargets:\n  - { name: sex, column: Sex, kind: binary }\ntraining: { epochs: 1 }\n`);
      const out = join(dir, 'lists-model');
      assertRefused(cli(['train', '--config', config, '--out', out]), /lists\.parquet: column "tags" is a list \(nested\) column; multiloss reads flat columns/);
      assert.equal(existsSync(out), false);
      train(penguinsConfig(dir, 'lists-ok.yaml', lists), join(dir, 'lists-ok'));
    });

    it('a codec that cannot be read (LZO)', () => {
      const lzo = join(dir, 'lzo.parquet');
      // hyparquet-writer labels the pages of one column LZO (their bytes pass through unchanged): only the codec is wrong.
      const table = penguins();
      const columnData = table.columns.map((name, j) => {
        const data = tableRows(table).map((r) => r[j]);
        const numeric = data.every((v) => v === null || typeof v === 'number');
        return { name, data, type: numeric ? ('DOUBLE' as const) : ('STRING' as const), ...(name === 'Island' ? { codec: 'LZO' as const } : {}) };
      });
      writeFileSync(lzo, new Uint8Array(parquetWriteBuffer({ columnData, compressors: { LZO: (bytes: Uint8Array) => bytes } })));
      refusedTraining(lzo, /lzo\.parquet: column "Island" is compressed with LZO, which cannot be read; readable codecs: UNCOMPRESSED, SNAPPY, GZIP, BROTLI, ZSTD, LZ4, LZ4_RAW/);
    });

    it('a schema without a configured column (train, evaluate, predict)', async () => {
      const without = await duckdbParquet(`SELECT * EXCLUDE ("Beak Depth (mm)") FROM read_parquet('${parquet}')`, join(dir, 'without.parquet'));
      refusedTraining(without, /without\.parquet: no column "Beak Depth \(mm\)"; available columns: "Species", "Island"/);
      refusedTraining(without, /without\.parquet: no column "Beak Depth \(mm\)"/, '--stream');
      assertRefused(cli(['evaluate', join(dir, 'json-memory'), without]), /without\.parquet: .*"Beak Depth \(mm\)"/);
      const out = join(dir, 'without-preds.parquet');
      // The model's first batch fails after the output file is opened: its temporary file is removed too.
      assertRefused(cli(['predict', join(dir, 'json-memory'), without, '--out', out]), /without\.parquet: .*"Beak Depth \(mm\)"/);
      assert.equal(existsSync(out), false);
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
    });
  });
});
