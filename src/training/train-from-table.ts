import { parseConfig } from '../config/schema.js';
import { resolveConfig } from '../config/resolve.js';
import { MultilossError } from '../errors.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import { fitModel, type FitInput, type FitOptions } from './fit.js';

/**
 * Trains from a configuration object (the YAML/JSON configuration's contents, as the CLI reads
 * it; its `data` paths are ignored) on tables already in memory: what a page or a Web Worker
 * calls after readTableFrom. The configuration is validated with the same one-line errors as the
 * CLI's; `source` names it in them.
 */
export async function trainFromTable(config: Record<string, unknown>, data: FitInput, options: FitOptions = {}, source = 'configuration'): Promise<MultilossModel> {
  const parsed = parseConfig(config, source);
  if (parsed.stream) throw new MultilossError('config', `${source}: stream reads data files in chunks (Node's trainFromConfig); with tables in memory leave it out`);
  return fitModel(resolveConfig(parsed), data, options);
}
