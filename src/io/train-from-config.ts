import { parseConfig } from '../config/schema.js';
import { resolveConfig } from '../config/resolve.js';
import type { Table } from '../data/table.js';
import { MultilossError } from '../errors.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import { fitModel, type FitOptions } from '../training/fit.js';
import { readConfigFile } from './config-file.js';
import { readTableFile } from './table-file.js';

/**
 * Trains from a configuration file path or object, reading the data files it
 * names unless tables are given. The same path the CLI's `train` takes.
 */
export async function trainFromConfig(
  config: string | Record<string, unknown>,
  data: { table?: Table; validation?: Table } = {},
  options: FitOptions = {},
): Promise<MultilossModel> {
  const raw = typeof config === 'string' ? readConfigFile(config) : config;
  const parsed = parseConfig(raw, typeof config === 'string' ? config : 'configuration');
  let table = data.table;
  if (!table) {
    if (!parsed.data) throw new MultilossError('config', 'no training data: give "data" in the configuration or pass a table');
    table = readTableFile(parsed.data, parsed.format);
  }
  const validation = data.validation ?? (parsed.validation?.data ? readTableFile(parsed.validation.data, parsed.format) : undefined);
  return fitModel(resolveConfig(parsed), { table, validation }, options);
}
