// A constructed two-head problem whose best static weighting is known: head `signal` is a smooth
// function of the features, head `noise` is pure noise. Weight on `noise` makes the shared trunk fit
// noise (no early stopping), which hurts both heads on held-out rows: the less weight on it, the better.
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolve.js';
import { tableFromColumns } from '../../src/data/table-build.js';
import type { Table } from '../../src/data/table.js';
import { Rng } from '../../src/util/rng.js';

export const FEATURES = 8;

export function noiseHeadTable(rows = 240, seed = 1): Table {
  const rng = new Rng(seed);
  const x = Array.from({ length: FEATURES }, () => new Float64Array(rows));
  const signal = new Float64Array(rows);
  const noise = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let f = 0; f < FEATURES; f++) x[f][i] = 2 * rng.next() - 1;
    signal[i] = Math.sin(2 * x[0][i]) + x[1][i] * x[2][i] + 0.5 * x[3][i];
    noise[i] = 2 * rng.next() - 1;
  }
  return tableFromColumns('constructed', [...x.map((values, f) => ({ name: `x${f}`, values })), { name: 'signal', values: signal }, { name: 'noise', values: noise }]);
}

export function noiseHeadConfig(epochs: number): ResolvedConfig {
  return resolveConfig(
    parseConfig({
      targets: [
        { name: 'signal', kind: 'regression' },
        { name: 'noise', kind: 'regression' },
      ],
      validation: { split: 0.3 },
      model: { trunk: [{ units: 64, activation: 'relu' }, { units: 64, activation: 'relu' }] },
      training: { epochs, batchSize: 16, learningRate: 0.01, seed: 3, earlyStopping: false },
    }),
  );
}
