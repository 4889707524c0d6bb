import { extname } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { MultilossError } from '../../errors.js';
import { writeFileAtomic } from '../../io/files.js';
import { loadAnyModel } from '../../io/separate-dir.js';
import { readTableFile } from '../../io/table-file.js';
import { csvField, predictionCells, predictionColumns } from '../format.js';

import { modelAndData, type ModelDataFlags } from './shared.js';

export interface PredictFlags extends ModelDataFlags {
  out?: string;
  format?: 'csv' | 'jsonl';
  keep?: string;
}

export async function runPredict(posModel: string | undefined, posData: string | undefined, flags: PredictFlags): Promise<void> {
  const { model: dir, data } = modelAndData(posModel, posData, flags, true);
  const input = readTableFile(data as string);
  const keep = flags.keep
    ? flags.keep
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
  for (const k of keep) {
    if (!input.columns.includes(k)) throw new MultilossError('data', `${data}: --keep column "${k}" not found; columns are: ${input.columns.join(', ')}`);
  }
  await initBackend(flags.backend);
  const model = await loadAnyModel(dir);
  const predictions = model.predict(input);
  const format = flags.format ?? (flags.out && ['.jsonl', '.ndjson', '.json'].includes(extname(flags.out).toLowerCase()) ? 'jsonl' : 'csv');
  const keepIdx = keep.map((k) => input.columns.indexOf(k));
  let text: string;
  if (format === 'jsonl') {
    text = predictions
      .map((p, i) => {
        const kept: Record<string, unknown> = {};
        keep.forEach((k, j) => (kept[k] = input.rows[i][keepIdx[j]]));
        return JSON.stringify({ ...kept, ...p });
      })
      .join('\n');
  } else {
    const header = [...keep, ...predictionColumns(model.heads)];
    const lines = predictions.map((p, i) => [...keepIdx.map((j) => input.rows[i][j]), ...predictionCells(p, model.heads)].map(csvField).join(','));
    text = [header.map(csvField).join(','), ...lines].join('\n');
  }
  if (flags.out) {
    writeFileAtomic(flags.out, `${text}\n`);
    process.stderr.write(`wrote ${predictions.length} predictions to ${flags.out}\n`);
  } else {
    process.stdout.write(`${text}\n`);
  }
  model.dispose();
}
