import { isImageSource, parseConfig } from '../config/schema.js';
import { fitImageModel } from '../training/fit-images.js';
import { readTrainingImages } from './image-source.js';
import { resolveConfig } from '../config/resolve.js';
import type { Table } from '../data/table.js';
import { MultilossError } from '../errors.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import { fitModel, type FitOptions } from '../training/fit.js';
import { readConfigFile } from './config-file.js';
import { configuredColumns, readDataFile } from './table-file.js';
import { fitStreamedFiles } from './stream-spill.js';

/**
 * Trains from a configuration file path or object, reading the data files it
 * names unless tables are given (in chunks, never whole, with `stream: true`;
 * image data — a folder with its labels file, or IDX files — with `fitImageModel`).
 * The same path the CLI's `train` takes.
 */
export async function trainFromConfig(
  config: string | Record<string, unknown>,
  data: { table?: Table; validation?: Table } = {},
  options: FitOptions = {},
): Promise<MultilossModel> {
  const raw = typeof config === 'string' ? readConfigFile(config) : config;
  const parsed = parseConfig(raw, typeof config === 'string' ? config : 'configuration');
  const resolved = resolveConfig(parsed);
  if (!data.table && isImageSource(parsed.data)) {
    // Images (a folder with its labels, or IDX files): read whole (a folder streamed with `stream`), trained by fitImageModel.
    const { train, validation } = readTrainingImages(parsed);
    return fitImageModel(resolved, train.set, { ...options, ...(validation ? { validation: validation.set } : {}) });
  }
  const columns = configuredColumns(resolved);
  let table = data.table;
  if (!table && parsed.stream) {
    // stream: true — read in chunks, never whole (see training/fit-stream.ts).
    if (!parsed.data) throw new MultilossError('config', 'no training data: give "data" in the configuration or pass a table');
    return fitStreamedFiles(resolved, parsed.data as string, parsed.validation?.data as string | undefined, { format: parsed.format, columns, spill: resolved.stream?.spill }, options);
  }
  if (!table) {
    if (!parsed.data) throw new MultilossError('config', 'no training data: give "data" in the configuration or pass a table');
    table = await readDataFile(parsed.data as string, parsed.format, { columns });
  }
  const validation = data.validation ?? (parsed.validation?.data ? await readDataFile(parsed.validation.data as string, parsed.format, { columns }) : undefined);
  return fitModel(resolved, { table, validation }, options);
}
