import { initBackend } from '../../engine/backend.js';
import { loadAnyModel } from '../../io/separate-dir.js';
import { modelColumns, readDataFile } from '../../io/table-file.js';
import { fmt, metricsTable } from '../format.js';

import type { MultiOutputModel } from '../../model/multi-output.js';
import type { Evaluation } from '../../model/multiloss-model.js';
import { evaluateImages } from '../../training/fit-images.js';
import { loadImageModel, type ImageFlags } from './images.js';
import { modelAndData, type ModelDataFlags } from './shared.js';

export interface EvaluateFlags extends ModelDataFlags, ImageFlags {
  json?: boolean;
}

export async function runEvaluate(posModel: string | undefined, posData: string | undefined, flags: EvaluateFlags): Promise<void> {
  let model: MultiOutputModel;
  let result: Evaluation;
  if (flags.images !== undefined) {
    await initBackend(flags.backend);
    const loaded = await loadImageModel(posModel, posData, flags, true);
    model = loaded.model;
    try {
      result = evaluateImages(model, loaded.images.set);
    } catch (e) {
      model.dispose();
      throw e;
    }
  } else {
    const { model: dir, data } = modelAndData(posModel, posData, flags, true);
    await initBackend(flags.backend);
    model = await loadAnyModel(dir);
    try {
      // Only the columns the model uses are read (a Parquet or Arrow file's others may be of any type).
      const input = await readDataFile(data as string, undefined, { columns: modelColumns(model, true) });
      result = model.evaluate(input);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  const unit = flags.images !== undefined ? 'images' : 'rows';
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    process.stdout.write(`${result.rows} ${unit}, weighted total loss ${fmt(result.loss)}\n${metricsTable(result, model.heads, result.labelled)}\n`);
  }
  model.dispose();
}
