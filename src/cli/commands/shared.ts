import { MultilossError } from '../../errors.js';

export type Backend = 'auto' | 'wasm' | 'cpu' | 'tensorflow';

/** Logs go to stderr; stdout carries data only. */
export const log = (line: string): void => void process.stderr.write(`${line}\n`);

export interface ModelDataFlags {
  model?: string;
  data?: string;
  backend: Backend;
}

/** The model directory and data file, from flags or positional arguments. */
export function modelAndData(
  posModel: string | undefined,
  posData: string | undefined,
  flags: ModelDataFlags,
  needData: boolean,
): { model: string; data?: string } {
  const model = flags.model ?? posModel;
  const data = flags.data ?? (flags.model ? posModel : posData);
  if (!model) throw new MultilossError('usage', 'no model: give the model directory (--model DIR)');
  if (needData && !data) throw new MultilossError('usage', 'no data: give the data file (--data FILE)');
  return { model, data };
}
