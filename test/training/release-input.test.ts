/**
 * `fitModel`'s `releaseInput` (what `multiloss train` uses in memory): each input column is let go
 * once encoded, so a large table is not held whole beside its encoding. The model is the same to
 * the bit as without it; the released columns cannot be read; the others are untouched.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolve.js';
import { ReleasedColumn } from '../../src/data/column.js';
import { selectRows } from '../../src/data/split.js';
import type { Table } from '../../src/data/table.js';
import { readConfigFile } from '../../src/io/config-file.js';
import { fitModel, type FitOptions } from '../../src/training/fit.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import { penguins, PENGUINS_CONFIG, useDefaultBackend } from '../helpers.js';

/** examples/penguins.yaml for 3 epochs, without the Island feature (a column the run does not read). */
function config(): ResolvedConfig {
  const raw = readConfigFile(PENGUINS_CONFIG);
  const features = (raw.features as string[]).filter((f) => f !== 'Island');
  return resolveConfig(parseConfig({ ...raw, data: 'penguins.json', features, training: { ...(raw.training as object), epochs: 3 } }));
}

async function weightsOf(model: MultilossModel): Promise<Float32Array[]> {
  try {
    return await Promise.all(model.network.model.getWeights().map(async (w) => Float32Array.from(await w.data())));
  } finally {
    model.dispose();
  }
}

async function train(table: Table, validation: Table | undefined, options: FitOptions): Promise<Float32Array[]> {
  return weightsOf(await fitModel(config(), { table, validation }, options));
}

const USED = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Species', 'Sex', 'Body Mass (g)'];

describe('fitModel releaseInput', () => {
  before(useDefaultBackend);

  it('trains the same weights to the bit, lets every feature and target column go (collect called three times), keeps the others', async () => {
    const kept = await train(penguins(), undefined, {});
    const table = penguins();
    let collected = 0;
    const released = await train(table, undefined, { releaseInput: true, afterRelease: () => collected++ });
    assert.deepEqual(released, kept);
    assert.equal(collected, 3);
    for (const [j, name] of table.columns.entries()) {
      assert.equal(table.data[j] instanceof ReleasedColumn, USED.includes(name), name);
      assert.equal(table.data[j].length, table.length);
    }
    assert.ok(table.columns.includes('Island'));
    const species = table.data[table.columns.indexOf('Species')];
    assert.throws(() => species.get(0), /column "Species" was released once encoded/);
  });

  it('lets a validation table given apart go as well; without releaseInput nothing is released and afterRelease is not called', async () => {
    const all = penguins();
    const rows = Array.from({ length: all.length }, (_, i) => i);
    const [train1, validation1] = [selectRows(all, rows.filter((i) => i % 4 !== 0)), selectRows(all, rows.filter((i) => i % 4 === 0))];
    let called = 0;
    const kept = await train(train1, validation1, { afterRelease: () => called++ });
    assert.equal(called, 0);
    assert.ok(!train1.data.some((c) => c instanceof ReleasedColumn) && !validation1.data.some((c) => c instanceof ReleasedColumn));
    const [train2, validation2] = [selectRows(all, rows.filter((i) => i % 4 !== 0)), selectRows(all, rows.filter((i) => i % 4 === 0))];
    const released = await train(train2, validation2, { releaseInput: true });
    assert.deepEqual(released, kept);
    for (const t of [train2, validation2]) {
      for (const name of USED) assert.ok(t.data[t.columns.indexOf(name)] instanceof ReleasedColumn, name);
    }
  });
});
