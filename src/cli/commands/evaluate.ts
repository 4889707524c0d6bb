import { initBackend } from '../../engine/backend.js';
import { loadAnyModel } from '../../io/separate-dir.js';
import { modelColumns, readDataFile } from '../../io/table-file.js';
import { fmt, metricsTable } from '../format.js';

import { modelAndData, type ModelDataFlags } from './shared.js';

export interface EvaluateFlags extends ModelDataFlags {
  json?: boolean;
}

export async function runEvaluate(posModel: string | undefined, posData: string | undefined, flags: EvaluateFlags): Promise<void> {
  const { model: dir, data } = modelAndData(posModel, posData, flags, true);
  await initBackend(flags.backend);
  const model = await loadAnyModel(dir);
  try {
    // Only the columns the model uses are read (a Parquet or Arrow file's others may be of any type).
    const input = await readDataFile(data as string, undefined, { columns: modelColumns(model, true) });
    const result = model.evaluate(input);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      process.stdout.write(`${result.rows} rows, weighted total loss ${fmt(result.loss)}\n${metricsTable(result, model.heads, result.labelled)}\n`);
    }
  } finally {
    model.dispose();
  }
}
