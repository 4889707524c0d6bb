/** A tiny trained model with one head of every kind, for the loader and crash tests. */
import { rowsToTable } from '../../src/data/index.js';
import type { Table } from '../../src/data/table.js';
import { trainFromConfig } from '../../src/io/train-from-config.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';

export function tinyTable(n = 24): Table {
  const rows = Array.from({ length: n }, (_, i) => ({
    x: (i % 7) - 3 + i / 10,
    c: ['red', 'green', 'blue'][i % 3],
    f: i % 2 === 0,
    y: 2 * i + 1,
    k: ['a', 'b', 'c'][(i * 5) % 3],
    b: i % 4 < 2 ? 'yes' : 'no',
    n: i % 5,
    m: ['p', 'q', 'p|q', ''][i % 4],
  }));
  return rowsToTable(rows, 'tiny');
}

export async function tinyModel(): Promise<MultilossModel> {
  return (await trainFromConfig(
    {
      features: ['x', 'c', 'f'],
      targets: [
        { name: 'y', kind: 'regression' },
        { name: 'k', kind: 'classification' },
        { name: 'b', kind: 'binary' },
        { name: 'n', kind: 'count' },
        { name: 'm', kind: 'multilabel' },
      ],
      validation: { split: 0 },
      model: { trunk: [4] },
      training: { epochs: 1, batchSize: 8, seed: 1 },
    },
    { table: tinyTable() },
  )) as MultilossModel;
}
